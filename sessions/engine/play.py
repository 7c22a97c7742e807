"""What participants do: answer decisions, take actions, message, play cues, stop, note."""

from __future__ import annotations

from django.utils.translation import gettext as _

from scenarios.conditions import ACTION, DECISION
from scenarios.models import Action, Inject, Role, ScenarioVersion
from sessions.audience import Perspective, contacts_of, role_token, seat_token, thread_key
from sessions.engine._core import (
    Principal,
    TrainerPrincipal,
    _clean_text,
    _command,
    _inject,
    _refuse,
    _require_live,
    _require_trainer,
    _role,
    _seat_of,
    _seat_payload,
    _Tx,
)
from sessions.engine.clock import hold
from sessions.engine.injects import _fire_due, catch_up, occurred
from sessions.models import ActionTaken, DecisionAnswer, Event, InjectFiring, Seat


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
        catch_up(tx)
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
        occurred(tx, DECISION, inject.ident, option, role=seat.role.ident)
        _fire_due(tx)  # countdowns follow the answer
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
        catch_up(tx)
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
        occurred(tx, ACTION, action.ident, role=seat.role.ident)
        _fire_due(tx)  # countdowns follow the action (`stops: {action: …}`)
        return event


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
    """Step out of role; the trainer is alerted at once.

    With the version's `safety.stop: hold` (the default), the exercise also goes on
    hold at once: the clock pauses (deadlines and delays, in clock time, freeze with
    it), logged as `clock.paused` with `reason: "safety"`, and every screen but the
    trainer's says "Exercice suspendu" until the trainer resumes. With `alert`, only
    the alert."""
    note = _clean_text(note, required=False, what=_("La note"))
    with _command(session_id) as tx:
        seat = _seat_of(tx, principal)
        event = tx.append(
            "safety.stop",
            audience=[seat_token(seat.pk)],
            actor=principal.actor,
            payload={"note": note, **_seat_payload(seat)},
        )
        if tx.session.version.safety_stop == ScenarioVersion.SafetyStop.HOLD:
            hold(tx, principal)
        return event


def item_open(*, session_id: int, principal: Principal, item: int) -> Event | None:
    """A participant opened an inbox item: unread until then (kept, so replays show it)."""
    with _command(session_id) as tx:
        seat = _seat_of(tx, principal)
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
