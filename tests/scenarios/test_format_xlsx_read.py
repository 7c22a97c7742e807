"""Reading a workbook: the same validator as YAML, every message at its sheet, row and
column; cell-level YAML, layout mistakes, values a spreadsheet typed for the author;
what is refused before it is opened; workbooks in zips and folders."""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile

import pytest
from openpyxl import load_workbook

from scenarios.format import ScenarioInvalid, check_scenario
from scenarios.format.errors import Cell, Diagnostic
from scenarios.format.xlsx import read as read_module
from scenarios.format.xlsx import read_workbook
from tests.scenarios.format_helpers import BASE, DATA, codes, make_zip, only
from tests.scenarios.xlsx_helpers import (
    META,
    edit,
    insert_rows,
    make_workbook,
    meta_rows,
    save,
    workbook_of,
)

BOOK = workbook_of(BASE)  # Injects: row 2 start, 3 cue1, 4 dec; C is `to`, I is `at`


def diagnose_book(content: bytes, name: str = "t.xlsx") -> list[Diagnostic]:
    try:
        return check_scenario((name, content)).warnings
    except ScenarioInvalid as invalid:
        return invalid.diagnostics


def cell_of(diagnostic: Diagnostic) -> str:
    return str(Cell(diagnostic.line, diagnostic.col, diagnostic.sheet))


def test_the_workbook_of_a_valid_file_is_valid():
    assert diagnose_book(BOOK) == []
    assert check_scenario(("t.xlsx", BOOK)).slug == "essai"


def test_validator_errors_point_at_sheet_row_and_column():
    content = edit(BOOK, {("Injects", "C3"): "[jo]", ("Injects", "I3"): "soon"})
    diagnostics = diagnose_book(content)
    assert [str(d) for d in diagnostics] == [
        "t.xlsx:Injects!C3: error: inject 'cue1' sends to unknown role 'jo' "
        "(known: police, parquet, joy, obs) [unknown-role]",
        "t.xlsx:Injects!I3: error: inject 'cue1': 'at' must be a duration: seconds (90) "
        "or text like 90s, 12m, 1h30m; got 'soon' [bad-value]",
    ]
    unknown = diagnostics[0]
    assert (unknown.sheet, unknown.line, unknown.col) == ("Injects", 3, 3)


def test_errors_in_the_metadata_sheet_and_in_nested_values():
    content = edit(
        BOOK,
        {
            ("Scénario", "B3"): "Pas un slug",
            ("Injects", "Q4"): "[{id: oui, label: Oui}, {id: oui, label: Non}]",
            ("Roles", "Z1"): "colonne",
            ("Roles", "Z2"): "valeur",
        },
    )
    diagnostics = diagnose_book(content)
    assert cell_of(only(diagnostics, "bad-value")) == "Scénario!B3"
    assert cell_of(only(diagnostics, "duplicate-id")) == "Injects!Q4"
    unknown = only(diagnostics, "unknown-key")
    assert cell_of(unknown) == "Roles!Z2"
    assert "role 'police': unknown key 'colonne'" in unknown.message


def test_a_missing_required_value_points_at_its_row():
    content = edit(BOOK, {("Injects", "E3"): None})
    missing = only(diagnose_book(content), "missing-key")
    assert missing.message == "inject 'cue1': 'title' is required"
    assert cell_of(missing) == "Injects!A3"


def test_empty_rows_are_ignored_and_rows_keep_their_numbers():
    content = insert_rows(BOOK, "Injects", 3, count=2)  # two empty rows before cue1
    assert diagnose_book(content) == []
    content = edit(content, {("Injects", "C5"): "[jo]"})
    assert cell_of(only(diagnose_book(content), "unknown-role")) == "Injects!C5"


def test_a_trailing_or_blank_cell_counts_as_empty():
    content = edit(BOOK, {("Injects", "F2"): "   ", ("Injects", "A9"): " "})
    assert diagnose_book(content) == []


def test_bad_yaml_in_a_cell_is_an_error_at_that_cell():
    content = edit(BOOK, {("Injects", "C3"): "[joy", ("Injects", "E4"): "[Urgent] Décider"})
    diagnostics = diagnose_book(content)
    syntax = [d for d in diagnostics if d.code == "yaml-syntax"]
    assert [cell_of(d) for d in syntax] == ["Injects!C3", "Injects!E4"]
    assert syntax[1].message.startswith("YAML list: ")
    assert "begin the cell with a backslash (\\[…)" in syntax[1].message
    # Escaped, the same title is text.
    fixed = edit(BOOK, {("Injects", "E4"): "\\[Urgent] Décider"})
    assert diagnose_book(fixed) == []
    assert check_scenario(("t.xlsx", fixed)).doc.injects[2].title == "[Urgent] Décider"


@pytest.mark.parametrize(
    ("text", "code", "message"),
    [
        ("{a: &x 1, b: *x}", "yaml-alias", "anchor '&x' refused"),
        ("[!!python/object x]", "yaml-tag", "tag '!!python/object' refused"),
        ("{say: a, say: b}", "duplicate-key", "key 'say' appears twice"),
        ('\\"unterminated', "yaml-syntax", "escaped text"),
        ("{a: 1}\n{b: 2}", "yaml-syntax", "(line 2, column 1 of the cell)"),
    ],
)
def test_unsafe_or_broken_yaml_in_a_cell(text, code, message):
    content = edit(BOOK, {("Injects", "P3"): text})
    diagnostic = next(d for d in diagnose_book(content) if d.code == code)
    assert cell_of(diagnostic) == "Injects!P3"
    assert message in diagnostic.message


def test_values_the_spreadsheet_typed_are_read_as_the_author_wrote_them():
    book = load_workbook(io.BytesIO(BOOK))
    injects = book["Injects"]
    injects["I3"] = 90  # a number: seconds
    injects["I4"] = dt.timedelta(minutes=2)  # a duration cell
    book["Phases"]["D2"] = dt.time(0, 12)  # a time of day is not a duration
    book["Scénario"]["B7"] = dt.datetime(2024, 1, 5)  # summary typed as a date
    content = save(book)
    bad = only(diagnose_book(content), "bad-value")
    assert cell_of(bad) == "Phases!D2"
    assert "got '00:12'" in bad.message
    data = read_workbook(content, name="t.xlsx").data
    assert data["injects"][1]["at"] == 90
    assert data["injects"][2]["at"] == 120
    assert data["summary"] == "2024-01-05"


def test_a_formula_counts_by_its_value_never_by_its_text():
    content = edit(BOOK, {("Injects", "E2"): '=HYPERLINK("http://x","y")'}, as_text=False)
    assert load_workbook(io.BytesIO(content))["Injects"]["E2"].data_type == "f"
    data = read_workbook(content, name="t.xlsx").data
    # Never computed (no spreadsheet opened it), it has no value: the title is missing.
    assert "title" not in data["injects"][0]
    assert "HYPERLINK" not in repr(data)


# --- the layout ---------------------------------------------------------------------------


def test_a_value_without_a_header_and_a_duplicate_or_numeric_header():
    content = edit(
        BOOK,
        {
            ("Injects", "U3"): "perdue",  # T is the last key's column (key_fact)
            ("Roles", "I1"): "title",
            ("Roles", "I2"): "Double",
            ("Phases", "E1"): 12,
            ("Phases", "E2"): "x",
        },
    )
    diagnostics = diagnose_book(content)
    layout = only(diagnostics, "sheet-layout")
    assert cell_of(layout) == "Injects!U3"
    assert "no key above it" in layout.message
    duplicate = only(diagnostics, "duplicate-key")
    assert cell_of(duplicate) == "Roles!I1"
    assert duplicate.message == "column 'title' appears twice on sheet 'Roles' (first in Roles!B1)"
    numeric = only(diagnostics, "bad-type")
    assert cell_of(numeric) == "Phases!E1"


def test_the_metadata_sheet_layout():
    content = make_workbook(
        {
            "Scénario": [
                META,
                ["format", "simtrain.scenario/1"],
                ["slug", "essai", "une note"],
                [None, "sans clé"],
                ["slug", "encore"],
                [3, "clé numérique"],
            ],
        }
    )
    diagnostics = diagnose_book(content)
    assert [(d.code, cell_of(d)) for d in diagnostics if d.line > 1] == [
        ("sheet-layout", "Scénario!C3"),
        ("sheet-layout", "Scénario!B4"),
        ("duplicate-key", "Scénario!A5"),
        ("bad-type", "Scénario!A6"),
    ]
    assert "first at Scénario!A3" in only(diagnostics, "duplicate-key").message


def test_the_metadata_sheet_needs_its_header_and_format():
    no_header = make_workbook({"Scénario": [["format", "simtrain.scenario/1"]]})
    layout = only(diagnose_book(no_header), "sheet-layout")
    assert cell_of(layout) == "Scénario!A1"
    assert "'key' in A1 and 'value' in B1" in layout.message

    no_format = make_workbook({"Scénario": meta_rows(slug="essai")})
    (missing,) = diagnose_book(no_format)
    assert str(missing) == (
        "t.xlsx:Scénario!A1: error: 'format' is required: write a row 'format' | "
        "'simtrain.scenario/1' on sheet 'Scénario' [missing-key]"
    )

    french = make_workbook({"scenario": [["Clé", "Valeur"], ["format", "simtrain.scenario/2"]]})
    assert codes(diagnose_book(french)) == ["unsupported-format"]


def test_a_workbook_without_or_with_two_metadata_sheets():
    (none,) = diagnose_book(make_workbook({"Injects": [["id"], ["a"]]}))
    assert none.code == "sheet-layout"
    assert "has no sheet 'Scénario'" in none.message
    (two,) = diagnose_book(make_workbook({"Scénario": meta_rows(), "SCENARIO": meta_rows()}))
    assert "several 'Scénario' sheets ('Scénario', 'SCENARIO')" in two.message


def test_a_list_given_twice_and_a_sheet_the_format_does_not_know():
    book = load_workbook(io.BytesIO(BOOK))
    book["Scénario"].append(["phases", "[{id: p2, title: Deux}]"])
    notes = book.create_sheet("Notes")
    notes.append(["qui", "quoi"])
    notes.append(["Claire", "relire"])
    book.create_sheet("Feuil1")  # an empty sheet is nothing
    diagnostics = diagnose_book(save(book))
    twice = only(diagnostics, "duplicate-key")
    assert cell_of(twice) == "Phases!A1"
    assert "'phases' is given twice: on sheet 'Phases' and at Scénario!A" in twice.message
    unknown = only(diagnostics, "unknown-key")
    assert cell_of(unknown) == "Notes!A1"
    assert "unknown key 'notes'" in unknown.message


def test_an_x_sheet_of_the_author_is_accepted_and_dropped():
    book = load_workbook(io.BytesIO(BOOK))
    notes = book.create_sheet("X-notes")
    notes.append(["qui", "quoi"])
    notes.append(["Claire", "relire"])
    checked = check_scenario(("t.xlsx", save(book)))
    assert checked.exported.yaml == check_scenario(("t.yaml", BASE.encode())).exported.yaml


# --- refused before it is opened ----------------------------------------------------------


def xlsx_with(extra: dict[str, bytes]) -> bytes:
    """BOOK with more parts in its zip."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(BOOK)) as source, zipfile.ZipFile(buffer, "w") as target:
        for info in source.infolist():
            target.writestr(info, source.read(info))
        for name, data in extra.items():
            target.writestr(name, data)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"not a zip at all", "not an .xlsx workbook (an .xlsx is a zip)"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "Excel 97-2003 workbook (.xls)"),
        (make_zip({"scenario.yaml": BASE.encode()}), "it has no xl/workbook.xml"),
        (xlsx_with({"xl/vbaProject.bin": b"\0" * 64}), "the workbook holds macros"),
        (
            make_zip({"xl/workbook.xml": b"<workbook/>", "[Content_Types].xml": b"<x"}),
            "the workbook cannot be read",
        ),
    ],
)
def test_what_is_not_a_plain_workbook_is_refused(content, message):
    (diagnostic,) = diagnose_book(content)
    assert diagnostic.code == "bad-workbook"
    assert message in diagnostic.message
    assert diagnostic.file == "t.xlsx"


@pytest.mark.parametrize("name", ["t.xlsm", "t.xls", "t.ods", "t.xlsb"])
def test_other_spreadsheet_files_say_how_to_save_them(name):
    (diagnostic,) = diagnose_book(BOOK, name=name)
    assert diagnostic.code == "unsupported-file"
    assert "save it as an Excel workbook (.xlsx)" in diagnostic.message


def test_size_limits(monkeypatch):
    big = BOOK + b"\0" * (10 * 1024 * 1024)
    (diagnostic,) = diagnose_book(big)
    assert diagnostic.code == "bad-workbook"
    assert "the limit is 10.0 MiB" in diagnostic.message

    monkeypatch.setattr(read_module, "MAX_WORKBOOK_UNPACKED", 20_000)
    (unpacked,) = diagnose_book(BOOK)
    assert "unpacks to" in unpacked.message


def with_dimension(content: bytes, ref: str) -> bytes:
    """`content` whose sheets declare the size `ref` (as a hand-made file may)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(content)) as source, zipfile.ZipFile(buffer, "w") as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename.startswith("xl/worksheets/"):
                data = re.sub(rb'<dimension ref="[^"]*"', f'<dimension ref="{ref}"'.encode(), data)
            target.writestr(info, data)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("limit", "value", "code", "message", "where"),
    [
        ("MAX_ROWS", 3, "bad-workbook", "content beyond row 3", "Scénario!A4"),
        ("MAX_COLUMNS", 10, "bad-workbook", "content beyond column 10", "Injects!K1"),
        ("MAX_SHEETS", 4, "bad-workbook", "the limit is 4", None),
        ("MAX_YAML_BYTES", 300, "too-large", "more than 300 bytes of text", "Injects!A4"),
    ],
)
def test_reading_stops_at_the_limits(monkeypatch, limit, value, code, message, where):
    # The declared sizes say nothing here: what is read counts.
    monkeypatch.setattr(read_module, limit, value)
    diagnostics = diagnose_book(with_dimension(BOOK, "A1"))
    assert codes(diagnostics) == [code]
    assert message in diagnostics[0].message
    assert (cell_of(diagnostics[0]) if diagnostics[0].sheet else None) == where


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ("A1:B1048576", "sheet 'Scénario' reaches row 1,048,576; at most 20,000 rows"),
        ("A1:XFD2", "sheet 'Scénario' reaches column 16,384; at most 200 columns"),
    ],
)
def test_a_sheet_declared_larger_than_the_limits_is_refused_unread(ref, message):
    (diagnostic,) = diagnose_book(with_dimension(BOOK, ref))
    assert diagnostic.code == "bad-workbook"
    assert message in diagnostic.message


def test_a_sheet_declared_smaller_than_it_is_is_read_whole():
    assert diagnose_book(with_dimension(BOOK, "A1:A1")) == []


# --- in a zip, in a folder ----------------------------------------------------------------

ATTACHED = BASE + (
    "  - id: doc\n    kind: document\n    to: police\n    title: Pièce\n"
    "    attachments:\n      - {file: docs/note.txt, title: Note}\n"
)
NOTE = (DATA / "files" / "note.txt").read_bytes()


@pytest.mark.parametrize("prefix", ["", "mon-scenario/"])
def test_a_zip_holding_scenario_xlsx_and_its_attachments(prefix):
    content = make_zip(
        {f"{prefix}scenario.xlsx": workbook_of(ATTACHED), f"{prefix}docs/note.txt": NOTE}
    )
    checked = check_scenario(("bundle.zip", content))
    assert checked.files == {"docs/note.txt": NOTE}
    assert (
        checked.exported.yaml
        == check_scenario(
            ("b.zip", make_zip({"scenario.yaml": ATTACHED.encode(), "docs/note.txt": NOTE}))
        ).exported.yaml
    )
    broken = make_zip({f"{prefix}scenario.xlsx": edit(workbook_of(ATTACHED), {})})
    missing = only(diagnose_book(broken, "bundle.zip"), "missing-attachment")
    assert missing.where == f"bundle.zip/{prefix}scenario.xlsx:Injects!H5"


def test_a_zip_or_folder_with_both_a_yaml_file_and_a_workbook_is_ambiguous(tmp_path):
    both = make_zip({"scenario.yaml": BASE.encode(), "scenario.xlsx": BOOK})
    (diagnostic,) = diagnose_book(both, "both.zip")
    assert diagnostic.code == "no-scenario-file"
    assert "both 'scenario.yaml' and 'scenario.xlsx'" in diagnostic.message

    (tmp_path / "scenario.yml").write_text(BASE)
    (tmp_path / "scenario.xlsx").write_bytes(BOOK)
    with pytest.raises(ScenarioInvalid) as caught:
        check_scenario(tmp_path)
    assert "holds both scenario.yml and scenario.xlsx" in str(caught.value)

    empty = make_zip({"notes.txt": b"x"})
    (nothing,) = diagnose_book(empty, "empty.zip")
    assert "holds no scenario.yaml (nor scenario.xlsx)" in nothing.message


def test_a_workbook_on_disk_reads_its_attachments_beside_it(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "note.txt").write_bytes(NOTE)
    (tmp_path / "scenario.xlsx").write_bytes(workbook_of(ATTACHED))
    (tmp_path / "autre.xlsx").write_bytes(workbook_of(ATTACHED))
    assert check_scenario(tmp_path).files == {"docs/note.txt": NOTE}
    assert check_scenario(tmp_path / "autre.xlsx").source_name == "autre.xlsx"


def test_a_lone_workbook_upload_has_no_attachments():
    missing = only(diagnose_book(workbook_of(ATTACHED), "seul.xlsx"), "missing-attachment")
    assert "a workbook uploaded on its own carries no attachments" in missing.message
    assert "upload a .zip holding scenario.xlsx and its files" in missing.message
    assert cell_of(missing) == "Injects!H5"


def test_diagnostics_of_a_workbook_print_and_sort_by_cell():
    first = Diagnostic.of("bad-value", "x", file="a.xlsx", line=12, col=3, sheet="Injects")
    second = Diagnostic.of("bad-value", "x", file="a.xlsx", line=2, col=28, sheet="Roles")
    assert str(first) == "a.xlsx:Injects!C12: error: x [bad-value]"
    assert second.where == "a.xlsx:Roles!AB2"
    assert str(Cell(1, 1, "X-notes")) == "'X-notes'!A1"
    assert str(Cell(3, 703, "L'équipe")) == "'L''équipe'!AAA3"
    assert str(Cell(9, 1, "Scénario")) == "Scénario!A9"
    assert sorted([second, first], key=lambda d: d.sort_key) == [first, second]
