"""The registry of event kinds: what the log can hold, and what each payload carries.

The engine appends only kinds registered here (`check`, called by `_Tx.append`), so
this table is the whole vocabulary of the log; `docs/events.md` is this table for
people (a test keeps the two equal). `fields` are present in every payload of the
kind; `optional` may be present (e.g. the seat of a message the trainer did not write).
"""

from __future__ import annotations

from dataclasses import dataclass

# The seat an act was done from, copied into the payload so a replay needs no lookup.
SEAT = ("seat", "role", "number", "name")
CLOCK = ("state", "speed", "anchor_clock_ms", "anchor_at")
INJECT = (
    "inject", "kind", "title", "body", "from", "phase", "roles", "attachments", "cue",
    "options", "free_text", "deadline_s", "cause", "due_ms", "late",
)


@dataclass(frozen=True)
class EventKind:
    name: str
    meaning: str
    fields: tuple[str, ...]
    optional: tuple[str, ...] = ()


KINDS: dict[str, EventKind] = {
    kind.name: kind
    for kind in (
        EventKind("session.created", "The trainer created the session from a scenario version.",
                  ("title", "version", "join_mode")),
        EventKind("session.forked", "The session restarts another from one of its moments "
                  "(its scenario events up to that seq follow).",
                  ("from_session", "from_seq", "at_ms")),
        EventKind("clock.started", "The trainer started the exercise clock.", CLOCK),
        EventKind("clock.paused", "The trainer paused the clock (or a safety stop held the "
                  "exercise: `reason` \"safety\").", CLOCK, ("reason",)),
        EventKind("clock.resumed", "The trainer resumed the clock.", CLOCK),
        EventKind("clock.speed", "The trainer changed the clock's speed.", CLOCK),
        EventKind("clock.jumped", "The trainer jumped the clock forward to a phase's start.",
                  (*CLOCK, "phase", "title")),
        EventKind("session.ended", "The trainer ended the session.", CLOCK),
        EventKind("seat.taken", "A participant took a free seat.", SEAT),
        EventKind("seat.assigned", "The trainer seated someone waiting in the lobby.",
                  (*SEAT, "entry")),
        EventKind("seat.freed", "A seat was freed (by the trainer, or by a reassignment).",
                  (*SEAT, "reason")),
        EventKind("lobby.waiting", "Someone is waiting in the lobby for a seat.",
                  ("entry", "name", "role")),
        EventKind("lobby.dismissed", "The trainer turned a waiting person away.", ("entry",)),
        EventKind("join.throttled", "Wrong codes from one network throttle joining (the "
                  "trainer is told).", ("failures", "until")),
        EventKind("presence.connected", "A seat's screen connected.", SEAT),
        EventKind("presence.left", "A seat's screen went away: closed, or its server process "
                  "was lost (reason; absent in older logs).", SEAT, ("reason",)),
        EventKind("inject.fired", "An inject reached its recipients (by time, cause or hand).",
                  INJECT, ("adhoc",)),
        EventKind("inject.skipped", "The trainer skipped an inject: it will never fire.",
                  ("inject", "title")),
        EventKind("inject.withheld", "An inject's trigger came but its `if` did not hold: it "
                  "never fires by itself (the trainer may still fire it).",
                  ("inject", "title", "cause", "due_ms")),
        EventKind("decision.expired", "A decision's deadline passed for the roles that had "
                  "not answered.", ("inject", "title", "roles", "due_ms")),
        EventKind("decision.answered", "A role answered a decision, with its rationale.",
                  ("inject", "title", "option", "label", "rationale", *SEAT)),
        EventKind("decision.reopened", "The trainer reopened a role's answer.",
                  ("inject", "title", "role")),
        EventKind("action.taken", "A trainee took one of the scenario's actions.",
                  ("action", "label", "note", *SEAT)),
        EventKind("message.sent", "A message in the thread between two roles.",
                  ("thread", "from_role", "to_role", "name", "text", "by_trainer"),
                  ("seat", "role", "number")),
        EventKind("cue.acknowledged", "An actor marked a cue card as played.",
                  ("inject", "title", *SEAT)),
        EventKind("safety.stop", "A participant stepped out of role (the stop button).",
                  ("note", *SEAT)),
        EventKind("item.opened", "A participant opened an inbox item.", ("item", *SEAT)),
        EventKind("note.private", "A participant's own note.", ("text", *SEAT)),
        EventKind("note.added", "A trainer's timestamped note.", ("text", "name")),
        EventKind("objective.rated", "A trainer or observer rated an objective (rubric 1–4).",
                  ("objective", "title", "level", "comment", "name", "rater"),
                  ("seat", "role", "number")),
        EventKind("debrief.added", "A debrief line: plus, delta or take-away.",
                  ("kind", "text", "name")),
        EventKind("countdown.started", "A statutory time limit began to run: its `starts` "
                  "came to hold.", ("countdown", "title")),
        EventKind("countdown.extended", "One of a countdown's `extends` came to hold: its "
                  "limit grows by `by_s` (each extension, by its index, applies once).",
                  ("countdown", "title", "extension", "by_s")),
        EventKind("countdown.warned", "A countdown came within its next `warn` time of "
                  "expiry.", ("countdown", "title")),
        EventKind("countdown.expired", "A countdown ran out (story time): it stays expired.",
                  ("countdown", "title")),
        EventKind("countdown.stopped", "A countdown's `stops` came to hold before it ran out.",
                  ("countdown", "title")),
        EventKind("request.sent", "A trainee sent a request for authorisation, with the "
                  "reason.", ("request", "label", "reason", *SEAT)),
        EventKind("request.decided", "The deciding role approved or rejected a request, with "
                  "the reason; or its deadline passed unanswered (outcome `none`, no seat). "
                  "`sent_seq`: the sending it answers; `sender_role`: who sent it.",
                  ("request", "label", "outcome", "reason", "sent_seq", "sender_role"), SEAT),
        EventKind("annotation.added", "A trainer or observer marked a moment (tag, short "
                  "text, anchored to an event); never shown to a role.",
                  ("tag", "objective", "title", "text", "about", "anchor_seq", "name", "rater"),
                  ("seat", "role", "number")),
    )
}


class UnknownEventKind(Exception):
    """A programming error: the engine tried to log something this registry lacks."""


def check(kind: str, payload: dict) -> None:
    """Refuse an unregistered kind, or a payload that lacks a field or has a stray one."""
    spec = KINDS.get(kind)
    if spec is None:
        raise UnknownEventKind(f"event kind {kind!r} is not registered in sessions/events.py")
    keys = set(payload)
    missing = set(spec.fields) - keys
    stray = keys - set(spec.fields) - set(spec.optional)
    if missing or stray:
        raise UnknownEventKind(
            f"{kind} payload: missing {sorted(missing)}, not registered {sorted(stray)}"
        )
