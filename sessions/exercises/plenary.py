"""The plenary: after the exercise, what each syndicate did, side by side.

Built from each syndicate's after-action report (`sessions.report.build`: the same
rules, the same log), so the plenary and a team's own report cannot disagree:

- each decision: every team's answers (role, option, time, rationale);
- key acts: when each team first took each of the scenario's actions, first wrote to
  another role, and when its clock stopped;
- each objective: every team's measure (met, late, never) and its raters' mean level;
- every team's communication graph (the report's SVG).

The CSV goes through `simtrain.spreadsheet.safe_row`: rationales and names are
participants' text.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from sessions import report as reports
from sessions.exercises.models import Exercise, Syndicate
from sessions.exercises.services import syndicates_of
from sessions.exports import EXERCISE_NOTICE
from sessions.layout import Plan, plan_for
from sessions.replay import log_events
from simtrain.durations import format_clock
from simtrain.spreadsheet import safe_row


@dataclass
class Team:
    syndicate: Syndicate
    report: reports.Report
    comm_svg: str


@dataclass
class DecisionCompare:
    inject: str
    title: str
    # one cell per team: its rows of answers (report.AnswerRow), or None if never asked
    cells: list = field(default_factory=list)
    asked: list = field(default_factory=list)  # per team: clock when asked, or None


@dataclass
class ActCompare:
    ident: str
    label: str
    at: list = field(default_factory=list)  # per team: clock of the first time, or None


@dataclass
class ObjectiveCompare:
    ident: str
    title: str
    measure: str
    scores: list = field(default_factory=list)  # per team: report.Score | None
    ratings: list = field(default_factory=list)  # per team: mean level (float) | None


@dataclass
class Plenary:
    exercise: Exercise
    plan: Plan
    teams: list[Team]
    decisions: list[DecisionCompare]
    acts: list[ActCompare]
    objectives: list[ObjectiveCompare]


def _first_acts(session_id: int) -> tuple[dict[str, int], int | None]:
    firsts: dict[str, int] = {}
    first_message = None
    for e in log_events(session_id, kinds=("action.taken", "message.sent")):
        if e.kind == "action.taken":
            firsts.setdefault(e.payload.get("action", ""), e.clock_ms)
        elif first_message is None and not e.payload.get("by_trainer"):
            first_message = e.clock_ms
    return firsts, first_message


def build(exercise: Exercise) -> Plenary:
    plan = plan_for(exercise.version_id)
    teams = []
    for syndicate in syndicates_of(exercise):
        report = reports.build(syndicate.session)
        svg = reports.comm_graph_svg(
            report.comm, report.plan, ident=f"comm-graph-{syndicate.number}"
        )
        teams.append(Team(syndicate=syndicate, report=report, comm_svg=svg))
    decisions = []
    for inject in plan.injects:
        if inject.kind != "decision":
            continue
        row = DecisionCompare(inject=inject.ident, title=inject.title)
        for team in teams:
            found = next((d for d in team.report.decisions if d.inject == inject.ident), None)
            asked = found.asked_ms if found else None
            row.asked.append(asked)
            row.cells.append(found.rows if found and asked is not None else None)
        decisions.append(row)
    firsts = [_first_acts(team.syndicate.session_id) for team in teams]
    acts = [
        ActCompare(ident=ident, label=label, at=[f[0].get(ident) for f in firsts])
        for ident, (label, _roles, _once) in plan.actions.items()
    ]
    acts.append(
        ActCompare(
            ident="first-message", label=_("Premier message entre rôles"), at=[f[1] for f in firsts]
        )
    )
    acts.append(
        ActCompare(
            ident="end",
            label=_("Fin de l’exercice"),
            at=[t.report.end_ms if t.syndicate.session.ended_at else None for t in teams],
        )
    )
    objectives = []
    for n, objective in enumerate(teams[0].report.objectives if teams else []):
        row = ObjectiveCompare(
            ident=objective.ident, title=objective.spec.title, measure=objective.measure
        )
        for team in teams:
            mine = team.report.objectives[n]
            row.scores.append(mine.score)
            levels = [r.level for r in mine.ratings]
            row.ratings.append(round(sum(levels) / len(levels), 1) if levels else None)
        objectives.append(row)
    return Plenary(
        exercise=exercise,
        plan=plan,
        teams=teams,
        decisions=decisions,
        acts=acts,
        objectives=objectives,
    )


def _clock(ms: int | None) -> str:
    return "" if ms is None else format_clock(ms // 1000)


CSV_COLUMNS = ("section", "item", "team", "role", "value", "clock", "rationale")


def plenary_csv(plenary: Plenary) -> str:
    """The comparison as rows (semicolons, UTF-8 with a BOM, formula-like cells neutralised)."""
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow([EXERCISE_NOTICE])  # exercise material, as every export says first
    writer.writerow(CSV_COLUMNS)
    labels = [str(t.syndicate.label) for t in plenary.teams]
    for row in plenary.decisions:
        for label, cell in zip(labels, row.cells, strict=True):
            for answer in cell or []:
                writer.writerow(
                    safe_row(
                        [
                            "decision",
                            row.title,
                            label,
                            reports.role_name(plenary.plan, answer.role),
                            answer.label or answer.option or answer.state,
                            _clock(answer.at_ms),
                            answer.rationale,
                        ]
                    )
                )
    for act in plenary.acts:
        for label, at in zip(labels, act.at, strict=True):
            writer.writerow(safe_row(["act", act.label, label, "", "", _clock(at), ""]))
    for objective in plenary.objectives:
        for label, score, rating in zip(labels, objective.scores, objective.ratings, strict=True):
            writer.writerow(
                safe_row(
                    [
                        "objective",
                        objective.title,
                        label,
                        "",
                        score.status if score is not None else "",
                        _clock(score.at_ms if score else None),
                        "" if rating is None else rating,
                    ]
                )
            )
    return buffer.getvalue()
