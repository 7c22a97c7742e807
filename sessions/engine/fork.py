"""Restart from any moment: a new session whose log begins with the original's log up
to a seq, then goes on live.

The fork's log is the original's prefix, event for event: seq 1 is the fork's own
`session.created`, seqs 2 … N are copies of the original's (same kind, clock time,
audience and payload; seat ids mapped to the fork's seat of the same role and
number). So every screen of the fork at seq N, replayed or live, is the one the
original showed at seq N: the scenario events (injects fired and skipped, answers,
expiries, reopenings, actions, messages, cues, opened items, phase jumps) and what
came with them (seats taken, notes, ratings) alike. A fork point after the end is
taken as the last event before `session.ended`.

Then come the fork's own events: `session.forked` (where it comes from), `seat.freed`
(reason "fork") for every seat held at N and `lobby.dismissed` for whoever still
waited, since the fork's seats are re-assigned (the holder rule, `Seat.held_from_seq`,
keeps what the previous holders saw from the new ones), and `clock.paused` at the
moment of the fork. The trainer seats people and resumes.

Every event is appended through `_Tx.append`, stamped with its original clock time
(the fork's clock is held there while it is copied); the projections the engine checks
(firings, answers, actions taken) are rebuilt from the copied rows as an import
rebuilds them, with the deadlines still open at N left open.
"""

from __future__ import annotations

import re

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils.translation import gettext as _

from sessions.audience import EVERYONE
from sessions.engine._core import (
    MAX_TITLE,
    Principal,
    _command,
    _refuse,
    _require_trainer,
)
from sessions.engine.archive import _restore_projections
from sessions.engine.clock import session_create
from sessions.models import Event, InjectFiring, Seat, Session
from simtrain.durations import format_clock

# The scenario's events among those copied (what "restart from here" is for).
FORKED_KINDS = (
    "inject.fired", "inject.skipped", "decision.answered", "decision.expired",
    "decision.reopened", "action.taken", "message.sent", "cue.acknowledged", "item.opened",
    "clock.jumped",
)  # fmt: skip
_SEAT_TOKEN = re.compile(r"^seat:(\d+)$")


def session_fork(*, session_id: int, principal: Principal, at_seq: int, title: str = "") -> Session:
    """A new session of the same scenario version, replaying `session_id` up to `at_seq`."""
    principal = _require_trainer(principal)
    original = Session.objects.select_related("version", "trainer").filter(pk=session_id).first()
    if original is None:
        raise _refuse("unknown-session", _("Cette session n'existe pas."))
    try:
        at_seq = int(at_seq)
    except (TypeError, ValueError):
        at_seq = -1
    if not 1 <= at_seq <= original.last_seq:
        raise _refuse("bad-seq", _("Cet événement n’existe pas dans la session."))
    ended = (
        Event.objects.filter(session=original, kind="session.ended")
        .values_list("seq", flat=True)
        .first()
    )
    if ended is not None:
        at_seq = min(at_seq, ended - 1)
    if not Event.objects.filter(session=original, kind="clock.started", seq__lte=at_seq).exists():
        raise _refuse("not-started", _("L’exercice n’avait pas encore démarré à ce moment."))
    rows = Event.objects.filter(session=original, seq__gt=1, seq__lte=at_seq)
    prefix = list(rows.order_by("seq"))
    at_ms = prefix[-1].clock_ms if prefix else 0
    user = get_user_model().objects.filter(pk=principal.user_id).first() or original.trainer
    title = (title or "").strip() or _("%(title)s — reprise à %(clock)s") % {
        "title": original.title,
        "clock": format_clock(at_ms // 1000),
    }
    with transaction.atomic():
        fork = session_create(
            version=original.version,
            trainer=user,
            title=title[:MAX_TITLE],
            cohort=original.cohort,
            join_mode=original.join_mode,
        )
        seats = _seat_map(original, fork)
        with _command(fork.pk) as tx:
            clock = tx.session
            clock.state, clock.anchor_at = Session.State.PAUSED, None
            for event in prefix:
                clock.anchor_clock_ms = event.clock_ms  # the copy keeps its clock time
                tx.append(
                    event.kind,
                    audience=[_token(t, seats) for t in event.audience],
                    actor=_token(event.actor, seats),
                    payload=_payload(event.payload, seats),
                )
            _restore_projections(clock, tx.events)
            # Deadlines the original had not closed by then are still open.
            expired = {e.payload["inject"] for e in prefix if e.kind == "decision.expired"}
            InjectFiring.objects.filter(session=clock, deadline_ms__isnull=False).exclude(
                inject__ident__in=expired
            ).update(deadline_done=False)
            clock.anchor_clock_ms = at_ms
            tx.append(
                "session.forked",
                audience=[],
                actor=principal.actor,
                payload={"from_session": original.pk, "from_seq": at_seq, "at_ms": at_ms},
            )
            _release(tx, prefix, seats, principal)
            clock.started_at = tx.now
            tx.append("clock.paused", audience=[EVERYONE], actor=principal.actor,
                      payload=clock.clock_payload())  # fmt: skip
    fork.refresh_from_db()
    return fork


def _release(tx, prefix: list[Event], seats: dict[int, int], principal) -> None:
    """Free the seats held at the fork point and send the lobby away: new people play."""
    held: dict[int, dict] = {}
    waiting: set = set()
    for event in prefix:
        p = event.payload
        if event.kind in ("seat.taken", "seat.assigned"):
            held[seats.get(p["seat"], 0)] = p
        elif event.kind == "seat.freed":
            held.pop(seats.get(p["seat"], 0), None)
        if event.kind == "lobby.waiting":
            waiting.add(p["entry"])
        elif event.kind in ("lobby.dismissed", "seat.assigned"):
            waiting.discard(p.get("entry"))
    for seat_id, p in held.items():
        payload = {key: p[key] for key in ("role", "number", "name")}
        payload.update(seat=seat_id, reason="fork")
        tx.append("seat.freed", audience=[], actor=principal.actor, payload=payload)
    for entry in sorted(waiting):
        tx.append("lobby.dismissed", audience=[], actor=principal.actor, payload={"entry": entry})


def _seat_map(original: Session, fork: Session) -> dict[int, int]:
    """Original seat id -> the fork's seat of the same role and number."""
    new = {
        (s.role_id, s.number): s.pk for s in Seat.objects.filter(session=fork)
    }  # fmt: skip
    return {
        s.pk: new[(s.role_id, s.number)]
        for s in Seat.objects.filter(session=original)
        if (s.role_id, s.number) in new
    }


def _token(token: str, seats: dict[int, int]) -> str:
    match = _SEAT_TOKEN.match(token or "")
    if match is None:
        return token
    return f"seat:{seats.get(int(match.group(1)), 0)}"


def _payload(payload: dict, seats: dict[int, int]) -> dict:
    out = dict(payload)
    if isinstance(out.get("seat"), int):
        out["seat"] = seats.get(out["seat"], 0)
    return out
