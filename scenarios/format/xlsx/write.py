"""Writing a scenario's data as a workbook (.xlsx), and a zip of it with its files.

The data is the plain mapping a scenario's YAML reads to; nothing here knows its keys
(see `layout`). Every text cell is written as text, never as a formula: a title
"=HYPERLINK(…)" stays that text in the file, so a spreadsheet opening it runs nothing.
"""

from __future__ import annotations

import io
import zipfile
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from scenarios.format.export import ZIP_TIMESTAMP, ExportedScenario
from scenarios.format.loader import load_yaml
from scenarios.format.xlsx.cells import WorkbookUnfit, is_plain_key, to_cell
from scenarios.format.xlsx.layout import (
    META_HEADER,
    META_SHEET,
    SHEET_ORDER,
    is_item_list,
    known_columns,
    known_meta_keys,
    ordered,
    sheet_name,
)

WORKBOOK_FILE = "scenario.xlsx"
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

_HEADER_FONT = Font(bold=True)
_HEADER_FILL = PatternFill("solid", fgColor="DDE4EE")
_TOP = Alignment(vertical="top")
_WRAP = Alignment(vertical="top", wrap_text=True)
# Readable widths, in characters: wide enough for an id or a title, never a whole body;
# a row shows at most a few lines of its longest text, so the MSEL stays a list.
_WIDTH_MIN, _WIDTH_MAX = 8, 60
_LINE_HEIGHT, _LINES_SHOWN = 15, 4


def _plan(data: dict[str, Any]) -> tuple[list[tuple[str, str, list]], list[tuple[str, Any]]]:
    """The list sheets (key, sheet name, items) in tab order, and the metadata rows."""
    sheets: dict[str, tuple[str, str, list]] = {}
    meta: dict[str, Any] = dict.fromkeys(known_meta_keys())
    for key, value in data.items():
        if not is_plain_key(key):
            raise WorkbookUnfit(f"the top-level key {key!r} cannot be written in a cell")
        name = sheet_name(key)
        if name is not None and is_item_list(value):
            sheets[key] = (key, name, value)
        else:
            meta[key] = value
    for key in SHEET_ORDER:  # always there, so that authors see them
        if key not in sheets:
            sheets[key] = (key, sheet_name(key) or key, [])
    tabs = [sheets[key] for key in SHEET_ORDER] + [
        sheet for key, sheet in sheets.items() if key not in SHEET_ORDER
    ]
    return tabs, list(meta.items())


def _put(
    sheet: Worksheet, row: int, column: int, value: Any, where: str, *, key: bool = False
) -> None:
    """Write `value` (a key, as it is, when `key`) in a cell."""
    try:
        content = value if key else to_cell(value)
    except WorkbookUnfit as exc:
        raise WorkbookUnfit(f"{where}: {exc}") from None
    cell = sheet.cell(row=row, column=column)
    cell.value = content
    if isinstance(content, str):
        # Text stays text: without this openpyxl makes "=…" a formula.
        cell.data_type = "s"
        if "\n" in content or len(content) > _WIDTH_MAX:
            cell.alignment = _WRAP
            return
    cell.alignment = _TOP


def _header(sheet: Worksheet, keys: list[str] | tuple[str, ...], freeze: str) -> None:
    for column, key in enumerate(keys, start=1):
        _put(sheet, 1, column, key, f"sheet '{sheet.title}', header", key=True)
        cell = sheet.cell(row=1, column=column)
        cell.font = _HEADER_FONT
        cell.fill = _HEADER_FILL
    sheet.freeze_panes = freeze


def _fit(sheet: Worksheet) -> None:
    """Column widths from their content, and rows as tall as their text needs, up to
    a few lines."""
    widths: dict[int, int] = {}
    lines: dict[int, int] = {}
    for row in sheet.iter_rows():
        for cell in row:
            if cell.value is None:
                continue
            text = str(cell.value).splitlines() or [""]
            widths[cell.column] = max(widths.get(cell.column, 0), *(len(line) for line in text))
            needed = sum(1 + len(line) // _WIDTH_MAX for line in text)
            lines[cell.row] = max(lines.get(cell.row, 1), needed)
    for column, width in widths.items():
        letter = get_column_letter(column)
        sheet.column_dimensions[letter].width = min(max(width + 2, _WIDTH_MIN), _WIDTH_MAX)
    for row, needed in lines.items():
        if needed > 1:
            sheet.row_dimensions[row].height = _LINE_HEIGHT * min(needed, _LINES_SHOWN)


def _item_label(key: str, index: int, item: dict) -> str:
    ident = item.get("id")
    return f"{key} #{index + 1}" + (f" ('{ident}')" if isinstance(ident, str) else "")


def _write_list(sheet: Worksheet, key: str, items: list[dict]) -> None:
    found = [k for item in items for k in item]
    columns = ordered(known_columns(key), found)
    _header(sheet, columns, "B2")
    position = {k: index for index, k in enumerate(columns, start=1)}
    for row, item in enumerate(items, start=2):
        label = _item_label(key, row - 2, item)
        for k, value in item.items():
            _put(sheet, row, position[k], value, f"{label}, '{k}'")


def _write_meta(sheet: Worksheet, rows: list[tuple[str, Any]]) -> None:
    _header(sheet, META_HEADER, "B2")
    for row, (key, value) in enumerate(rows, start=2):
        _put(sheet, row, 1, key, f"the key '{key}'", key=True)
        _put(sheet, row, 2, value, f"'{key}'")


def write_workbook(data: dict[str, Any]) -> bytes:
    """The workbook of a scenario's data. Raises WorkbookUnfit for a value no
    spreadsheet can store exactly (the message says where)."""
    tabs, meta = _plan(data)
    book = Workbook()
    meta_sheet = book.active
    meta_sheet.title = META_SHEET
    _write_meta(meta_sheet, meta)
    for key, name, items in tabs:
        _write_list(book.create_sheet(name), key, items)
    for sheet in book.worksheets:
        _fit(sheet)
    # The file opens on the MSEL (one tab selected: several would be edited together).
    book.active = 1
    for index, sheet in enumerate(book.worksheets):
        sheet.sheet_view.tabSelected = index == 1
    title = data.get("title")
    if isinstance(title, str):
        book.properties.title = title[:255]
    book.properties.creator = "simtrain"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def exported_workbook(exported: ExportedScenario) -> bytes:
    """The workbook of an export: exactly the data of its canonical YAML."""
    return write_workbook(load_yaml(exported.yaml.encode("utf-8"), name=WORKBOOK_FILE).data)


def exported_workbook_zip(exported: ExportedScenario) -> bytes:
    """A zip of the workbook (scenario.xlsx) and the attachment files, laid out as the
    YAML export's zip, so that it imports back as it is."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        entries = [(WORKBOOK_FILE, exported_workbook(exported)), *exported.files.items()]
        for name, content in entries:
            info = zipfile.ZipInfo(name, date_time=ZIP_TIMESTAMP)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3
            info.external_attr = 0o100644 << 16
            archive.writestr(info, content)
    return buffer.getvalue()
