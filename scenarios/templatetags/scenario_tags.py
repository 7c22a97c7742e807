"""Template helpers of the scenario pages (`{% load scenario_tags %}`)."""

from __future__ import annotations

from django import template

from scenarios.fiction import story_label
from scenarios.forms import language_label

register = template.Library()


@register.filter(name="language_label")
def language_label_filter(code: str) -> str:
    """`fr` → "Français (fr)"; never fails on a code Django does not know."""
    return language_label(code or "")


@register.filter
def story_time_at(seconds, version) -> str:
    """The story's date and time at `seconds` of exercise clock for `version` ("" without
    `fiction`, or without a planned time)."""
    if seconds is None or not getattr(version, "fiction", None):
        return ""
    return story_label(version.story, int(seconds) * 1000)
