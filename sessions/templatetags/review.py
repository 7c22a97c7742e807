"""Small formatting helpers for the replay and the after-action report."""

from __future__ import annotations

from django import template

from sessions.report import role_name

register = template.Library()


@register.filter
def sum_values(values) -> int:
    return sum(values or [])


@register.filter
def level_label(levels, level: int) -> str:
    """The rubric's word for a level (`levels` is report.LEVELS)."""
    return str(dict(levels).get(level, ""))


@register.filter
def percent(value: float | None) -> str:
    return "—" if value is None else f"{round(value * 100)} %"


@register.filter
def role_short(plan, ident: str) -> str:
    """A role's short name ("Enquêtrice" for "Enquêtrice, brigade de protection…")."""
    return role_name(plan, ident)
