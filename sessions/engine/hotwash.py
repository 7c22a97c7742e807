"""The hot-wash: each participant's short survey once the session has ended.

Anonymous by construction (`models.HotwashAnswer`): the answer is stored with no seat,
no person, no time, no order. It is NOT an event: the log is ordered (seq, clock,
created_at), so an answer in it would give its order of arrival away; `_command` is
used only for its lock (one answer at a time per session, the marker and the answer in
one transaction) and appends nothing.
"""

from __future__ import annotations

import random
import uuid

from django.utils.translation import gettext as _

from scenarios.models import Objective, Role
from sessions.engine._core import Principal, _clean_text, _command, _refuse, _seat_of
from sessions.models import HotwashAnswer, Session

CONFIDENCE_LEVELS = (1, 2, 3, 4, 5)
MAX_HOTWASH_TEXT = 2000
HOTWASH_TEXTS = ("worked", "not_worked", "free_text")
HOTWASH_MIN_ANSWERS = 3  # an aggregate of fewer would point at people
_shuffle = random.SystemRandom().shuffle


def hotwash_answer(
    *,
    session_id: int,
    principal: Principal,
    worked: str = "",
    not_worked: str = "",
    free_text: str = "",
    confidence: dict | None = None,
) -> None:
    """A trainee or an actor answers the hot-wash, once, after the end."""
    texts = {
        name: _clean_text(value, required=False, what=what, limit=MAX_HOTWASH_TEXT)
        for name, value, what in (
            ("worked", worked, _("Ce qui a fonctionné")),
            ("not_worked", not_worked, _("Ce qui n’a pas fonctionné")),
            ("free_text", free_text, _("Le texte libre")),
        )
    }
    with _command(session_id) as tx:
        seat = _seat_of(tx, principal)
        if seat.role.kind == Role.Kind.OBSERVER:
            raise _refuse("forbidden", _("Le retour à chaud est pour les participants."))
        if tx.session.state != Session.State.ENDED:
            raise _refuse("not-ended", _("Le retour à chaud s’ouvre à la fin de la session."))
        if seat.hotwash_answered:
            raise _refuse("already-answered", _("Vous avez déjà répondu."))
        idents = set(
            Objective.objects.filter(version_id=tx.session.version_id).values_list(
                "ident", flat=True
            )
        )
        levels = {}
        for ident, level in (confidence or {}).items():
            if ident not in idents:
                raise _refuse(
                    "unknown-objective", _("Objectif inconnu : « %(id)s ».") % {"id": ident}
                )
            try:
                level = int(level)
            except (TypeError, ValueError):
                level = 0
            if level not in CONFIDENCE_LEVELS:
                raise _refuse("bad-level", _("La confiance va de 1 à 5."))
            levels[ident] = level
        if not levels and not any(texts.values()):
            raise _refuse("empty", _("Le questionnaire est vide."))
        seat.hotwash_answered = True
        seat.save(update_fields=["hotwash_answered"])
        _reshuffle(tx.session, HotwashAnswer(session=tx.session, confidence=levels, **texts))


def _reshuffle(session: Session, new: HotwashAnswer) -> None:
    """Rewrite the session's answers with fresh random keys, in a random order."""
    answers = [*HotwashAnswer.objects.filter(session=session), new]
    HotwashAnswer.objects.filter(session=session).delete()
    for answer in answers:
        answer.pk = uuid.uuid4()
    _shuffle(answers)
    HotwashAnswer.objects.bulk_create(answers)
