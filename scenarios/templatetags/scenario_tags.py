"""Template helpers of the scenario pages (`{% load scenario_tags %}`)."""

from __future__ import annotations

from django import template

from scenarios.forms import language_label

register = template.Library()


@register.filter(name="language_label")
def language_label_filter(code: str) -> str:
    """`fr` → "Français (fr)"; never fails on a code Django does not know."""
    return language_label(code or "")
