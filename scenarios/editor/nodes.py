"""The editor's view of the scenario format: each key's kind of input, from the JSON Schema.

The form is generated from `json_schema()` (itself generated from the pydantic models),
so a key added to the format gets its input without touching the editor. A node says
how one value is written in the form and read back from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from scenarios.format import json_schema

ROOT = "Scenario"
# A `cue.if` is a mapping (situation → reaction): the form writes it as a list of pairs.
PAIR = "Pair"
PAIR_KEYS = ("situation", "reaction")


@dataclass(frozen=True)
class Node:
    """How one value is edited.

    kind: object (a model: `ref` names it), list (of `item`), pairs (a string mapping),
    lines (of text or durations, one per line), ids (role ids, one or several),
    duration, enum, boolean, integer, markdown, text.
    """

    kind: str
    required: bool = False
    ref: str = ""
    item: Node | None = None
    choices: tuple[str, ...] = ()
    default: Any = None  # what leaving a key out means (`once`: true)


@cache
def _schema() -> dict[str, Any]:
    return json_schema()


def _without_null(spec: dict[str, Any]) -> dict[str, Any]:
    """The schema of a value once `null` (an optional key left out) is set aside."""
    if spec.get("anyOf"):
        branches = [b for b in spec["anyOf"] if b.get("type") != "null"]
        rest = {k: v for k, v in spec.items() if k != "anyOf"}
        if len(branches) == 1:
            return _without_null({**rest, **branches[0]})
        return {**rest, "anyOf": branches}
    kind = spec.get("type")
    if isinstance(kind, list):
        kinds = [k for k in kind if k != "null"]
        return {**spec, "type": kinds[0] if len(kinds) == 1 else kinds}
    return spec


def _is_scalar_string(spec: dict[str, Any]) -> bool:
    return spec.get("type") == "string" and "enum" not in spec


def node_of(spec: dict[str, Any], required: bool = False) -> Node:
    long_text = str(spec.get("description", "")).startswith("markdown")
    spec = _without_null({k: v for k, v in spec.items() if k != "description"})
    branches = spec.get("anyOf") or []
    if branches:
        types = sorted(str(b.get("type")) for b in branches)
        if types == ["integer", "string"]:
            return Node("duration", required)
        if types == ["array", "string"]:
            return Node("ids", required)
        raise ValueError(f"the editor has no input for {spec}")
    if "$ref" in spec:
        return Node("object", required, ref=spec["$ref"].rsplit("/", 1)[-1])
    if "const" in spec:  # `format`: a choice of one
        return Node("enum", required, choices=(spec["const"],))
    if "enum" in spec:
        return Node("enum", required, choices=tuple(spec["enum"]))
    kind = spec.get("type")
    if isinstance(kind, list) and "string" in kind:
        kind = "string"  # `age: 15` is text too
    if kind == "array":
        item = node_of(spec["items"], True)
        if item.kind in ("text", "duration"):
            return Node("lines", required, item=item)
        return Node("list", required, item=item)
    if kind == "object":
        if spec.get("additionalProperties", {}).get("type") == "string":
            return Node("pairs", required, item=Node("object", True, ref=PAIR))
        raise ValueError(f"the editor has no input for {spec}")
    if kind == "boolean":
        return Node("boolean", required, default=spec.get("default"))
    if kind == "integer":
        return Node("integer", required)
    if kind == "string":
        if spec.get("contentMediaType") == "text/markdown" or long_text:
            return Node("markdown", required)
        return Node("text", required)
    raise ValueError(f"the editor has no input for {spec}")


@cache
def fields_of(ref: str) -> tuple[tuple[str, Node], ...]:
    """The keys of model `ref` (file names: `if`, `from` …) and their nodes, in order."""
    if ref == PAIR:
        return tuple((key, Node("text", True)) for key in PAIR_KEYS)
    schema = _schema()
    spec = schema if ref == ROOT else schema["$defs"][ref]
    required = set(spec.get("required", ()))
    return tuple(
        (key, node_of(value, key in required)) for key, value in spec["properties"].items()
    )


def model_refs() -> list[str]:
    """Every model the form can hold, the scenario first."""
    return [ROOT, *_schema()["$defs"], PAIR]


def refers_to(ref: str, target: str, seen: frozenset[str] = frozenset()) -> bool:
    """Whether model `ref` holds a `target` somewhere inside (a condition in a condition)."""
    for _key, node in fields_of(ref):
        inner = node.item if node.kind in ("list", "pairs") else node
        if inner is None or inner.kind != "object" or inner.ref in seen:
            continue
        if inner.ref == target or refers_to(inner.ref, target, seen | {inner.ref}):
            return True
    return False
