"""The workbook (.xlsx): YAML → workbook → YAML gives the same data back, for the
shipped scenario, every valid test file, the additions to the format and any text; the
layout authors see; text never becomes a formula."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from scenarios.format import check_scenario
from scenarios.format.loader import load_yaml
from scenarios.format.xlsx import (
    META_SHEET,
    WorkbookUnfit,
    exported_workbook,
    exported_workbook_zip,
    read_workbook,
    write_workbook,
)
from scenarios.format.xlsx.cells import CELL_TEXT_MAX, from_cell, text_cell, to_cell
from tests.scenarios.format_helpers import BASE, DATA
from tests.scenarios.xlsx_helpers import data_of, grid, workbook_of

ROOT = Path(__file__).parents[2]
NIGERIAN_MINORS = ROOT / "fixtures" / "scenarios" / "nigerian-minors"
VALID_FILES = [
    NIGERIAN_MINORS / "scenario.yaml",
    DATA / "minimal.yaml",
    DATA / "full.yaml",
    DATA / "external.yaml",
    DATA / "bundle" / "scenario.yaml",
    DATA / "law.yaml",
]


def round_trip(data: dict) -> dict:
    back = read_workbook(write_workbook(data), name="t.xlsx")
    assert back.diagnostics == []
    return back.data


def test_the_valid_files_are_all_listed():
    # A valid file added under tests/scenarios/data must be round-tripped too.
    found = {p for p in DATA.rglob("*.yaml") if "law-mistakes" not in p.parts}
    found |= {NIGERIAN_MINORS / "scenario.yaml"}
    assert found == set(VALID_FILES)


@pytest.mark.parametrize("path", VALID_FILES, ids=lambda p: p.parent.name + "/" + p.name)
def test_yaml_to_workbook_to_yaml_gives_the_same_data(path):
    data = load_yaml(path.read_bytes(), name=str(path)).data
    assert round_trip(data) == data


@pytest.mark.parametrize("path", VALID_FILES, ids=lambda p: p.parent.name + "/" + p.name)
def test_a_workbook_imports_as_the_same_scenario(path, tmp_path):
    """Through the importer: the same canonical text, the same files, the same hash."""
    source = path.parent if path.name == "scenario.yaml" else path
    from_yaml = check_scenario(source)
    workbook_zip = tmp_path / "workbook.zip"
    workbook_zip.write_bytes(exported_workbook_zip(from_yaml.exported))
    from_workbook = check_scenario(workbook_zip)
    assert from_workbook.exported.yaml == from_yaml.exported.yaml
    assert from_workbook.files == from_yaml.files
    assert from_workbook.content_hash == from_yaml.content_hash
    assert [w.message for w in from_workbook.warnings] == [w.message for w in from_yaml.warnings]


# Every key the additions to the format bring (docs: "Additions to simtrain.scenario/1"),
# whether the validator knows them yet or not: the workbook carries them as data.
ADDITIONS = """\
format: simtrain.scenario/1
slug: gav
title: Garde à vue
language: fr
fiction:
  starts: 2026-03-15T22:40
  jumps:
    - {at: 30m, to: 2026-03-16T09:00}
    - {at: 55m, to: 2026-03-25T14:00}
safety:
  word: pause
  note: |
    Un mot suffit.
    Personne ne justifie un arrêt.
roles:
  - {id: police, title: Police, kind: trainee, profession: police}
  - {id: parquet, title: Parquet, kind: trainee, profession: prosecutor}
actions:
  - {id: lever-gav, roles: [police], label: Lever la garde à vue, once: false}
countdowns:
  - id: gav-client
    title: Garde à vue de M. Xavier L.
    description: Article 63 du code de procédure pénale.
    roles: [police, parquet]
    limit: 24h
    starts: {inject: msg-permanence}
    stops: {action: lever-gav}
    extends:
      - {when: {request: prolongation-gav, outcome: approved}, by: 24h}
    warn: [2h]
requests:
  - id: prolongation-gav
    label: Demander la prolongation de la garde à vue
    from: [police]
    to: parquet
    deadline: 20m
    once: true
injects:
  - id: msg-permanence
    kind: message
    to: [police]
    title: Appel de la permanence
    at: 0
  - id: rappel
    kind: message
    title: Le parquet rappelle
    reply: true
    if: {all: [{countdown: gav-client, state: running}, {not: {action: lever-gav}}]}
    when:
      any:
        - {request: prolongation-gav, outcome: approved, delay: 5m}
        - {countdown: gav-client, state: expired}
  - id: chaque-levee
    kind: message
    to: [parquet]
    title: Avis de levée
    repeat: true
    when: {action: lever-gav, delay: 1m}
objectives:
  - id: pas-de-gav
    title: Pas de garde à vue inutile
    measure:
      not: {decision: dec-statut, option: garde-a-vue}
  - id: dans-les-temps
    title: Prolongation demandée à temps
    measure:
      before:
        - {request: prolongation-gav, outcome: sent, within: 20m}
        - {countdown: gav-client, expired: true}
x-notes:
  - {auteur: Claire, note: "à relire"}
"""


def test_the_additions_round_trip_as_data():
    data = data_of(ADDITIONS)
    assert round_trip(data) == data


def test_the_additions_have_their_sheets_and_cells():
    content = workbook_of(ADDITIONS)
    book = load_workbook(io.BytesIO(content))
    assert book.sheetnames == [
        META_SHEET,
        "Injects",
        "Roles",
        "Phases",
        "Actions",
        "Objectives",
        "Countdowns",
        "Requests",
        "X-notes",
    ]
    countdowns = grid(content, "Countdowns")
    header = countdowns[0]
    assert header[:9] == [
        "id",
        "title",
        "description",
        "roles",
        "limit",
        "starts",
        "stops",
        "extends",
        "warn",
    ]
    row = dict(zip(header, countdowns[1], strict=True))
    assert row["roles"] == "[police, parquet]"
    assert row["starts"] == "{inject: msg-permanence}"
    assert row["extends"] == "[{when: {request: prolongation-gav, outcome: approved}, by: 24h}]"
    meta = {key: value for key, value in grid(content, META_SHEET)[1:]}
    assert meta["fiction"] == (
        "{starts: '2026-03-15T22:40', jumps: [{at: 30m, to: '2026-03-16T09:00'}, "
        "{at: 55m, to: '2026-03-25T14:00'}]}"
    )
    assert meta["safety"] == (
        '{word: pause, note: "Un mot suffit.\\nPersonne ne justifie un arrêt.\\n"}'
    )
    injects = grid(content, "Injects")
    rappel = dict(zip(injects[0], injects[2], strict=True))
    assert rappel["when"] == (
        "{any: [{request: prolongation-gav, outcome: approved, delay: 5m}, "
        "{countdown: gav-client, state: expired}]}"
    )
    assert rappel["reply"] is True
    assert rappel["if"].startswith("{all: [")


def test_an_empty_list_and_other_values_go_to_the_metadata_sheet():
    data = {
        "format": "simtrain.scenario/1",
        "injects": [],
        "tags": ["traite", "mineurs"],
        "authors": [],
        "version": 3,
        "x-flag": False,
        "x-mixed": [{"a": 1}, "texte"],
        "x-empty-item": [{"a": 1}, {}],
        "x-Upper": [{"a": 1}],
    }
    content = write_workbook(data)
    meta = {key: value for key, value in grid(content, META_SHEET)[1:]}
    assert meta["injects"] == "[]"
    assert meta["tags"] == "[traite, mineurs]"
    assert meta["version"] == 3
    assert meta["x-flag"] is False
    assert meta["x-mixed"] == "[{a: 1}, texte]"
    assert meta["x-empty-item"] == "[{a: 1}, {}]"
    assert "X-Upper" in load_workbook(io.BytesIO(content)).sheetnames
    assert round_trip(data) == data


# --- the layout authors see ---------------------------------------------------------------


def test_layout_of_the_shipped_scenario():
    content = workbook_of((NIGERIAN_MINORS / "scenario.yaml").read_text(encoding="utf-8"))
    book = load_workbook(io.BytesIO(content))
    assert book.active.title == "Injects"  # it opens on the MSEL
    assert [s.sheet_view.tabSelected for s in book.worksheets].count(True) == 1
    injects = book["Injects"]
    header = [cell.value for cell in injects[1]]
    assert header[:6] == ["id", "kind", "to", "phase", "title", "body"]
    assert injects.freeze_panes == "B2"
    assert all(cell.font.bold for cell in injects[1])
    widths = [injects.column_dimensions[letter].width for letter in "ABCDE"]
    assert all(8 <= width <= 60 for width in widths)
    meta = book[META_SHEET]
    assert [cell.value for cell in meta[1]] == ["key", "value"]
    assert [row[0].value for row in meta.iter_rows(min_row=2)][:4] == [
        "format",
        "slug",
        "title",
        "language",
    ]
    countdowns = grid(content, "Countdowns")
    assert countdowns[0][:4] == ["id", "title", "description", "roles"]
    assert [row[0] for row in countdowns[1:]] == [
        "gav-client",
        "opp-huit-jours",
        "jde-quinze-jours",
        "gav-precious",
    ]
    requests = grid(content, "Requests")
    assert requests[0][:4] == ["id", "label", "from", "to"]
    assert [row[0] for row in requests[1:]] == [
        "requisition-operateur",
        "prolongation-gav-client",
        "accompagnement-audition",
        "prolongation-gav-precious",
    ]


def test_known_keys_have_their_column_even_when_unused():
    content = workbook_of(BASE)
    header = grid(content, "Injects")[0]
    assert header == [
        "id",
        "kind",
        "to",
        "phase",
        "title",
        "body",
        "from",
        "attachments",
        "at",
        "after",
        "when",
        "manual",
        "repeat",
        "if",
        "reply",
        "cue",
        "options",
        "free_text",
        "deadline",
        "key_fact",
    ]
    meta_keys = [row[0] for row in grid(content, META_SHEET)[1:]]
    assert meta_keys[:9] == [
        "format",
        "slug",
        "title",
        "language",
        "version",
        "summary",
        "duration",
        "authors",
        "tags",
    ]


# --- text, never a formula ----------------------------------------------------------------

FORMULAS = [
    '=HYPERLINK("http://evil.example/x","clic")',
    "=1+1",
    "+33 1 23 45 67 89",
    "-2",
    "@SUM(A1)",
    "=cmd|' /C calc'!A0",
]


@pytest.mark.parametrize("title", FORMULAS)
def test_text_that_looks_like_a_formula_stays_text(title):
    data = data_of(BASE)
    data["title"] = title
    data["injects"][0]["title"] = title
    data["injects"][0][title] = "une clé aussi"
    content = write_workbook(data)

    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        sheets = [n for n in archive.namelist() if n.startswith("xl/worksheets/")]
        xml = "".join(archive.read(n).decode("utf-8") for n in sheets)
    assert "<f>" not in xml and "<f " not in xml  # no formula anywhere in the file
    book = load_workbook(io.BytesIO(content))
    assert book[META_SHEET]["B4"].value == title
    assert book[META_SHEET]["B4"].data_type == "s"
    assert {cell.data_type for row in book["Injects"].iter_rows() for cell in row} <= {
        "s",
        "n",
        "b",
    }
    assert round_trip(data) == data


# --- any text, any value ------------------------------------------------------------------

TRICKY = [
    "[Urgent] appel du commissariat",
    "{pas une mapping}",
    "\\[déjà échappé",
    "\\\\serveur\\partage",
    "\\serveur",
    '\\"entre guillemets"',
    '"Bonjour", dit-elle',
    "12",
    "0o17",
    "true",
    "non",
    "2024-01-05",
    "",
    "   ",
    "  espaces autour  ",
    "ligne 1\nligne 2\n",
    "fin de ligne Windows\r\n",
    "sonnerie \x07",
    "séparateur\u2028de ligne",
    "émoji 😀 et « guillemets »",
    "#pas un commentaire",
    "- pas une liste",
    "clé: valeur",
    "_x000D_",
]


@pytest.mark.parametrize("text", TRICKY)
def test_tricky_text_round_trips_in_every_place(text):
    data = {
        "format": "simtrain.scenario/1",
        "summary": text,
        "injects": [{"id": "a", "title": text, "cue": {"say": text, "if": {text or "x": text}}}],
        "tags": [text],
    }
    assert round_trip(data) == data


# Any text a YAML file can hold (it cannot hold NUL or a lone surrogate).
TEXT = st.text(alphabet=st.characters(exclude_categories=["Cs"], exclude_characters="\x00"))


@settings(max_examples=500, deadline=None)
@given(TEXT)
def test_any_text_round_trips_in_a_cell(text):
    assert from_cell(text_cell(text)) == (text, [])
    assert from_cell(to_cell({text: [text]})) == ({text: [text]}, [])


@settings(max_examples=40, deadline=None)
@given(st.lists(TEXT, min_size=1, max_size=20))
def test_any_text_round_trips_in_a_workbook(texts):
    items = [{"id": str(i), "body": text, "x": [text]} for i, text in enumerate(texts)]
    data = {"format": "simtrain.scenario/1", "summary": texts[0], "injects": items}
    assert round_trip(data) == data


def test_numbers_and_booleans_keep_their_type():
    item = {"id": "a", "seats": 2, "once": False, "free_text": True, "at": 0, "x": 1.5}
    data = {"format": "simtrain.scenario/1", "version": 7, "roles": [item]}
    back = round_trip(data)
    assert back == data
    assert [type(v) for v in back["roles"][0].values()] == [str, int, bool, bool, int, float]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("x" * (CELL_TEXT_MAX + 1), "a spreadsheet cell holds at most 32,767"),
        (10**15, "more digits than a spreadsheet keeps exactly"),
        (float("nan"), "not a number a spreadsheet can hold"),
        ({"long": "y" * CELL_TEXT_MAX}, "a spreadsheet cell holds at most 32,767"),
    ],
)
def test_values_no_spreadsheet_can_hold_are_refused_with_their_place(value, message):
    data = data_of(BASE)
    data["injects"][1]["body"] = value
    with pytest.raises(WorkbookUnfit, match=message) as caught:
        write_workbook(data)
    assert str(caught.value).startswith("injects #2 ('cue1'), 'body': ")


def test_the_export_helpers_write_the_canonical_data(tmp_path):
    checked = check_scenario(DATA / "bundle")
    content = exported_workbook(checked.exported)
    assert (
        read_workbook(content, name="x.xlsx").data
        == load_yaml(checked.exported.yaml.encode(), name="x").data
    )
    with zipfile.ZipFile(io.BytesIO(exported_workbook_zip(checked.exported))) as archive:
        assert archive.namelist() == ["scenario.xlsx", *checked.files]
        for path, content in checked.files.items():
            assert archive.read(path) == content
