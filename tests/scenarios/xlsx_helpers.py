"""Helpers for the workbook tests: a scenario's workbook, edited cell by cell as an
author would in a spreadsheet, and workbooks written from scratch."""

from __future__ import annotations

import io
from typing import Any

from openpyxl import Workbook, load_workbook

from scenarios.format.loader import load_yaml
from scenarios.format.xlsx import write_workbook


def data_of(text: str) -> dict[str, Any]:
    return load_yaml(text.encode("utf-8"), name="t.yaml").data


def workbook_of(text: str) -> bytes:
    """The workbook the export writes for this YAML."""
    return write_workbook(data_of(text))


def edit(content: bytes, changes: dict[tuple[str, str], Any], *, as_text: bool = True) -> bytes:
    """`content` with cells changed: {(sheet, "C3"): value}. Text is typed as text, as
    an author's typing a title would be (a formula only when `as_text` is false)."""
    book = load_workbook(io.BytesIO(content))
    for (sheet, ref), value in changes.items():
        cell = book[sheet][ref]
        cell.value = value
        if as_text and isinstance(value, str):
            cell.data_type = "s"
    return save(book)


def insert_rows(content: bytes, sheet: str, before: int, count: int = 1) -> bytes:
    book = load_workbook(io.BytesIO(content))
    book[sheet].insert_rows(before, count)
    return save(book)


def make_workbook(sheets: dict[str, list[list[Any]]]) -> bytes:
    """A workbook with these sheets, rows of values from A1 (None leaves a cell empty)."""
    book = Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for r, row in enumerate(rows, start=1):
            for c, value in enumerate(row, start=1):
                if value is not None:
                    cell = sheet.cell(row=r, column=c, value=value)
                    if isinstance(value, str):
                        cell.data_type = "s"
    return save(book)


def save(book: Workbook) -> bytes:
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def grid(content: bytes, sheet: str) -> list[list[Any]]:
    """The values of a sheet, row by row."""
    book = load_workbook(io.BytesIO(content))
    return [list(row) for row in book[sheet].iter_rows(values_only=True)]


META = ["key", "value"]


def meta_rows(**values: Any) -> list[list[Any]]:
    return [META, *([key, value] for key, value in values.items())]
