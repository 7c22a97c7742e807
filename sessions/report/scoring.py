"""Objectives, their measures and the raters' levels: pure functions over the log."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from itertools import combinations

from django.utils.translation import gettext_lazy

from sessions import measures
from sessions.layout import Plan, short_title
from sessions.replay import LogEvent

LEVELS = (
    (1, gettext_lazy("Non atteint")),
    (2, gettext_lazy("Partiellement atteint")),
    (3, gettext_lazy("Atteint")),
    (4, gettext_lazy("Dépassé")),
)
DEBRIEF_KINDS = (
    ("plus", gettext_lazy("Ce qui a bien fonctionné (+)")),
    ("delta", gettext_lazy("Ce qu’il faudrait changer (Δ)")),
    ("takeaway", gettext_lazy("Points à retenir")),
)


def role_name(plan: Plan, ident: str) -> str:
    """Short enough for a chart or a table header: the role's title up to its first comma."""
    return short_title(plan.role_title(ident)) if ident else ""


# --- Objectives and their measures -------------------------------------------------------------


@dataclass(frozen=True)
class ObjectiveSpec:
    ident: str
    title: str
    description: str = ""
    roles: tuple[str, ...] = ()
    measure: str = ""  # "" | decision | action | message
    decision: str = ""
    option: str = ""
    action: str = ""
    from_role: str = ""
    to_role: str = ""
    within_ms: int | None = None
    spec: dict | None = None  # the law's forms (request, countdown, combined): `measures`

    @classmethod
    def from_model(cls, objective) -> ObjectiveSpec:
        return cls(
            ident=objective.ident,
            title=objective.title,
            description=objective.description,
            roles=tuple(r.ident for r in objective.roles.all()),
            measure=objective.measure or "",
            decision=objective.measure_decision.ident if objective.measure_decision else "",
            option=objective.measure_option or "",
            action=objective.measure_action.ident if objective.measure_action else "",
            from_role=objective.measure_from.ident if objective.measure_from else "",
            to_role=objective.measure_to.ident if objective.measure_to else "",
            within_ms=objective.within_s * 1000 if objective.within_s is not None else None,
            spec=objective.measure_spec if objective.measure in measures.NEW_FORMS else None,
        )


@dataclass(frozen=True)
class Score:
    """How the log measures one objective."""

    met: bool
    status: str  # met | late | never | not-fired
    at_ms: int | None = None  # when it was met (or, "late", when it happened)
    seq: int | None = None
    name: str = ""
    role: str = ""
    option_label: str = ""
    reopened: bool = False  # decisions: the answer was reopened afterwards


def _in_window(spec: ObjectiveSpec, clock_ms: int) -> bool:
    """`within` counts from the start of the exercise (clock 0), for every measure."""
    return spec.within_ms is None or clock_ms <= spec.within_ms


def _first(spec: ObjectiveSpec, candidates: list[LogEvent]) -> Score:
    """Met by the first candidate inside the window; else late (a later one) or never."""
    for event in candidates:
        if _in_window(spec, event.clock_ms):
            return _score(True, "met", event)
    if candidates:
        return _score(False, "late", candidates[0])
    return Score(met=False, status="never")


def _score(met: bool, status: str, event: LogEvent, **extra) -> Score:
    p = event.payload
    return Score(
        met=met,
        status=status,
        at_ms=event.clock_ms,
        seq=event.seq,
        name=p.get("name", ""),
        role=p.get("role") or p.get("from_role", ""),
        option_label=p.get("label", ""),
        **extra,
    )


def score_decision(spec: ObjectiveSpec, events: list[LogEvent]) -> Score:
    fired = any(
        e.kind == "inject.fired"
        and e.payload.get("inject") == spec.decision
        and not e.payload.get("adhoc")
        for e in events
    )
    if not fired:
        return Score(met=False, status="not-fired")
    answers = [
        e
        for e in events
        if e.kind == "decision.answered"
        and e.payload.get("inject") == spec.decision
        and e.payload.get("option") == spec.option
    ]
    reopened = {
        (e.payload.get("role"), e.seq)
        for e in events
        if e.kind == "decision.reopened" and e.payload.get("inject") == spec.decision
    }
    score = _first(spec, answers)
    if score.seq is not None and any(
        role == score.role and seq > score.seq for role, seq in reopened
    ):
        score = Score(**{**score.__dict__, "reopened": True})
    return score


def score_action(spec: ObjectiveSpec, events: list[LogEvent]) -> Score:
    return _first(
        spec,
        [e for e in events if e.kind == "action.taken" and e.payload.get("action") == spec.action],
    )


def score_message(spec: ObjectiveSpec, events: list[LogEvent]) -> Score:
    return _first(
        spec,
        [
            e
            for e in events
            if e.kind == "message.sent"
            and not e.payload.get("by_trainer")
            and e.payload.get("from_role") == spec.from_role
            and e.payload.get("to_role") == spec.to_role
        ],
    )


SCORERS = {"decision": score_decision, "action": score_action, "message": score_message}


def score_objective(spec: ObjectiveSpec, events: list[LogEvent]) -> Score | None:
    """None for an objective without a measure: trainers and observers rate it."""
    if spec.spec is not None:
        met, status, at_ms = measures.score(spec.spec, events)
        return Score(met=met, status=status, at_ms=at_ms)
    scorer = SCORERS.get(spec.measure)
    return scorer(spec, events) if scorer else None


# --- Ratings ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rating:
    rater: str  # the actor: "trainer:<id>" | "seat:<id>"
    name: str
    kind: str  # trainer | observer
    level: int
    comment: str
    at_ms: int
    seq: int


@dataclass(frozen=True)
class Agreement:
    raters: int
    exact: float | None  # share of rater pairs with the same level, 0..1
    adjacent: float | None  # … with levels at most one apart
    spread: int  # max − min
    mean: float


def latest_ratings(events: list[LogEvent]) -> dict[str, list[Rating]]:
    """Objective ident -> each rater's latest rating, in the order raters first rated."""
    latest: dict[str, dict[str, Rating]] = defaultdict(dict)
    for e in events:
        if e.kind != "objective.rated":
            continue
        p = e.payload
        latest[p["objective"]][e.actor] = Rating(
            rater=e.actor,
            name=p.get("name", ""),
            kind=p.get("rater", ""),
            level=int(p.get("level", 0)),
            comment=p.get("comment", ""),
            at_ms=e.clock_ms,
            seq=e.seq,
        )
    return {ident: list(by_rater.values()) for ident, by_rater in latest.items()}


def agreement(levels: list[int]) -> Agreement | None:
    if not levels:
        return None
    pairs = list(combinations(levels, 2))
    return Agreement(
        raters=len(levels),
        exact=sum(a == b for a, b in pairs) / len(pairs) if pairs else None,
        adjacent=sum(abs(a - b) <= 1 for a, b in pairs) / len(pairs) if pairs else None,
        spread=max(levels) - min(levels),
        mean=sum(levels) / len(levels),
    )


# --- Decisions ------------------------------------------------------------------------------------
