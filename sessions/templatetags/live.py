"""Small lookups the region partials need (dictionaries keyed by ids, role titles)."""

from __future__ import annotations

from django import template

from sessions.story import browser_data, label

register = template.Library()


@register.filter
def get_item(mapping, key):
    if mapping is None:
        return None
    return mapping.get(key)


@register.filter
def role_title(plan, ident: str) -> str:
    return plan.role_title(ident)


@register.filter
def story_at(clock_ms, plan) -> str:
    """The story's date and time at `clock_ms` ("" without fiction)."""
    return label(getattr(plan, "fiction", None), clock_ms)


@register.filter
def story_data(plan) -> str:
    """What clock.js needs to run story time (`data-story`); "" without fiction."""
    return browser_data(getattr(plan, "fiction", None))


@register.filter
def story_at_s(seconds, holder) -> str:
    """The story's date and time at `seconds` of clock, for anything with a `fiction`
    (a plan, a scenario version); "" without."""
    if seconds is None:
        return ""
    return label(getattr(holder, "fiction", None), int(seconds) * 1000)
