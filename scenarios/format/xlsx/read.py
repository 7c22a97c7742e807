"""Reading a workbook (.xlsx) back into a scenario's data, with the cell of every value.

The result is the same `LoadedYaml` the YAML loader gives — the data, and where each
piece came from — so the workbook then goes through the same validator as a YAML file,
and each of its messages points at a sheet's cell (`scenario.xlsx:Injects!C12`).

Only values are read (formulas give their last computed value; macros, links, charts
and styles are ignored), and a workbook is checked before it is opened: a readable
zip, no macros, a bounded size unpacked. While reading, the numbers of sheets, rows and
columns and the amount of text are capped, so a crafted file stops at the limit.
"""

from __future__ import annotations

import io
import zipfile
from typing import Any

from openpyxl import load_workbook
from openpyxl.worksheet._read_only import ReadOnlyWorksheet

from scenarios.format.errors import Cell, Reporter
from scenarios.format.loader import MAX_YAML_BYTES, DataPath, LoadedYaml
from scenarios.format.xlsx.cells import ABSENT, cell_text_size, from_cell, is_blank
from scenarios.format.xlsx.layout import (
    META_HEADER,
    META_SHEET,
    is_meta_header,
    is_meta_sheet,
    sheet_key,
)

MAX_WORKBOOK_BYTES = 10 * 1024 * 1024  # the .xlsx file (a zip)
MAX_WORKBOOK_UNPACKED = 32 * 1024 * 1024  # its XML parts, unpacked
MAX_WORKBOOK_ENTRIES = 1_000
MAX_SHEETS = 50
MAX_ROWS = 20_000  # per sheet, the header included
MAX_COLUMNS = 200

_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xls, and password-protected .xlsx


class _Stop(Exception):
    """A limit was passed: reading stops there (the reporter has the error)."""


def _mib(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MiB"


def _check_container(content: bytes, reporter: Reporter) -> None:
    """Refuse, before openpyxl sees it, what is not a plain .xlsx of a sane size."""
    if len(content) > MAX_WORKBOOK_BYTES:
        reporter.add(
            "bad-workbook",
            f"the workbook is {_mib(len(content))}; the limit is {_mib(MAX_WORKBOOK_BYTES)}",
        )
        raise reporter.fail()
    if content.startswith(_OLE2_MAGIC):
        reporter.add(
            "bad-workbook",
            "this is an Excel 97-2003 workbook (.xls) or a password-protected one: "
            "save it as an Excel workbook (.xlsx) without a password",
        )
        raise reporter.fail()
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
        infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        reporter.add("bad-workbook", f"not an .xlsx workbook (an .xlsx is a zip): {exc}")
        raise reporter.fail() from None
    names = {info.filename.lower() for info in infos}
    if len(infos) > MAX_WORKBOOK_ENTRIES:
        reporter.add("bad-workbook", f"the workbook holds {len(infos):,} parts; too many")
    unpacked = sum(info.file_size for info in infos)
    if unpacked > MAX_WORKBOOK_UNPACKED:
        reporter.add(
            "bad-workbook",
            f"the workbook unpacks to {_mib(unpacked)}; the limit is {_mib(MAX_WORKBOOK_UNPACKED)}",
        )
    if any(info.flag_bits & 0x1 for info in infos):
        reporter.add("bad-workbook", "the workbook's parts are encrypted")
    if any(name.rsplit("/", 1)[-1].startswith("vbaproject") for name in names):
        reporter.add(
            "bad-workbook",
            "the workbook holds macros, which are refused: save it as an Excel workbook "
            "(.xlsx), not a macro-enabled one (.xlsm)",
        )
    elif "xl/workbook.xml" not in names:
        reporter.add("bad-workbook", "not an .xlsx workbook: it has no xl/workbook.xml")
    if reporter.has_errors:
        raise reporter.fail()


class _Reader:
    def __init__(self, book, reporter: Reporter, loaded: LoadedYaml):
        self.book = book
        self.reporter = reporter
        self.loaded = loaded
        self.text_bytes = 0

    # cells

    def rows(self, sheet: ReadOnlyWorksheet):
        """(row number, values) of each row that holds something, within the limits."""
        title = sheet.title
        # The size a sheet declares: beyond the limits it is refused rather than read.
        declared_rows, declared_columns = sheet.max_row or 0, sheet.max_column or 0
        if declared_rows > MAX_ROWS:
            self.stop(
                f"sheet '{title}' reaches row {declared_rows:,}; at most {MAX_ROWS:,} rows "
                "are read: delete the rows below the last one you use",
                Cell(MAX_ROWS + 1, 1, title),
            )
        if declared_columns > MAX_COLUMNS:
            self.stop(
                f"sheet '{title}' reaches column {declared_columns:,}; at most {MAX_COLUMNS} "
                "columns are read: delete the columns after the last one you use",
                Cell(1, MAX_COLUMNS + 1, title),
            )
        sheet.reset_dimensions()  # a smaller declared size may lie: read what is there
        rows = sheet.iter_rows(max_row=MAX_ROWS + 1, max_col=MAX_COLUMNS + 1, values_only=True)
        for number, row in enumerate(rows, start=1):
            if all(is_blank(value) for value in row):
                continue
            if number > MAX_ROWS:
                self.stop(
                    f"sheet '{title}' has content beyond row {MAX_ROWS:,}; a scenario "
                    "needs far fewer rows",
                    Cell(number, 1, title),
                )
            if len(row) > MAX_COLUMNS and not is_blank(row[MAX_COLUMNS]):
                self.stop(
                    f"sheet '{title}' has content beyond column {MAX_COLUMNS}",
                    Cell(number, MAX_COLUMNS + 1, title),
                )
            self.text_bytes += sum(cell_text_size(value) for value in row)
            if self.text_bytes > MAX_YAML_BYTES:
                self.reporter.add(
                    "too-large",
                    f"the workbook's cells hold more than {MAX_YAML_BYTES:,} bytes of text "
                    "(2 MiB, the limit of a scenario's YAML)",
                    Cell(number, 1, title),
                )
                raise _Stop
            yield number, row[:MAX_COLUMNS]

    def stop(self, message: str, where: Cell) -> None:
        self.reporter.add("bad-workbook", message, where)
        raise _Stop

    def value(self, raw: Any, where: Cell, path: DataPath) -> Any:
        """The value of a cell (ABSENT if empty), its problems reported at the cell."""
        value, problems = from_cell(raw)
        for code, message in problems:
            self.reporter.add(code, message, where)
        if value is not ABSENT:
            self.loaded.values[path] = where
            self.loaded.keys[path] = where
        return value

    def key(self, raw: Any, where: Cell, what: str) -> str | None:
        if isinstance(raw, str):
            return raw.strip()
        self.reporter.add(
            "bad-type", f"{what} must be text; got {raw!r}: write the key in letters", where
        )
        return None

    # sheets

    def read(self) -> dict[str, Any]:
        sheets = self.book.worksheets
        if len(sheets) > MAX_SHEETS:
            self.reporter.add(
                "bad-workbook", f"the workbook has {len(sheets)} sheets; the limit is {MAX_SHEETS}"
            )
            raise _Stop
        metas = [sheet for sheet in sheets if is_meta_sheet(sheet.title)]
        if len(metas) != 1:
            found = ", ".join(f"'{sheet.title}'" for sheet in metas)
            self.reporter.add(
                "sheet-layout",
                f"the workbook has no sheet '{META_SHEET}' (the scenario's format, slug, title …)"
                if not metas
                else f"the workbook has several '{META_SHEET}' sheets ({found}): keep one",
            )
            raise _Stop
        meta = metas[0]
        data: dict[str, Any] = {}
        self.loaded.values[()] = Cell(1, 1, meta.title)
        origin: dict[str, str] = {}  # key -> where it was given, for duplicates
        self.read_meta(meta, data, origin)
        for sheet in sheets:
            if sheet is not meta:
                self.read_list(sheet, data, origin)
        if "format" not in data:
            # Said here, at the metadata sheet: the validator would point at line 1.
            self.reporter.add(
                "missing-key",
                f"'format' is required: write a row 'format' | 'simtrain.scenario/1' on "
                f"sheet '{meta.title}'",
                Cell(1, 1, meta.title),
            )
            raise _Stop
        return data

    def read_meta(self, sheet: ReadOnlyWorksheet, data: dict, origin: dict[str, str]) -> None:
        title = sheet.title
        rows = list(self.rows(sheet))
        has_header = bool(rows) and rows[0][0] == 1
        if not (has_header and is_meta_header(*(rows[0][1] + (None, None))[:2])):
            self.reporter.add(
                "sheet-layout",
                f"the first row of sheet '{title}' is its header: '{META_HEADER[0]}' in A1 "
                f"and '{META_HEADER[1]}' in B1, then one key and its value a row",
                Cell(1, 1, title),
            )
        for number, row in rows[1:] if has_header else rows:
            for column, raw in enumerate(row[2:], start=3):
                if not is_blank(raw):
                    self.reporter.add(
                        "sheet-layout",
                        f"sheet '{title}' holds a key in column A and its value in column "
                        "B; this cell would be lost: move it or clear it",
                        Cell(number, column, title),
                    )
            raw_key, raw_value = (row + (None, None))[:2]
            if is_blank(raw_key):
                self.reporter.add(
                    "sheet-layout",
                    "a value without a key: write its key in column A",
                    Cell(number, 2, title),
                )
                continue
            key = self.key(raw_key, Cell(number, 1, title), "a key")
            if key is None:
                continue
            if key in origin:
                self.reporter.add(
                    "duplicate-key",
                    f"key '{key}' appears twice on sheet '{title}' (first at {origin[key]})",
                    Cell(number, 1, title),
                )
                continue
            value = self.value(raw_value, Cell(number, 2, title), (key,))
            if value is ABSENT:
                continue
            origin[key] = str(Cell(number, 1, title))
            self.loaded.keys[(key,)] = Cell(number, 1, title)
            data[key] = value

    def read_list(self, sheet: ReadOnlyWorksheet, data: dict, origin: dict[str, str]) -> None:
        title = sheet.title
        key = sheet_key(title)
        columns: list[str | None] = []
        items: list[dict] = []
        bad_headers: set[int] = set()
        for number, row in self.rows(sheet):
            if number == 1:
                columns = self.header(row, title, bad_headers)
                continue
            item: dict[str, Any] = {}
            index = len(items)
            for column, raw in enumerate(row, start=1):
                if is_blank(raw) or column in bad_headers:
                    continue
                where = Cell(number, column, title)
                name = columns[column - 1] if column <= len(columns) else None
                if name is None:
                    self.reporter.add(
                        "sheet-layout",
                        "this cell has no key above it: write the key in row 1 of its column",
                        where,
                    )
                    continue
                value = self.value(raw, where, (key, index, name))
                if value is not ABSENT:
                    item[name] = value
            if item:
                self.loaded.values[(key, index)] = Cell(number, 1, title)
                items.append(item)
        if not items:
            return  # an empty sheet: the list is left out (or given on the metadata sheet)
        if key in origin:
            self.reporter.add(
                "duplicate-key",
                f"'{key}' is given twice: on sheet '{title}' and at {origin[key]}",
                Cell(1, 1, title),
            )
            return
        origin[key] = f"sheet '{title}'"
        self.loaded.values[(key,)] = self.loaded.keys[(key,)] = Cell(1, 1, title)
        data[key] = items

    def header(self, row: tuple, title: str, bad: set[int]) -> list[str | None]:
        columns: list[str | None] = []
        first: dict[str, int] = {}
        for column, raw in enumerate(row, start=1):
            where = Cell(1, column, title)
            name = None if is_blank(raw) else self.key(raw, where, "a column's header")
            if name is None and not is_blank(raw):
                bad.add(column)
            elif name is not None and name in first:
                self.reporter.add(
                    "duplicate-key",
                    f"column '{name}' appears twice on sheet '{title}' "
                    f"(first in {Cell(1, first[name], title)})",
                    where,
                )
                bad.add(column)
                name = None
            elif name is not None:
                first[name] = column
            columns.append(name)
        return columns


def read_workbook(content: bytes, *, name: str) -> LoadedYaml:
    """The data of a workbook, with the cell of each value, ready for `validate`.

    Raises ScenarioInvalid when it cannot be read at all; smaller problems (a cell's
    YAML, a column without a key …) are in the result's `diagnostics`.
    """
    reporter = Reporter(name)
    _check_container(content, reporter)
    loaded = LoadedYaml(name=name, data=None)
    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True, keep_links=False)
    except Exception as exc:  # openpyxl raises many kinds on a malformed file
        reporter.add("bad-workbook", f"the workbook cannot be read: {exc}")
        raise reporter.fail() from None
    try:
        loaded.data = _Reader(book, reporter, loaded).read()
    except _Stop:
        raise reporter.fail() from None
    except Exception as exc:  # a sheet's XML that is malformed, read lazily
        reporter.add("bad-workbook", f"the workbook cannot be read: {exc}")
        raise reporter.fail() from None
    finally:
        book.close()
    loaded.diagnostics = reporter.diagnostics
    return loaded
