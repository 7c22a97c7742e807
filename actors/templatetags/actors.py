"""`{% load actors %}`: the character sheet of a role, for the tablet and the printed pack."""

from __future__ import annotations

from django import template

from actors.sheets import character_sheet as _character_sheet

register = template.Library()


@register.filter
def character_sheet(role) -> list[tuple[str, str]]:
    return _character_sheet(role) if role is not None else []
