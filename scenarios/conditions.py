"""Conditions and measures, evaluated over what has happened in a session.

Pure Python: no database, no engine. The engine fills a `Facts` from its projection
tables and asks `holds(condition, facts)` (an inject's `if`, a countdown's `starts`,
`stops`, `extends[].when`); the after-action report lists what happened as timestamped
`Occurrence`s and asks a `Timeline` to score each objective's measure.

Both work on the normalised JSON stored with a scenario version (see
`scenarios.models`). One shape for every condition, the same as the file's:

    {"inject": ID}                                   it has fired
    {"decision": ID, "option": OPTION}               answered so; OPTION may be "any"
                                                     (any answer) or "none" (deadline
                                                     passed unanswered)
    {"action": ID}                                   taken (at least once)
    {"request": ID, "outcome": OUTCOME}              "approved", "rejected", "none"
                                                     (unanswered by its deadline),
                                                     "any" (approved or rejected), "sent"
    {"countdown": ID, "state": STATE}                "running", "expired", "stopped"
    {"all": [C, …]}  {"any": [C, …]}  {"not": C}

A measure (`Objective.measure_spec`), durations in whole seconds:

    {"decision": ID, "option": OPTION, "within_s"?: N}
    {"action": ID, "within_s"?: N}
    {"message": {"from": ROLE, "to": ROLE}, "within_s"?: N}
    {"request": ID, "outcome": OUTCOME, "within_s"?: N}
    {"countdown": ID, "expired": BOOL}               false: stopped in time or never ran out
    {"all": [M, …]}  {"any": [M, …]}  {"not": M}
    {"before": [M1, M2]}                             M1 met, and M2 not met before it

`within_s` counts from clock 0, as the base measures always have.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

Json = Mapping[str, Any]
Path = tuple[str | int, ...]

# Special option values of a decision, and request outcomes.
OPTION_ANY, OPTION_NONE = "any", "none"
FREE_TEXT = ""  # the option of an answer given as text only
APPROVED, REJECTED, NONE, ANY, SENT = "approved", "rejected", "none", "any", "sent"
DECIDED = frozenset({APPROVED, REJECTED})  # what outcome `any` means
RUNNING, EXPIRED, STOPPED = "running", "expired", "stopped"

# Occurrence kinds.
INJECT, DECISION, ACTION, REQUEST, COUNTDOWN, MESSAGE = (
    "inject",
    "decision",
    "action",
    "request",
    "countdown",
    "message",
)
ATOMS = (INJECT, DECISION, ACTION, REQUEST, COUNTDOWN)
COMBINATIONS = ("all", "any", "not")


class ConditionError(ValueError):
    """A condition or measure that is not in the normalised shape."""


def form(node: Json) -> str:
    """Which form a condition or measure is: "inject", "decision" … "all", "before"."""
    for key in (*ATOMS, MESSAGE, *COMBINATIONS, "before"):
        if key in node:
            return key
    raise ConditionError(f"not a condition or measure: {dict(node)!r}")


def children(node: Json) -> list[Json]:
    """The conditions (or measures) a combination holds; [] for an atom."""
    kind = form(node)
    if kind in ("all", "any", "before"):
        return list(node[kind])
    if kind == "not":
        return [node["not"]]
    return []


# --- walking a condition --------------------------------------------------------------------


def atoms(condition: Json, path: Path = ()) -> Iterator[tuple[Path, Json]]:
    """Every atom of `condition` with its path inside it: `(("all", 1), {"inject": "a"})`."""
    stack: list[tuple[Path, Json]] = [(path, condition)]
    while stack:
        where, node = stack.pop()
        kind = form(node)
        if kind in ("all", "any", "before"):
            stack.extend(reversed([((*where, kind, i), c) for i, c in enumerate(node[kind])]))
        elif kind == "not":
            stack.append(((*where, "not"), node["not"]))
        else:
            yield where, node


def positive_atoms(condition: Json) -> Iterator[Json]:
    """The atoms that must (or may) hold for `condition` to hold: those not under a
    `not`. What a condition waits for, for the trigger graph."""
    for where, atom in atoms(condition):
        if "not" not in where:
            yield atom


def referenced_ids(condition: Json) -> dict[str, set[str]]:
    """The ids a condition (or a measure) names, by kind: inject, decision, action,
    request, countdown (and role, for a measure's message)."""
    found: dict[str, set[str]] = {kind: set() for kind in (*ATOMS, "role")}
    for _where, atom in atoms(condition):
        kind = form(atom)
        if kind == MESSAGE:
            found["role"].update((atom[MESSAGE]["from"], atom[MESSAGE]["to"]))
        else:
            found[kind].add(atom[kind])
    return found


# --- facts ----------------------------------------------------------------------------------


def _frozen_sets(mapping: Mapping[str, Iterable[str]] | None) -> dict[str, frozenset[str]]:
    return {key: frozenset(values) for key, values in (mapping or {}).items()}


@dataclass(frozen=True)
class Facts:
    """What has happened so far, as the conditions need it.

    - `fired`: the injects that have fired;
    - `answers`: per decision, the options it was answered with (by any role): an
      option id, `""` for an answer in free text only, `"none"` when its deadline
      passed unanswered;
    - `actions`: the actions taken at least once;
    - `requests`: per request, the outcomes it has had: `"sent"` once sent, then
      `"approved"`, `"rejected"` or `"none"` (for each sending, if sent again);
    - `countdowns`: per countdown that has started, its state: running, expired or
      stopped.
    """

    fired: frozenset[str] = frozenset()
    answers: Mapping[str, frozenset[str]] = field(default_factory=dict)
    actions: frozenset[str] = frozenset()
    requests: Mapping[str, frozenset[str]] = field(default_factory=dict)
    countdowns: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def of(
        cls,
        *,
        fired: Iterable[str] = (),
        answers: Mapping[str, Iterable[str]] | None = None,
        actions: Iterable[str] = (),
        requests: Mapping[str, Iterable[str]] | None = None,
        countdowns: Mapping[str, str] | None = None,
    ) -> Facts:
        """Facts from any iterables (lists, querysets' values …)."""
        states = dict(countdowns or {})
        bad = {state for state in states.values() if state not in (RUNNING, EXPIRED, STOPPED)}
        if bad:
            raise ConditionError(f"unknown countdown state(s): {', '.join(sorted(bad))}")
        return cls(
            fired=frozenset(fired),
            answers=_frozen_sets(answers),
            actions=frozenset(actions),
            requests=_frozen_sets(requests),
            countdowns=states,
        )


def _answered(options: frozenset[str], option: str) -> bool:
    if option == OPTION_ANY:
        return bool(options - {OPTION_NONE})
    return option in options


def _had_outcome(outcomes: frozenset[str], outcome: str) -> bool:
    if outcome == ANY:
        return bool(outcomes & DECIDED)
    return outcome in outcomes


def holds(condition: Json, facts: Facts) -> bool:
    """Whether `condition` holds given `facts`."""
    kind = form(condition)
    if kind == INJECT:
        return condition[INJECT] in facts.fired
    if kind == DECISION:
        options = facts.answers.get(condition[DECISION], frozenset())
        return _answered(options, condition["option"])
    if kind == ACTION:
        return condition[ACTION] in facts.actions
    if kind == REQUEST:
        outcomes = facts.requests.get(condition[REQUEST], frozenset())
        return _had_outcome(outcomes, condition["outcome"])
    if kind == COUNTDOWN:
        return facts.countdowns.get(condition[COUNTDOWN]) == condition["state"]
    if kind == "all":
        return all(holds(child, facts) for child in condition["all"])
    if kind == "any":
        return any(holds(child, facts) for child in condition["any"])
    if kind == "not":
        return not holds(condition["not"], facts)
    raise ConditionError(f"{kind!r} is a measure, not a condition")


# --- occurrences and measures ---------------------------------------------------------------


@dataclass(frozen=True)
class Occurrence:
    """One thing that happened, at a clock time (ms).

    `kind` and what `ident` and `value` hold:
    inject (fired): the inject id, "";
    decision (answered, or its deadline passed): the decision id, the option
    (`""` free text only, `"none"` unanswered in time);
    action (taken): the action id, "";
    request: the request id, "sent", "approved", "rejected" or "none";
    countdown: the countdown id, "running" (started), "expired" or "stopped";
    message (between roles): the sending role, the receiving role.
    """

    clock_ms: int
    kind: str
    ident: str
    value: str = ""

    def __post_init__(self) -> None:
        if self.kind not in (*ATOMS, MESSAGE):
            raise ConditionError(f"unknown occurrence kind {self.kind!r}")


@dataclass(frozen=True)
class MeasureScore:
    """A measure's result at the end of what was recorded.

    `at_ms` is the first moment it was met (when it is met); `late_ms`, for a measure
    with `within` that was not met, when it happened too late (None if never).
    """

    met: bool
    at_ms: int | None = None
    late_ms: int | None = None


class Timeline:
    """What happened in a session; answers conditions and measures at any clock time.

    Occurrences may come in any order of time; those at the same clock time are kept
    in the order given (give them in the log's order: a countdown that starts and
    expires in the same instant, across a jump, must read started first)."""

    def __init__(self, occurrences: Iterable[Occurrence]):
        self.occurrences = sorted(occurrences, key=lambda o: o.clock_ms)
        self._by_key: dict[tuple[str, str], list[Occurrence]] = {}
        for occurrence in self.occurrences:
            self._by_key.setdefault((occurrence.kind, occurrence.ident), []).append(occurrence)
        # The moments at which something may change: the start and every occurrence.
        self.times = sorted({0, *(o.clock_ms for o in self.occurrences)})

    @property
    def end_ms(self) -> int:
        return self.times[-1]

    def first_ms(self, kind: str, ident: str, accept: Any = None) -> int | None:
        """When the first occurrence of (kind, ident) whose value `accept` takes (any
        value if None) happened."""
        for occurrence in self._by_key.get((kind, ident), ()):
            if accept is None or accept(occurrence.value):
                return occurrence.clock_ms
        return None

    def facts_at(self, clock_ms: int | None = None) -> Facts:
        """The facts as they stood at `clock_ms` (everything, by default)."""
        until = self.occurrences if clock_ms is None else self._until(clock_ms)
        answers: dict[str, set[str]] = {}
        requests: dict[str, set[str]] = {}
        countdowns: dict[str, str] = {}
        fired, actions = set(), set()
        for o in until:
            if o.kind == INJECT:
                fired.add(o.ident)
            elif o.kind == DECISION:
                answers.setdefault(o.ident, set()).add(o.value)
            elif o.kind == ACTION:
                actions.add(o.ident)
            elif o.kind == REQUEST:
                requests.setdefault(o.ident, set()).add(o.value)
            elif o.kind == COUNTDOWN and countdowns.get(o.ident) in (None, RUNNING):
                countdowns[o.ident] = o.value  # an expired or stopped one stays so
        return Facts.of(
            fired=fired, answers=answers, actions=actions, requests=requests, countdowns=countdowns
        )

    def _until(self, clock_ms: int) -> list[Occurrence]:
        keys = [o.clock_ms for o in self.occurrences]
        return self.occurrences[: bisect_right(keys, clock_ms)]

    def condition_holds(self, condition: Json, clock_ms: int | None = None) -> bool:
        return holds(condition, self.facts_at(clock_ms))

    # measures

    def _atom_ms(self, measure: Json) -> int | None:
        """When a base measure's event first happened (within or not)."""
        kind = form(measure)
        if kind == DECISION:
            option = measure["option"]
            return self.first_ms(
                DECISION,
                measure[DECISION],
                (lambda v: v != OPTION_NONE) if option == OPTION_ANY else option.__eq__,
            )
        if kind == ACTION:
            return self.first_ms(ACTION, measure[ACTION])
        if kind == MESSAGE:
            pair = measure[MESSAGE]
            return self.first_ms(MESSAGE, pair["from"], pair["to"].__eq__)
        if kind == REQUEST:
            outcome = measure["outcome"]
            accept = DECIDED.__contains__ if outcome == ANY else outcome.__eq__
            return self.first_ms(REQUEST, measure[REQUEST], accept)
        if kind == COUNTDOWN:
            return self.first_ms(COUNTDOWN, measure[COUNTDOWN], EXPIRED.__eq__)
        raise ConditionError(f"{kind!r} is not a base measure")

    def met(self, measure: Json, clock_ms: int | None = None) -> bool:
        """Whether `measure` is met by what happened up to `clock_ms` (all, by default)."""
        at = self.end_ms if clock_ms is None else clock_ms
        kind = form(measure)
        if kind == "all":
            return all(self.met(child, at) for child in measure["all"])
        if kind == "any":
            return any(self.met(child, at) for child in measure["any"])
        if kind == "not":
            return not self.met(measure["not"], at)
        if kind == "before":
            first, second = measure["before"]
            first_ms = self.first_met_ms(first)
            if first_ms is None or first_ms > at:
                return False
            second_ms = self.first_met_ms(second)
            return second_ms is None or second_ms >= first_ms
        happened = self._atom_ms(measure)
        if kind == COUNTDOWN:
            expired = happened is not None and happened <= at
            return expired == bool(measure["expired"])
        within = measure.get("within_s")
        return (
            happened is not None
            and happened <= at
            and (within is None or happened <= within * 1000)
        )

    def first_met_ms(self, measure: Json) -> int | None:
        """The first moment `measure` was met, or None if it never was."""
        for moment in self.times:
            if self.met(measure, moment):
                return moment
        return None

    def score(self, measure: Json) -> MeasureScore:
        """The measure's result over everything recorded."""
        if self.met(measure):
            return MeasureScore(met=True, at_ms=self.first_met_ms(measure))
        late = None
        if form(measure) in (DECISION, ACTION, MESSAGE, REQUEST):
            late = self._atom_ms(measure)
        return MeasureScore(met=False, late_ms=late)
