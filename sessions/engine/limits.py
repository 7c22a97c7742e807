"""What the law makes happen by itself: countdowns follow their conditions, warn, expire;
unanswered requests run out. Reads the log, appends events; fires no inject itself.

`follow` starts, stops and extends countdowns whose conditions have come to hold (it is
asked after anything happens); `next_timer` says which warning, expiry or request
deadline the clock has made due, and `ring` logs it. Each returns the occurrences it
logged, and the caller (`injects._fire_due`) fires the injects they trigger. State
comes from the log only (`sessions.law`), under the session lock, so an expiry is logged
once, and never after a stop.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from scenarios.conditions import NONE, RUNNING, Occurrence, holds
from sessions import law as lawstate
from sessions.audience import role_token
from sessions.engine import facts
from sessions.engine._core import _Tx
from sessions.law import Law, LawState, law_for
from sessions.models import Event, Session

# What was logged, and the role whose act it was (a request's sender; "" for a countdown).
Logged = tuple[Occurrence, str]


# The rows the law reads, per session, as its committed log holds them: the scheduler
# asks on every tick (4 per second) while a countdown runs, and the log has rarely grown
# since. Kept only when read before the command appended anything: those rows are
# committed, and a log only grows (a rewrite bumps `log_revision`).
_READ_KINDS = tuple(dict.fromkeys((*facts.READ_KINDS, *lawstate.KINDS)))
_COMMITTED: OrderedDict[int, tuple[tuple[int, int], list[Event]]] = OrderedDict()
_COMMITTED_MAX = 64  # sessions


def _rows(tx: _Tx) -> list[Event]:
    key = (tx.session.last_seq, tx.session.log_revision)
    hit = _COMMITTED.get(tx.session.pk)
    if not tx.events and hit is not None and hit[0] == key:
        _COMMITTED.move_to_end(tx.session.pk)
        return hit[1]
    rows = list(
        Event.objects.filter(session=tx.session, kind__in=_READ_KINDS)
        .order_by("seq")
        .only("seq", "kind", "clock_ms", "payload")
    )
    if not tx.events:
        _COMMITTED[tx.session.pk] = (key, rows)
        _COMMITTED.move_to_end(tx.session.pk)
        while len(_COMMITTED) > _COMMITTED_MAX:
            _COMMITTED.popitem(last=False)
    return rows


def forget() -> None:
    """Drop the kept rows (tests: a rolled-back database reuses session ids and seqs)."""
    _COMMITTED.clear()


def state_of(tx: _Tx) -> LawState:
    return lawstate.fold(e for e in _rows(tx) if e.kind in lawstate.KINDS)


def _facts(tx: _Tx):
    return facts.read(_rows(tx))[1]


def _audience(roles) -> list[str]:
    return sorted(role_token(ident) for ident in roles)


def _log(tx: _Tx, state: LawState, kind: str, roles, payload: dict) -> Occurrence | None:
    event = tx.append(
        # Spelled out in the call: the architecture test reads the kinds the engine writes.
        next(
            k
            for k in (
                "countdown.started",
                "countdown.extended",
                "countdown.warned",
                "countdown.expired",
                "countdown.stopped",
                "request.decided",
            )
            if k == kind
        ),
        audience=_audience(roles),
        actor="system",
        payload=payload,
    )
    return state.apply(event)


def follow(tx: _Tx) -> list[Logged]:
    """Start, stop and extend every countdown whose condition now holds."""
    law = law_for(tx.session.version_id)
    if not law.countdowns or tx.session.state not in (Session.State.RUNNING, Session.State.PAUSED):
        return []
    state = state_of(tx)
    runs = [state.countdowns.get(c.ident) for c in law.countdowns]
    if all(run is not None and run.state != RUNNING for run in runs):
        return []  # every countdown has run out or stopped: nothing left to follow
    logged: list[Logged] = []
    changed = True
    while changed:  # a change may make another countdown's condition hold
        changed = False
        known = _facts(tx)
        for countdown in law.countdowns:
            run = state.countdowns.get(countdown.ident)
            step = None
            if run is None:
                if holds(countdown.starts, known):
                    step = ("countdown.started", {})
            elif run.state == RUNNING:
                if countdown.stops is not None and holds(countdown.stops, known):
                    step = ("countdown.stopped", {})
                else:
                    for k, (when, by_ms) in enumerate(countdown.extends):
                        if k not in run.extensions and holds(when, known):
                            step = ("countdown.extended", {"extension": k, "by_s": by_ms // 1000})
                            break
            if step is not None:
                kind, extra = step
                payload = {"countdown": countdown.ident, "title": countdown.title, **extra}
                occurrence = _log(tx, state, kind, countdown.roles, payload)
                if occurrence is not None:
                    logged.append((occurrence, ""))  # no one's act
                changed = True
                break
    return logged


@dataclass(frozen=True)
class Timer:
    kind: str  # countdown.warned | countdown.expired | request.decided (deadline)
    due_ms: int
    ident: str
    sent_seq: int = 0


def _timers(law: Law, state: LawState) -> list[Timer]:
    timers = []
    for countdown in law.countdowns:
        run = state.countdowns.get(countdown.ident)
        if run is None or run.state != RUNNING:
            continue
        warning = run.next_warning_ms(law, countdown)
        if warning is not None:
            timers.append(Timer("countdown.warned", warning, countdown.ident))
        timers.append(Timer("countdown.expired", run.expires_ms(law, countdown), countdown.ident))
    for request in law.requests:
        sending = state.pending(request.ident)
        if sending is not None and request.deadline_ms is not None:
            timers.append(
                Timer(
                    "request.decided",
                    sending.sent_ms + request.deadline_ms,
                    request.ident,
                    sending.seq,
                )
            )
    return timers


def next_timer(tx: _Tx, now_ms: int) -> Timer | None:
    """The earliest warning, expiry or request deadline due at `now_ms`, or None.
    At the same instant a warning comes before its expiry."""
    law = law_for(tx.session.version_id)
    if law.empty:
        return None
    due = [t for t in _timers(law, state_of(tx)) if t.due_ms <= now_ms]
    order = {"countdown.warned": 0, "countdown.expired": 1, "request.decided": 2}
    return min(due, key=lambda t: (t.due_ms, order[t.kind]), default=None)


def next_timer_ms(session: Session) -> int | None:
    """When the next warning, expiry or request deadline falls due (reads only)."""
    law = law_for(session.version_id)
    if law.empty:
        return None
    events = Event.objects.filter(session=session, kind__in=lawstate.KINDS).order_by("seq")
    return min((t.due_ms for t in _timers(law, lawstate.fold(events))), default=None)


def ring(tx: _Tx, timer: Timer) -> list[Logged]:
    """Log the warning, expiry or unanswered deadline `timer` stands for."""
    law = law_for(tx.session.version_id)
    state = state_of(tx)
    if timer.kind == "request.decided":
        request = law.request(timer.ident)
        sending = state.pending(request.ident)
        occurrence = _log(
            tx,
            state,
            "request.decided",
            (request.decider, *request.senders),
            {
                "request": request.ident,
                "label": request.label,
                "outcome": NONE,
                "reason": "",
                "sent_seq": timer.sent_seq,
                "sender_role": sending.role,
            },
        )
        return [(occurrence, sending.role)] if occurrence else []
    countdown = law.countdown(timer.ident)
    payload = {"countdown": countdown.ident, "title": countdown.title}
    occurrence = _log(tx, state, timer.kind, countdown.roles, payload)
    return [(occurrence, "")] if occurrence else []
