"""A scenario as a spreadsheet workbook (.xlsx): the MSEL and every list as sheets.

    write  a scenario's data → workbook bytes (and a zip of it with the attachments)
    read   workbook bytes → the data and the cell of each value, for `validate`
    layout which sheet and column holds what (from the data and the format's models)
    cells  one value ↔ one cell (text, number, boolean, YAML flow text)

YAML → workbook → YAML gives the same data back: the workbook is another way to write
the same file, checked by the same validator.
"""

from scenarios.format.xlsx.cells import WorkbookUnfit
from scenarios.format.xlsx.layout import META_SHEET, SHEET_ORDER
from scenarios.format.xlsx.read import MAX_WORKBOOK_BYTES, read_workbook
from scenarios.format.xlsx.write import (
    WORKBOOK_FILE,
    XLSX_CONTENT_TYPE,
    exported_workbook,
    exported_workbook_zip,
    write_workbook,
)

__all__ = [
    "MAX_WORKBOOK_BYTES",
    "META_SHEET",
    "SHEET_ORDER",
    "WORKBOOK_FILE",
    "XLSX_CONTENT_TYPE",
    "WorkbookUnfit",
    "exported_workbook",
    "exported_workbook_zip",
    "read_workbook",
    "write_workbook",
]
