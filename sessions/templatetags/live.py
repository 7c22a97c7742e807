"""Small lookups the region partials need (dictionaries keyed by ids, role titles)."""

from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def get_item(mapping, key):
    if mapping is None:
        return None
    return mapping.get(key)


@register.filter
def role_title(plan, ident: str) -> str:
    return plan.role_title(ident)
