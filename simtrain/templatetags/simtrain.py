"""Template helpers shared by every app (registered as a builtin)."""

from __future__ import annotations

from django import template
from django.utils.safestring import mark_safe

from simtrain.durations import format_clock, format_duration
from simtrain.markdown import render_markdown

register = template.Library()


@register.filter(name="markdown")
def markdown_filter(text: str | None) -> str:
    return mark_safe(render_markdown(text))  # noqa: S308 - sanitised by nh3


@register.filter(name="duration")
def duration_filter(seconds: int | None) -> str:
    return "" if seconds is None else format_duration(seconds)


@register.filter(name="clock")
def clock_filter(seconds: int | None) -> str:
    return "" if seconds is None else format_clock(seconds)


@register.filter(name="clock_ms")
def clock_ms_filter(milliseconds: int | None) -> str:
    return "" if milliseconds is None else format_clock(int(milliseconds) // 1000)
