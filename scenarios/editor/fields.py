"""A draft's document as the editor's form fields, and the posted fields as a document.

Each input is named by the data path of its value (`injects.3.when.decision`), so a
posted form reads back into the document without a per-key mapping: the path says
where the value goes, the schema node says what type it is. Empty optional values are
left out, as the canonical form leaves them out; a document written to fields and read
back is the same document.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from scenarios.editor.nodes import PAIR_KEYS, ROOT, Node, fields_of

MISSING = object()
TRUE, FALSE = "true", "false"
NOBODY = "[]"  # an empty list of roles (no contacts), not the default
EVERYONE = "all"
_INTEGER = re.compile(r"^-?[0-9]+$")
_IDS_SPLIT = re.compile(r"[\s,]+")


def path_name(path: Iterable[str | int]) -> str:
    return ".".join(str(part) for part in path)


# --- document → fields ----------------------------------------------------------------


def scalar_text(node: Node, value: Any) -> str:
    """What the input of a scalar holds for `value` (absent: empty)."""
    if value is None or value is MISSING:
        return ""
    if node.kind == "boolean":
        return TRUE if value is True else FALSE if value is False else str(value)
    if node.kind == "ids":
        if value == []:
            return NOBODY
        return ", ".join(str(v) for v in value) if isinstance(value, list) else str(value)
    if node.kind == "lines":
        return "\n".join(str(v) for v in value) if isinstance(value, list) else str(value)
    return str(value)


def to_fields(document: dict[str, Any]) -> list[tuple[str, str]]:
    """The (name, value) pairs a browser posts for `document`, empty inputs left out."""
    out: list[tuple[str, str]] = []
    _object_fields(ROOT, document if isinstance(document, dict) else {}, (), out)
    return out


def _object_fields(ref: str, data: dict, path: tuple, out: list) -> None:
    for key, node in fields_of(ref):
        if key in data:
            _value_fields(node, data[key], (*path, key), out)


def _value_fields(node: Node, value: Any, path: tuple, out: list) -> None:
    if node.kind == "object" and isinstance(value, dict):
        _object_fields(node.ref, value, path, out)
    elif node.kind == "list" and isinstance(value, list):
        for index, item in enumerate(value):
            _value_fields(node.item, item, (*path, index), out)
    elif node.kind == "pairs" and isinstance(value, dict):
        for index, (situation, reaction) in enumerate(value.items()):
            out.append((path_name((*path, index, PAIR_KEYS[0])), str(situation)))
            out.append((path_name((*path, index, PAIR_KEYS[1])), str(reaction)))
    else:
        text = scalar_text(node, value)
        if text:
            out.append((path_name(path), text))


def unknown_keys(document: dict[str, Any]) -> list[str]:
    """The paths of keys the format does not have: the form cannot show them, so a save
    drops them (author extensions `x-…` included, which imports drop too)."""
    found: list[str] = []
    _unknown(ROOT, document if isinstance(document, dict) else {}, (), found)
    return found


def _unknown(ref: str, data: dict, path: tuple, found: list) -> None:
    nodes = dict(fields_of(ref))
    for key, value in data.items():
        node = nodes.get(key)
        if node is None:
            found.append(path_name((*path, key)))
        elif node.kind == "object" and isinstance(value, dict):
            _unknown(node.ref, value, (*path, key), found)
        elif node.kind == "list" and node.item.kind == "object" and isinstance(value, list):
            for index, item in enumerate(value):
                if isinstance(item, dict):
                    _unknown(node.item.ref, item, (*path, key, index), found)


# --- fields → document ----------------------------------------------------------------


def from_fields(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """The document the posted pairs describe; names outside the format are ignored.

    List items are taken in the order the form posts them (their order on the page),
    whatever their index; values are read by their schema node's type.
    """
    tree: dict[str, Any] = {}
    top = {key for key, _node in fields_of(ROOT)}
    for name, value in pairs:
        parts = name.split(".")
        if parts[0] not in top or any(part == "" for part in parts):
            continue
        branch = tree
        for part in parts[:-1]:
            nested = branch.setdefault(part, {})
            if not isinstance(nested, dict):
                break
            branch = nested
        else:
            if not isinstance(branch.get(parts[-1]), dict):
                branch[parts[-1]] = value
    document = _read_object(ROOT, tree)
    return document if document is not MISSING else {}


def _read_object(ref: str, raw: Any) -> Any:
    if not isinstance(raw, dict):
        return MISSING
    out = {}
    for key, node in fields_of(ref):
        if key in raw:
            value = _read(node, raw[key])
            if value is not MISSING:
                out[key] = value
    return out or MISSING


def _read(node: Node, raw: Any) -> Any:
    if node.kind == "object":
        return _read_object(node.ref, raw)
    if node.kind in ("list", "pairs"):
        if not isinstance(raw, dict):
            return MISSING
        items = [_read(node.item, raw[key]) for key in raw]
        items = [item for item in items if item is not MISSING]
        if node.kind == "pairs":
            mapping = {
                item[PAIR_KEYS[0]]: item.get(PAIR_KEYS[1], "")
                for item in items
                if PAIR_KEYS[0] in item
            }
            return mapping or MISSING
        return items or MISSING
    if isinstance(raw, dict):
        return MISSING  # a scalar posted with sub-keys: not a value of this key
    return read_scalar(node, raw)


def read_scalar(node: Node, raw: str) -> Any:
    """The value an input's text stands for (MISSING when it is left empty)."""
    text = raw.replace("\r\n", "\n")
    if not text.strip():
        return MISSING
    if node.kind == "boolean":
        return {TRUE: True, FALSE: False}.get(text.strip(), text)
    if node.kind in ("integer", "duration"):
        stripped = text.strip()
        return int(stripped) if _INTEGER.match(stripped) else stripped
    if node.kind == "ids":
        ids = [part for part in _IDS_SPLIT.split(text.strip()) if part]
        if ids == [NOBODY]:
            return []
        # `to: all` is written as one word, as the canonical form writes it.
        return ids[0] if ids == [EVERYONE] else ids
    if node.kind == "lines":
        values = [read_scalar(node.item, line) for line in text.split("\n")]
        return [value for value in values if value is not MISSING] or MISSING
    return text
