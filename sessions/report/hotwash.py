"""The hot-wash, aggregated: shown only once at least three people answered.

Reads `HotwashAnswer` rows, which carry no seat, person or time; the free texts are
shuffled on every read, and the confidence levels are only ever counted.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from scenarios.models import Objective, Role
from sessions.engine.hotwash import CONFIDENCE_LEVELS, HOTWASH_MIN_ANSWERS
from sessions.models import HotwashAnswer, Seat, Session

_shuffle = random.SystemRandom().shuffle


@dataclass
class ObjectiveConfidence:
    ident: str
    title: str
    counts: list[int]  # how many answered 1, 2, … 5
    mean: float | None

    @property
    def answers(self) -> int:
        return sum(self.counts)


@dataclass
class HotwashAggregate:
    answered: int
    expected: int  # seats of trainees and actors held or answered
    objectives: list[ObjectiveConfidence] = field(default_factory=list)
    worked: list[str] = field(default_factory=list)
    not_worked: list[str] = field(default_factory=list)
    free_text: list[str] = field(default_factory=list)

    @property
    def shown(self) -> bool:
        return self.answered >= HOTWASH_MIN_ANSWERS

    @property
    def missing(self) -> int:
        return max(0, HOTWASH_MIN_ANSWERS - self.answered)

    def confidence_of(self, ident: str) -> ObjectiveConfidence | None:
        return next((o for o in self.objectives if o.ident == ident), None)


def aggregate(session: Session) -> HotwashAggregate:
    """The session's hot-wash; below the threshold, only how many answered."""
    players = Seat.objects.filter(session=session).exclude(role__kind=Role.Kind.OBSERVER)
    expected = players.exclude(holder_key="", hotwash_answered=False).count()
    rows = list(
        HotwashAnswer.objects.filter(session=session).values_list(
            "worked", "not_worked", "free_text", "confidence"
        )
    )
    found = HotwashAggregate(answered=len(rows), expected=max(expected, len(rows)))
    if not found.shown:
        return found
    for objective in Objective.objects.filter(version_id=session.version_id).order_by("order"):
        levels = [c[objective.ident] for *_t, c in rows if objective.ident in c]
        counts = [levels.count(level) for level in CONFIDENCE_LEVELS]
        mean = sum(levels) / len(levels) if levels else None
        found.objectives.append(ObjectiveConfidence(objective.ident, objective.title, counts, mean))
    for index, name in enumerate(("worked", "not_worked", "free_text")):
        texts = [row[index] for row in rows if row[index]]
        _shuffle(texts)
        setattr(found, name, texts)
    return found
