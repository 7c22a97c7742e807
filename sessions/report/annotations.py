"""Live annotations in the after-action report: grouped by objective and by role."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext_lazy

from sessions.annotation_tags import TAG_LABELS
from sessions.layout import Plan
from sessions.replay import LogEvent
from sessions.report.scoring import role_name


@dataclass
class AnnotationGroup:
    key: str  # an objective ident, a role ident, or "" (none)
    heading: str
    entries: list[LogEvent]


def by_objective(events: list[LogEvent], plan: Plan, objectives: list) -> list[AnnotationGroup]:
    """One group per objective that has annotations (scenario order), then the others
    under their tag."""
    notes = [e for e in events if e.kind == "annotation.added"]
    groups = []
    for spec in objectives:
        found = [e for e in notes if e.payload.get("objective") == spec.ident]
        if found:
            groups.append(AnnotationGroup(spec.ident, spec.title, found))
    for tag, label in TAG_LABELS.items():
        found = [e for e in notes if e.payload.get("tag") == tag and tag != "objective"]
        if found:
            groups.append(AnnotationGroup(tag, str(label), found))
    return groups


def by_role(events: list[LogEvent], plan: Plan) -> list[AnnotationGroup]:
    """One group per role an annotation is about (plan order), then those about nobody."""
    notes = [e for e in events if e.kind == "annotation.added"]
    groups = []
    for ident in plan.roles:
        found = [e for e in notes if e.payload.get("about") == ident]
        if found:
            groups.append(AnnotationGroup(ident, role_name(plan, ident), found))
    general = [e for e in notes if not e.payload.get("about")]
    if general:
        groups.append(AnnotationGroup("", str(gettext_lazy("Toute l’équipe")), general))
    return groups
