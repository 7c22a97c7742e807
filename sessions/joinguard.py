"""Who may come in with the session code, and how often: the join flow's limits.

A classroom often reaches the server through one address (a school's NAT), and one
person in it may be hostile. So:

- **Wrong codes** are counted per network address (`CODE_FAILURES_LIMIT` per
  `CODE_WINDOW_S`), atomically and before the code is looked up: no burst of
  concurrent guesses gets past the limit. Past it, codes from that address are
  refused (429) without being looked up, so a guesser learns nothing.
- **A code this network already entered correctly** keeps working for it (per code
  and address, `KNOWN_CODE_BUDGET` entries per window, which a classroom does not
  exhaust): a burst of wrong codes from the back of the room does not lock the rest
  of the class out of *their* session. This reveals nothing: the code was entered
  correctly from that address before.
- **The trainer is told** (a `join.throttled` event, trainer only: the control room's
  roster shows it) when an address that joined their session gets locked.
- **The one code of an exercise** of several syndicates (`sessions.exercises`) goes
  through the same counters as a session code: it is looked up only after the
  wrong-code count, and a network that entered it is remembered like any code.
- **One seat per browser** with the code (`browser_seat`), and **lobby entries per
  address** capped (`lobby_attempt`); the trainer can clear the lobby at once.

The counters live in the cache (Redis when scaled out): `simtrain.ratelimit`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from django.core.cache import cache

from sessions import engine
from sessions.models import Exercise, Seat, Session
from simtrain.ratelimit import (
    Attempt,
    LimiterUnavailable,
    attempt,
    first_time,
    remember,
    remembered,
    window_ends,
)

log = logging.getLogger(__name__)

CODE_FAILURES_LIMIT = 10  # wrong codes per network address …
CODE_WINDOW_S = 300  # … per five minutes
KNOWN_CODE_BUDGET = 300  # entries per window with a code the address entered correctly
KNOWN_FOR_S = 12 * 3600  # how long "this address entered this code" is remembered
LOBBY_WINDOW_S = 6 * 3600
LOBBY_MIN_BUDGET = 20  # lobby entries per address and session: at least …
LOBBY_PER_SEAT = 2  # … or this many per trainee seat of the session
BROWSER_SEATS = "simtrain_seats"  # request.session key: {session id: [[seat, from seq]]}


class Refused(Exception):
    """A seat or lobby entry refused by these limits; `message` is for people."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Entry:
    session: Session | None = None
    throttled: bool = False
    exercise: Exercise | None = None  # the one code of an exercise of syndicates

    @property
    def found(self) -> bool:
        return self.session is not None or self.exercise is not None


def _live(code: str) -> Session | None:
    return Session.objects.filter(code=code).exclude(state=Session.State.ENDED).first()


def _find(code: str) -> Entry:
    """A live session with this code, else an exercise whose one code it is."""
    session = _live(code)
    if session is not None:
        return Entry(session=session)
    exercise = Exercise.objects.filter(code=code).exclude(placement=Exercise.Placement.CODES) \
        .filter(syndicates__session__state__in=[Session.State.LOBBY, Session.State.RUNNING,
                                                 Session.State.PAUSED]).first()
    return Entry(exercise=exercise)


def _session_ids(entry: Entry) -> list[int]:
    if entry.session is not None:
        return [entry.session.pk]
    return list(entry.exercise.syndicates.values_list("session_id", flat=True))


def enter(code: str, ip: str) -> Entry:
    """Check a well-formed code typed from `ip`. Raises LimiterUnavailable."""
    mark = f"{code}:{ip}"
    if remembered("join-known", mark):
        budget = attempt("join-known", mark, limit=KNOWN_CODE_BUDGET, window=CODE_WINDOW_S)
        found = _find(code) if budget.allowed else Entry()
        if found.found:
            return found
    counted = attempt("join-code", ip, limit=CODE_FAILURES_LIMIT, window=CODE_WINDOW_S)
    if not counted.allowed:
        return Entry(throttled=True)
    found = _find(code)
    if not found.found:
        if counted.count == CODE_FAILURES_LIMIT:  # the next wrong code locks this address
            _tell_trainers(ip, counted)
        return Entry()
    counted.refund()
    remember("join-known", mark, seconds=KNOWN_FOR_S)
    for session_id in _session_ids(found):
        _note_session(ip, session_id)
    return found


def _sessions_key(ip: str) -> str:
    return f"join-sessions:{ip}"


def _note_session(ip: str, session_id: int) -> None:
    try:
        known = [sid for sid in cache.get(_sessions_key(ip)) or [] if sid != session_id]
        cache.set(_sessions_key(ip), [session_id, *known][:20], timeout=KNOWN_FOR_S)
    except Exception:  # only the trainer's notice depends on it
        log.warning("could not note the sessions joined from %s", ip, exc_info=True)


def _tell_trainers(ip: str, counted: Attempt) -> None:
    """Tell the trainers of the sessions joined from `ip` that it is now locked."""
    try:
        known = cache.get(_sessions_key(ip)) or []
    except Exception:
        return
    until = datetime.fromtimestamp(window_ends(CODE_WINDOW_S), tz=UTC)
    for session_id in known:
        if not first_time("join-told", f"{session_id}:{ip}", seconds=CODE_WINDOW_S):
            continue
        try:
            engine.join_throttled(session_id=session_id, failures=counted.count, until=until)
        except engine.EngineError:  # the session is gone
            continue


# --- Seats and lobby entries with the code ----------------------------------------------------


def lobby_budget(session: Session) -> int:
    seats = Seat.objects.filter(session=session, role__kind="trainee").count()
    return max(LOBBY_MIN_BUDGET, LOBBY_PER_SEAT * seats)


def lobby_attempt(session: Session, ip: str) -> Attempt:
    """Count one lobby entry from `ip` (`.allowed`: within the session's budget)."""
    return attempt("lobby", f"{session.pk}:{ip}", limit=lobby_budget(session),
                   window=LOBBY_WINDOW_S)


def browser_seat(request, session: Session) -> Seat | None:
    """A seat this browser took with the code and still holds (by anyone's pass)."""
    taken = request.session.get(BROWSER_SEATS, {}).get(str(session.pk), [])
    for seat_id, from_seq in taken:
        seat = Seat.objects.filter(pk=seat_id, session=session, held_from_seq=from_seq) \
            .exclude(holder_key="").select_related("role").first()
        if seat is not None:
            return seat
    return None


def note_browser_seat(request, seat: Seat) -> None:
    seats = dict(request.session.get(BROWSER_SEATS, {}))
    key = str(seat.session_id)
    seats[key] = [*seats.get(key, []), [seat.pk, seat.held_from_seq]][-10:]
    request.session[BROWSER_SEATS] = seats


__all__ = ["Entry", "LimiterUnavailable", "Refused", "browser_seat", "enter", "lobby_attempt",
           "note_browser_seat"]
