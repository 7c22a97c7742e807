"""Saying where and what: the words of diagnostics, and pydantic's errors in them.

Messages name the item concerned (`inject 'call-ase'`, `role #3`) and the key inside
it (`'after.delay'`), show the value found in a form an author recognises, and
suggest the closest known id or key.
"""

from __future__ import annotations

import difflib
from typing import Any, get_args, get_origin

from pydantic import BaseModel, ValidationError

from scenarios.format.errors import Reporter
from scenarios.format.loader import DataPath, LoadedYaml
from scenarios.format.schema import LISTS, PATTERN_HELP, Scenario


def owner_of(path: DataPath, data: Any) -> tuple[str | None, DataPath]:
    """("inject 'call-ase'", rest of the path) for a path inside a top-level list item."""
    if len(path) >= 2 and path[0] in LISTS and isinstance(path[1], int):
        noun = LISTS[path[0]][1]
        item = None
        if isinstance(data, dict) and isinstance(data.get(path[0]), list):
            items = data[path[0]]
            item = items[path[1]] if path[1] < len(items) else None
        ident = item.get("id") if isinstance(item, dict) else None
        if isinstance(ident, str) and ident:
            return f"{noun} '{ident}'", path[2:]
        return f"{noun} #{path[1] + 1}", path[2:]
    return None, path


def field_path(path: DataPath) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def subject_of(path: DataPath, data: Any) -> str:
    """Who and which key, for messages: `inject 'x': 'after.delay'`."""
    owner, rest = owner_of(path, data)
    if owner and rest:
        return f"{owner}: '{field_path(rest)}'"
    if owner:
        return owner
    return f"'{field_path(rest)}'" if rest else "the scenario"


def show(value: Any) -> str:
    if value is None:
        return "an empty value"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "…"
        return repr(shown)
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def choices(expected: str) -> str:
    # pydantic says "'message', 'document' or 'broadcast'"; authors read a plain list.
    return expected.replace("'", "").replace(" or ", ", ")


def article(word: str) -> str:
    return f"an {word}" if word[0] in "aeiou" else f"a {word}"


def suggest(word: str, known: list[str]) -> str:
    close = difflib.get_close_matches(word, known, n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def known(idents: list[str], none: str = "none are defined") -> str:
    return f"known: {', '.join(idents)}" if idents else none


def _unwrap(annotation: Any) -> Any:
    """The item type behind Optional[X], list[X], dict[K, X] and Annotated[X, …]."""
    while get_origin(annotation) is not None:
        args = [a for a in get_args(annotation) if a is not type(None)]
        if not args:
            return None
        annotation = args[-1] if get_origin(annotation) is dict else args[0]
    return annotation


def model_at(path: DataPath) -> type[BaseModel] | None:
    """The model whose keys are valid at `path` (a mapping in the document)."""
    model: Any = Scenario
    for part in path:
        if isinstance(part, int):
            continue
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return None
        fields = {f.alias or name: f for name, f in model.model_fields.items()}
        if part not in fields:
            return None
        model = _unwrap(fields[part].annotation)
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


_TYPE_WORDS = {
    "string_type": "text",
    "int_type": "a whole number",
    "bool_type": "true or false",
    "list_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
}


def report_schema_errors(exc: ValidationError, loaded: LoadedYaml, reporter: Reporter) -> None:
    data = loaded.data
    seen: set[tuple] = set()
    for error in exc.errors(include_url=False):
        kind, loc, value = error["type"], tuple(error["loc"]), error.get("input")
        ctx = error.get("ctx") or {}
        # A union (Optional) reports each branch; one message per place is enough.
        if (loc, kind) in seen:
            continue
        seen.add((loc, kind))
        subject = subject_of(loc, data)
        if kind == "missing":
            owner, rest = owner_of(loc, data)
            where = f"{owner}: " if owner else ""
            reporter.add(
                "missing-key", f"{where}'{field_path(rest)}' is required", loaded.at(loc[:-1])
            )
        elif kind == "extra_forbidden":
            parent, key = loc[:-1], str(loc[-1])
            model = model_at(parent)
            known = [f.alias or n for n, f in model.model_fields.items()] if model else []
            owner, rest = owner_of(parent, data)
            where = f"{owner}: " if owner else ""
            inside = f" in '{field_path(rest)}'" if rest else ""
            reporter.add(
                "unknown-key",
                f"{where}unknown key '{key}'{inside}{suggest(key, known)}",
                loaded.key_at(loc),
            )
        elif kind in _TYPE_WORDS or kind == "bad_type":
            expected = ctx.get("expected") if kind == "bad_type" else _TYPE_WORDS[kind]
            reporter.add(
                "bad-type", f"{subject} must be {expected}; got {show(value)}", loaded.at(loc)
            )
        elif kind in ("literal_error", "enum"):
            reporter.add(
                "bad-value",
                f"{subject} must be one of {choices(ctx.get('expected', ''))}; got {show(value)}",
                loaded.at(loc),
            )
        elif kind == "string_pattern_mismatch":
            helper = PATTERN_HELP.get(ctx.get("pattern", ""), f"like {ctx.get('pattern')}")
            reporter.add(
                "bad-value", f"{subject} must be {helper}; got {show(value)}", loaded.at(loc)
            )
        elif kind == "string_too_long":
            reporter.add(
                "bad-value",
                f"{subject} must be at most {ctx['max_length']} characters; it has {len(value)}",
                loaded.at(loc),
            )
        elif kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
            bound = {
                "greater_than_equal": ("at least", ctx.get("ge")),
                "less_than_equal": ("at most", ctx.get("le")),
                "greater_than": ("more than", ctx.get("gt")),
                "less_than": ("less than", ctx.get("lt")),
            }[kind]
            reporter.add(
                "bad-value",
                f"{subject} must be {bound[0]} {bound[1]}; got {show(value)}",
                loaded.at(loc),
            )
        elif kind in ("too_short", "too_long"):
            bound = ctx.get("min_length") if kind == "too_short" else ctx.get("max_length")
            reporter.add(
                "bad-value",
                f"{subject} must hold {'at least' if kind == 'too_short' else 'at most'} "
                f"{bound} item{'' if bound == 1 else 's'}; it has {ctx.get('actual_length')}",
                loaded.at(loc),
            )
        elif kind == "value_error":
            reporter.add("bad-value", f"{subject}: {ctx.get('error')}", loaded.at(loc))
        else:  # bad_value and anything else pydantic may say
            reporter.add("bad-value", f"{subject} {error['msg']}", loaded.at(loc))
