"""One value, one cell: how a value of the scenario is written in a cell and read back.

A cell holds a scalar as itself — text as a text cell (never a formula, whatever it
starts with), a number as a number, true/false as a boolean — and a list or mapping as
compact YAML flow text (`[police, parquet]`, `{inject: appel, delay: 2m}`). The reader
tells them apart by the first character alone:

    [ or {        YAML: a list or a mapping, parsed like the YAML file (core schema,
                  no anchors, no tags)
    \\[ \\{ \\\\      text that starts with [, { or \\ (the backslash is dropped)
    \\"…"          a YAML double-quoted string, for text a cell cannot hold as it is
                  (blank, a carriage return, a control character)
    anything else text, exactly as written

so every value comes back as it went in, and text typed by an author is taken as text.
An empty cell (or one holding only spaces) is a key left out.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any

import yaml

from scenarios.format.errors import ScenarioInvalid
from scenarios.format.loader import add_core_resolvers, load_yaml

# The most characters Excel and LibreOffice keep in one cell; they cut the rest.
CELL_TEXT_MAX = 32_767
# Spreadsheets hold numbers as doubles: beyond 15 digits an integer is rounded.
EXACT_INT_MAX = 10**15

ESCAPE = "\\"
_ESCAPED_STARTS = ("[", "{", ESCAPE, '"')
# What XML 1.0 cannot carry (openpyxl refuses it), and the carriage return, which XML
# turns into a line feed when it is read.
_UNSTORABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\r]")
_BAD_CHARS = re.compile("[\x00\ud800-\udfff]")  # as the YAML loader refuses them
# Line breaks to a YAML reader that only a double-quoted string can hold as they are.
_BREAKS = re.compile("[\n\x85\u2028\u2029]")

CellValue = str | int | float | bool | None


class WorkbookUnfit(ValueError):
    """The scenario holds a value no spreadsheet can store exactly; the message says
    which and why. Export it as YAML instead."""


class _Absent:
    def __repr__(self) -> str:
        return "ABSENT"


ABSENT = _Absent()  # an empty cell: the key is left out


# --- writing ------------------------------------------------------------------------------


class _FlowDumper(yaml.SafeDumper):
    """Compact YAML on one line; text that another reader could take for something
    else (`no`, `0o17`, `12`) is quoted, as in the canonical export."""


add_core_resolvers(_FlowDumper)


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    # A line break inside a flow collection is clearest escaped: "ligne 1\nligne 2".
    style = '"' if (_BREAKS.search(value) or _UNSTORABLE.search(value)) else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_FlowDumper.add_representer(str, _represent_str)


def _dump(value: Any, **options: Any) -> str:
    text = yaml.dump(
        value,
        Dumper=_FlowDumper,
        allow_unicode=True,
        sort_keys=False,
        width=1_000_000_000,  # one line, never folded
        **options,
    )
    return text.removesuffix("\n").removesuffix("\n...")


def flow_text(value: list | dict) -> str:
    """A list or mapping as YAML flow text: `[a, b]`, `{say: Bonjour, emotion: peur}`."""
    return _dump(value, default_flow_style=True)


def _check_length(text: str) -> str:
    if len(text) > CELL_TEXT_MAX:
        raise WorkbookUnfit(
            f"{len(text):,} characters, and a spreadsheet cell holds at most "
            f"{CELL_TEXT_MAX:,}: export this scenario as YAML"
        )
    return text


def is_plain_key(key: Any) -> bool:
    """A key a header or key cell holds as it is, and gives back the same."""
    return (
        isinstance(key, str)
        and bool(key)
        and key == key.strip()
        and not _UNSTORABLE.search(key)
        and len(key) <= CELL_TEXT_MAX
    )


def text_cell(value: str) -> str:
    """The text a cell holds for the string `value` (escaped only when it must be)."""
    if not value.strip() or _UNSTORABLE.search(value):
        return _check_length(ESCAPE + _dump(value, default_style='"'))
    if value.startswith(("[", "{")) or (
        value.startswith(ESCAPE) and value[1:2].startswith(_ESCAPED_STARTS)
    ):
        return _check_length(ESCAPE + value)
    return _check_length(value)


def to_cell(value: Any) -> CellValue:
    """What to put in a cell for `value`. Raises WorkbookUnfit."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        if abs(value) >= EXACT_INT_MAX:
            raise WorkbookUnfit(
                f"the number {value} has more digits than a spreadsheet keeps exactly (15)"
            )
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise WorkbookUnfit(f"{value} is not a number a spreadsheet can hold")
        return value
    if isinstance(value, str):
        return text_cell(value)
    if isinstance(value, list | dict):
        return _check_length(flow_text(value))
    raise WorkbookUnfit(f"a {type(value).__name__} is not a value of a scenario")


# --- reading ------------------------------------------------------------------------------


# A problem with one cell: (diagnostic code, message).
Problem = tuple[str, str]


def _where_in(text: str, line: int | None, col: int | None) -> str:
    if line is None:
        return ""
    if "\n" in text:
        return f" (line {line}, column {col} of the cell)"
    return f" (character {col} of the cell)"


def _parse_yaml(text: str, what: str, hint: str = "") -> tuple[Any, list[Problem]]:
    """Parse a cell's YAML; every problem is worded for a cell (a syntax error with
    `hint` after it)."""

    def problem(d) -> Problem:
        message = f"{what}: {d.message}{_where_in(text, d.line, d.col)}"
        if hint and d.code == "yaml-syntax":
            message += f"; {hint}"
        return (d.code, message)

    try:
        loaded = load_yaml(text.encode("utf-8"), name="cell")
    except ScenarioInvalid as invalid:
        return ABSENT, [problem(d) for d in invalid.errors]
    return loaded.data, [problem(d) for d in loaded.diagnostics]


_COLLECTION_HINT = (
    "this cell starts with '{start}', so it is read as a YAML {kind}; to write text "
    "that starts with '{start}', begin the cell with a backslash (\\{start}…)"
)


def _date_text(value: dt.datetime | dt.date | dt.time) -> str:
    """A date or time the spreadsheet recognised, back as the text the author typed."""
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0, 0):
            return value.date().isoformat()
        return value.isoformat(timespec="seconds" if value.second else "minutes")
    if isinstance(value, dt.time):
        return value.isoformat(timespec="seconds" if value.second else "minutes")
    return value.isoformat()


def from_cell(raw: Any) -> tuple[Any, list[Problem]]:
    """The value a cell holds (ABSENT for an empty one), and its problems."""
    if raw is None:
        return ABSENT, []
    if isinstance(raw, bool | int | float):
        return raw, []
    if isinstance(raw, dt.timedelta):  # a duration cell ([h]:mm): whole seconds
        return round(raw.total_seconds()), []
    if isinstance(raw, dt.datetime | dt.date | dt.time):
        return _date_text(raw), []
    text = raw if isinstance(raw, str) else str(raw)
    if not text.strip():
        return ABSENT, []
    problems: list[Problem] = []
    if _BAD_CHARS.search(text):
        problems.append(("encoding", "the cell holds a NUL character or an unpaired surrogate"))
        text = _BAD_CHARS.sub("\ufffd", text)
    if text.startswith(ESCAPE):
        if text[1:2] == '"':
            value, more = _parse_yaml(text[1:], 'escaped text (\\"…")')
            if not more and not isinstance(value, str):
                more = [("yaml-syntax", 'escaped text must be one "quoted" string')]
            return value, problems + more
        if text[1:2] in ("[", "{", ESCAPE):
            return text[1:], problems
        return text, problems
    if text.startswith(("[", "{")):
        start = text[0]
        kind = "list" if start == "[" else "mapping"
        hint = _COLLECTION_HINT.format(start=start, kind=kind)
        value, more = _parse_yaml(text, "YAML " + kind, hint)
        return value, problems + more
    return text, problems


def cell_text_size(raw: Any) -> int:
    """The UTF-8 size of a cell's text (what counts toward the 2 MiB of a scenario)."""
    if isinstance(raw, str):
        return len(raw.encode("utf-8", errors="replace"))
    return 0


def is_blank(raw: Any) -> bool:
    return raw is None or (isinstance(raw, str) and not raw.strip())
