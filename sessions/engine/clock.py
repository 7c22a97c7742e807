"""Sessions and the exercise clock: create, start, pause, resume, end, speed, jump.

The clock is data on `Session` (anchor + speed); each clock event carries that state
(`Session.clock_payload`) so every screen runs the clock locally.
"""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from scenarios.models import version_is_approved
from sessions.audience import EVERYONE
from sessions.engine._core import (
    MAX_TITLE,
    Principal,
    _clean_text,
    _command,
    _refuse,
    _require_live,
    _require_trainer,
    _Tx,
)
from sessions.engine.injects import _fire_due
from sessions.models import Seat, Session

SPEED_CHOICES = (1.0, 2.0, 4.0, 10.0, 60.0)  # offered to trainers; 1× for courses
MIN_SPEED, MAX_SPEED = 0.25, 240.0  # rehearsals (simulate_session) may go faster


def session_create(
    *,
    version,
    trainer,
    title: str,
    cohort: str = "",
    join_mode: str = Session.JoinMode.OPEN,
    rehearsal: bool = False,
) -> Session:
    """A session pinned to one scenario version, with every role's seats laid out.

    Only a version that may run live starts a live session; a rehearsal (the headless
    bots, or a reviewer trying a submitted version) may run any.
    """
    if not rehearsal and not version_is_approved(version):
        raise _refuse(
            "not-approved",
            _(
                "Cette version attend la relecture d’un second formateur : elle ne peut pas "
                "encore être jouée en session."
            ),
        )
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


HOLD_REASON = "safety"  # `clock.paused` by a safety stop that holds the exercise


def _announce_clock(tx: _Tx, kind: str, principal: Principal, **extra) -> None:
    """Every screen runs the clock locally from the state each clock event carries."""
    tx.append(
        kind,
        audience=[EVERYONE],
        actor=principal.actor,
        payload={**tx.session.clock_payload(), **extra},
    )


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


def hold(tx: _Tx, principal: Principal) -> None:
    """A safety stop holds the exercise: the clock pauses now (if it runs), and the log
    says why (`clock.paused` with `reason: "safety"`, also when the trainer had paused
    already, so the screens show the hold). Nothing before the start or after the end."""
    if tx.session.state not in (Session.State.RUNNING, Session.State.PAUSED):
        return
    if tx.session.state == Session.State.RUNNING:
        _fire_due(tx)  # what fell due up to this instant still fires
        _reanchor(tx)
        tx.session.state = Session.State.PAUSED
    _announce_clock(tx, "clock.paused", principal, reason=HOLD_REASON)


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
