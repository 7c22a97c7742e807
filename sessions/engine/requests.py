"""Requests for authorisation: a trainee sends one with a reason, the deciding role
approves or rejects it with a reason. Unanswered by its deadline, the scheduler decides
`none` (`limits.ring`). A request is decided at most once per sending; with `once` it
is sent at most once.

State is the log's (`sessions.law`): the session lock serialises every command, so
"pending" read here cannot change before the event is appended.
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from scenarios.conditions import REQUEST, SENT
from sessions.audience import role_token
from sessions.engine._core import (
    Principal,
    _clean_text,
    _command,
    _refuse,
    _require_live,
    _seat_of,
    _seat_payload,
)
from sessions.engine.injects import _fire_due, catch_up, occurred
from sessions.engine.limits import state_of
from sessions.law import OUTCOMES, RequestDef, law_for
from sessions.models import Event

MAX_REASON = 2000  # characters: a reasoned request or decision, not a brief


def _audience(request: RequestDef) -> list[str]:
    return sorted({role_token(request.decider), *(role_token(r) for r in request.senders)})


def _unknown(ident: str):
    # One answer for every way of being wrong: nothing hints at other roles' requests.
    return _refuse("unknown-request", _("Demande inconnue : « %(id)s ».") % {"id": ident})


def _open(tx, principal: Principal, ident: str, may) -> tuple:
    """The caller's seat and the request it may act on, once what fell due has happened;
    `may(request, role)` says whether the seat's role is on the right side of it."""
    seat = _seat_of(tx, principal)
    _require_live(tx)
    catch_up(tx)
    request = law_for(tx.session.version_id).request(ident)
    if request is None or not may(request, seat.role.ident):
        raise _unknown(ident)
    return seat, request


def request_send(
    *, session_id: int, principal: Principal, request_ident: str, reason: str
) -> Event:
    """A sender role asks for an authorisation, saying why."""
    reason = _clean_text(reason, required=True, what=_("La motivation"), limit=MAX_REASON)
    with _command(session_id) as tx:
        seat, request = _open(tx, principal, request_ident, lambda r, role: role in r.senders)
        state = state_of(tx)
        if state.pending(request.ident) is not None:
            raise _refuse("request-pending", _("Cette demande attend déjà une réponse."))
        if request.once and state.requests.get(request.ident):
            raise _refuse("already-sent", _("Cette demande a déjà été faite."))
        event = tx.append(
            "request.sent",
            audience=_audience(request),
            actor=principal.actor,
            payload={
                "request": request.ident,
                "label": request.label,
                "reason": reason,
                **_seat_payload(seat),
            },
        )
        occurred(tx, REQUEST, request.ident, SENT, role=seat.role.ident)
        _fire_due(tx)
        return event


def request_decide(
    *, session_id: int, principal: Principal, request_ident: str, outcome: str, reason: str
) -> Event:
    """The deciding role approves or rejects the pending sending, saying why."""
    if outcome not in OUTCOMES:
        raise _refuse("bad-outcome", _("Réponse inconnue : approuver ou rejeter."))
    reason = _clean_text(reason, required=True, what=_("La motivation"), limit=MAX_REASON)
    with _command(session_id) as tx:
        seat, request = _open(tx, principal, request_ident, lambda r, role: role == r.decider)
        state = state_of(tx)
        sending = state.pending(request.ident)
        if sending is None:
            raise _refuse("not-pending", _("Aucune demande en attente de réponse."))
        event = tx.append(
            "request.decided",
            audience=_audience(request),
            actor=principal.actor,
            payload={
                "request": request.ident,
                "label": request.label,
                "outcome": outcome,
                "reason": reason,
                "sent_seq": sending.seq,
                "sender_role": sending.role,
                **_seat_payload(seat),
            },
        )
        # A `reply` reaches the sender: the request was their act.
        occurred(tx, REQUEST, request.ident, outcome, role=sending.role)
        _fire_due(tx)
        return event
