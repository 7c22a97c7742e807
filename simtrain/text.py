"""Text that can be stored, rendered and sent: Unicode scalar values only, no NUL.

A JSON string may spell a lone UTF-16 surrogate ("\\ud800"); Python decodes it into a
`str` that cannot be encoded to UTF-8, so once stored every page, socket frame and
export that shows it fails. NUL (U+0000) is refused by PostgreSQL in text and jsonb.
So text from outside (socket frames, forms, imported files) is checked here and
refused with a clear error (`invalid_text`), and values already stored are repaired on
read (`repair`: each lone surrogate becomes U+FFFD, the replacement character; NUL is
dropped) so that no stored value can break a screen or an export. The
`repair_text` management command rewrites stored values for good.
"""

from __future__ import annotations

import re
from typing import Any

REPLACEMENT = "\ufffd"
# A lone surrogate (a valid pair is one scalar value once decoded) or NUL.
_INVALID = re.compile("[\ud800-\udfff\x00]")
# What a stored JSON text must contain for a decoded value to hold a surrogate or NUL
# (Django writes JSON with ensure_ascii, so both appear escaped).
_ESCAPED = re.compile(r"\\u(?:d[89a-f]|0000)", re.IGNORECASE)
MAX_DEPTH = 64


class InvalidText(ValueError):
    """Where a value holds text that is not valid (a path such as `payload.text`)."""

    def __init__(self, where: str):
        super().__init__(f"{where}: text holds a lone surrogate or a NUL character")
        self.where = where


def is_valid(text: str) -> bool:
    if text.isascii():
        return "\x00" not in text
    return _INVALID.search(text) is None


def invalid_text(value: Any, where: str = "") -> str | None:
    """The path of the first string (or dict key) in `value` that is not valid text."""
    stack: list[tuple[Any, str, int]] = [(value, where, 0)]
    while stack:
        item, path, depth = stack.pop()
        if isinstance(item, str):
            if not is_valid(item):
                return path or "text"
        elif depth < MAX_DEPTH and isinstance(item, dict):
            for key, sub in item.items():
                sub_path = f"{path}.{key}" if path else str(key)
                if isinstance(key, str) and not is_valid(key):
                    return sub_path
                stack.append((sub, sub_path, depth + 1))
        elif depth < MAX_DEPTH and isinstance(item, list | tuple):
            stack.extend((sub, f"{path}[{n}]", depth + 1) for n, sub in enumerate(item))
    return None


def require_valid(value: Any, where: str = "") -> None:
    """Raise `InvalidText` if any string in `value` is not valid text."""
    found = invalid_text(value, where)
    if found is not None:
        raise InvalidText(found)


def repair_str(text: str) -> str:
    if is_valid(text):
        return text
    return _INVALID.sub(lambda m: "" if m.group() == "\x00" else REPLACEMENT, text)


def repair(value: Any, depth: int = 0) -> Any:
    """`value` with every lone surrogate replaced by U+FFFD and every NUL removed."""
    if isinstance(value, str):
        return repair_str(value)
    if depth >= MAX_DEPTH:
        return value
    if isinstance(value, dict):
        return {repair(k, depth + 1): repair(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [repair(v, depth + 1) for v in value]
    return value


def may_hold_invalid(json_text: str) -> bool:
    """Whether a stored JSON text can decode to invalid text (a fast filter)."""
    return _ESCAPED.search(json_text) is not None
