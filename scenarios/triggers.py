"""An inject's `when`, flattened into the causes that can fire it. Pure Python.

The normalised `when` (`Inject.when`) has the file's forms, with delays in seconds:

    {"decision": ID, "option": OPTION, "delay_s"?: N}    OPTION: an option id, "any", "none"
    {"action": ID, "delay_s"?: N}
    {"request": ID, "outcome": OUTCOME, "delay_s"?: N}   approved, rejected, none, any, sent
    {"countdown": ID, "state": STATE, "delay_s"?: N}     running (it starts), expired, stopped
    {"any": [WHEN, …], "delay_s"?: N}                    the first of them

`causes(when)` lists the simple causes, each with its total delay (an `any`'s delay
adds to its branches'), so the engine can ask, on each occurrence, which injects it
sets off and when.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from scenarios.conditions import (
    ACTION,
    COUNTDOWN,
    DECIDED,
    DECISION,
    OPTION_ANY,
    OPTION_NONE,
    REQUEST,
    ConditionError,
    Occurrence,
)

CAUSE_VALUE_KEY = {DECISION: "option", ACTION: None, REQUEST: "outcome", COUNTDOWN: "state"}


@dataclass(frozen=True)
class Cause:
    """One way an inject's `when` comes: `kind` (decision, action, request, countdown)
    of `ident` with `value` (the option, outcome or state; "" for an action), then
    `delay_s` seconds of clock time."""

    kind: str
    ident: str
    value: str = ""
    delay_s: int = 0

    @property
    def is_act(self) -> bool:
        """Whether a role's act sets it off (the role a `reply: true` reaches): an
        answer, an action, a request sent or decided. A missed decision deadline and
        a countdown are no one's act (a request unanswered in time still has its
        sender)."""
        if self.kind == DECISION:
            return self.value != OPTION_NONE
        return self.kind in (ACTION, REQUEST)

    def matches(self, occurrence: Occurrence) -> bool:
        """Whether `occurrence` is this cause (the delay is the caller's to add)."""
        if occurrence.kind != self.kind or occurrence.ident != self.ident:
            return False
        if self.kind == ACTION:
            return True
        if self.kind == DECISION and self.value == OPTION_ANY:
            return occurrence.value != OPTION_NONE
        if self.kind == REQUEST and self.value == OPTION_ANY:
            return occurrence.value in DECIDED
        return occurrence.value == self.value


def causes(when: Mapping[str, Any]) -> list[Cause]:
    """The simple causes of a normalised `when`, in the order written."""
    found: list[Cause] = []
    stack: list[tuple[Mapping[str, Any], int]] = [(when, 0)]
    while stack:
        node, delay = stack.pop()
        delay += int(node.get("delay_s", 0))
        if "any" in node:
            stack.extend(reversed([(branch, delay) for branch in node["any"]]))
            continue
        kind = next((k for k in CAUSE_VALUE_KEY if k in node), None)
        if kind is None:
            raise ConditionError(f"not a when: {dict(node)!r}")
        value_key = CAUSE_VALUE_KEY[kind]
        found.append(Cause(kind, node[kind], node[value_key] if value_key else "", delay))
    return found
