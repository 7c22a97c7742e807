"""The editor's form ⇄ document mapping: every kind of key, lists, unions, round trips."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import pytest

from scenarios.editor.fields import from_fields, to_fields, unknown_keys
from scenarios.editor.nodes import ROOT, fields_of, model_refs, node_of
from scenarios.editor.render import PLACEHOLDER, Form, render_fields, render_templates
from scenarios.format import canonical_dict
from scenarios.format.document import check_document, field_anchor
from scenarios.format.loader import load_yaml

SCENARIO = Path(__file__).parents[3] / "fixtures" / "scenarios" / "nigerian-minors"


@pytest.fixture(scope="module")
def shipped() -> dict:
    files = {
        str(p.relative_to(SCENARIO)): p.read_bytes()
        for p in SCENARIO.rglob("*")
        if p.is_file() and p.name != "scenario.yaml"
    }
    loaded = load_yaml((SCENARIO / "scenario.yaml").read_bytes(), name="scenario.yaml")
    check = check_document(loaded.data, files)
    assert check.ok
    return canonical_dict(check.checked.doc)


class Inputs(HTMLParser):
    """The (name, value) pairs a browser would post for the rendered form."""

    def __init__(self):
        super().__init__()
        self.pairs: list[tuple[str, str]] = []
        self.ids: list[str] = []
        self._open: tuple[str, str] | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.append(a["id"])
        if tag == "input" and a.get("name"):
            self.pairs.append((a["name"], a.get("value") or ""))
        elif tag in ("select", "textarea") and a.get("name"):
            self._open, self._text = (tag, a["name"]), []
        elif tag == "select":
            self._open = None  # a union's form choice: not posted
        elif tag == "option" and "selected" in a and self._open:
            self._text.append(a["value"])

    def handle_data(self, data):
        if self._open and self._open[0] == "textarea":
            self._text.append(data)

    def handle_endtag(self, tag):
        if self._open and tag == self._open[0]:
            text = "".join(self._text)
            if tag == "textarea":
                text = text[1:]  # the newline after <textarea> is not part of the value
            self.pairs.append((self._open[1], text))
            self._open = None


def posted(document: dict) -> Inputs:
    parser = Inputs()
    parser.feed(str(render_fields(ROOT, document, (), Form.of(document))))
    return parser


def test_the_shipped_scenario_reads_back_from_its_fields(shipped):
    assert len(shipped["injects"]) > 120
    assert from_fields(to_fields(shipped)) == shipped


def test_the_rendered_form_posts_back_the_same_document(shipped):
    form = posted(shipped)
    non_empty = [(name, value) for name, value in form.pairs if value]
    assert non_empty == to_fields(shipped)
    assert from_fields(form.pairs) == shipped


def test_inputs_are_named_by_path_and_identified_by_anchor(shipped):
    form = posted(shipped)
    assert ("injects.3.title", shipped["injects"][3]["title"]) in form.pairs
    assert field_anchor(("injects", 3, "title")) in form.ids
    assert len(form.ids) == len(set(form.ids)), "two fields share an id"


def test_every_key_of_every_model_has_an_input_in_its_template():
    templates = str(render_templates(Form()))
    for ref in model_refs():
        if ref == ROOT:
            continue
        for key, node in fields_of(ref):
            attribute = "data-prefix" if node.kind in ("list", "pairs") else "name"
            if node.kind == "object" and node.ref not in ("Condition", "Measure", "When"):
                attribute = "id"  # a fieldset holding the model's own inputs
                expected = f'{attribute}="f-{PLACEHOLDER}-{key}"'
            elif node.kind == "object":
                expected = f'data-prefix="{PLACEHOLDER}.{key}"'  # added on demand
            else:
                expected = f'{attribute}="{PLACEHOLDER}.{key}"'
            assert expected in templates, (ref, key)


def test_scalars_are_read_by_their_type():
    document = from_fields(
        [
            ("format", "simtrain.scenario/1"),
            ("version", "3"),
            ("duration", "1h30m"),
            ("safety.stop", "alert"),
            ("authors", "Anne\r\nBruno\n\n"),
            ("roles.0.id", "police"),
            ("roles.0.seats", "2"),
            ("roles.0.contacts", "parquet, avocat"),
            ("roles.1.id", "joy"),
            ("roles.1.contacts", "[]"),
            ("roles.1.character.age", "15"),
            ("actions.0.once", "false"),
            ("injects.0.to", "all"),
            ("injects.0.at", "720"),
            ("injects.0.body", "Ligne 1\r\nLigne 2\n"),
            ("injects.0.key_fact", "true"),
            ("injects.0.manual", ""),
            ("countdowns.0.warn", "2h\n30m"),
        ]
    )
    assert document["version"] == 3 and document["duration"] == "1h30m"
    assert document["safety"] == {"stop": "alert"}
    assert document["authors"] == ["Anne", "Bruno"]
    assert document["roles"][0] == {"id": "police", "seats": 2, "contacts": ["parquet", "avocat"]}
    assert document["roles"][1] == {"id": "joy", "contacts": [], "character": {"age": "15"}}
    assert document["actions"] == [{"once": False}]
    inject = document["injects"][0]
    assert inject == {"to": "all", "at": 720, "body": "Ligne 1\nLigne 2\n", "key_fact": True}
    assert document["countdowns"] == [{"warn": ["2h", "30m"]}]


def test_empty_optional_values_are_left_out():
    blanks = [("title", ""), ("injects.0.title", "  "), ("injects.0.after.delay", "")]
    assert from_fields(blanks) == {}


def test_unions_and_nested_lists_read_back():
    inject = {
        "id": "suite",
        "kind": "cue",
        "to": ["joy"],
        "title": "Suite",
        "when": {"any": [{"decision": "d1", "option": "oui"}, {"action": "appel"}], "delay": 60},
        "if": {"all": [{"inject": "a"}, {"not": {"countdown": "gav", "state": "expired"}}]},
        "cue": {"say": "Bonjour", "if": {"on lui demande son âge": "dit 19 ans", "b": "c"}},
        "attachments": [{"file": "docs/pv.pdf", "title": "PV"}],
    }
    objective = {
        "id": "o1",
        "title": "Objectif",
        "measure": {"before": [{"message": {"from": "police", "to": "parquet"}}, {"action": "x"}]},
    }
    document = {"injects": [inject], "objectives": [objective]}
    assert from_fields(to_fields(document)) == document
    assert from_fields(posted(document).pairs) == document


def test_items_are_read_in_page_order_whatever_their_index():
    document = from_fields([("phases.5.id", "b"), ("phases.1.id", "a")])
    assert document == {"phases": [{"id": "b"}, {"id": "a"}]}


def test_names_outside_the_format_are_ignored():
    assert from_fields([("revision", "3"), ("csrfmiddlewaretoken", "x"), ("title.x", "y")]) == {}


def test_a_schema_the_editor_cannot_show_is_refused_clearly():
    with pytest.raises(ValueError, match="no input"):
        node_of({"type": "object"})


def test_a_union_shows_the_keys_of_its_form_only():
    document = {"injects": [{"id": "i", "when": {"action": "appel", "delay": 60}}]}
    html = str(render_fields(ROOT, document, (), Form.of(document)))
    when = html[html.index('id="f-injects-0-when"') :]
    assert '<option value="action" selected>' in when
    assert 'data-ed-form="decision" hidden' in when
    assert 'data-ed-form="action">' in when
    assert 'name="injects.0.when.delay"' in when  # common to every form


def test_a_key_of_another_form_with_a_value_stays_visible():
    document = {"injects": [{"id": "i", "when": {"action": "appel", "decision": "d"}}]}
    html = str(render_fields(ROOT, document, (), Form.of(document)))
    assert 'data-ed-form="decision">' in html


def test_keys_outside_the_format_are_named(shipped):
    assert unknown_keys(shipped) == []
    document = {
        "titel": "x",
        "roles": [{"id": "a", "x-note": "n"}],
        "safety": {"stop": "hold", "z": 1},
    }
    assert unknown_keys(document) == ["titel", "roles.0.x-note", "safety.z"]
