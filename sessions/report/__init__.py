"""The after-action report: pure functions over a session's event log.

Everything here is computed from the log (`replay.LogEvent` rows) and the scenario
plan; only `build()` touches the database, to load them. So the report of a session
is the same today, after an export and import, or after pseudonymisation (names
aside), and every rule is testable on a hand-built log.

Scoring rules (the scenario format: "each `within` a duration of the start"):

- `within` counts from the start of the exercise (clock 0), for every kind of
  measure. The shipped scenario writes its objectives that way ("avant la 20e
  minute"). No `within`: any time before the end counts.
- decision + option: met by the first answer with that option, by any role, stamped
  within the window. An answer the trainer reopened later still counts, at the time it
  was given: the trainee did decide it then, and reopening is a teaching move; the
  report flags it. An answer with that option after the window: "late", not met. The
  decision never fired, or never answered that way: not met.
- action: the first time any role took the action, within the window.
- message {from, to}: the first message from a seat of role `from` to role `to` within
  the window; the trainer writing in a thread on a role's behalf does not count.

Ratings: each trainer or observer's latest rating of an objective (1–4) counts; the
log keeps every one. Agreement between raters: the share of rater pairs giving the
same level (exact) or levels one apart (adjacent), and the spread (max − min).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from scenarios.models import Inject, Objective
from sessions import measures
from sessions.law import law_for
from sessions.layout import Plan, plan_for
from sessions.models import ImprovementItem
from sessions.replay import LogEvent, clock_end, log_events
from sessions.report.annotations import AnnotationGroup, by_objective, by_role
from sessions.report.confidence import ConfidenceRow, confidence_rows, confidence_svg
from sessions.report.hotwash import HotwashAggregate, aggregate
from sessions.report.knowledge import Knowledge, knowledge, knowledge_svg
from sessions.report.scoring import (
    DEBRIEF_KINDS,
    LEVELS,
    SCORERS,
    Agreement,
    ObjectiveSpec,
    Rating,
    Score,
    agreement,
    latest_ratings,
    role_name,
    score_action,
    score_decision,
    score_message,
    score_objective,
)
from sessions.report.svg import (
    COLOURS,
    LaneMark,
    comm_graph_svg,
    swimlane_marks,
    swimlane_svg,
)
from sessions.report.timeline import (
    AnswerRow,
    Communication,
    DecisionRow,
    communication,
    decision_timeline,
)
from simtrain.durations import format_duration

__all__ = [
    "COLOURS",
    "DEBRIEF_KINDS",
    "LEVELS",
    "SCORERS",
    "Agreement",
    "AnswerRow",
    "Communication",
    "DecisionRow",
    "Knowledge",
    "key_facts",
    "knowledge",
    "knowledge_svg",
    "LaneMark",
    "ObjectiveReport",
    "ObjectiveSpec",
    "Rating",
    "Report",
    "Score",
    "agreement",
    "build",
    "comm_graph_svg",
    "communication",
    "decision_timeline",
    "latest_ratings",
    "measure_text",
    "role_name",
    "score_action",
    "score_decision",
    "score_message",
    "score_objective",
    "swimlane_marks",
    "swimlane_svg",
]


@dataclass
class ObjectiveReport:
    spec: ObjectiveSpec
    score: Score | None
    ratings: list[Rating]
    agreement: Agreement | None
    measure: str = ""  # the measure in words
    mine: Rating | None = None  # the viewing rater's latest rating

    @property
    def ident(self) -> str:
        return self.spec.ident


@dataclass
class Report:
    plan: Plan
    end_ms: int
    started: bool
    objectives: list[ObjectiveReport]
    decisions: list[DecisionRow]
    comm: Communication
    comm_svg: SafeString
    lanes: list[LaneMark]
    swimlane_svg: SafeString
    debrief: list[tuple[str, str, list[LogEvent]]]  # (kind, heading, entries)
    notes: list[LogEvent]
    safety: list[LogEvent]
    law: measures.LawReview | None = None  # countdowns and requests, as they went
    annotations_by_objective: list[AnnotationGroup] = field(default_factory=list)
    annotations_by_role: list[AnnotationGroup] = field(default_factory=list)
    hotwash: HotwashAggregate | None = None
    confidence: list[ConfidenceRow] = field(default_factory=list)
    confidence_svg: SafeString = SafeString("")
    knowledge: Knowledge | None = None
    improvements: list = field(default_factory=list)
    knowledge_svg: SafeString = SafeString("")

    @property
    def met(self) -> int:
        return sum(1 for o in self.objectives if o.score is not None and o.score.met)

    @property
    def measured(self) -> int:
        return sum(1 for o in self.objectives if o.score is not None)


def build(session, *, rater: str | None = None) -> Report:
    """The report of a session, from its log and its scenario version."""
    plan = plan_for(session.version_id)
    events = log_events(session.pk)
    specs = [
        ObjectiveSpec.from_model(o)
        for o in Objective.objects.filter(version_id=session.version_id)
        .select_related("measure_decision", "measure_action", "measure_from", "measure_to")
        .prefetch_related("roles")
        .order_by("order")
    ]
    ratings = latest_ratings(events)
    objectives = []
    for spec in specs:
        given = ratings.get(spec.ident, [])
        objectives.append(
            ObjectiveReport(
                spec=spec,
                score=score_objective(spec, events),
                ratings=given,
                agreement=agreement([r.level for r in given]),
                measure=measure_text(spec, plan),
                mine=next((r for r in given if r.rater == rater), None) if rater else None,
            )
        )
    end_ms = clock_end(session)
    comm = communication(events, plan)
    lanes = swimlane_marks(events, plan)
    debrief_entries = [e for e in events if e.kind == "debrief.added"]
    hotwash = aggregate(session)
    known = knowledge(events, plan, key_facts(session.version_id))
    confidence = confidence_rows(objectives, hotwash)
    return Report(
        improvements=list(ImprovementItem.objects.filter(session=session)),
        knowledge=known,
        knowledge_svg=knowledge_svg(known, plan) if known.facts else SafeString(""),
        hotwash=hotwash,
        confidence=confidence,
        confidence_svg=confidence_svg(confidence) if confidence else SafeString(""),
        plan=plan,
        end_ms=end_ms,
        started=any(e.kind == "clock.started" for e in events),
        objectives=objectives,
        decisions=decision_timeline(events, plan),
        comm=comm,
        comm_svg=comm_graph_svg(comm, plan),
        lanes=lanes,
        swimlane_svg=swimlane_svg(lanes, plan, end_ms),
        debrief=[
            (kind, str(heading), [e for e in debrief_entries if e.payload["kind"] == kind])
            for kind, heading in DEBRIEF_KINDS
        ],
        notes=[e for e in events if e.kind == "note.added"],
        safety=[e for e in events if e.kind == "safety.stop"],
        law=measures.law_review(events, session.version_id),
        annotations_by_objective=by_objective(events, plan, specs),
        annotations_by_role=by_role(events, plan),
    )


def key_facts(version_id: int) -> set[str]:
    """The injects the author flagged `key_fact: true` (empty: none flagged)."""
    return set(
        Inject.objects.filter(version_id=version_id, key_fact=True).values_list("ident", flat=True)
    )


def measure_text(spec: ObjectiveSpec, plan: Plan) -> str:
    """The measure in words, with the scenario's names (not its ids)."""
    if spec.spec is not None:
        return measures.text(spec.spec, plan, law_for(plan.version_id))
    if spec.measure == "decision":
        inject = plan.inject(spec.decision)
        options = dict(getattr(inject, "options", ()) or ())
        text = _("réponse « %(option)s » à la décision « %(decision)s »") % {
            "option": options.get(spec.option, spec.option),
            "decision": inject.title if inject else spec.decision,
        }
    elif spec.measure == "action":
        text = _("acte « %(action)s »") % {"action": plan.action_label(spec.action)}
    elif spec.measure == "message":
        text = _("message de « %(a)s » à « %(b)s »") % {
            "a": role_name(plan, spec.from_role),
            "b": role_name(plan, spec.to_role),
        }
    else:
        return _("évalué par les formateurs et les observateurs")
    if spec.within_ms is not None:
        text += " " + _("dans les %(within)s de l’exercice") % {
            "within": format_duration(spec.within_ms // 1000)
        }
    return text
