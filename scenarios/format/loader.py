"""Reading scenario YAML safely, as YAML 1.2 (core schema), keeping every position.

PyYAML implements YAML 1.1, where `no` is false, `on` is true, `2024-01-05` is a date
and `010` is octal. Authors of a French exercise write `réponse: non` and `date:
2024-01-05` and expect text back, so the loader resolves only what the YAML 1.2 core
schema resolves: null, true/false, decimal/octal(0o)/hex(0x) integers and floats.
Everything else is a string.

It refuses what makes YAML unsafe to take from a stranger: anchors and aliases
(billion laughs), tags outside the core schema (object construction), nesting deeper
than a scenario can use (the composer recurses). These are checked as the composer
meets each event, before any node is built into Python data.

The data comes back with two maps from a data path (a tuple of keys and list indexes,
e.g. `("injects", 3, "to", 0)`) to the 1-based (line, column) of the value and of its
key, so that every later check can point at the exact spot.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.events import AliasEvent, CollectionStartEvent, ScalarEvent

from scenarios.format.errors import Diagnostic, Reporter

MAX_YAML_BYTES = 2 * 1024 * 1024
# The deepest a valid scenario goes is 5 (injects → item → cue → if → situation);
# the margin leaves room for the mistakes we want to report as schema errors.
MAX_DEPTH = 24

DataPath = tuple[str | int, ...]
Position = tuple[int, int]

_T = "tag:yaml.org,2002:"
STR, NULL, BOOL, INT, FLOAT = (_T + t for t in ("str", "null", "bool", "int", "float"))
MAP, SEQ = _T + "map", _T + "seq"
CORE_TAGS = frozenset({STR, NULL, BOOL, INT, FLOAT, MAP, SEQ})

# YAML 1.2.2, 10.3.2 "Tag Resolution" (core schema).
_NULL = re.compile(r"^(?:~|null|Null|NULL|)$")
_BOOL = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
_INT = re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$")
_FLOAT = re.compile(
    r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
)
_BAD_CHARS = re.compile("[\x00\ud800-\udfff]")


class CoreLoader(yaml.SafeLoader):
    """A SafeLoader that resolves the YAML 1.2 core schema and refuses unsafe YAML.

    Only the scanner, parser, composer and resolver are used: nodes are turned into
    data by `_Builder` below, which also records positions.
    """

    yaml_implicit_resolvers: dict = {}

    def __init__(self, stream: str):
        super().__init__(stream)
        self.problems: list[tuple[str, str, yaml.Mark]] = []
        self._depth = 0

    def compose_node(self, parent, index):
        event = self.peek_event()
        if isinstance(event, AliasEvent):
            self.get_event()
            self.problems.append(
                (
                    "yaml-alias",
                    f"alias '*{event.anchor}' refused: write the content out in full "
                    "(anchors and aliases are not allowed)",
                    event.start_mark,
                )
            )
            return yaml.ScalarNode(STR, "", event.start_mark, event.end_mark)
        if getattr(event, "anchor", None) is not None:
            self.problems.append(
                (
                    "yaml-alias",
                    f"anchor '&{event.anchor}' refused: anchors and aliases are not allowed",
                    event.start_mark,
                )
            )
            event.anchor = None  # so the composer neither registers nor re-checks it
        tag = getattr(event, "tag", None)
        if tag == "!" and isinstance(event, ScalarEvent):
            event.tag = STR  # the non-specific tag: YAML says such a scalar is text
        elif tag is not None and tag != "!" and tag not in CORE_TAGS:
            shown = "!!" + tag[len(_T) :] if tag.startswith(_T) else tag
            self.problems.append(
                (
                    "yaml-tag",
                    f"tag '{shown}' refused: only the YAML core tags "
                    "(!!str, !!int, !!float, !!bool, !!null, !!map, !!seq) are allowed",
                    event.start_mark,
                )
            )
        if isinstance(event, CollectionStartEvent):
            self._depth += 1
            try:
                if self._depth > MAX_DEPTH:
                    raise _TooDeep(event.start_mark)
                return super().compose_node(parent, index)
            finally:
                self._depth -= 1
        return super().compose_node(parent, index)


def add_core_resolvers(cls: type) -> None:
    """Teach a PyYAML loader or dumper class the core schema's plain scalars."""
    cls.add_implicit_resolver(NULL, _NULL, ["~", "n", "N", ""])
    cls.add_implicit_resolver(BOOL, _BOOL, list("tTfF"))
    cls.add_implicit_resolver(INT, _INT, list("-+0123456789"))
    cls.add_implicit_resolver(FLOAT, _FLOAT, list("-+0123456789."))


add_core_resolvers(CoreLoader)


class _TooDeep(Exception):
    def __init__(self, mark: yaml.Mark):
        self.mark = mark


def _pos(mark: yaml.Mark) -> Position:
    return (mark.line + 1, mark.column + 1)


def _text_pos(text: str | bytes, index: int) -> Position:
    newline = "\n" if isinstance(text, str) else b"\n"
    line = text.count(newline, 0, index) + 1
    return (line, index - (text.rfind(newline, 0, index) + 1) + 1)


@dataclass
class LoadedYaml:
    """The document as plain data, with where each piece came from."""

    name: str
    data: Any
    values: dict[DataPath, Position] = field(default_factory=dict)
    keys: dict[DataPath, Position] = field(default_factory=dict)
    # Problems that do not stop validation (a duplicate key, a non-text key …).
    diagnostics: list[Diagnostic] = field(default_factory=list)

    def at(self, path: DataPath) -> Position:
        """Where the value at `path` starts, or the nearest enclosing value that exists
        (a key the author left out has no position; its mapping does)."""
        for end in range(len(path), -1, -1):
            found = self.values.get(path[:end])
            if found is not None:
                return found
        return (1, 1)

    def key_at(self, path: DataPath) -> Position:
        """Where the key of the entry at `path` is written (for unknown keys)."""
        return self.keys.get(path) or self.at(path)


class _Builder:
    """Turns composed nodes into dicts, lists and scalars, recording positions."""

    def __init__(self, loaded: LoadedYaml, reporter: Reporter):
        self.loaded = loaded
        self.reporter = reporter

    def build(self, node: yaml.Node, path: DataPath) -> Any:
        self.loaded.values[path] = _pos(node.start_mark)
        if isinstance(node, yaml.ScalarNode):
            return self.scalar(node)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(child, (*path, i)) for i, child in enumerate(node.value)]
        result: dict[str, Any] = {}
        first_seen: dict[str, Position] = {}
        for key_node, value_node in node.value:
            key_pos = _pos(key_node.start_mark)
            if not isinstance(key_node, yaml.ScalarNode):
                self.reporter.add("bad-type", "a key must be text, not a list or mapping", key_pos)
                continue
            key = self.scalar(key_node)
            if not isinstance(key, str):
                self.reporter.add(
                    "bad-type",
                    f"key {key_node.value!r} must be text: put it in quotes "
                    f"('{key_node.value}') if it is meant as text",
                    key_pos,
                )
                continue
            if key in first_seen:
                self.reporter.add(
                    "duplicate-key",
                    f"key '{key}' appears twice in this mapping "
                    f"(first at line {first_seen[key][0]})",
                    key_pos,
                )
                continue
            first_seen[key] = key_pos
            self.loaded.keys[(*path, key)] = key_pos
            result[key] = self.build(value_node, (*path, key))
        return result

    def scalar(self, node: yaml.ScalarNode) -> Any:
        value: str = node.value
        tag = node.tag
        where = _pos(node.start_mark)
        if tag == STR:
            return self.clean(value, where)
        if tag == NULL and _NULL.match(value):
            return None
        if tag == BOOL and _BOOL.match(value):
            return value.lower() == "true"
        if tag == INT and _INT.match(value):
            try:
                if value.startswith(("0o", "0x")):
                    return int(value[2:], 8 if value[1] == "o" else 16)
                return int(value, 10)
            except ValueError:  # beyond Python's int-from-text digit limit
                self.reporter.add("bad-value", "this number has far too many digits", where)
                return 0
        if tag == FLOAT and _FLOAT.match(value):
            lowered = value.lower()
            if lowered.endswith(".nan"):
                return float("nan")
            if lowered.endswith(".inf"):
                return float("-inf") if value.startswith("-") else float("inf")
            return float(value)
        # Only an explicit core tag on a value it cannot hold gets here (`!!int abc`).
        self.reporter.add(
            "yaml-tag",
            f"{value!r} cannot be read as !!{tag.rsplit(':', 1)[-1]}",
            where,
        )
        return self.clean(value, where)

    def clean(self, value: str, where: Position) -> str:
        # Escapes in double-quoted strings can produce NUL and lone surrogates, which
        # neither UTF-8 nor PostgreSQL text can store.
        if _BAD_CHARS.search(value):
            self.reporter.add(
                "encoding",
                "text holds a NUL character or an unpaired surrogate escape (\\0, \\ud800 …)",
                where,
            )
            return _BAD_CHARS.sub("\ufffd", value)
        return value


def load_yaml(data: bytes, *, name: str) -> LoadedYaml:
    """Parse `data` as one YAML 1.2 document.

    Raises ScenarioInvalid when the text cannot be read at all (size, encoding,
    syntax, aliases, tags, depth); smaller problems are returned in `diagnostics`.
    """
    reporter = Reporter(name)
    if len(data) > MAX_YAML_BYTES:
        reporter.add(
            "too-large",
            f"the YAML text is {len(data):,} bytes; the limit is {MAX_YAML_BYTES:,} (2 MiB)",
        )
        raise reporter.fail()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        reporter.add(
            "encoding",
            f"the text is not UTF-8 (byte 0x{data[exc.start]:02x}); save the file as UTF-8",
            _text_pos(data, exc.start),
        )
        raise reporter.fail() from None

    loader: CoreLoader | None = None
    try:
        loader = CoreLoader(text)  # the reader checks for forbidden characters here
        node = loader.get_single_node()
    except _TooDeep as exc:
        reporter.add(
            "too-deep",
            f"lists and mappings are nested more than {MAX_DEPTH} levels deep",
            _pos(exc.mark),
        )
        raise reporter.fail() from None
    except yaml.reader.ReaderError as exc:
        reporter.add(
            "encoding",
            f"character U+{exc.character:04X} is not allowed in YAML text",
            _text_pos(text, exc.position),
        )
        raise reporter.fail() from None
    except yaml.MarkedYAMLError as exc:
        problem = exc.problem or "not valid YAML"
        if exc.context:
            context = exc.context
            if exc.context_mark is not None:
                context += f" (line {exc.context_mark.line + 1})"
            problem = f"{context}: {problem}"
        mark = exc.problem_mark or exc.context_mark
        reporter.add("yaml-syntax", problem, _pos(mark) if mark else None)
        raise reporter.fail() from None
    finally:
        if loader is not None:
            loader.dispose()

    for code, message, mark in loader.problems:
        reporter.add(code, message, _pos(mark))
    if reporter.has_errors:  # unsafe YAML: never build it into data
        raise reporter.fail()

    loaded = LoadedYaml(name=name, data=None)
    if node is not None:
        loaded.data = _Builder(loaded, reporter).build(node, ())
    loaded.diagnostics = reporter.diagnostics
    return loaded
