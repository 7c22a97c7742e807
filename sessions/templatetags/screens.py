"""Helpers of the live screens' templates (`{% load screens %}`)."""

from __future__ import annotations

from django import template

from scenarios.fiction import format_time_left
from scenarios.models import Inject
from sessions.annotation_tags import tag_label
from sessions.audience import EVERYONE
from sessions.engine import SPEED_CHOICES
from sessions.layout import short_title as cut

register = template.Library()


@register.simple_tag
def speed_choices():
    return SPEED_CHOICES


@register.filter
def annotation_tag(payload: dict) -> str:
    """An annotation's tag in words (an objective's tag: its title)."""
    return tag_label(payload or {})


@register.filter
def kind_label(kind: str) -> str:
    """An inject kind in words ("call" → "Appel"), translated."""
    try:
        return Inject.Kind(kind).label
    except ValueError:
        return kind or ""


@register.filter
def feed_roles(event) -> str:
    """The roles an event concerns, space-separated: the trainer's feed filters on them.

    Its audience's roles, plus whoever acted (a seat's role) and a message's two ends;
    "*" for what everyone sees.
    """
    roles = set()
    for token in event.audience or []:
        if token == EVERYONE:
            roles.add("*")
        elif token.startswith("role:"):
            roles.add(token[5:])
    payload = event.payload or {}
    for key in ("role", "from_role", "to_role"):
        if payload.get(key):
            roles.add(payload[key])
    roles.update(payload.get("roles") or [])
    return " ".join(sorted(roles))


@register.filter
def role_titles(plan, idents) -> str:
    return ", ".join(plan.role_title(ident) for ident in idents or [])


@register.filter
def option_label(inject, option: str) -> str:
    """The label of a decision's option (`inject` is a layout.PlanInject)."""
    return next((label for ident, label in inject.options if ident == option), option)


@register.filter
def plan_inject(plan, ident: str):
    return plan.inject(ident)


@register.filter
def thread_anchor(key: str) -> str:
    return "thread-" + "".join(ch if ch.isalnum() or ch == "-" else "-" for ch in key)


@register.filter
def seconds_of(milliseconds) -> int:
    return int(milliseconds or 0) // 1000


@register.filter
def phase_title_of(plan, ident: str) -> str:
    return plan.phase_title(ident)


@register.filter
def action_label_of(plan, ident: str) -> str:
    return plan.action_label(ident)


@register.filter
def role_short(plan, ident: str) -> str:
    return plan.role_short(ident)


@register.filter
def short_title(title: str) -> str:
    return cut(title or "")


@register.filter
def recipients(inject, plan) -> str:
    """Who an inject goes to, in few words: "tous" or short role names (+N)."""
    from django.utils.translation import gettext as _

    roles = list(inject.roles)
    everyone = [i for i, r in plan.roles.items() if r.kind != "observer"]
    if inject.kind == "broadcast" and set(everyone) <= set(roles):
        return _("tous")
    names = [plan.role_short(ident) for ident in roles]
    if len(names) > 4:
        return ", ".join(names[:3]) + " " + _("+%(n)d autres") % {"n": len(names) - 3}
    return ", ".join(names)


@register.filter
def time_left(milliseconds) -> str:
    """A countdown's story time left, in words ("23 h 05 min")."""
    return format_time_left(int(milliseconds or 0))


@register.filter
def last_outcome(sendings) -> str:
    """A request's state from its last sending: approved, rejected or none."""
    return sendings[-1].outcome if sendings else ""
