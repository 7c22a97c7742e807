"""Seats, the lobby and presence: who holds which seat of the session."""

from __future__ import annotations

from datetime import datetime

from django.utils.translation import gettext as _

from scenarios.models import Role
from sessions.audience import seat_token
from sessions.audit import audit_trainer_command
from sessions.engine._core import (
    Principal,
    SeatPrincipal,
    TrainerPrincipal,
    _clean_name,
    _command,
    _refuse,
    _require_trainer,
    _role,
    _seat_of,
    _seat_payload,
    _seat_ref,
    _Tx,
)
from sessions.models import (
    AuditEntry,
    Event,
    LiveSocket,
    LobbyEntry,
    Seat,
    Session,
    WorkerLease,
    new_secret,
)


def _audit(tx: _Tx, principal: TrainerPrincipal, action: str, **details) -> None:
    """The audit line of a trainer's seat command: same transaction, same fate."""
    audit_trainer_command(principal=principal, session=tx.session, action=action,
                          details=details)



def seat_claim(
    *, session_id: int, seat_id: int, name: str, pass_key: str, previous_pass: str = ""
) -> Seat:
    """A participant takes a free seat (the caller checked how they reached it).

    `pass_key` becomes the seat's pass. Views mint a fresh one for every claim and give
    the browser's current pass as `previous_pass` (one person, one seat; its lobby
    entry): a pass planted in a browser beforehand never becomes a seat's pass.
    """
    name = _clean_name(name)
    with _command(session_id) as tx:
        if tx.session.state == Session.State.ENDED:
            raise _refuse("session-ended", _("La session est terminée."))
        seat = Seat.objects.select_related("role").filter(pk=seat_id, session=tx.session).first()
        if seat is None:
            raise _refuse("unknown-seat", _("Cette place n'existe pas."))
        if seat.holder_key and seat.holder_key not in (pass_key, previous_pass):
            raise _refuse("seat-taken", _("Cette place est déjà prise."))
        known = {key for key in (pass_key, previous_pass) if key}
        if Seat.objects.filter(session=tx.session, holder_key__in=known).exclude(pk=seat.pk):
            raise _refuse("already-seated", _("Vous occupez déjà une autre place."))
        new_holder = seat.holder_key not in known
        seat.holder_key = pass_key
        seat.holder_name = name
        seat.held_since = tx.now
        if new_holder:
            seat.held_from_seq = tx.session.last_seq + 1  # the seat.taken appended below
        seat.save(update_fields=["holder_key", "holder_name", "held_since", "held_from_seq"])
        LobbyEntry.objects.filter(session=tx.session, pass_key__in=known).update(
            state=LobbyEntry.State.SEATED
        )
        tx.append("seat.taken", audience=[], actor=seat_token(seat.pk), payload=_seat_payload(seat))
        return seat


def lobby_join(
    *, session_id: int, name: str, pass_key: str, wanted_role: str = "", previous_pass: str = ""
) -> LobbyEntry:
    """Wait for the trainer. A waiting entry of `previous_pass` (the same browser) takes
    the new `pass_key`, its name and role: one entry per person, and a planted pass
    never becomes the pass the trainer seats."""
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
            session=tx.session, pass_key__in={pass_key, previous_pass or pass_key},
            state=LobbyEntry.State.WAITING,
        ).first()
        if entry is None:
            entry = LobbyEntry.objects.create(
                session=tx.session, name=name, pass_key=pass_key, wanted_role=role
            )
        elif entry.pass_key != pass_key:
            entry.pass_key, entry.name, entry.wanted_role = pass_key, name, role
            entry.save(update_fields=["pass_key", "name", "wanted_role"])
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


def lobby_clear(*, session_id: int, principal: Principal) -> int:
    """The trainer turns away everyone waiting at once; returns how many."""
    principal = _require_trainer(principal)
    with _command(session_id) as tx:
        entries = list(LobbyEntry.objects.filter(session=tx.session,
                                                 state=LobbyEntry.State.WAITING))
        if not entries:
            raise _refuse("lobby-empty", _("Personne n'attend en salle d'attente."))
        LobbyEntry.objects.filter(pk__in=[e.pk for e in entries]).update(
            state=LobbyEntry.State.DISMISSED
        )
        for entry in entries:
            tx.append("lobby.dismissed", audience=[], actor=principal.actor,
                      payload={"entry": entry.pk})
        _audit(tx, principal, AuditEntry.Action.LOBBY_CLEARED,
               entries=[e.pk for e in entries], names=[e.name for e in entries])
        return len(entries)


def join_throttled(*, session_id: int, failures: int, until: datetime) -> Event:
    """Tell the trainer (only) that wrong codes from one network throttle joining."""
    with _command(session_id) as tx:
        return tx.append("join.throttled", audience=[], actor="system",
                         payload={"failures": failures, "until": until.isoformat()})


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


def presence_set(
    *, session_id: int, principal: SeatPrincipal, connected: bool, socket_id: str = "",
    worker: str = "",
) -> None:
    """Connected / gone, as seen by the WebSocket consumer. Trainer-only events.

    With a `socket_id` the socket is recorded against its `worker` (`LiveSocket`, its
    lease renewed in the same transaction), so the scheduler can close it if the worker
    dies (`presence_sweep`). Both ends are idempotent per socket: connecting a socket
    already recorded, or closing one already swept, appends nothing (a connection must
    never count twice, nor a departure).
    """
    with _command(session_id) as tx:
        seat = _seat_of(tx, principal)
        payload = _seat_payload(seat)
        if connected and socket_id:
            if LiveSocket.objects.filter(pk=socket_id).exists():
                return
            WorkerLease.objects.update_or_create(pk=worker, defaults={"heartbeat_at": tx.now})
            LiveSocket.objects.create(
                id=socket_id, session=tx.session, seat=seat, worker=worker,
                held_from_seq=seat.held_from_seq, opened_at=tx.now,
            )
        elif not connected:
            if socket_id and not LiveSocket.objects.filter(pk=socket_id).delete()[0]:
                return  # swept already: its presence.left is in the log
            payload["reason"] = "closed"
        tx.append(
            "presence.connected" if connected else "presence.left",
            audience=[],
            actor=principal.actor,
            payload=payload,
        )


def presence_sweep(*, session_id: int, cutoff: datetime) -> int:
    """Close the sockets of this session whose worker's lease is older than `cutoff`
    (or gone): one `presence.left` (reason "worker-lost") per socket whose seat still
    has the holder it was opened for. Returns how many it closed."""
    with _command(session_id) as tx:
        alive = WorkerLease.objects.filter(heartbeat_at__gte=cutoff).values("pk")
        lost = list(
            LiveSocket.objects.select_related("seat__role")
            .filter(session=tx.session)
            .exclude(worker__in=alive)
            .order_by("opened_at", "pk")
        )
        for live in lost:
            seat = live.seat
            if seat.holder_key and seat.held_from_seq == live.held_from_seq:
                tx.append("presence.left", audience=[], actor="system",
                          payload={**_seat_payload(seat), "reason": "worker-lost"})
        LiveSocket.objects.filter(pk__in=[live.pk for live in lost]).delete()
        return len(lost)
