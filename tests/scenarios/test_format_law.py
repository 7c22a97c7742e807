"""The law keys of simtrain.scenario/1: fiction, countdowns, requests, conditions, the
new trigger forms, reply, repeat, measures and safety — their shape, their meaning,
their messages and positions, and their canonical text."""

from __future__ import annotations

from datetime import datetime

import pytest

from scenarios.format import check_scenario
from tests.scenarios.format_helpers import (
    BASE,
    DATA,
    assert_at,
    codes,
    diagnose,
    only,
    pos,
    value_pos,
)

REQUEST = "requests:\n  - id: r\n    label: R\n    from: [police]\n    to: parquet\n"
COUNTDOWN = (
    "countdowns:\n  - id: c\n    title: C\n    roles: [police]\n    limit: 24h\n"
    "    starts: {inject: start}\n"
)


def top(*blocks: str) -> str:
    """BASE with top-level blocks put before its injects."""
    return BASE.replace("injects:\n", "".join(blocks) + "injects:\n")


def inject(*lines: str) -> str:
    return "".join(f"    {line}\n" if i else f"  - {line}\n" for i, line in enumerate(lines))


def objective(measure: str) -> str:
    return f"objectives:\n  - id: o\n    title: O\n    roles: [police]\n    measure: {measure}\n"


def exported(text: str) -> str:
    return check_scenario(("t.yaml", text.encode())).exported.yaml


class TestTheLawFile:
    def test_every_new_key_imports_without_warning(self):
        checked = check_scenario(DATA / "law.yaml")
        assert checked.warnings == []
        doc = checked.doc
        assert doc.safety.stop == "alert"
        assert doc.fiction.starts == datetime(2026, 3, 15, 22, 40)
        assert [j.at for j in doc.fiction.jumps] == [1800, 3300]
        assert [c.id for c in doc.countdowns] == ["gav-client", "delai-avocat"]
        assert [r.id for r in doc.requests] == ["prolongation-gav", "perquisition"]

    def test_canonical_text_of_the_new_keys(self):
        text = check_scenario(DATA / "law.yaml").exported.yaml
        assert "safety:\n  stop: alert\nfiction:\n  starts: 2026-03-15T22:40\n" in text
        # seconds kept when given; a space becomes T (quoted: YAML 1.1 reads a timestamp)
        assert "      to: '2026-03-25T14:00:30'\n" in text
        # warnings are a set, longest first; role lists in role order
        assert "    warn:\n      - 2h\n      - 30m\n" in text
        assert "    roles:\n      - police\n      - parquet\n    limit: 24h\n" in text
        assert "    from:\n      - police\n    to: parquet\n" in text
        assert (
            "    when:\n      request: prolongation-gav\n      outcome: rejected\n      delay: 2m\n"
            in (text)
        )
        assert "    reply: true\n" in text and "    repeat: true\n" in text

    def test_the_canonical_text_reads_back_the_same(self):
        first = check_scenario(DATA / "law.yaml").exported
        again = check_scenario(("again.yaml", first.yaml.encode())).exported
        assert again.yaml == first.yaml


class TestSafety:
    def test_hold_is_the_default_and_is_not_written(self):
        assert check_scenario(("t.yaml", BASE.encode())).doc.safety.stop == "hold"
        assert "safety" not in exported(top("safety: {stop: hold}\n"))
        assert "safety" not in exported(top("safety: {}\n"))
        assert "safety:\n  stop: alert\n" in exported(top("safety: {stop: alert}\n"))

    def test_other_values_are_refused(self):
        text = top("safety: {stop: pause}\n")
        diagnostic = only(diagnose(text), "bad-value")
        assert diagnostic.message == "'safety.stop' must be one of hold, alert; got 'pause'"
        assert_at(diagnostic, pos(text, "pause"))


class TestFiction:
    @pytest.mark.parametrize(
        ("written", "canonical"),
        [
            ("2026-03-15T22:40", "2026-03-15T22:40"),
            ("'2026-03-15 22:40'", "2026-03-15T22:40"),
            ("2026-03-15T22:40:00", "2026-03-15T22:40"),
            ("2026-03-15T22:40:05", "'2026-03-15T22:40:05'"),
        ],
    )
    def test_story_date_times(self, written, canonical):
        assert f"  starts: {canonical}\n" in exported(top(f"fiction:\n  starts: {written}\n"))

    @pytest.mark.parametrize(
        ("written", "message"),
        [
            ("2026-03-15", "must be a local date and time written 2026-03-15T22:40"),
            ("2026-03-15T22:40+01:00", "(seconds optional, no time zone)"),
            ("2026-02-30T10:00", "is not a real date and time: '2026-02-30T10:00'"),
            ("0999-01-01T10:00", "must be a date between the years 1000 and 9000"),
        ],
    )
    def test_bad_date_times(self, written, message):
        text = top(f"fiction:\n  starts: {written}\n")
        diagnostic = only(diagnose(text), "bad-value")
        assert message in diagnostic.message
        assert diagnostic.message.startswith("'fiction.starts' ")
        assert_at(diagnostic, pos(text, written))

    def test_a_date_time_is_text(self):
        diagnostic = only(diagnose(top("fiction:\n  starts: 2026\n")), "bad-type")
        assert "'fiction.starts' must be a date and time such as 2026-03-15T22:40" in (
            diagnostic.message
        )

    def test_jumps_in_clock_order_and_forward(self):
        jumps = "fiction:\n  starts: 2026-03-15T22:40\n  jumps:\n"
        jumps += "    - {at: 30m, to: 2026-03-15T23:10}\n"
        assert diagnose(top(jumps)) == []  # the same time as without the jump is forward
        text = top(jumps + "    - {at: 30m, to: 2026-03-16T09:00}\n")
        diagnostic = only(diagnose(text), "jumps-out-of-order")
        assert diagnostic.message.startswith("fiction: jump 2 at 30m does not come after jump 1")
        assert_at(diagnostic, pos(text, "30m", 2))

    def test_a_jump_at_clock_0_replaces_starts_but_not_backwards(self):
        text = top(
            "fiction:\n  starts: 2026-03-15T22:40\n  jumps:\n    - {at: 0, to: 2026-03-15T22:00}\n"
        )
        diagnostic = only(diagnose(text), "jumps-out-of-order")
        assert "at clock 0s the story is already at 2026-03-15T22:40" in diagnostic.message


class TestRequests:
    def test_a_request(self):
        doc = check_scenario(("t.yaml", top(REQUEST).encode())).doc
        request = doc.requests[0]
        assert (request.senders, request.to, request.once, request.deadline) == (
            ["police"], "parquet", True, None,
        )  # fmt: skip

    def test_to_is_one_role(self):
        text = top(REQUEST.replace("to: parquet", "to: [parquet, police]"))
        diagnostic = only(diagnose(text), "bad-type")
        assert diagnostic.message == (
            "request 'r': 'to' must be one role id (the role that decides); got a list"
        )

    def test_from_is_required(self):
        text = top(REQUEST.replace("    from: [police]\n", ""))
        assert only(diagnose(text), "missing-key").message == "request 'r': 'from' is required"

    def test_decider_must_be_a_trainee(self):
        text = top(REQUEST.replace("to: parquet", "to: obs"))
        diagnostic = only(diagnose(text), "request-to-non-trainee")
        assert diagnostic.message == (
            "request 'r' is decided by 'obs', an observer role; only trainee roles decide requests"
        )
        assert_at(diagnostic, value_pos(text, "to: obs"))

    def test_a_request_nobody_can_send_is_a_warning(self):
        text = top(REQUEST.replace("from: [police]", "from: [joy]"))
        diagnostic = only(diagnose(text), "request-without-trainee")
        assert diagnostic.message.startswith("request 'r' can be sent by no trainee role")
        assert_at(diagnostic, pos(text, "from: [joy]"))


class TestCountdowns:
    def test_limits_count_in_story_time_up_to_a_year(self):
        text = top(COUNTDOWN.replace("limit: 24h", "limit: 192h"))
        assert check_scenario(("t.yaml", text.encode())).doc.countdowns[0].limit == 192 * 3600
        text = top(COUNTDOWN.replace("limit: 24h", "limit: 9000h"))
        assert (
            "'limit' must be at most 8784h (366 days)" in only(diagnose(text), "bad-value").message
        )

    def test_the_limit_is_required_and_not_zero(self):
        text = top(COUNTDOWN.replace("    limit: 24h\n", ""))
        diagnostic = only(diagnose(text), "missing-key")
        assert diagnostic.message == "countdown 'c': 'limit' is required"
        assert_at(diagnostic, pos(text, "id: c"))
        text = top(COUNTDOWN.replace("limit: 24h", "limit: 0"))
        assert (
            only(diagnose(text), "bad-value").message
            == "countdown 'c': 'limit' must be more than 0s"
        )

    def test_warnings_come_before_expiry(self):
        text = top(COUNTDOWN + "    warn: [2h, 24h]\n")
        diagnostic = only(diagnose(text), "bad-value")
        assert diagnostic.message == (
            "countdown 'c': 'warn[1]' is 24h; a warning comes between 0s and the limit (24h) "
            "before expiry"
        )
        assert_at(diagnostic, pos(text, "24h]"))

    def test_an_extension_adds_time(self):
        text = top(COUNTDOWN + "    extends:\n      - {when: {inject: start}, by: 0}\n")
        assert "'extends[0].by' must be more than 0s" in only(diagnose(text), "bad-value").message

    def test_who_sees_it(self):
        text = top(COUNTDOWN.replace("roles: [police]", "roles: [police, juge]"))
        diagnostic = only(diagnose(text), "unknown-role")
        assert diagnostic.message.startswith("countdown 'c' is shown to unknown role 'juge'")


class TestConditions:
    def test_every_form_is_accepted(self):
        text = top(REQUEST, COUNTDOWN) + inject(
            "id: x", "kind: call", "to: police", "title: X", "at: 3m",
            "if: {all: [{inject: start}, {decision: dec, option: none}, {action: interprete},"
            " {request: r, outcome: sent}, {countdown: c, state: running},"
            " {any: [{not: {decision: dec, option: oui}}]}]}",
        )  # fmt: skip
        assert diagnose(text) == []

    def test_exactly_one_form(self):
        text = BASE + inject(
            "id: x", "kind: call", "to: police", "title: X", "at: 3m",
            "if: {all: [{inject: start, action: interprete}]}",
        )  # fmt: skip
        diagnostic = only(diagnose(text), "bad-value")
        assert diagnostic.message == (
            "inject 'x': 'if.all[0]' takes exactly one of inject, decision (with option), "
            "action, request (with outcome), countdown (with state), all, any or not; "
            "got inject, action"
        )
        assert_at(diagnostic, pos(text, "{inject: start"))

    @pytest.mark.parametrize(
        ("condition", "message"),
        [
            ("{decision: dec}", "'if.option' is required with 'if.decision'"),
            ("{outcome: approved}", "'if.request' is required with 'if.outcome'"),
            ("{countdown: c}", "'if.state' is required with 'if.countdown'"),
        ],
    )
    def test_two_key_forms(self, condition, message):
        text = top(COUNTDOWN) + inject(
            "id: x", "kind: call", "to: police", "title: X", "at: 3m", f"if: {condition}"
        )
        assert message in only(diagnose(text), "missing-key").message

    def test_empty_combinations_are_refused(self):
        text = BASE + inject(
            "id: x", "kind: call", "to: police", "title: X", "at: 1m", "if: {any: []}"
        )
        diagnostic = only(diagnose(text), "bad-value")
        assert diagnostic.message == "inject 'x': 'if.any' must hold at least 1 item; it has 0"

    def test_choices_of_outcome_and_state(self):
        text = top(REQUEST) + inject(
            "id: x", "kind: call", "to: police", "title: X", "at: 1m",
            "if: {request: r, outcome: granted}",
        )  # fmt: skip
        diagnostic = only(diagnose(text), "bad-value")
        assert "must be one of approved, rejected, none, any, sent; got 'granted'" in (
            diagnostic.message
        )


class TestTriggerForms:
    @pytest.mark.parametrize(
        "when",
        [
            "{decision: dec, option: oui, delay: 5m}",
            "{action: interprete, delay: 30s}",
            "{request: r, outcome: approved}",
            "{request: r, outcome: none}",
            "{countdown: c, state: expired}",
            "{countdown: c, state: running, delay: 1m}",
            "{any: [{action: interprete}, {countdown: c, state: expired, delay: 1h}], delay: 1m}",
        ],
    )
    def test_new_forms(self, when):
        deadline = REQUEST + "    deadline: 10m\n"
        text = top(deadline, COUNTDOWN) + inject(
            "id: x", "kind: call", "to: police", "title: X", f"when: {when}"
        )
        assert diagnose(text) == []

    def test_exactly_one_form(self):
        text = top(REQUEST) + inject(
            "id: x", "kind: call", "to: police", "title: X",
            "when: {request: r, outcome: sent, action: interprete}",
        )  # fmt: skip
        diagnostic = only(diagnose(text), "bad-value")
        assert diagnostic.message == (
            "inject 'x': 'when' takes exactly one of decision (with option), action, request "
            "(with outcome), countdown (with state) or any; got action, request"
        )

    def test_a_branch_of_any_is_checked_as_a_when(self):
        text = BASE + inject(
            "id: x", "kind: call", "to: police", "title: X",
            "when: {any: [{action: interprete}, {decision: dec}]}",
        )  # fmt: skip
        diagnostic = only(diagnose(text), "missing-key")
        assert diagnostic.message.startswith("inject 'x': 'when.any[1].option' is required")

    def test_unknown_request_and_countdown(self):
        text = top(REQUEST, COUNTDOWN) + inject(
            "id: x", "kind: call", "to: police", "title: X",
            "when: {any: [{request: rr, outcome: sent}, {countdown: cc, state: expired}]}",
        )  # fmt: skip
        assert sorted(codes(diagnose(text))) == ["unknown-countdown", "unknown-request"]
        assert only(diagnose(text), "unknown-request").message == (
            "inject 'x' waits for unknown request 'rr' (known: r)"
        )


class TestReplyAndRepeat:
    def test_reply_stands_in_for_to(self):
        text = BASE + inject(
            "id: x", "kind: message", "title: X", "when: {action: interprete}", "reply: true"
        )
        assert diagnose(text) == []

    def test_reply_to_a_missed_deadline_needs_to(self):
        text = BASE + inject(
            "id: x",
            "kind: message",
            "title: X",
            "when: {decision: dec, option: none}",
            "reply: true",
        )
        diagnostic = only(diagnose(text), "reply-without-act")
        assert_at(diagnostic, pos(text, "reply: true"))

    def test_a_reply_reaches_the_role_that_acts(self):
        # avocat may take the action; a reply to it is what avocat receives.
        text = BASE.replace(
            "  - id: joy\n",
            "  - id: avocat\n    title: Avocat\n    kind: trainee\n    profession: lawyer\n"
            "  - id: joy\n",
        )
        text = text.replace("roles: [police]", "roles: [police, avocat]").replace(
            "    kind: broadcast\n", "    kind: broadcast\n    to: [police, parquet]\n"
        )
        warning = only(diagnose(text), "role-receives-nothing")
        assert warning.message == "trainee role 'avocat' receives no inject"
        text += inject(
            "id: x", "kind: message", "title: X", "when: {action: interprete}", "reply: true"
        )
        assert diagnose(text) == []

    def test_repeat_on_an_action_taken_again(self):
        text = BASE.replace(
            "label: Demander un interprète", "label: Demander un interprète\n    once: false"
        )
        text += inject(
            "id: x",
            "kind: message",
            "to: police",
            "title: X",
            "when: {action: interprete, delay: 1m}",
            "repeat: true",
        )
        assert diagnose(text) == []


class TestMeasures:
    @pytest.mark.parametrize(
        "measure",
        [
            "{request: r, outcome: approved, within: 30m}",
            "{countdown: c, expired: false}",
            "{all: [{action: interprete}, {decision: dec, option: oui, within: 5m}]}",
            "{any: [{message: {from: police, to: parquet}}, {countdown: c, expired: true}]}",
            "{not: {decision: dec, option: non}}",
            "{before: [{action: interprete}, {request: r, outcome: sent}]}",
        ],
    )
    def test_new_forms(self, measure):
        text = top(REQUEST, COUNTDOWN, objective(measure))
        assert diagnose(text) == []

    def test_within_goes_with_the_timed_forms_only(self):
        text = top(COUNTDOWN, objective("{countdown: c, expired: false, within: 5m}"))
        diagnostic = only(diagnose(text), "bad-value")
        assert "'measure.within' goes with decision, action, message or request only" in (
            diagnostic.message
        )
        assert_at(diagnostic, pos(text, "within"))

    def test_before_takes_two(self):
        text = top(objective("{before: [{action: interprete}]}"))
        assert "'measure.before' must hold at least 2 items; it has 1" in (
            only(diagnose(text), "bad-value").message
        )

    def test_the_first_measures_keep_their_messages(self):
        text = top(objective("{any: [{action: interprete, message: {from: police, to: obs}}]}"))
        assert (
            "'measure.any[0]' takes exactly one of decision (with option), action or message"
            in (only(diagnose(text), "bad-value").message)
        )

    def test_references_inside_combinations(self):
        text = top(objective("{not: {all: [{action: interprte}, {countdown: c, expired: true}]}}"))
        assert sorted(codes(diagnose(text))) == ["unknown-action", "unknown-countdown"]
        text = top(COUNTDOWN, objective("{countdown: c}"))
        assert "'measure.expired' is required with 'measure.countdown'" in (
            only(diagnose(text), "missing-key").message
        )
