"""The live engine: the only writer of `Event` (and of the projections kept with it).

Every command follows one path: lock the session row → check → append events in the
same transaction → after commit, ring the doorbell (`signals.events_appended`). Locking
the session row serialises commands per session, which keeps `seq` contiguous and
makes every check race-free; the unique constraints on the projections are the
backstop. No Channels, no HTTP here: callers resolve *who* is acting (a `Principal`)
and the engine decides *whether* they may.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from scenarios.format.bundle import ATTACHMENT_TYPES
from scenarios.models import Action, Blob, Inject, Role
from sessions import clock
from sessions.audience import EVERYONE, role_token, seat_token
from sessions.models import (
    ActionTaken,
    AuditEntry,
    DecisionAnswer,
    Event,
    InjectFiring,
    LobbyEntry,
    Seat,
    Session,
    new_secret,
)
from sessions.signals import events_appended

MAX_TEXT = 4000  # characters in a message, rationale, note or ad-hoc inject body
MAX_TITLE = 300
SPEED_CHOICES = (1.0, 2.0, 4.0, 10.0, 60.0)  # offered to trainers; 1× for courses
MIN_SPEED, MAX_SPEED = 0.25, 240.0  # rehearsals (simulate_session) may go faster


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
            last = tx.events[-1].seq
            transaction.on_commit(
                lambda: events_appended.send(sender=Session, session_id=session_id, seq=last)
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


# --- Sessions and the clock ------------------------------------------------------------


def session_create(
    *,
    version,
    trainer,
    title: str,
    cohort: str = "",
    join_mode: str = Session.JoinMode.OPEN,
) -> Session:
    """A session pinned to one scenario version, with every role's seats laid out."""
    title = _clean_text(title, required=True, what=_("Le titre"), limit=MAX_TITLE)
    if join_mode not in Session.JoinMode.values:
        raise _refuse("bad-value", _("Mode d'accueil inconnu."))
    with transaction.atomic():
        session = Session.objects.create(
            version=version, trainer=trainer, title=title, cohort=cohort, join_mode=join_mode
        )
        Seat.objects.bulk_create(
            Seat(session=session, role=role, number=n)
            for role in version.roles.all()
            for n in range(1, role.seats + 1)
        )
    with _command(session.pk) as tx:
        tx.append(
            "session.created",
            audience=[],
            actor=f"trainer:{trainer.pk}",
            payload={"title": title, "version": version.pk, "join_mode": join_mode},
        )
    return session


def _clock_payload(session: Session) -> dict:
    return {
        "state": session.state,
        "speed": session.speed,
        "anchor_clock_ms": session.anchor_clock_ms,
        "anchor_at": session.anchor_at.isoformat() if session.anchor_at else None,
    }


def _announce_clock(tx: _Tx, kind: str, principal: Principal, **extra) -> None:
    """Every screen runs the clock locally from the state each clock event carries."""
    tx.append(kind, audience=[EVERYONE], actor=principal.actor,
              payload={**_clock_payload(tx.session), **extra})


def _reanchor(tx: _Tx) -> None:
    tx.session.anchor_clock_ms = tx.clock_ms
    tx.session.anchor_at = tx.now


def session_start(*, session_id: int, principal: Principal) -> None:
    principal = _require_trainer(principal)
    with _command(session_id) as tx:
        if tx.session.state != Session.State.LOBBY:
            raise _refuse("already-started", _("La session a déjà commencé."))
        tx.session.state = Session.State.RUNNING
        tx.session.anchor_clock_ms = 0
        tx.session.anchor_at = tx.now
        tx.session.started_at = tx.now
        _announce_clock(tx, "clock.started", principal)
        _fire_due(tx)


def session_pause(*, session_id: int, principal: Principal) -> None:
    principal = _require_trainer(principal)
    with _command(session_id) as tx:
        _require_live(tx)
        _fire_due(tx)  # what fell due up to this instant still fires
        _reanchor(tx)
        tx.session.state = Session.State.PAUSED
        _announce_clock(tx, "clock.paused", principal)


def session_resume(*, session_id: int, principal: Principal) -> None:
    principal = _require_trainer(principal)
    with _command(session_id) as tx:
        if tx.session.state != Session.State.PAUSED:
            raise _refuse("not-paused", _("La session n'est pas en pause."))
        tx.session.state = Session.State.RUNNING
        tx.session.anchor_at = tx.now
        _announce_clock(tx, "clock.resumed", principal)


def session_end(*, session_id: int, principal: Principal) -> None:
    principal = _require_trainer(principal)
    with _command(session_id) as tx:
        if tx.session.state == Session.State.ENDED:
            raise _refuse("session-ended", _("La session est terminée."))
        if tx.session.state == Session.State.RUNNING:
            _fire_due(tx)
        _reanchor(tx)
        tx.session.state = Session.State.ENDED
        tx.session.ended_at = tx.now
        _announce_clock(tx, "session.ended", principal)


def clock_set_speed(*, session_id: int, principal: Principal, speed: float) -> None:
    principal = _require_trainer(principal)
    try:
        speed = float(speed)
    except (TypeError, ValueError):
        speed = -1.0
    if not MIN_SPEED <= speed <= MAX_SPEED:
        raise _refuse(
            "bad-speed",
            _("Vitesse hors limites (de %(min)g× à %(max)g×).")
            % {"min": MIN_SPEED, "max": MAX_SPEED},
        )
    with _command(session_id) as tx:
        if tx.session.state == Session.State.ENDED:
            raise _refuse("session-ended", _("La session est terminée."))
        if tx.session.state == Session.State.RUNNING:
            _fire_due(tx)
        _reanchor(tx)
        tx.session.speed = speed
        _announce_clock(tx, "clock.speed", principal)


def clock_jump_to_phase(*, session_id: int, principal: Principal, phase_ident: str) -> None:
    """Set the clock to a phase's planned start. Only forward: the log cannot be undone."""
    principal = _require_trainer(principal)
    with _command(session_id) as tx:
        if tx.session.state not in (Session.State.RUNNING, Session.State.PAUSED):
            raise _refuse("not-live", _("Démarrez la session avant de changer de phase."))
        phase = tx.session.version.phases.filter(ident=phase_ident).first()
        if phase is None:
            raise _refuse("unknown-phase", _("Phase inconnue : « %(id)s ».") % {"id": phase_ident})
        if phase.starts_s is None:
            raise _refuse("phase-untimed", _("Cette phase n'a pas d'heure de début prévue."))
        target = phase.starts_s * 1000
        if target < tx.clock_ms:
            raise _refuse("jump-backwards", _("Impossible de revenir en arrière dans le temps."))
        if tx.session.state == Session.State.RUNNING:
            _fire_due(tx)
        tx.session.anchor_clock_ms = target
        tx.session.anchor_at = tx.now
        _announce_clock(tx, "clock.jumped", principal, phase=phase.ident, title=phase.title)
        if tx.session.state == Session.State.RUNNING:
            # Injects timed before the phase were skipped over by the jump, not missed:
            # they fire now (in order), not marked late.
            tx.jumped = True
            _fire_due(tx)


# --- Seats, lobby, presence -----------------------------------------------------------


def _seat_payload(seat: Seat) -> dict:
    return {
        "seat": seat.pk,
        "role": seat.role.ident,
        "number": seat.number,
        "name": seat.holder_name,
    }


def _clean_name(name: str) -> str:
    return _clean_text(name, required=True, what=_("Le nom"), limit=100)


def _audit(tx: _Tx, principal: TrainerPrincipal, action: str, **details) -> None:
    """The audit line of a trainer's seat command: same transaction, same fate."""
    from sessions.audit import audit_trainer_command

    audit_trainer_command(principal=principal, session=tx.session, action=action,
                          details=details)


def _seat_ref(seat: Seat) -> dict:
    return {"seat": seat.pk, "role": seat.role.ident, "number": seat.number}


def seat_claim(*, session_id: int, seat_id: int, name: str, pass_key: str) -> Seat:
    """A participant takes a free seat (the caller checked how they reached it)."""
    name = _clean_name(name)
    with _command(session_id) as tx:
        if tx.session.state == Session.State.ENDED:
            raise _refuse("session-ended", _("La session est terminée."))
        seat = Seat.objects.select_related("role").filter(pk=seat_id, session=tx.session).first()
        if seat is None:
            raise _refuse("unknown-seat", _("Cette place n'existe pas."))
        if seat.holder_key and seat.holder_key != pass_key:
            raise _refuse("seat-taken", _("Cette place est déjà prise."))
        if Seat.objects.filter(session=tx.session, holder_key=pass_key).exclude(pk=seat.pk):
            raise _refuse("already-seated", _("Vous occupez déjà une autre place."))
        new_holder = seat.holder_key != pass_key
        seat.holder_key = pass_key
        seat.holder_name = name
        seat.held_since = tx.now
        if new_holder:
            seat.held_from_seq = tx.session.last_seq + 1  # the seat.taken appended below
        seat.save(update_fields=["holder_key", "holder_name", "held_since", "held_from_seq"])
        LobbyEntry.objects.filter(session=tx.session, pass_key=pass_key).update(
            state=LobbyEntry.State.SEATED
        )
        tx.append("seat.taken", audience=[], actor=seat_token(seat.pk), payload=_seat_payload(seat))
        return seat


def lobby_join(
    *, session_id: int, name: str, pass_key: str, wanted_role: str = ""
) -> LobbyEntry:
    name = _clean_name(name)
    with _command(session_id) as tx:
        if tx.session.state == Session.State.ENDED:
            raise _refuse("session-ended", _("La session est terminée."))
        role = None
        if wanted_role:
            role = _role(tx, wanted_role)
            if role.kind != Role.Kind.TRAINEE:
                raise _refuse("forbidden", _("Ce rôle ne se rejoint que sur invitation."))
        entry = LobbyEntry.objects.filter(
            session=tx.session, pass_key=pass_key, state=LobbyEntry.State.WAITING
        ).first()
        if entry is None:
            entry = LobbyEntry.objects.create(
                session=tx.session, name=name, pass_key=pass_key, wanted_role=role
            )
        tx.append(
            "lobby.waiting",
            audience=[],
            actor="system",
            payload={"entry": entry.pk, "name": name, "role": role.ident if role else ""},
        )
        return entry


def seat_assign(
    *, session_id: int, principal: Principal, seat_id: int, entry_id: int
) -> Seat:
    """The trainer seats a waiting participant, replacing whoever held the seat."""
    principal = _require_trainer(principal)
    with _command(session_id) as tx:
        seat = Seat.objects.select_related("role").filter(pk=seat_id, session=tx.session).first()
        entry = LobbyEntry.objects.filter(pk=entry_id, session=tx.session).first()
        if seat is None or entry is None:
            raise _refuse("unknown-seat", _("Place ou participant introuvable."))
        if entry.state == LobbyEntry.State.DISMISSED:
            raise _refuse("dismissed", _("Ce participant a été refusé."))
        replaced = bool(seat.holder_key) and seat.holder_key != entry.pass_key
        previous = seat.holder_name if replaced else ""
        # Leave any other seat the same person held: one person, one seat.
        moved_from = []
        for other in Seat.objects.select_related("role").filter(
            session=tx.session, holder_key=entry.pass_key
        ).exclude(pk=seat.pk):
            moved_from.append(_seat_ref(other))
            _vacate(tx, other, principal, reason="reassigned")
        if replaced:
            _vacate(tx, seat, principal, reason="reassigned")
        if seat.holder_key != entry.pass_key:
            seat.held_from_seq = tx.session.last_seq + 1  # the seat.assigned appended below
        seat.holder_key = entry.pass_key
        seat.holder_name = entry.name
        seat.held_since = tx.now
        seat.save(update_fields=["holder_key", "holder_name", "held_since", "held_from_seq"])
        entry.state = LobbyEntry.State.SEATED
        entry.save(update_fields=["state"])
        tx.append(
            "seat.assigned",
            audience=[],
            actor=principal.actor,
            payload={**_seat_payload(seat), "entry": entry.pk},
        )
        _audit(
            tx, principal,
            AuditEntry.Action.SEAT_REASSIGNED if replaced else AuditEntry.Action.SEAT_ASSIGNED,
            **_seat_ref(seat), previous=previous, holder=seat.holder_name, entry=entry.pk,
            moved_from=moved_from,
        )
        return seat


def lobby_dismiss(*, session_id: int, principal: Principal, entry_id: int) -> None:
    principal = _require_trainer(principal)
    with _command(session_id) as tx:
        entry = LobbyEntry.objects.filter(
            pk=entry_id, session=tx.session, state=LobbyEntry.State.WAITING
        ).first()
        if entry is None:
            raise _refuse("unknown-entry", _("Personne en attente introuvable."))
        entry.state = LobbyEntry.State.DISMISSED
        entry.save(update_fields=["state"])
        tx.append(
            "lobby.dismissed", audience=[], actor=principal.actor, payload={"entry": entry.pk}
        )
        _audit(tx, principal, AuditEntry.Action.LOBBY_DISMISSED, entry=entry.pk,
               name=entry.name, wanted_role=entry.wanted_role.ident if entry.wanted_role else "")


def _vacate(tx: _Tx, seat: Seat, principal: Principal, *, reason: str) -> None:
    payload = {**_seat_payload(seat), "reason": reason}
    seat.holder_key = ""
    seat.holder_name = ""
    seat.held_since = None
    # A fresh invitation token too: an old actor link must not reopen the seat.
    seat.invite_token = new_secret()
    seat.save(update_fields=["holder_key", "holder_name", "held_since", "invite_token"])
    tx.append("seat.freed", audience=[], actor=principal.actor, payload=payload)


def seat_free(*, session_id: int, principal: Principal, seat_id: int) -> None:
    principal = _require_trainer(principal)
    with _command(session_id) as tx:
        seat = Seat.objects.select_related("role").filter(pk=seat_id, session=tx.session).first()
        if seat is None:
            raise _refuse("unknown-seat", _("Cette place n'existe pas."))
        if not seat.holder_key:
            raise _refuse("seat-free", _("Cette place est déjà libre."))
        previous = seat.holder_name
        _vacate(tx, seat, principal, reason="freed")
        _audit(tx, principal, AuditEntry.Action.SEAT_FREED, **_seat_ref(seat), previous=previous)


def presence_set(*, session_id: int, principal: SeatPrincipal, connected: bool) -> None:
    """Connected / gone, as seen by the WebSocket consumer. Trainer-only events."""
    with _command(session_id) as tx:
        seat = _seat_of(tx, principal)
        tx.append(
            "presence.connected" if connected else "presence.left",
            audience=[],
            actor=principal.actor,
            payload=_seat_payload(seat),
        )


# --- Injects ----------------------------------------------------------------------------


def _inject_audience(inject: Inject) -> list[str]:
    if inject.is_public:
        return [EVERYONE]
    return sorted(role_token(role.ident) for role in inject.recipients.all())


def _inject_payload(inject: Inject) -> dict:
    """What the screens show, copied into the log so a replay never depends on lookups."""
    return {
        "inject": inject.ident,
        "kind": inject.kind,
        "title": inject.title,
        "body": inject.body,
        "from": inject.sender,
        "phase": inject.phase.ident if inject.phase else "",
        "roles": sorted(role.ident for role in inject.recipients.all()),
        "attachments": [
            {
                "id": a.pk,
                "title": a.display_title,
                "path": a.path,
                "content_type": a.blob.content_type,
                "size": a.blob.size,
            }
            for a in inject.attachments.all()
        ],
        "cue": inject.cue,
        "options": inject.options,
        "free_text": inject.free_text,
        "deadline_s": inject.deadline_s,
    }


def _fire(
    tx: _Tx,
    inject: Inject,
    *,
    actor: str,
    cause: str,
    due_ms: int | None = None,
    late: bool = False,
) -> Event | None:
    """Fire one inject if it has not fired or been skipped yet; cascade to followers."""
    if InjectFiring.objects.filter(session=tx.session, inject=inject).exists():
        return None
    payload = {**_inject_payload(inject), "cause": cause, "due_ms": due_ms, "late": late}
    event = tx.append(
        "inject.fired", audience=_inject_audience(inject), actor=actor, payload=payload
    )
    deadline_ms = (
        event.clock_ms + inject.deadline_s * 1000
        if inject.kind == Inject.Kind.DECISION and inject.deadline_s is not None
        else None
    )
    InjectFiring.objects.create(
        session=tx.session,
        inject=inject,
        outcome=InjectFiring.Outcome.FIRED,
        clock_ms=event.clock_ms,
        due_ms=due_ms,
        late=late,
        seq=event.seq,
        deadline_ms=deadline_ms,
    )
    # `after` followers with no delay are due now; the rest wait for the scheduler.
    if tx.session.state == Session.State.RUNNING:
        _fire_due(tx)
    return event


def _fire_due(tx: _Tx) -> None:
    """Fire, in due order, every time-triggered inject whose moment has come."""
    if tx.session.state != Session.State.RUNNING:
        return
    while True:
        now_ms = tx.clock_ms
        due = clock.next_due(tx.session, now_ms)
        if due is None:
            return
        if due.kind == "deadline":
            _expire_decision(tx, due.firing, due.due_ms)
            continue
        inject = _inject(tx, due.inject_ident)
        late = (not tx.jumped) and clock.is_late(tx.session, due.due_ms, now_ms)
        _fire(tx, inject, actor="system", cause=due.kind, due_ms=due.due_ms, late=late)


def _expire_decision(tx: _Tx, firing: InjectFiring, due_ms: int) -> None:
    firing.deadline_done = True
    firing.save(update_fields=["deadline_done"])
    inject = _inject(tx, firing.inject.ident)
    answered = set(
        DecisionAnswer.objects.filter(
            session=tx.session, inject=inject, active=True
        ).values_list("role_id", flat=True)
    )
    late_roles = [role for role in inject.recipients.all() if role.pk not in answered]
    if late_roles:
        event = tx.append(
            "decision.expired",
            audience=sorted(role_token(role.ident) for role in late_roles),
            actor="system",
            payload={
                "inject": inject.ident,
                "title": inject.title,
                "roles": sorted(role.ident for role in late_roles),
                "due_ms": due_ms,
            },
        )
        DecisionAnswer.objects.bulk_create(
            DecisionAnswer(
                session=tx.session,
                inject=inject,
                role=role,
                clock_ms=event.clock_ms,
                seq=event.seq,
                expired=True,
            )
            for role in late_roles
        )
    if not answered:
        for follower in clock.branches(inject, Inject.OPTION_NONE):
            _fire(tx, follower, actor="system", cause="decision", due_ms=due_ms)


def inject_fire(*, session_id: int, principal: Principal, inject_ident: str) -> Event:
    """The trainer fires an inject now, whatever its trigger."""
    principal = _require_trainer(principal)
    with _command(session_id) as tx:
        _require_live(tx, allow_paused=True)
        inject = _inject(tx, inject_ident)
        event = _fire(tx, inject, actor=principal.actor, cause="manual")
        if event is None:
            raise _refuse("already-fired", _("Cet inject a déjà été déclenché ou ignoré."))
        return event


def inject_skip(*, session_id: int, principal: Principal, inject_ident: str) -> None:
    principal = _require_trainer(principal)
    with _command(session_id) as tx:
        if tx.session.state == Session.State.ENDED:
            raise _refuse("session-ended", _("La session est terminée."))
        inject = _inject(tx, inject_ident)
        if InjectFiring.objects.filter(session=tx.session, inject=inject).exists():
            raise _refuse("already-fired", _("Cet inject a déjà été déclenché ou ignoré."))
        event = tx.append(
            "inject.skipped",
            audience=[],
            actor=principal.actor,
            payload={"inject": inject.ident, "title": inject.title},
        )
        InjectFiring.objects.create(
            session=tx.session,
            inject=inject,
            outcome=InjectFiring.Outcome.SKIPPED,
            clock_ms=event.clock_ms,
            seq=event.seq,
        )


def _store_blob(content: bytes, content_type: str) -> Blob:
    digest = hashlib.sha256(content).hexdigest()
    blob, _created = Blob.objects.get_or_create(
        sha256=digest,
        defaults={"size": len(content), "content_type": content_type, "data": content},
    )
    return blob


ADHOC_KINDS = (
    Inject.Kind.MESSAGE,
    Inject.Kind.DOCUMENT,
    Inject.Kind.CALL,
    Inject.Kind.SCENE,
    Inject.Kind.BROADCAST,
)


MAX_ADHOC_FILES = 5
MAX_ADHOC_FILE_BYTES = 20 * 1024 * 1024


def _adhoc_files(files: Sequence[tuple[str, bytes]]) -> list[tuple[str, str, bytes]]:
    """(name, extension, content) of each uploaded file, checked by content, not by name.

    The same rule as a scenario's attachments (scenarios.format): an allowed extension,
    and content that starts like that kind of file (a ".pdf" that is not a PDF is
    refused, so it is never served with a type it does not have).
    """
    from scenarios.format.validate import content_mismatch

    if len(files) > MAX_ADHOC_FILES:
        raise _refuse(
            "too-many-files",
            _("%(max)d pièces jointes au plus.") % {"max": MAX_ADHOC_FILES},
        )
    checked = []
    for name, content in files:
        name = (name or "").replace("\\", "/").rsplit("/", 1)[-1].strip()[:200] or "fichier"
        extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
        if extension not in ATTACHMENT_TYPES:
            raise _refuse(
                "bad-attachment",
                _("« %(name)s » : type de fichier non accepté (acceptés : %(types)s).")
                % {"name": name, "types": ", ".join(ATTACHMENT_TYPES)},
            )
        if not content:
            raise _refuse("bad-attachment", _("« %(name)s » est vide.") % {"name": name})
        if len(content) > MAX_ADHOC_FILE_BYTES:
            raise _refuse(
                "bad-attachment",
                _("« %(name)s » dépasse %(size)d Mo.")
                % {"name": name, "size": MAX_ADHOC_FILE_BYTES // (1024 * 1024)},
            )
        if content_mismatch(extension, content) is not None:
            raise _refuse(
                "bad-attachment",
                _("« %(name)s » n'est pas ce que son nom annonce : son contenu ne "
                  "correspond pas à un fichier .%(ext)s.") % {"name": name, "ext": extension},
            )
        checked.append((name, extension, content))
    return checked


def inject_adhoc(
    *,
    session_id: int,
    principal: Principal,
    roles: list[str],
    title: str,
    body: str = "",
    kind: str = Inject.Kind.MESSAGE,
    sender: str = "",
    files: Sequence[tuple[str, bytes]] = (),
) -> Event:
    """An inject written live by the trainer, optionally speaking as a persona.

    `files` are (name, content) pairs: each is checked by content, stored as a Blob
    (content-addressed, so a replay still has it) and listed in the payload with the
    Blob's hash; the attachment view serves it only to the inject's recipients.
    """
    principal = _require_trainer(principal)
    title = _clean_text(title, required=True, what=_("Le titre"), limit=MAX_TITLE)
    body = _clean_text(body, required=False, what=_("Le texte"))
    sender = _clean_text(sender, required=False, what=_("L'expéditeur"), limit=MAX_TITLE)
    if kind not in ADHOC_KINDS:
        raise _refuse("bad-kind", _("Type d'inject non pris en charge en direct."))
    uploads = _adhoc_files(files)
    with _command(session_id) as tx:
        _require_live(tx, allow_paused=True)
        if kind == Inject.Kind.BROADCAST:
            audience, role_idents = [EVERYONE], []
        else:
            if not roles:
                raise _refuse("no-recipient", _("Choisissez au moins un destinataire."))
            role_idents = sorted(set(roles))
            known = set(Role.objects.filter(version_id=tx.session.version_id,
                                            ident__in=role_idents)
                        .values_list("ident", flat=True))  # one query, whatever the count
            unknown = next((ident for ident in role_idents if ident not in known), None)
            if unknown is not None:
                raise _refuse("unknown-role", _("Rôle inconnu : « %(id)s ».") % {"id": unknown})
            audience = [role_token(ident) for ident in role_idents]
        number = Event.objects.filter(session=tx.session, kind="inject.fired").count() + 1
        attachments = []
        for position, (name, extension, content) in enumerate(uploads, start=1):
            blob = _store_blob(content, ATTACHMENT_TYPES[extension])
            attachments.append(
                {
                    "id": f"adhoc-{number}-{position}",
                    "blob": blob.sha256,
                    "title": name,
                    "path": name,
                    "content_type": blob.content_type,
                    "size": blob.size,
                }
            )
        return tx.append(
            "inject.fired",
            audience=audience,
            actor=principal.actor,
            payload={
                "inject": f"adhoc-{number}",
                "adhoc": True,
                "kind": kind,
                "title": title,
                "body": body,
                "from": sender,
                "phase": "",
                "roles": role_idents,
                "attachments": attachments,
                "cue": None,
                "options": None,
                "free_text": False,
                "deadline_s": None,
                "cause": "manual",
                "due_ms": None,
                "late": False,
            },
        )


# --- Decisions, actions, messages, cues, safety ----------------------------------------


def _fired_inject(tx: _Tx, ident: str, kind: str, seat: Seat) -> Inject:
    inject = _inject(tx, ident)
    reaches = seat.role in inject.recipients.all()
    fired = InjectFiring.objects.filter(
        session=tx.session, inject=inject, outcome=InjectFiring.Outcome.FIRED
    ).exists()
    if inject.kind != kind or not reaches or not fired:
        # One answer for every way of being wrong: nothing hints at other roles' content.
        raise _refuse("unknown-inject", _("Inject inconnu : « %(id)s ».") % {"id": ident})
    return inject


def decision_answer(
    *,
    session_id: int,
    principal: Principal,
    inject_ident: str,
    option: str = "",
    rationale: str = "",
) -> Event:
    rationale = _clean_text(rationale, required=False, what=_("La justification"))
    with _command(session_id) as tx:
        seat = _seat_of(tx, principal)
        _require_live(tx)
        inject = _fired_inject(tx, inject_ident, Inject.Kind.DECISION, seat)
        current = DecisionAnswer.objects.filter(
            session=tx.session, inject=inject, role=seat.role, active=True
        ).first()
        if current is not None and current.expired:
            raise _refuse("deadline-passed", _("Le délai pour cette décision est dépassé."))
        if current is not None:
            raise _refuse(
                "already-answered",
                _("Décision déjà prise pour votre rôle par %(name)s.")
                % {"name": current.seat.holder_name if current.seat else "?"},
            )
        if option:
            if option not in inject.option_ids:
                raise _refuse("unknown-option", _("Option inconnue : « %(id)s ».") % {"id": option})
        elif not inject.free_text:
            raise _refuse("no-option", _("Choisissez une option."))
        elif not rationale:
            raise _refuse("empty", _("Écrivez votre réponse."))
        event = tx.append(
            "decision.answered",
            audience=[role_token(seat.role.ident)],
            actor=principal.actor,
            payload={
                "inject": inject.ident,
                "title": inject.title,
                "option": option,
                "label": next(
                    (o["label"] for o in inject.options or [] if o["id"] == option), ""
                ),
                "rationale": rationale,
                **_seat_payload(seat),
            },
        )
        DecisionAnswer.objects.create(
            session=tx.session,
            inject=inject,
            role=seat.role,
            seat=seat,
            option=option,
            rationale=rationale,
            clock_ms=event.clock_ms,
            seq=event.seq,
        )
        for follower in clock.branches(inject, option):
            _fire(tx, follower, actor="system", cause="decision")
        return event


def decision_reopen(
    *, session_id: int, principal: Principal, inject_ident: str, role_ident: str
) -> None:
    principal = _require_trainer(principal)
    with _command(session_id) as tx:
        inject = _inject(tx, inject_ident)
        role = _role(tx, role_ident)
        updated = DecisionAnswer.objects.filter(
            session=tx.session, inject=inject, role=role, active=True
        ).update(active=False)
        if not updated:
            raise _refuse("not-answered", _("Ce rôle n'a pas encore répondu."))
        tx.append(
            "decision.reopened",
            audience=[role_token(role.ident)],
            actor=principal.actor,
            payload={"inject": inject.ident, "title": inject.title, "role": role.ident},
        )


def action_take(
    *, session_id: int, principal: Principal, action_ident: str, note: str = ""
) -> Event:
    note = _clean_text(note, required=False, what=_("La note"))
    with _command(session_id) as tx:
        seat = _seat_of(tx, principal)
        _require_live(tx)
        action = (
            Action.objects.filter(version_id=tx.session.version_id, ident=action_ident)
            .prefetch_related("roles")
            .first()
        )
        if action is None or seat.role not in action.roles.all():
            raise _refuse(
                "unknown-action", _("Action inconnue : « %(id)s ».") % {"id": action_ident}
            )
        if action.once and ActionTaken.objects.filter(
            session=tx.session, action=action, role=seat.role
        ).exists():
            raise _refuse("already-taken", _("Cette action a déjà été faite pour votre rôle."))
        event = tx.append(
            "action.taken",
            audience=[role_token(seat.role.ident)],
            actor=principal.actor,
            payload={
                "action": action.ident,
                "label": action.label,
                "note": note,
                **_seat_payload(seat),
            },
        )
        ActionTaken.objects.create(
            session=tx.session,
            action=action,
            role=seat.role,
            seat=seat,
            clock_ms=event.clock_ms,
            seq=event.seq,
        )
        for follower in action.triggered_injects.filter(trigger=Inject.Trigger.ACTION):
            _fire(tx, follower, actor="system", cause="action")
        return event


def contacts_of(role: Role) -> list[Role]:
    """Roles this role may message: its `contacts`, or by default every trainee role."""
    if role.contacts_explicit:
        return [r for r in role.contacts.all() if r.pk != role.pk]
    return list(
        Role.objects.filter(version_id=role.version_id, kind=Role.Kind.TRAINEE).exclude(pk=role.pk)
    )


def thread_key(a: str, b: str) -> str:
    """One thread per pair of roles, whoever writes first."""
    return "|".join(sorted((a, b)))


def message_send(
    *,
    session_id: int,
    principal: Principal,
    to_role: str,
    text: str,
    from_role: str = "",
) -> Event:
    """A role messages a contact; the trainer may write in any thread (`from_role`)."""
    text = _clean_text(text, required=True, what=_("Le message"))
    with _command(session_id) as tx:
        _require_live(tx, allow_paused=True)
        target = _role(tx, to_role)
        if isinstance(principal, TrainerPrincipal):
            source = _role(tx, from_role) if from_role else None
            if source is not None and source.pk == target.pk:
                raise _refuse("unknown-role", _("Un fil relie deux rôles différents."))
            name, extra = principal.name or _("Formateur"), {}
        else:
            seat = _seat_of(tx, principal)
            source = seat.role
            if source.kind == Role.Kind.OBSERVER:
                raise _refuse("forbidden", _("Un observateur n'intervient pas."))
            if target not in contacts_of(source):
                raise _refuse(
                    "not-a-contact",
                    _("Vous ne pouvez pas écrire à « %(role)s ».") % {"role": target.title},
                )
            name, extra = seat.holder_name, _seat_payload(seat)
        idents = sorted({target.ident, source.ident} if source else {target.ident})
        return tx.append(
            "message.sent",
            audience=[role_token(ident) for ident in idents],
            actor=principal.actor,
            payload={
                **extra,
                "thread": thread_key(source.ident, target.ident) if source else target.ident,
                "from_role": source.ident if source else "",
                "to_role": target.ident,
                "name": name,
                "text": text,
                "by_trainer": isinstance(principal, TrainerPrincipal),
            },
        )


def cue_acknowledge(*, session_id: int, principal: Principal, inject_ident: str) -> Event:
    with _command(session_id) as tx:
        seat = _seat_of(tx, principal)
        _require_live(tx, allow_paused=True)
        inject = _fired_inject(tx, inject_ident, Inject.Kind.CUE, seat)
        if Event.objects.filter(
            session=tx.session,
            kind="cue.acknowledged",
            payload__inject=inject.ident,
            payload__role=seat.role.ident,
        ).exists():
            raise _refuse("already-done", _("Consigne déjà marquée comme faite."))
        return tx.append(
            "cue.acknowledged",
            audience=[role_token(seat.role.ident)],
            actor=principal.actor,
            payload={"inject": inject.ident, "title": inject.title, **_seat_payload(seat)},
        )


def safety_stop(*, session_id: int, principal: Principal, note: str = "") -> Event:
    """Step out of role. Pauses nothing by itself; the trainer is alerted at once."""
    note = _clean_text(note, required=False, what=_("La note"))
    with _command(session_id) as tx:
        seat = _seat_of(tx, principal)
        return tx.append(
            "safety.stop",
            audience=[seat_token(seat.pk)],
            actor=principal.actor,
            payload={"note": note, **_seat_payload(seat)},
        )


def item_open(*, session_id: int, principal: Principal, item: int) -> Event | None:
    """A participant opened an inbox item: unread until then (kept, so replays show it)."""
    with _command(session_id) as tx:
        seat = _seat_of(tx, principal)
        from sessions.audience import Perspective

        event = Event.objects.filter(session=tx.session, seq=item, kind="inject.fired").first()
        if event is None or not Perspective.for_seat(seat).sees_event(event):
            raise _refuse("unknown-item", _("Élément introuvable."))
        if Event.objects.filter(
            session=tx.session, kind="item.opened", actor=principal.actor, payload__item=item
        ).exists():
            return None  # opening twice is not news
        return tx.append(
            "item.opened",
            audience=[seat_token(seat.pk)],
            actor=principal.actor,
            payload={"item": item, **_seat_payload(seat)},
        )


def note_private(*, session_id: int, principal: Principal, text: str) -> Event:
    """A participant's own note (their seat sees it; the trainer sees everything)."""
    text = _clean_text(text, required=True, what=_("La note"))
    with _command(session_id) as tx:
        seat = _seat_of(tx, principal)
        return tx.append(
            "note.private",
            audience=[seat_token(seat.pk)],
            actor=principal.actor,
            payload={"text": text, **_seat_payload(seat)},
        )


def note_add(*, session_id: int, principal: Principal, text: str) -> Event:
    """A trainer's note, stamped with the exercise clock for the debrief."""
    principal = _require_trainer(principal)
    text = _clean_text(text, required=True, what=_("La note"))
    with _command(session_id) as tx:
        return tx.append(
            "note.added",
            audience=[],
            actor=principal.actor,
            payload={"text": text, "name": principal.name},
        )


# --- The scheduler's entry point -------------------------------------------------------


def scheduler_tick(*, session_id: int) -> int:
    """Fire whatever is due in one running session. Returns how many events it appended."""
    with _command(session_id) as tx:
        _fire_due(tx)
        return len(tx.events)


# =======================================================================================
# After-action review: ratings, debrief, and the archive's writes
# ---------------------------------------------------------------------------------------
# Ratings and debrief entries are ordinary commands: events in the log, so the replay
# shows them and exports carry them. They are also accepted once the session has ended,
# since the review happens afterwards. The last three functions write outside the
# command path on purpose, each for a documented reason: restoring an exported log
# (import), the one sanctioned rewrite of events (pseudonymisation after the retention
# period), and deleting a whole session. All three leave an audit entry.
# =======================================================================================

RATING_LEVELS = (1, 2, 3, 4)
DEBRIEF_KINDS = ("plus", "delta", "takeaway")
PSEUDONYM = "Participant {n}"
PSEUDONYM_SHAPE = re.compile(r"^Participant \d+$")


def _observer_or_trainer(tx: _Tx, principal: Principal) -> tuple[str, Seat | None]:
    """The rater: the trainer, or an observer's seat (nobody else rates)."""
    if isinstance(principal, TrainerPrincipal):
        return principal.actor, None
    seat = _seat_of(tx, principal)
    if seat.role.kind != Role.Kind.OBSERVER:
        raise _refuse("forbidden", _("Seuls le formateur et les observateurs évaluent."))
    return principal.actor, seat


def objective_rate(
    *,
    session_id: int,
    principal: Principal,
    objective_ident: str,
    level: int,
    comment: str = "",
) -> Event:
    """A trainer or an observer rates one objective on the 4-level rubric.

    A rater may rate again: the report keeps each rater's latest rating, the log keeps
    them all. Allowed in any state, ended included (the review comes afterwards).
    """
    from scenarios.models import Objective

    comment = _clean_text(comment, required=False, what=_("Le commentaire"))
    try:
        level = int(level)
    except (TypeError, ValueError):
        level = 0
    if level not in RATING_LEVELS:
        raise _refuse("bad-level", _("Le niveau va de 1 à 4."))
    with _command(session_id) as tx:
        actor, seat = _observer_or_trainer(tx, principal)
        objective = Objective.objects.filter(
            version_id=tx.session.version_id, ident=objective_ident
        ).first()
        if objective is None:
            raise _refuse(
                "unknown-objective",
                _("Objectif inconnu : « %(id)s ».") % {"id": objective_ident},
            )
        payload = {
            "objective": objective.ident,
            "title": objective.title,
            "level": level,
            "comment": comment,
            "name": _display_name(principal, seat),
            "rater": "observer" if seat is not None else "trainer",
        }
        if seat is not None:
            payload.update(_seat_payload(seat))
        return tx.append(
            "objective.rated",
            # An observer sees their own ratings in a replay of their seat.
            audience=[seat_token(seat.pk)] if seat is not None else [],
            actor=actor,
            payload=payload,
        )


def debrief_add(*, session_id: int, principal: Principal, kind: str, text: str) -> Event:
    """A debrief line written by the trainer with the group: plus, delta or take-away."""
    principal = _require_trainer(principal)
    if kind not in DEBRIEF_KINDS:
        raise _refuse("bad-kind", _("Type d'entrée de débriefing inconnu."))
    text = _clean_text(text, required=True, what=_("Le texte"))
    with _command(session_id) as tx:
        return tx.append(
            "debrief.added",
            audience=[],
            actor=principal.actor,
            payload={"kind": kind, "text": text, "name": principal.name},
        )


@dataclass(frozen=True)
class RestoreIds:
    """Database ids of the rows `session_restore` created, for translating a file's refs."""

    session_id: int
    version_id: int
    seats: dict[tuple[str, int], int]  # (role ident, number) -> seat id
    lobby: list[int]  # lobby entry ids, in the file's order
    attachments: dict[tuple[str, str], int]  # (inject ident, path) -> attachment id


def session_restore(
    *,
    version,
    trainer,
    fields: dict,
    seats: dict[tuple[str, int], str],
    lobby: list[dict],
    blobs: Sequence[tuple[bytes, str]] = (),
    build_events: Callable[[RestoreIds], list[dict]],
) -> Session:
    """Recreate an exported session: its row, seats, lobby, log and projections.

    The import path (sessions.exports) has checked the file; this writes it, inside the
    caller's transaction. `fields` are Session columns, `seats` the holder names by
    (role, number), `lobby` {name, role, state} rows, and `build_events` turns the
    file's events into rows once the ids they must point to exist. `blobs` are the
    (content, type) of ad-hoc attachments, stored content-addressed as the live command
    stores them. Nobody holds a seat of a restored session (passes are secrets and are
    never exported).
    """
    for content, content_type in blobs:
        _store_blob(content, content_type)
    session = Session.objects.create(version=version, trainer=trainer, **fields)
    Seat.objects.bulk_create(
        Seat(session=session, role=role, number=n, holder_name=seats.get((role.ident, n), ""))
        for role in version.roles.all()
        for n in range(1, role.seats + 1)
    )
    roles = {role.ident: role for role in version.roles.all()}
    entries = [
        LobbyEntry.objects.create(
            session=session,
            name=row["name"],
            pass_key=new_secret(),
            wanted_role=roles.get(row.get("role") or ""),
            state=row["state"],
        )
        for row in lobby
    ]
    seat_ids = {
        (seat.role.ident, seat.number): seat.pk
        for seat in Seat.objects.filter(session=session).select_related("role")
    }
    from scenarios.models import Attachment

    attachments = {
        (a.inject.ident, a.path): a.pk
        for a in Attachment.objects.filter(inject__version=version).select_related("inject")
    }
    rows = build_events(
        RestoreIds(
            session_id=session.pk,
            version_id=version.pk,
            seats=seat_ids,
            lobby=[entry.pk for entry in entries],
            attachments=attachments,
        )
    )
    events = Event.objects.bulk_create(
        Event(session=session, **row) for row in rows
    )
    Session.objects.filter(pk=session.pk).update(
        last_seq=len(events), created_at=fields.get("created_at") or session.created_at
    )
    _restore_projections(session, events)
    session.refresh_from_db()
    return session


def _restore_projections(session: Session, events: list[Event]) -> None:
    """Rebuild the engine's lookup tables from a restored log, as the engine kept them."""
    version = session.version
    injects = {i.ident: i for i in version.injects.all()}
    roles = {r.ident: r for r in version.roles.all()}
    actions = {a.ident: a for a in version.actions.all()}
    seats = {s.pk: s for s in Seat.objects.filter(session=session)}
    firings: list[InjectFiring] = []
    answers: list[DecisionAnswer] = []
    taken: list[ActionTaken] = []
    for event in events:
        p = event.payload
        inject = injects.get(p.get("inject", "")) if "inject" in p else None
        if event.kind == "inject.fired" and inject is not None and not p.get("adhoc"):
            deadline = p.get("deadline_s")
            firings.append(InjectFiring(
                session=session, inject=inject, outcome=InjectFiring.Outcome.FIRED,
                clock_ms=event.clock_ms, due_ms=p.get("due_ms"), late=bool(p.get("late")),
                seq=event.seq,
                deadline_ms=event.clock_ms + deadline * 1000 if deadline is not None else None,
                # Only ended sessions are restored: no deadline is pending any more.
                deadline_done=deadline is not None,
            ))
        elif event.kind == "inject.skipped" and inject is not None:
            firings.append(InjectFiring(
                session=session, inject=inject, outcome=InjectFiring.Outcome.SKIPPED,
                clock_ms=event.clock_ms, seq=event.seq,
            ))
        elif event.kind == "decision.answered" and inject is not None and p.get("role") in roles:
            answers.append(DecisionAnswer(
                session=session, inject=inject, role=roles[p["role"]],
                seat=seats.get(p.get("seat")), option=p.get("option", ""),
                rationale=p.get("rationale", ""), clock_ms=event.clock_ms, seq=event.seq,
            ))
        elif event.kind == "decision.expired" and inject is not None:
            answers.extend(
                DecisionAnswer(session=session, inject=inject, role=roles[ident],
                               clock_ms=event.clock_ms, seq=event.seq, expired=True)
                for ident in p.get("roles", []) if ident in roles
            )
        elif event.kind == "decision.reopened" and inject is not None:
            for answer in answers:
                if answer.inject_id == inject.pk and answer.role.ident == p.get("role"):
                    answer.active = False
        elif event.kind == "action.taken" and p.get("action") in actions:
            role = roles.get(p.get("role", ""))
            if role is not None:
                taken.append(ActionTaken(
                    session=session, action=actions[p["action"]], role=role,
                    seat=seats.get(p.get("seat")), clock_ms=event.clock_ms, seq=event.seq,
                ))
    InjectFiring.objects.bulk_create(firings)
    DecisionAnswer.objects.bulk_create(answers)
    ActionTaken.objects.bulk_create(taken)


def _names_a_participant(event: Event) -> bool:
    """Whether the event's payload `name` is a seat holder's (or a waiting trainee's).

    Trainers' names stay: they are staff, and the record of who ran the session.
    """
    p = event.payload
    return bool(p.get("name")) and ("seat" in p or event.kind == "lobby.waiting")


def _pseudonymiser() -> tuple[Callable[[str], str], dict[str, str]]:
    """A name -> « Participant n » function, numbering names as it first meets them."""
    pseudonyms: dict[str, str] = {}

    def pseudonym(name: str) -> str:
        if name not in pseudonyms:
            taken = set(pseudonyms.values())
            if PSEUDONYM_SHAPE.match(name) and name not in taken:
                pseudonyms[name] = name  # already a pseudonym: a second run
            else:
                n = len(pseudonyms) + 1
                while PSEUDONYM.format(n=n) in taken:
                    n += 1
                pseudonyms[name] = PSEUDONYM.format(n=n)
        return pseudonyms[name]

    return pseudonym, pseudonyms


def session_pseudonymise(*, session_id: int, user=None, actor: str = "") -> int:
    """Replace participants' display names by stable pseudonyms (« Participant 3 »).

    THE EXCEPTION to "events are never updated": after the retention period the names
    of the people who held seats are rewritten, in the log (payload `name` of their
    events, including payloads of seat and lobby events), in the seat and lobby rows and
    in the session's seat lines of the audit trail. Nothing else changes: what was said,
    decided and done is kept, so replays and reports go on working. Pseudonyms are
    numbered by first appearance in the log, so a name gets the same one everywhere and
    a second run changes nothing. The session's replay snapshots hold the old names and
    are dropped. Returns the number of distinct names replaced; leaves an audit entry.
    """
    from sessions.audit import audit_record, pseudonymise_names
    from sessions.models import ReplaySnapshot

    with transaction.atomic():
        session = Session.objects.select_for_update().get(pk=session_id)
        pseudonym, pseudonyms = _pseudonymiser()
        rewritten = []
        for event in Event.objects.filter(session=session).order_by("seq"):
            if _names_a_participant(event):
                new = pseudonym(event.payload["name"])
                if new != event.payload["name"]:
                    event.payload = {**event.payload, "name": new}
                    rewritten.append(event)
        Event.objects.bulk_update(rewritten, ["payload"], batch_size=500)
        for seat in Seat.objects.filter(session=session).exclude(holder_name=""):
            seat.holder_name = pseudonym(seat.holder_name)
            seat.save(update_fields=["holder_name"])
        for entry in LobbyEntry.objects.filter(session=session):
            entry.name = pseudonym(entry.name)
            entry.save(update_fields=["name"])
        pseudonymise_names(session.pk, pseudonym)  # the seat lines of the audit trail
        ReplaySnapshot.objects.filter(session=session).delete()
        # Rendered regions hold the old names: forget them now, and again once committed
        # (a replay rendered in between must not stay cached under the new names).
        _replay_forget(session_id)
        transaction.on_commit(lambda: _replay_forget(session_id))
        replaced = sum(1 for real, alias in pseudonyms.items() if real != alias)
        audit_record(
            user=user,
            actor=actor,
            action=AuditEntry.Action.SESSION_PSEUDONYMISED,
            session=session,
            details={"names": replaced, "events": len(rewritten)},
        )
        return replaced


def _replay_forget(session_id: int) -> None:
    from sessions.replay import forget

    forget(session_id)


def session_delete(*, session_id: int, user, confirm_title: str) -> None:
    """Delete a session and its whole log, once its title has been typed to confirm."""
    from sessions.audit import audit_record, pseudonymise_names

    with transaction.atomic():
        session = (
            Session.objects.select_for_update().select_related("version__scenario", "trainer")
            .filter(pk=session_id).first()
        )
        if session is None:
            raise _refuse("unknown-session", _("Cette session n'existe pas."))
        if (confirm_title or "").strip() != session.title.strip():
            raise _refuse(
                "confirm-mismatch", _("Le titre saisi ne correspond pas : rien n'a été supprimé.")
            )
        details = {
            "scenario": f"{session.version.scenario.slug} v{session.version.number}",
            "trainer": session.trainer.get_username(),
            "cohort": session.cohort,
            "state": session.state,
            "events": session.last_seq,
            "created_at": session.created_at.isoformat(),
        }
        audit_record(
            user=user, action=AuditEntry.Action.SESSION_DELETED, session=session,
            details=details,
        )
        # The seat lines outlive the session: they keep no participant's name.
        pseudonymise_names(session.pk, _pseudonymiser()[0])
        session.delete()
