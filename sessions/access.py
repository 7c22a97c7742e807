"""Who is looking at a session: the trainer (login) or a seat holder (signed pass cookie).

One place decides it for pages, htmx endpoints and WebSockets alike. A participant's
pass is a random key in a signed, HttpOnly cookie scoped to one session; the seat
stores the same key, so freeing or reassigning the seat ends that pass at once.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core import signing

from sessions.audience import Perspective
from sessions.engine import SeatPrincipal, TrainerPrincipal
from sessions.models import Seat, Session
from simtrain.permissions import is_course_admin

PASS_SALT = "simtrain.sessions.pass"
PASS_MAX_AGE = 14 * 24 * 3600  # a course lasts days, not weeks


def pass_cookie_name(session_id: int) -> str:
    return f"simtrain_pass_{session_id}"


def _signer(session_id: int):
    # Salted per session: a pass for one session is no pass for another.
    return signing.get_cookie_signer(salt=f"{PASS_SALT}:{session_id}")


def sign_pass(session_id: int, pass_key: str) -> str:
    """The cookie value for a pass (what `set_pass` sets; bots and tests use it too)."""
    return _signer(session_id).sign(pass_key)


def read_pass(cookies, session_id: int) -> str | None:
    raw = cookies.get(pass_cookie_name(session_id))
    if not raw:
        return None
    try:
        return _signer(session_id).unsign(raw, max_age=PASS_MAX_AGE)
    except signing.BadSignature:
        return None


def set_pass(response, session_id: int, pass_key: str, *, secure: bool = False) -> None:
    response.set_cookie(
        pass_cookie_name(session_id),
        sign_pass(session_id, pass_key),
        max_age=PASS_MAX_AGE,
        httponly=True,
        samesite="Lax",
        secure=secure,
    )


def may_steer(user, session: Session) -> bool:
    """The session's own trainer, or a course admin."""
    if not getattr(user, "is_authenticated", False):
        return False
    return session.trainer_id == user.pk or is_course_admin(user)


@dataclass(frozen=True)
class Viewer:
    perspective: Perspective
    principal: TrainerPrincipal | SeatPrincipal
    seat: Seat | None = None  # a socket keeps a slimmer `consumers.HeldSeat` (pk, role_kind)

    @property
    def is_trainer(self) -> bool:
        return self.perspective.kind == "trainer"


def trainer_viewer(user) -> Viewer:
    name = user.get_full_name() or user.get_username()
    return Viewer(Perspective.trainer(), TrainerPrincipal(user_id=user.pk, name=name))


def seat_viewer(seat: Seat) -> Viewer:
    return Viewer(
        Perspective.for_seat(seat),
        SeatPrincipal(seat_id=seat.pk, pass_key=seat.holder_key),
        seat,
    )


def viewer_for(session: Session, *, user, cookies, prefer_seat: bool = False) -> Viewer | None:
    """The trainer's view if the user may steer, else the seat the pass cookie holds.

    `prefer_seat`: a trainer who also holds a seat (testing their own session in
    another tab) sees the seat's screen on the participant pages.
    """
    seat = seat_for_pass(session, read_pass(cookies, session.pk))
    if seat is not None and (prefer_seat or not may_steer(user, session)):
        return seat_viewer(seat)
    if may_steer(user, session):
        return trainer_viewer(user)
    return None


def seat_for_pass(session: Session, pass_key: str | None) -> Seat | None:
    if not pass_key:
        return None
    return Seat.objects.select_related("role").filter(session=session, holder_key=pass_key).first()


def seat_still_held(seat_id: int, pass_key: str) -> bool:
    return Seat.objects.filter(pk=seat_id, holder_key=pass_key).exclude(holder_key="").exists()
