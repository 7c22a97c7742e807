"""Character sheets: what an actor needs to know to play a role consistently."""

from __future__ import annotations

from scenarios.models import Role

# The order an actor reads a character sheet in.
CHARACTER_FIELDS = ("age", "origin", "languages", "demeanour", "backstory", "secrets", "boundaries")


def character_sheet(role: Role) -> list[tuple[str, str]]:
    """(field, text) pairs of the role's character sheet, in reading order."""
    character = role.character or {}
    known = [(key, str(character[key])) for key in CHARACTER_FIELDS if character.get(key)]
    others = [
        (key, value)
        for key, value in character.items()
        if key not in CHARACTER_FIELDS and isinstance(value, str) and value
    ]
    return known + others
