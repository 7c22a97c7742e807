"""What has happened in a session, read back from its event log (reads only).

The conditions of `scenarios.conditions` (an inject's `if`, a countdown's `starts`,
`stops`, `extends[].when`) and the causes of `scenarios.triggers` (an inject's `when`)
are pure; this module gives them the session's history, from the log alone, so a
replay, a restore or a second scheduler read the same thing:

- `happenings(session)`: every occurrence, in log order, with the role whose act it
  was (for `reply: true`) and its event's seq;
- `facts_for(session)`: a `Facts` of everything so far.

Event kinds read, and the occurrence each one is:

    inject.fired        inject ID                   (ad-hoc injects too: nothing names them)
    decision.answered   decision ID, option         ("" for free text)
    decision.expired    decision ID, "none"         only if no role had answered by then
    decision.reopened   (drops that role's answer from `Facts.answers`)
    action.taken        action ID
    request.sent        request ID, "sent"          payload `request`
    request.decided     request ID, outcome         approved, rejected or none
    countdown.started   countdown ID, "running"     payload `countdown`
    countdown.stopped   countdown ID, "stopped"
    countdown.expired   countdown ID, "expired"
    (countdown.extended and countdown.warned leave it running: no occurrence)

Kinds not (yet) registered are read by name all the same: there are simply no rows.
"""

from __future__ import annotations

from dataclasses import dataclass

from scenarios.conditions import (
    ACTION,
    COUNTDOWN,
    DECISION,
    EXPIRED,
    INJECT,
    OPTION_NONE,
    REQUEST,
    RUNNING,
    SENT,
    STOPPED,
    Facts,
    Occurrence,
)
from sessions.models import Event, Session

COUNTDOWN_STATES = {
    "countdown.started": RUNNING,
    "countdown.stopped": STOPPED,
    "countdown.expired": EXPIRED,
}
READ_KINDS = (
    "inject.fired",
    "decision.answered",
    "decision.expired",
    "decision.reopened",
    "action.taken",
    "request.sent",
    "request.decided",
    *COUNTDOWN_STATES,
)


@dataclass(frozen=True)
class Happening:
    """One occurrence read from the log: what, whose act (a role ident, "" for no one's:
    a missed deadline, a countdown, an inject), and the event's seq."""

    occurrence: Occurrence
    role: str = ""
    seq: int = 0


def _events(session: Session, until_seq: int | None = None):
    rows = Event.objects.filter(session=session, kind__in=READ_KINDS)
    if until_seq is not None:
        rows = rows.filter(seq__lte=until_seq)
    return rows.order_by("seq").only("seq", "kind", "clock_ms", "payload")


def read(events) -> tuple[list[Happening], Facts]:
    """The happenings and facts of `events` (Event rows or alike, in log order)."""
    happenings: list[Happening] = []
    fired: set[str] = set()
    actions: set[str] = set()
    requests: dict[str, set[str]] = {}
    countdowns: dict[str, str] = {}
    current: dict[tuple[str, str], str] = {}  # (decision, role) → its active answer
    missed: set[str] = set()  # decisions whose deadline passed unanswered

    def add(kind: str, ident: str, value: str, event, role: str = "") -> None:
        happenings.append(
            Happening(Occurrence(event.clock_ms, kind, ident, value), role, event.seq)
        )

    for event in events:
        p = event.payload
        if event.kind == "inject.fired":
            fired.add(p["inject"])
            add(INJECT, p["inject"], "", event)
        elif event.kind == "decision.answered":
            current[(p["inject"], p["role"])] = p["option"]
            add(DECISION, p["inject"], p["option"], event, p["role"])
        elif event.kind == "decision.reopened":
            current.pop((p["inject"], p["role"]), None)
        elif event.kind == "decision.expired":
            if not any(decision == p["inject"] for decision, _role in current):
                missed.add(p["inject"])
                add(DECISION, p["inject"], OPTION_NONE, event)
        elif event.kind == "action.taken":
            actions.add(p["action"])
            add(ACTION, p["action"], "", event, p.get("role", ""))
        elif event.kind == "request.sent":
            requests.setdefault(p["request"], set()).add(SENT)
            add(REQUEST, p["request"], SENT, event, p.get("role", ""))
        elif event.kind == "request.decided":
            requests.setdefault(p["request"], set()).add(p["outcome"])
            # The act that triggers a `reply` is the sender's: the sender's role, when
            # the event names it (`sender_role` or `from_role`), else the decider's.
            role = p.get("sender_role") or p.get("from_role") or p.get("role", "")
            add(REQUEST, p["request"], p["outcome"], event, role)
        elif event.kind in COUNTDOWN_STATES:
            state = COUNTDOWN_STATES[event.kind]
            if countdowns.get(p["countdown"]) in (None, RUNNING):  # expired/stopped stays
                countdowns[p["countdown"]] = state
            add(COUNTDOWN, p["countdown"], state, event)
    answers: dict[str, set[str]] = {}
    for (decision, _role), option in current.items():
        answers.setdefault(decision, set()).add(option)
    for decision in missed:
        answers.setdefault(decision, set()).add(OPTION_NONE)
    facts = Facts.of(
        fired=fired, answers=answers, actions=actions, requests=requests, countdowns=countdowns
    )
    return happenings, facts


def happenings(session: Session, until_seq: int | None = None) -> list[Happening]:
    """Every occurrence of the session's log (up to `until_seq`), in log order."""
    return read(_events(session, until_seq))[0]


def facts_for(session: Session, until_seq: int | None = None) -> Facts:
    """What has happened in the session (up to `until_seq`), for `conditions.holds`.

    Call it inside a command (`_Tx.session`): events appended earlier in the same
    command are read too, since they are rows of the same transaction."""
    return read(_events(session, until_seq))[1]
