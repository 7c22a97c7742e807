"""The workbook's layout: which sheet holds what, and in which column order.

It is worked out from the data and from the format's models, never key by key, so a
key the format gains (or an `x-` key of the author's) has its place without a change
here:

- sheet "Scénario": one row per top-level key that is not a list of items — a key in
  column A, its value in column B (a mapping or a list of text as YAML flow text);
- one sheet per top-level list of items, named after its key with a capital
  (`injects` → "Injects"): a header row of keys, then one row per item. The injects
  (the MSEL) come first, then roles, phases, actions, objectives, countdowns and
  requests, which always have their sheet (empty when the scenario has none), then any
  other list.

Columns and metadata rows follow the format's own order (the models' field order, as
in the canonical YAML), then any other key in the order first met.
"""

from __future__ import annotations

import unicodedata
from typing import Any, get_args, get_origin

from pydantic import BaseModel

from scenarios.format.schema import Scenario
from scenarios.format.xlsx.cells import is_plain_key

META_SHEET = "Scénario"
META_HEADER = ("key", "value")
# Accepted in the metadata sheet's header row, as an author may translate it.
META_HEADER_WORDS = ({"key", "cle"}, {"value", "valeur"})

# The lists that always have a sheet, in the order of the tabs.
SHEET_ORDER = ("injects", "roles", "phases", "actions", "objectives", "countdowns", "requests")

# The columns of the lists the format defines but whose models this version of the
# schema may not have yet (docs: the additions to simtrain.scenario/1), so that their
# empty sheets still show the keys to fill. A model, once there, takes precedence.
SPEC_COLUMNS = {
    "countdowns": ("id", "title", "description", "roles", "limit", "starts", "stops",
                   "extends", "warn"),
    "requests": ("id", "label", "from", "to", "description", "deadline", "once"),
}  # fmt: skip

# What a sheet's name may not hold or be (Excel's rules).
_SHEET_NAME_MAX = 31
_SHEET_NAME_FORBIDDEN = frozenset("[]:*?/\\")
_RESERVED_SHEET_NAMES = {"history"}


def _fold(text: str) -> str:
    """Lower case, accents and surrounding spaces dropped: "Scénario " → "scenario"."""
    decomposed = unicodedata.normalize("NFKD", text.strip().casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def is_meta_sheet(name: str) -> bool:
    return _fold(name) == _fold(META_SHEET)


def is_meta_header(key: Any, value: Any) -> bool:
    words = (key, value)
    return all(
        isinstance(word, str) and _fold(word) in accepted
        for word, accepted in zip(words, META_HEADER_WORDS, strict=True)
    )


def sheet_key(name: str) -> str:
    """The top-level key a sheet holds: its name with a small first letter."""
    return name[:1].lower() + name[1:]


def sheet_name(key: str) -> str | None:
    """The sheet a top-level list is written on, or None when the key cannot name a
    sheet that reads back as itself (too long, a forbidden character …)."""
    name = key[:1].upper() + key[1:]
    if (
        not key
        or key != key.strip()
        or sheet_key(name) != key
        or len(name) > _SHEET_NAME_MAX
        or _SHEET_NAME_FORBIDDEN & set(name)
        or name.startswith("'")
        or name.endswith("'")
        or _fold(name) in _RESERVED_SHEET_NAMES
        or is_meta_sheet(name)
    ):
        return None
    return name


def _aliases(model: type[BaseModel]) -> list[str]:
    return [field.alias or name for name, field in model.model_fields.items()]


def _item_model(annotation: Any) -> type[BaseModel] | None:
    """The item model of `list[Model]` (through Optional/Annotated), else None."""
    while get_origin(annotation) is not None and get_origin(annotation) is not list:
        args = [a for a in get_args(annotation) if a is not type(None)]
        if len(args) != 1:
            return None
        annotation = args[0]
    if get_origin(annotation) is not list:
        return None
    (item,) = get_args(annotation) or (None,)
    return item if isinstance(item, type) and issubclass(item, BaseModel) else None


def _scenario_fields() -> dict[str, type[BaseModel] | None]:
    """Every top-level key of the format, in its order, with its item model if it is a
    list of items."""
    return {
        field.alias or name: _item_model(field.annotation)
        for name, field in Scenario.model_fields.items()
    }


def known_columns(key: str) -> list[str]:
    """The keys of an item of list `key`, in the format's order (none if unknown)."""
    model = _scenario_fields().get(key)
    if model is not None:
        return _aliases(model)
    return list(SPEC_COLUMNS.get(key, ()))


def known_meta_keys() -> list[str]:
    """The format's top-level keys that are not lists of items, in its order."""
    fields = _scenario_fields()
    return [key for key, model in fields.items() if model is None and key not in SHEET_ORDER]


def is_item_list(value: Any) -> bool:
    """A list that a sheet can hold row by row and give back exactly: not empty, every
    item a non-empty mapping whose keys can be a header row's text."""
    return (
        isinstance(value, list)
        and bool(value)
        and all(
            isinstance(item, dict) and item and all(is_plain_key(k) for k in item) for item in value
        )
    )


def ordered(known: list[str], found: list[str]) -> list[str]:
    """The known keys in their order, then the others in the order found."""
    return list(dict.fromkeys([*known, *found]))
