"""The document as far as it could be read: each top-level list's valid items, by id.

When some items of a list are malformed, the rest are still checked: each item is
validated on its own; an item whose malformed keys are all optional is checked
without them (`dropped` says which keys); references to an item that could not be
read at all (its id is "tainted") are not reported as dangling, since the author's
real mistake is that item.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError

from scenarios.format.schema import LISTS, Scenario


@dataclass
class Namespace:
    """The items of one top-level list that passed the schema, by id."""

    items: list[tuple[int, Any]] = field(default_factory=list)  # (index in file, model)
    by_id: dict[str, tuple[int, Any]] = field(default_factory=dict)
    written: list[str] = field(default_factory=list)  # every id in the file, valid or not
    dropped: dict[int, set[str]] = field(default_factory=dict)  # index -> unreadable keys
    tainted: set[str] = field(default_factory=set)
    complete: bool = True  # False: the list itself was unreadable; check nothing against it

    def add(self, index: int, model: Any) -> None:
        self.items.append((index, model))
        self.by_id.setdefault(model.id, (index, model))

    def verifiable(self, ident: str) -> bool:
        return self.complete and ident not in self.tainted

    def get(self, ident: str) -> Any | None:
        found = self.by_id.get(ident)
        return found[1] if found else None

    def ids(self) -> list[str]:
        """The ids to name in messages: all those written, in file order."""
        return list(dict.fromkeys(self.written))


def build_namespaces(data: dict, doc: Scenario | None) -> dict[str, Namespace]:
    spaces = {name: Namespace() for name in LISTS}
    for name, (model, _noun) in LISTS.items():
        space = spaces[name]
        raw = data.get(name, [])
        if isinstance(raw, list):
            space.written = [
                item["id"]
                for item in raw
                if isinstance(item, dict) and isinstance(item.get("id"), str)
            ]
        if doc is not None:
            for index, item in enumerate(getattr(doc, name)):
                space.add(index, item)
            continue
        if not isinstance(raw, list):
            space.complete = False
            continue
        for index, item in enumerate(raw):
            try:
                space.add(index, model.model_validate(item))
                continue
            except ValidationError as exc:
                bad = {e["loc"][0] for e in exc.errors() if e["loc"] and e["type"] != "missing"}
            # Without its malformed optional keys the item may still be checked for the
            # rest (a bad `at` should not hide a bad `to`); `dropped` tells the checks
            # which keys they cannot judge.
            if isinstance(item, dict) and not bad & required_keys(model):
                try:
                    partial = model.model_validate({k: v for k, v in item.items() if k not in bad})
                except ValidationError:
                    pass
                else:
                    space.add(index, partial)
                    space.dropped[index] = {str(key) for key in bad}
                    continue
            ident = item.get("id") if isinstance(item, dict) else None
            if isinstance(ident, str):
                space.tainted.add(ident)
            else:  # an item without a usable id could be anything
                space.complete = False
    return spaces


def required_keys(model: type[BaseModel]) -> set[str]:
    return {f.alias or name for name, f in model.model_fields.items() if f.is_required()}
