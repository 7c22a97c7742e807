"""What changed between two scenarios, item by item and field by field.

Pure (no database): two canonical dicts (what the YAML holds, `canonical_dict(doc)`) and
optionally their attachment files in, a `ScenarioDiff` out. Reviewers read it to see
what a new version changes; the editor calls it to show a draft against its base.

- Metadata (every top-level key that is not a list of items: title, summary, tags,
  `fiction`, `safety` …) is compared field by field: `fiction.jumps[1].to`.
- Each list of items (roles, phases, actions, objectives, countdowns, requests,
  injects) is matched by `id`: items added, removed, changed (with their field
  changes) and moved. A move is an order change alone; an item both moved and edited
  is in both lists.
- Inside an item, mappings are compared key by key; a list of mappings that all carry
  an `id` (options) or a `file` (attachments) is matched on it, any other list of
  mappings by position, and a list of plain values (`to`, `tags`) as one value.
- Attachment files are compared by their SHA-256.

Any two documents are accepted, also an empty one or a draft that does not validate:
an item without a usable id is matched by position.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from bisect import bisect_left
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from scenarios.format.xlsx.cells import flow_text

# The lists of items, in the order the diff shows them.
LIST_KEYS = ("roles", "phases", "actions", "objectives", "countdowns", "requests", "injects")
LIST_LABELS = {
    "roles": _("Rôles"),
    "phases": _("Phases"),
    "actions": _("Actions"),
    "objectives": _("Objectifs"),
    "countdowns": _("Délais"),
    "requests": _("Demandes"),
    "injects": _("Injects"),
}
# Keys that identify a mapping inside a nested list, tried in this order.
NESTED_KEYS = ("id", "file")
# A value longer than this, or over several lines, is shown in full on both sides.
LONG_TEXT = 80

DataPath = tuple[str | int, ...]


class _Absent:
    """The key is not there (canonical dicts leave defaults and empty values out)."""

    def __repr__(self) -> str:
        return "ABSENT"


ABSENT = _Absent()


# --- results -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Segment:
    """A run of text in a long value: `same`, `removed` (old side) or `added` (new side)."""

    kind: str
    text: str


@dataclass(frozen=True)
class Segments:
    old: tuple[Segment, ...]
    new: tuple[Segment, ...]


@dataclass(frozen=True)
class FieldChange:
    """One value that differs. `old`/`new` are its text ("" when the key is absent).

    `path` is readable (`options[opp].label`, relative to the item for item changes);
    `location` is the data path in the document (the new one, or the old one for what
    was removed), as the editor's diagnostics use: `("injects", 3, "options", 0)`.
    `kind`: "added", "removed", "changed", or "moved" (the order of a nested list).
    """

    path: str
    location: DataPath
    kind: str
    old: str
    new: str

    @property
    def long(self) -> bool:
        return any("\n" in text or len(text) > LONG_TEXT for text in (self.old, self.new))

    @cached_property
    def segments(self) -> Segments:
        return text_segments(self.old, self.new)


@dataclass(frozen=True)
class ItemRef:
    """An item added or removed; `fields` are its values, to read it in full."""

    id: str
    label: str
    position: int  # 1-based, in its own document
    fields: tuple[FieldChange, ...]


@dataclass(frozen=True)
class ItemChange:
    id: str
    label: str  # the new one (see old_label when it changed)
    old_label: str
    position: int  # 1-based, in the new document
    changes: tuple[FieldChange, ...]


@dataclass(frozen=True)
class ItemMove:
    id: str
    label: str
    old_position: int  # 1-based
    new_position: int


@dataclass(frozen=True)
class ListDiff:
    key: str  # "injects"
    added: tuple[ItemRef, ...] = ()
    removed: tuple[ItemRef, ...] = ()
    changed: tuple[ItemChange, ...] = ()
    moved: tuple[ItemMove, ...] = ()

    @property
    def label(self) -> str:
        return str(LIST_LABELS.get(self.key, self.key))

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed or self.moved)


@dataclass(frozen=True)
class AttachmentChange:
    path: str
    kind: str  # "added", "removed", "changed"
    old_sha256: str
    new_sha256: str
    old_size: int | None
    new_size: int | None


@dataclass(frozen=True)
class ScenarioDiff:
    metadata: tuple[FieldChange, ...]
    lists: tuple[ListDiff, ...]  # one per LIST_KEYS entry, in that order
    attachments: tuple[AttachmentChange, ...]

    @property
    def identical(self) -> bool:
        return not self.metadata and not self.attachments and all(d.empty for d in self.lists)

    @property
    def changed_lists(self) -> tuple[ListDiff, ...]:
        return tuple(d for d in self.lists if not d.empty)

    def list(self, key: str) -> ListDiff:
        return next(d for d in self.lists if d.key == key)

    def summary(self) -> list[str]:
        """One line per part that changed: "Injects : 3 ajouts, 5 modifications"."""
        lines = []
        if self.metadata:
            lines.append(_line(_("Informations générales"), changed=len(self.metadata)))
        for part in self.changed_lists:
            lines.append(
                _line(
                    part.label,
                    added=len(part.added),
                    changed=len(part.changed),
                    removed=len(part.removed),
                    moved=len(part.moved),
                )
            )
        if self.attachments:
            kinds = [a.kind for a in self.attachments]
            lines.append(
                _line(
                    _("Pièces jointes"),
                    added=kinds.count("added"),
                    changed=kinds.count("changed"),
                    removed=kinds.count("removed"),
                )
            )
        return lines

    @property
    def summary_text(self) -> str:
        if self.identical:
            return str(_("Aucune différence"))
        return str(_(" ; ")).join(self.summary())


def _line(label, *, added: int = 0, changed: int = 0, removed: int = 0, moved: int = 0) -> str:
    # Nouns rather than participles: no agreement with the gender of each list's name.
    parts = []
    if added:
        parts.append(ngettext("%(count)d ajout", "%(count)d ajouts", added) % {"count": added})
    if changed:
        parts.append(
            ngettext("%(count)d modification", "%(count)d modifications", changed)
            % {"count": changed}
        )
    if removed:
        parts.append(
            ngettext("%(count)d suppression", "%(count)d suppressions", removed)
            % {"count": removed}
        )
    if moved:
        parts.append(
            ngettext("%(count)d déplacement", "%(count)d déplacements", moved) % {"count": moved}
        )
    return _("%(part)s : %(changes)s") % {"part": label, "changes": ", ".join(parts)}


# --- the diff ----------------------------------------------------------------------------


def diff_documents(
    old: dict[str, Any],
    new: dict[str, Any],
    old_files: dict[str, bytes] | None = None,
    new_files: dict[str, bytes] | None = None,
) -> ScenarioDiff:
    """What changes from `old` to `new` (canonical dicts); files `None` means none."""
    old = old if isinstance(old, dict) else {}
    new = new if isinstance(new, dict) else {}
    # A list key holding something other than a list (a broken draft) is compared as
    # a plain value with the metadata.
    as_lists = {
        key
        for key in LIST_KEYS
        if isinstance(old.get(key, []), list) and isinstance(new.get(key, []), list)
    }
    metadata: list[FieldChange] = []
    _compare_mapping(
        "",
        (),
        {k: v for k, v in old.items() if k not in as_lists},
        {k: v for k, v in new.items() if k not in as_lists},
        metadata,
    )
    lists = tuple(
        _diff_list(key, old.get(key, []), new.get(key, []))
        if key in as_lists
        else ListDiff(key=key)
        for key in LIST_KEYS
    )
    return ScenarioDiff(
        metadata=tuple(metadata),
        lists=lists,
        attachments=_diff_files(old_files or {}, new_files or {}),
    )


def _item_key(item: Any, index: int, seen: set[str]) -> str | tuple[str, int]:
    ident = item.get("id") if isinstance(item, dict) else None
    if isinstance(ident, str) and ident and ident not in seen:
        seen.add(ident)
        return ident
    return ("#", index)  # no usable id: matched by position


def _keyed(items: list) -> dict[str | tuple[str, int], tuple[int, Any]]:
    seen: set[str] = set()
    return {_item_key(item, i, seen): (i, item) for i, item in enumerate(items)}


def _ident(key: str | tuple[str, int]) -> str:
    return key if isinstance(key, str) else f"#{key[1] + 1}"


def _label(item: Any, key: str | tuple[str, int]) -> str:
    if isinstance(item, dict):
        for field in ("title", "label"):
            if isinstance(item.get(field), str) and item[field]:
                return item[field]
    return _ident(key)


def _diff_list(key: str, old: list, new: list) -> ListDiff:
    old_items, new_items = _keyed(old), _keyed(new)
    added, removed, changed = [], [], []
    for item_key, (index, item) in new_items.items():
        if item_key not in old_items:
            added.append(_ref(key, item_key, index, item, kind="added"))
    for item_key, (index, item) in old_items.items():
        if item_key not in new_items:
            removed.append(_ref(key, item_key, index, item, kind="removed"))
    for item_key, (index, item) in new_items.items():
        if item_key not in old_items:
            continue
        before = old_items[item_key][1]
        changes: list[FieldChange] = []
        _compare("", (key, index), before, item, changes)
        if changes:
            changed.append(
                ItemChange(
                    id=_ident(item_key),
                    label=_label(item, item_key),
                    old_label=_label(before, item_key),
                    position=index + 1,
                    changes=tuple(changes),
                )
            )
    return ListDiff(
        key=key,
        added=tuple(added),
        removed=tuple(removed),
        changed=tuple(changed),
        moved=_moves(old_items, new_items),
    )


def _ref(key: str, item_key, index: int, item: Any, *, kind: str) -> ItemRef:
    fields: list[FieldChange] = []
    if kind == "added":
        _compare("", (key, index), ABSENT, item, fields)
    else:
        _compare("", (key, index), item, ABSENT, fields)
    return ItemRef(
        id=_ident(item_key), label=_label(item, item_key), position=index + 1, fields=tuple(fields)
    )


def _moves(old_items: dict, new_items: dict) -> tuple[ItemMove, ...]:
    """The fewest items whose move explains the new order of the items kept.

    The items that stay in relative order are the longest increasing run of their old
    positions taken in the new order; every other kept item was moved.
    """
    kept = [(k, old_items[k][0], new_items[k]) for k in new_items if k in old_items]
    kept.sort(key=lambda entry: entry[2][0])
    stays = _longest_increasing([old_index for _, old_index, _ in kept])
    return tuple(
        ItemMove(
            id=_ident(k),
            label=_label(item, k),
            old_position=old_index + 1,
            new_position=new_index + 1,
        )
        for position, (k, old_index, (new_index, item)) in enumerate(kept)
        if position not in stays
    )


def _longest_increasing(values: list[int]) -> set[int]:
    """Positions in `values` of one longest strictly increasing subsequence."""
    tails: list[int] = []  # values[tail_at[i]] is the smallest tail of a run of length i+1
    tail_at: list[int] = []
    previous = [-1] * len(values)
    for i, value in enumerate(values):
        at = bisect_left(tails, value)
        if at == len(tails):
            tails.append(value)
            tail_at.append(i)
        else:
            tails[at] = value
            tail_at[at] = i
        previous[i] = tail_at[at - 1] if at else -1
    positions: set[int] = set()
    i = tail_at[-1] if tail_at else -1
    while i != -1:
        positions.add(i)
        i = previous[i]
    return positions


# --- field by field ----------------------------------------------------------------------

_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


def _step(path: str, part: str | int) -> str:
    if isinstance(part, int):
        return f"{path}[{part}]"
    if _PLAIN_KEY.fullmatch(part):
        return f"{path}.{part}" if path else part
    return f'{path}["{part}"]'  # a cue's situation: free text


def _same(a: Any, b: Any) -> bool:
    """Equal and of the same type all the way down (`True` is not `1`)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def show(value: Any) -> str:
    """A value as its author would write it: text as it is, others as YAML flow."""
    if value is ABSENT or value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    try:
        return flow_text(value)
    except Exception:  # noqa: BLE001 - a draft may hold what YAML cannot write
        return repr(value)


def _change(path: str, location: DataPath, old: Any, new: Any) -> FieldChange:
    kind = "added" if old is ABSENT else "removed" if new is ABSENT else "changed"
    return FieldChange(path=path, location=location, kind=kind, old=show(old), new=show(new))


def _compare(path: str, location: DataPath, old: Any, new: Any, out: list) -> None:
    if _same(old, new):
        return
    old_map = isinstance(old, dict) or (old is ABSENT and isinstance(new, dict) and new)
    new_map = isinstance(new, dict) or (new is ABSENT and isinstance(old, dict) and old)
    if old_map and new_map:
        _compare_mapping(path, location, old, new, out)
        return
    old_list = isinstance(old, list) or (old is ABSENT and isinstance(new, list) and new)
    new_list = isinstance(new, list) or (new is ABSENT and isinstance(old, list) and old)
    if old_list and new_list:
        _compare_list(path, location, old, new, out)
        return
    out.append(_change(path, location, old, new))


def _compare_mapping(path: str, location: DataPath, old: Any, new: Any, out: list) -> None:
    old = old if isinstance(old, dict) else {}
    new = new if isinstance(new, dict) else {}
    for key in [*new, *(k for k in old if k not in new)]:
        _compare(
            _step(path, key),
            (*location, key),
            old.get(key, ABSENT),
            new.get(key, ABSENT),
            out,
        )


def _nested_key(old: list, new: list) -> str | None:
    """The key that identifies every mapping of both lists, if there is one."""
    items = [*old, *new]
    if not items or not all(isinstance(item, dict) for item in items):
        return None
    for key in NESTED_KEYS:
        if all(
            len({str(item.get(key)) for item in side}) == len(side)
            and all(isinstance(item.get(key), str) and item[key] for item in side)
            for side in (old, new)
        ):
            return key
    return None


def _compare_list(path: str, location: DataPath, given_old: Any, given_new: Any, out: list) -> None:
    old = [] if given_old is ABSENT else given_old
    new = [] if given_new is ABSENT else given_new
    key = _nested_key(old, new)
    if key is not None:
        old_by = {item[key]: (i, item) for i, item in enumerate(old)}
        new_by = {item[key]: (i, item) for i, item in enumerate(new)}
        # An entry added or removed as a whole is one change: `{id: autre, label: …}`.
        for ident, (i, item) in new_by.items():
            if ident in old_by:
                _compare(f"{path}[{ident}]", (*location, i), old_by[ident][1], item, out)
            else:
                out.append(_change(f"{path}[{ident}]", (*location, i), ABSENT, item))
        for ident, (i, item) in old_by.items():
            if ident not in new_by:
                out.append(_change(f"{path}[{ident}]", (*location, i), item, ABSENT))
        kept_old = [ident for ident in old_by if ident in new_by]
        kept_new = [ident for ident in new_by if ident in old_by]
        if kept_old != kept_new:
            out.append(FieldChange(path, location, "moved", show(kept_old), show(kept_new)))
        return
    if any(isinstance(item, dict | list) for item in [*old, *new]):
        for i in range(max(len(old), len(new))):
            before = old[i] if i < len(old) else ABSENT
            after = new[i] if i < len(new) else ABSENT
            _compare(_step(path, i), (*location, i), before, after, out)
        return
    # Plain values (`to`, `tags`): the list is one value.
    out.append(_change(path, location, given_old, given_new))


# --- attachments and long texts ----------------------------------------------------------


def _diff_files(old: dict[str, bytes], new: dict[str, bytes]) -> tuple[AttachmentChange, ...]:
    changes = []
    for path in sorted(set(old) | set(new)):
        before, after = old.get(path), new.get(path)
        old_hash = hashlib.sha256(before).hexdigest() if before is not None else ""
        new_hash = hashlib.sha256(after).hexdigest() if after is not None else ""
        if old_hash == new_hash:
            continue
        kind = "added" if before is None else "removed" if after is None else "changed"
        changes.append(
            AttachmentChange(
                path=path,
                kind=kind,
                old_sha256=old_hash,
                new_sha256=new_hash,
                old_size=None if before is None else len(before),
                new_size=None if after is None else len(after),
            )
        )
    return tuple(changes)


_WORDS = re.compile(r"\s+|[^\s]+")


def text_segments(old: str, new: str) -> Segments:
    """Both texts cut into runs kept, removed and added: lines first, then the words
    of the lines that changed (a one-word edit in a long briefing stays readable)."""
    old_out: list[Segment] = []
    new_out: list[Segment] = []
    old_lines, new_lines = old.splitlines(keepends=True), new.splitlines(keepends=True)
    lines = difflib.SequenceMatcher(a=old_lines, b=new_lines, autojunk=False)
    for tag, i1, i2, j1, j2 in lines.get_opcodes():
        before, after = "".join(old_lines[i1:i2]), "".join(new_lines[j1:j2])
        if tag == "equal":
            _push(old_out, "same", before)
            _push(new_out, "same", after)
        elif tag == "replace":
            _word_segments(before, after, old_out, new_out)
        else:
            _push(old_out, "removed", before)
            _push(new_out, "added", after)
    return Segments(old=tuple(old_out), new=tuple(new_out))


def _word_segments(old: str, new: str, old_out: list, new_out: list) -> None:
    old_words, new_words = _WORDS.findall(old), _WORDS.findall(new)
    words = difflib.SequenceMatcher(a=old_words, b=new_words, autojunk=False)
    for tag, i1, i2, j1, j2 in words.get_opcodes():
        before, after = "".join(old_words[i1:i2]), "".join(new_words[j1:j2])
        if tag == "equal":
            _push(old_out, "same", before)
            _push(new_out, "same", after)
        else:
            _push(old_out, "removed", before)
            _push(new_out, "added", after)


def _push(out: list[Segment], kind: str, text: str) -> None:
    if not text:
        return
    if out and out[-1].kind == kind:
        out[-1] = Segment(kind, out[-1].text + text)
    else:
        out.append(Segment(kind, text))
