"""Diagnostics: what the importer says about a scenario, compiler style.

Every problem the format layer finds becomes a `Diagnostic` with a stable `code`.
Codes are part of the contract with authors (they are documented, and tools may
match on them), so each one is declared once here with its severity and meaning;
`docs/scenario-format.md` lists the same table and a test keeps the two in step.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


E, W = Severity.ERROR, Severity.WARNING

# code -> (severity, one-line meaning for the docs table)
CODES: dict[str, tuple[Severity, str]] = {
    # Reading the source: file, folder, zip.
    "no-such-file": (E, "the path given does not exist"),
    "unsupported-file": (E, "not a .yaml/.yml file, an .xlsx workbook, a folder or a .zip"),
    "no-scenario-file": (
        E,
        "the folder or zip holds no scenario.yaml or scenario.xlsx (or more than one)",
    ),
    "bad-zip": (E, "the zip is corrupt, encrypted or holds the same name twice"),
    "unsafe-path": (E, "a path is absolute, climbs out with `..`, or is a symlink"),
    "bundle-too-large": (E, "the bundle holds more than 50 MiB, or too many files"),
    "too-large": (E, "the YAML text (or the text of a workbook's cells) is over 2 MiB"),
    "encoding": (E, "the YAML text is not UTF-8, or holds a forbidden character"),
    # Parsing the YAML.
    "yaml-syntax": (E, "the text is not well-formed YAML (or holds several documents)"),
    "yaml-alias": (E, "an anchor (`&x`) or alias (`*x`): refused, they allow billion-laughs"),
    "yaml-tag": (E, "an explicit tag outside the YAML 1.2 core schema (`!!python/…`, `!!set`)"),
    "too-deep": (E, "mappings and lists nested deeper than any scenario needs"),
    "duplicate-key": (E, "the same key twice in one mapping"),
    # Reading a workbook (.xlsx).
    "bad-workbook": (E, "not a readable .xlsx workbook, or one holding macros, or too large"),
    "sheet-layout": (E, "a sheet not laid out as the format's workbook (header, key, cell)"),
    # The shape of the document.
    "unsupported-format": (E, "`format` is not one this platform reads"),
    "missing-key": (E, "a required key is absent"),
    "unknown-key": (E, "a key the format does not define (`x-…` keys are allowed)"),
    "bad-type": (E, "a value of the wrong type (text where a list is expected …)"),
    "bad-value": (E, "a value of the right type but not allowed (pattern, choice, range)"),
    # Meaning.
    "duplicate-id": (E, "two items of one list share an id"),
    "reserved-id": (E, "an id the format keeps for itself (`all` role, `any`/`none` option)"),
    "unknown-role": (E, "a role id that no role has (`to`, `contacts`, `roles`, `measure`)"),
    "unknown-phase": (E, "an inject's `phase` names no phase"),
    "unknown-inject": (E, "`after.inject` or a condition's `inject` names no inject"),
    "unknown-decision": (E, "`decision` names no inject, or an inject that is not a decision"),
    "unknown-option": (E, "`option` is not an option of that decision"),
    "unknown-action": (E, "`action` names no action"),
    "unknown-request": (E, "`request` names no request"),
    "unknown-countdown": (E, "`countdown` names no countdown"),
    "missing-attachment": (E, "an attachment file is not in the bundle"),
    "bad-attachment": (E, "an attachment of a type not allowed, or whose content is not that type"),
    "cue-to-non-actor": (E, "a cue is sent to a role that is not an actor"),
    "decision-to-non-trainee": (E, "a decision is sent to a role that is not a trainee"),
    "trigger-cycle": (
        E,
        "`after`/`when` chains that lead back to themselves (through `any`, delays and "
        "countdowns too)",
    ),
    "no-trainee-role": (E, "the scenario has no trainee role"),
    "multiple-triggers": (E, "an inject has more than one of at, after, when, manual"),
    "character-on-non-actor": (E, "a `character` on a role that is not an actor"),
    "profession-required": (E, "a trainee role without `profession`"),
    "profession-on-non-trainee": (E, "a `profession` on a role that is not a trainee"),
    "too-few-options": (E, "a decision with fewer than 2 options and no `free_text: true`"),
    "options-on-non-decision": (E, "`options`, `free_text` or `deadline` on a non-decision"),
    "cue-on-non-cue": (E, "a `cue` block on an inject whose kind is not cue"),
    "request-to-non-trainee": (E, "a request whose `to` is not a trainee role"),
    "request-from-empty": (E, "a request whose `from` names no role"),
    "repeat-without-repeatable-action": (
        E,
        "`repeat: true` without `when: {action: ID}` on an action with `once: false`",
    ),
    "reply-without-act": (E, "`reply: true` on an inject that no role's act triggers"),
    "jumps-out-of-order": (
        E,
        "fiction jumps not in clock order, or one that takes the story back in time",
    ),
    # Warnings: the import proceeds.
    "actor-without-cue": (W, "an actor role that no cue is sent to"),
    "never-fires": (W, "an inject whose trigger can never happen"),
    "empty-phase": (W, "a phase that no inject belongs to"),
    "role-receives-nothing": (W, "a trainee role that no inject is sent to"),
    "objective-without-role": (W, "an objective that names no role"),
    "action-without-trainee": (W, "an action that no trainee role may take"),
    "request-without-trainee": (W, "a request that no trainee role may send"),
    "countdown-never-starts": (W, "a countdown whose `starts` can never hold"),
    "if-never-holds": (W, "an inject whose `if` can never hold when its trigger comes"),
}


class Cell(NamedTuple):
    """A position in a workbook: a sheet's cell, 1-based (`Injects!C12` is row 12,
    column 3). Indexing gives the row first, as a text position gives the line."""

    row: int
    column: int
    sheet: str

    def __str__(self) -> str:
        # Quoted as spreadsheets write it when the name is more than letters and digits.
        sheet = self.sheet if re.fullmatch(r"\w+", self.sheet) else _quoted(self.sheet)
        return f"{sheet}!{column_letter(self.column)}{self.row}"


def _quoted(sheet: str) -> str:
    return "'" + sheet.replace("'", "''") + "'"


def column_letter(column: int) -> str:
    """1 → A, 26 → Z, 27 → AA: a spreadsheet's name for a column."""
    letters = ""
    while column > 0:
        column, rest = divmod(column - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


# Where a diagnostic points: (line, column) in a text file, or a workbook's cell.
Position = tuple[int, int] | Cell


@dataclass(frozen=True)
class Diagnostic:
    """One problem, located in the source as precisely as the source allows.

    `line` and `col` are 1-based; they are None for problems of the bundle as a whole
    (a corrupt zip has no line). In a workbook, `sheet` names the sheet and `line`,
    `col` are the cell's row and column.
    """

    severity: Severity
    code: str
    message: str
    file: str = ""
    line: int | None = None
    col: int | None = None
    sheet: str = ""

    def __post_init__(self) -> None:
        # A typo in a code would silently break the documented contract.
        if self.code not in CODES:
            raise ValueError(f"undeclared diagnostic code {self.code!r}")

    @classmethod
    def of(
        cls,
        code: str,
        message: str,
        *,
        file: str = "",
        line: int | None = None,
        col: int | None = None,
        sheet: str = "",
    ) -> Diagnostic:
        """A diagnostic whose severity is the one declared for `code`."""
        return cls(CODES[code][0], code, message, file, line, col, sheet)

    @classmethod
    def at(cls, code: str, message: str, *, file: str, where: Position | None) -> Diagnostic:
        """A diagnostic at a text position or a workbook cell (or the file as a whole)."""
        if isinstance(where, Cell):
            return cls.of(
                code, message, file=file, line=where.row, col=where.column, sheet=where.sheet
            )
        line, col = where if where is not None else (None, None)
        return cls.of(code, message, file=file, line=line, col=col)

    @property
    def is_error(self) -> bool:
        return self.severity == Severity.ERROR

    @property
    def sort_key(self) -> tuple:
        return (
            self.file,
            self.sheet,
            self.line or 0,
            self.col or 0,
            self.severity != E,
            self.code,
        )

    @property
    def where(self) -> str:
        """`file:line:col`, or `file:Sheet!C12` in a workbook, or just the file."""
        where = self.file or "<scenario>"
        if self.sheet:
            where += f":{Cell(self.line or 1, self.col or 1, self.sheet)}"
        elif self.line is not None:
            where += f":{self.line}"
            if self.col is not None:
                where += f":{self.col}"
        return where

    def __str__(self) -> str:
        return f"{self.where}: {self.severity}: {self.message} [{self.code}]"


class ScenarioInvalid(Exception):
    """The scenario cannot be imported; `diagnostics` says every reason found.

    It holds the errors and, when the document could be read far enough, the warnings
    too, sorted by position. `errors` is never empty.
    """

    def __init__(self, diagnostics: list[Diagnostic]):
        self.diagnostics = sorted(diagnostics, key=lambda d: d.sort_key)
        if not self.errors:
            raise ValueError("ScenarioInvalid needs at least one error")
        super().__init__("\n".join(str(d) for d in self.errors))

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.is_error]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if not d.is_error]


class Reporter:
    """Collects diagnostics for one file; knows the file's name."""

    def __init__(self, file: str):
        self.file = file
        self.diagnostics: list[Diagnostic] = []

    def add(self, code: str, message: str, at: Position | None = None) -> Diagnostic:
        diagnostic = Diagnostic.at(code, message, file=self.file, where=at)
        self.diagnostics.append(diagnostic)
        return diagnostic

    @property
    def has_errors(self) -> bool:
        return any(d.is_error for d in self.diagnostics)

    def fail(self) -> ScenarioInvalid:
        return ScenarioInvalid(self.diagnostics)
