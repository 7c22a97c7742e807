"""The trigger graph: cycles through any, delays and countdowns; what can never happen."""

from __future__ import annotations

import time

from hypothesis import given, settings
from hypothesis import strategies as st

from scenarios.format.trigger_graph import strongly_connected
from tests.scenarios.format_helpers import BASE, assert_at, codes, diagnose, only, pos

REQUEST = "requests:\n  - id: r\n    label: R\n    from: [police]\n    to: parquet\n"


def top(*blocks: str) -> str:
    return BASE.replace("injects:\n", "".join(blocks) + "injects:\n")


def countdown(ident: str, starts: str, extra: str = "") -> str:
    return (
        f"  - id: {ident}\n    title: {ident}\n    roles: [police]\n    limit: 1h\n"
        f"    starts: {starts}\n{extra}"
    )


def inject(*lines: str) -> str:
    return "".join(f"    {line}\n" if i else f"  - {line}\n" for i, line in enumerate(lines))


class TestCycles:
    def test_between_countdowns(self):
        text = top(
            "countdowns:\n",
            countdown("c1", "{countdown: c2, state: running}"),
            countdown("c2", "{all: [{inject: start}, {countdown: c1, state: running}]}"),
        )
        diagnostic = only(diagnose(text), "trigger-cycle")
        assert diagnostic.message == (
            "trigger cycle countdown c1 → countdown c2 → countdown c1: a trigger may not wait "
            "for itself, even through 'any', a delay or a countdown"
        )
        assert_at(diagnostic, pos(text, "starts: {countdown: c2"))

    def test_through_stops(self):
        text = top("countdowns:\n", countdown("c", "{inject: start}", "    stops: {inject: x}\n"))
        text += inject("id: x", "kind: call", "to: police", "title: X",
                       "when: {countdown: c, state: stopped}")  # fmt: skip
        assert "trigger cycle x → countdown c → x" in only(diagnose(text), "trigger-cycle").message

    def test_not_is_no_wait(self):
        text = top("countdowns:\n", countdown("c", "{not: {inject: x}}"))
        text += inject("id: x", "kind: call", "to: police", "title: X",
                       "when: {countdown: c, state: expired}")  # fmt: skip
        assert diagnose(text) == []

    def test_requests_end_a_chain(self):
        text = top(REQUEST) + inject(
            "id: x", "kind: call", "to: police", "title: X", "when: {request: r, outcome: sent}"
        )
        assert diagnose(text) == []

    def test_a_cycle_through_one_branch_of_any(self):
        text = BASE + inject("id: a", "kind: call", "to: police", "title: A", "after: {inject: b}")
        text += inject(
            "id: b", "kind: call", "to: police", "title: B",
            "when: {any: [{action: interprete}, {decision: dec, option: oui}]}",
        )  # fmt: skip
        text += inject("id: c", "kind: call", "to: police", "title: C", "after: {inject: a}")
        assert diagnose(text) == []
        text = text.replace("{action: interprete}", "{decision: d2, option: x}")
        text += inject(
            "id: d2", "kind: decision", "to: police", "title: D", "after: {inject: b}",
            "options: [{id: x, label: X}, {id: y, label: Y}]",
        )  # fmt: skip
        # One error; what waits for the cycle (a, c) is not reported as well.
        assert codes(diagnose(text)) == ["trigger-cycle"]
        assert "trigger cycle b → d2 → b" in only(diagnose(text), "trigger-cycle").message


class TestNeverHappens:
    def test_any_whose_causes_all_fail(self):
        text = top(REQUEST) + inject(
            "id: x", "kind: call", "to: police", "title: X",
            "when: {any: [{request: r, outcome: none}, {decision: dec, option: none}]}",
        )  # fmt: skip
        text = text.replace("    deadline: 5m\n", "")
        diagnostic = only(diagnose(text), "never-fires")
        assert diagnostic.message == (
            "inject 'x' can never fire: none of its 'any' causes can ever happen (request 'r' "
            "has no deadline, so outcome 'none' (unanswered in time) never happens; decision "
            "'dec' has no deadline, so option 'none' (unanswered in time) never happens)"
        )

    def test_one_possible_cause_is_enough(self):
        text = BASE + inject(
            "id: x", "kind: call", "to: police", "title: X",
            "when: {any: [{decision: dec, option: none}, {action: interprete}]}",
        )  # fmt: skip
        assert diagnose(text.replace("    deadline: 5m\n", "")) == []

    def test_a_request_sent_once_has_one_outcome(self):
        condition = "if: {all: [{request: r, outcome: approved}, {request: r, outcome: rejected}]}"
        text = top(REQUEST) + inject("id: x", "kind: call", "to: police", "title: X", "at: 5m",
                                     condition)  # fmt: skip
        diagnostic = only(diagnose(text), "if-never-holds")
        assert diagnostic.message == (
            "inject 'x' would always be withheld: its 'if' can never hold (request 'r' is sent "
            "only once, so its outcome cannot be both approved and rejected)"
        )
        assert_at(diagnostic, pos(text, "if: {all"))
        again = text.replace("    to: parquet\n", "    to: parquet\n    once: false\n", 1)
        assert diagnose(again) == []

    def test_something_and_its_opposite(self):
        condition = "if: {all: [{inject: start}, {not: {inject: start}}]}"
        text = BASE + inject("id: x", "kind: call", "to: police", "title: X", "at: 5m", condition)
        assert "it needs both inject 'start' and its opposite" in (
            only(diagnose(text), "if-never-holds").message
        )

    def test_a_manual_inject_is_never_withheld(self):
        condition = "if: {all: [{inject: start}, {not: {inject: start}}]}"
        text = BASE + inject("id: x", "kind: call", "to: police", "title: X", condition)
        assert diagnose(text) == []

    def test_waiting_for_what_comes_later(self):
        text = BASE + inject("id: x", "kind: call", "to: police", "title: X", "at: 5m",
                             "if: {decision: later, option: a}")  # fmt: skip
        text += inject(
            "id: later", "kind: decision", "to: police", "title: L",
            "options: [{id: a, label: A}, {id: b, label: B}]",
            "when: {any: [{action: interprete}, {decision: dec, option: oui}]}",
        )  # fmt: skip
        assert diagnose(text) == []  # `later` may come first, through its action
        text = text.replace("{action: interprete}", "{decision: dec, option: non}")
        text = text.replace("title: L\n", "title: L\n    if: {inject: x}\n")
        # Each waits for the other to have happened first: neither ever can.
        assert [d.message for d in diagnose(text)] == [
            "inject 'x' would always be withheld: its 'if' can never hold (answer 'a' to "
            "decision 'later' can only happen after this inject fires)",
            "inject 'later' would always be withheld: its 'if' can never hold (inject 'x' "
            "can only happen after this inject fires)",
        ]

    def test_a_stopped_countdown_needs_stops(self):
        text = top("countdowns:\n", countdown("c", "{inject: start}"))
        text += inject("id: x", "kind: call", "to: police", "title: X",
                       "when: {countdown: c, state: stopped}")  # fmt: skip
        assert only(diagnose(text), "never-fires").message == (
            "inject 'x' can never fire: countdown 'c' has no 'stops', so it is never stopped"
        )

    def test_long_chains_need_no_recursion(self):
        size = 800
        body = inject(
            "id: c0", "kind: call", "to: police", "title: C", "when: {decision: dec, option: none}"
        )
        body += "".join(
            inject(
                f"id: c{i}", "kind: call", "to: police", "title: C",
                f"when: {{any: [{{decision: dec, option: none, delay: 1m}}, "
                f"{{countdown: k{i - 1}, state: expired}}]}}",
            )
            for i in range(1, size)
        )  # fmt: skip
        countdowns = [countdown(f"k{i}", f"{{inject: c{i}}}") for i in range(size)]
        text = top("countdowns:\n", *countdowns).replace("    deadline: 5m\n", "") + body
        began = time.monotonic()
        found = diagnose(text)
        assert time.monotonic() - began < 30
        assert codes(found).count("never-fires") == size
        assert codes(found).count("countdown-never-starts") == size


@settings(max_examples=200, derandomize=True)
@given(
    st.integers(min_value=1, max_value=12).flatmap(
        lambda n: st.tuples(
            st.just(n),
            st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=3 * n),
        )
    )
)
def test_components_are_the_sets_that_reach_one_another(graph):
    n, pairs = graph
    nodes = [("inject", str(i)) for i in range(n)]
    successors = {node: [] for node in nodes}
    for a, b in pairs:
        successors[nodes[a]].append(nodes[b])

    def reach(start):
        seen, stack = {start}, [start]
        while stack:
            for nxt in successors[stack.pop()]:
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append(nxt)
        return seen

    reachable = {node: reach(node) for node in nodes}
    components = strongly_connected(nodes, successors.__getitem__)
    assert sorted(map(sorted, components)) == sorted(
        sorted(b for b in nodes if b in reachable[a] and a in reachable[b])
        for a in nodes
        if a == min(b for b in nodes if b in reachable[a] and a in reachable[b])
    )
