"""The after-action review's commands: ratings of objectives and debrief entries.

Ordinary commands: events in the log, so the replay shows them and exports carry them.
They are also accepted once the session has ended, since the review comes afterwards.
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from scenarios.models import Objective, Role
from sessions.audience import seat_token
from sessions.engine._core import (
    Principal,
    TrainerPrincipal,
    _clean_text,
    _command,
    _display_name,
    _refuse,
    _require_trainer,
    _seat_of,
    _seat_payload,
    _Tx,
)
from sessions.models import Event, Seat

RATING_LEVELS = (1, 2, 3, 4)
DEBRIEF_KINDS = ("plus", "delta", "takeaway")


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


# Tags of a live annotation; an objective's ident is a tag too ("objective:<ident>").
ANNOTATION_TAGS = ("good", "silo", "missed", "legal", "welfare")
MAX_ANNOTATION = 500


def annotation_add(
    *,
    session_id: int,
    principal: Principal,
    tag: str,
    text: str,
    about: str = "",
    at_seq: int | None = None,
) -> Event:
    """A trainer or an observer marks the moment: a tag, a short text, anchored to the
    event just before (or `at_seq`) and to the clock.

    Nobody playing sees it: its audience is the trainer (and the observer's own seat).
    Accepted in any state: live is the point, after the end is the review.
    """
    text = _clean_text(text, required=True, what=_("L’annotation"), limit=MAX_ANNOTATION)
    with _command(session_id) as tx:
        actor, seat = _observer_or_trainer(tx, principal)
        objective_ident, title = "", ""
        if tag.startswith("objective:"):
            objective = Objective.objects.filter(
                version_id=tx.session.version_id, ident=tag.removeprefix("objective:")
            ).first()
            if objective is None:
                raise _refuse(
                    "unknown-objective",
                    _("Objectif inconnu : « %(id)s ».") % {"id": tag.removeprefix("objective:")},
                )
            objective_ident, title = objective.ident, objective.title
        elif tag not in ANNOTATION_TAGS:
            raise _refuse("bad-tag", _("Étiquette d’annotation inconnue."))
        roles = Role.objects.filter(version_id=tx.session.version_id)
        if about and not roles.filter(ident=about).exists():
            raise _refuse("unknown-role", _("Rôle inconnu : « %(id)s ».") % {"id": about})
        anchor = tx.session.last_seq
        if at_seq is not None:
            try:
                anchor = int(at_seq)
            except (TypeError, ValueError):
                anchor = -1
            if not 1 <= anchor <= tx.session.last_seq:
                raise _refuse("bad-seq", _("Cet événement n’existe pas dans la session."))
        payload = {
            "tag": "objective" if objective_ident else tag,
            "objective": objective_ident,
            "title": title,
            "text": text,
            "about": about,
            "anchor_seq": anchor,
            "name": _display_name(principal, seat),
            "rater": "observer" if seat is not None else "trainer",
        }
        if seat is not None:
            payload.update(_seat_payload(seat))
        return tx.append(
            "annotation.added",
            # Never a role's: a trainee does not see annotations, live or in a replay.
            audience=[seat_token(seat.pk)] if seat is not None else [],
            actor=actor,
            payload=payload,
        )
