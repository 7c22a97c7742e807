"""The engine's one command path: lock the session row → check → append events → doorbell.

Every command of `sessions.engine` runs inside `_command`: it locks the session row
(which serialises commands per session, keeps `seq` contiguous and makes every check
race-free), hands the command a `_Tx` whose `append` is the only place a live event row
is created, and after commit rings the doorbell (`signals.events_appended`). No
Channels, no HTTP here: callers resolve *who* is acting (a `Principal`) and the engine
decides *whether* they may.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from scenarios.models import Inject, Role
from sessions import events as registry
from sessions.models import Event, Seat, Session
from sessions.signals import events_appended
from simtrain.text import is_valid as is_valid_text

MAX_TEXT = 4000  # characters in a message, rationale, note or ad-hoc inject body
MAX_TITLE = 300


class EngineError(Exception):
    """A command was refused. `code` is stable (protocol, tests); `message` is for people."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


# --- Who is acting --------------------------------------------------------------------


@dataclass(frozen=True)
class TrainerPrincipal:
    """The session's trainer or a course admin (the caller has checked which)."""

    user_id: int
    name: str = ""

    @property
    def actor(self) -> str:
        return f"trainer:{self.user_id}"


@dataclass(frozen=True)
class SeatPrincipal:
    seat_id: int
    pass_key: str

    @property
    def actor(self) -> str:
        return f"seat:{self.seat_id}"


@dataclass(frozen=True)
class SystemPrincipal:
    actor: str = "system"


SYSTEM = SystemPrincipal()
Principal = TrainerPrincipal | SeatPrincipal | SystemPrincipal


# --- The command transaction ----------------------------------------------------------


@dataclass
class _Tx:
    session: Session
    now: datetime
    events: list[Event] = field(default_factory=list)
    # Set by "jump to phase": what the jump skips over fires now, and is not late.
    jumped: bool = False

    @property
    def clock_ms(self) -> int:
        return self.session.clock_ms(self.now)

    def append(self, kind: str, *, audience: list[str], actor: str, payload: dict) -> Event:
        registry.check(kind, payload)
        self.session.last_seq += 1
        event = Event.objects.create(
            session=self.session,
            seq=self.session.last_seq,
            kind=kind,
            audience=audience,
            actor=actor,
            clock_ms=self.clock_ms,
            created_at=self.now,
            payload=payload,
        )
        self.events.append(event)
        return event


@contextlib.contextmanager
def _command(session_id: int) -> Iterator[_Tx]:
    with transaction.atomic():
        try:
            session = (
                Session.objects.select_for_update().select_related("version").get(pk=session_id)
            )
        except Session.DoesNotExist:
            raise EngineError("unknown-session", _("Cette session n'existe pas.")) from None
        tx = _Tx(session=session, now=timezone.now())
        yield tx
        if tx.events:
            session.save()
            last, events = tx.events[-1].seq, list(tx.events)
            transaction.on_commit(
                lambda: events_appended.send(
                    sender=Session, session_id=session_id, seq=last, events=events
                )
            )


def _refuse(code: str, message: str) -> EngineError:
    return EngineError(code, message)


# --- Principals, checked ---------------------------------------------------------------


def _seat_of(tx: _Tx, principal: Principal) -> Seat:
    if not isinstance(principal, SeatPrincipal):
        raise _refuse("forbidden", _("Seul un participant installé peut faire cela."))
    seat = (
        Seat.objects.select_related("role")
        .filter(pk=principal.seat_id, session=tx.session)
        .first()
    )
    if seat is None or not seat.holder_key or seat.holder_key != principal.pass_key:
        raise _refuse("seat-lost", _("Cette place ne vous est plus attribuée."))
    return seat


def _require_trainer(principal: Principal) -> TrainerPrincipal:
    if not isinstance(principal, TrainerPrincipal):
        raise _refuse("forbidden", _("Réservé au formateur."))
    return principal


def _require_live(tx: _Tx, *, allow_paused: bool = False) -> None:
    allowed = {Session.State.RUNNING} | ({Session.State.PAUSED} if allow_paused else set())
    if tx.session.state not in allowed:
        messages = {
            Session.State.LOBBY: _("La session n'a pas encore commencé."),
            Session.State.PAUSED: _("La session est en pause."),
            Session.State.ENDED: _("La session est terminée."),
        }
        raise _refuse(f"session-{tx.session.state}", messages[tx.session.state])


def _inject(tx: _Tx, ident: str) -> Inject:
    inject = (
        Inject.objects.filter(version_id=tx.session.version_id, ident=ident)
        .prefetch_related("recipients", "attachments__blob")
        .select_related("phase")
        .first()
    )
    if inject is None:
        raise _refuse("unknown-inject", _("Inject inconnu : « %(id)s ».") % {"id": ident})
    return inject


def _role(tx: _Tx, ident: str) -> Role:
    role = Role.objects.filter(version_id=tx.session.version_id, ident=ident).first()
    if role is None:
        raise _refuse("unknown-role", _("Rôle inconnu : « %(id)s ».") % {"id": ident})
    return role


def _clean_text(text: str, *, required: bool, what: str, limit: int = MAX_TEXT) -> str:
    text = (text or "").strip()
    if not is_valid_text(text):  # the frame and form checks come first; this is the backstop
        raise _refuse("bad-text", _("%(what)s contient des caractères invalides.") % {"what": what})
    if required and not text:
        raise _refuse("empty", _("%(what)s est vide.") % {"what": what})
    if len(text) > limit:
        raise _refuse(
            "too-long",
            _("%(what)s dépasse %(limit)d caractères.") % {"what": what, "limit": limit},
        )
    return text


def _display_name(principal: Principal, seat: Seat | None = None) -> str:
    if seat is not None:
        return seat.holder_name
    if isinstance(principal, TrainerPrincipal):
        return principal.name or _("Formateur")
    return ""


def _seat_payload(seat: Seat) -> dict:
    return {
        "seat": seat.pk,
        "role": seat.role.ident,
        "number": seat.number,
        "name": seat.holder_name,
    }


def _clean_name(name: str) -> str:
    return _clean_text(name, required=True, what=_("Le nom"), limit=100)


def _seat_ref(seat: Seat) -> dict:
    return {"seat": seat.pk, "role": seat.role.ident, "number": seat.number}

