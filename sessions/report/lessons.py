"""Lessons across sessions: every session run on a scenario, its measures side by side."""

from __future__ import annotations

from dataclasses import dataclass

from scenarios.models import Objective
from sessions.replay import log_events
from sessions.report.scoring import ObjectiveSpec, agreement, latest_ratings, score_objective


@dataclass(frozen=True)
class Measured:
    status: str  # met | late | never | not-fired | "" (no measure) | "absent" (not in version)
    rubric: float | None


def measures(sessions: list) -> tuple[list[tuple[str, str]], list[tuple[object, list[Measured]]]]:
    """(objective columns (ident, title), [(session, one cell per column)]).

    Columns are the objectives of every version the sessions ran, by ident (a version
    that lacks one shows "absent"), in the order of the latest version first.
    """
    specs: dict[int, dict[str, ObjectiveSpec]] = {}
    for version_id in sorted({s.version_id for s in sessions}, reverse=True):
        specs[version_id] = {
            o.ident: ObjectiveSpec.from_model(o)
            for o in Objective.objects.filter(version_id=version_id)
            .select_related("measure_decision", "measure_action", "measure_from", "measure_to")
            .prefetch_related("roles")
            .order_by("order")
        }
    columns: dict[str, str] = {}
    for version_specs in specs.values():
        for ident, spec in version_specs.items():
            columns.setdefault(ident, spec.title)
    rows = []
    for session in sessions:
        events = log_events(session.pk, kinds=(
            "inject.fired", "decision.answered", "decision.reopened", "action.taken",
            "message.sent", "objective.rated",
        ))  # fmt: skip
        ratings = latest_ratings(events)
        cells = []
        for ident in columns:
            spec = specs[session.version_id].get(ident)
            if spec is None:
                cells.append(Measured("absent", None))
                continue
            score = score_objective(spec, events)
            given = agreement([r.level for r in ratings.get(ident, [])])
            cells.append(Measured(score.status if score else "", given.mean if given else None))
        rows.append((session, cells))
    return list(columns.items()), rows
