"""The shape of a scenario: the pydantic models, their error messages, the JSON Schema."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scenarios.format import check_scenario
from scenarios.format.schema import (
    FORMAT,
    SCHEMA_ID,
    Inject,
    Scenario,
    json_schema,
    json_schema_text,
)
from tests.scenarios.format_helpers import (
    BASE,
    assert_at,
    codes,
    diagnose,
    only,
    pos,
    value_pos,
)

REPO = Path(__file__).resolve().parents[2]


def inject(body: str) -> str:
    """BASE with one more inject, written as its indented lines."""
    return BASE + body


class TestFormat:
    def test_unsupported_format_stops_with_the_supported_list(self):
        text = BASE.replace(FORMAT, "simtrain.scenario/2").replace("kind: trainee", "kind: nope")
        diagnostics = diagnose(text)
        assert codes(diagnostics) == ["unsupported-format"]  # nothing else is judged
        diagnostic = diagnostics[0]
        assert "'simtrain.scenario/2' is not supported" in diagnostic.message
        assert "supported: simtrain.scenario/1" in diagnostic.message
        assert_at(diagnostic, pos(text, "simtrain.scenario/2"))

    def test_missing_format(self):
        text = BASE.replace(f"format: {FORMAT}\n", "")
        diagnostic = only(diagnose(text), "missing-key")
        assert "'format' is required" in diagnostic.message
        assert_at(diagnostic, (1, 1))

    def test_not_a_mapping(self):
        diagnostic = only(diagnose("- a\n- b\n"), "bad-type")
        assert "a scenario is a YAML mapping" in diagnostic.message
        assert "got a list" in diagnostic.message


class TestMissingKey:
    def test_inject_without_title(self):
        text = inject("  - id: x\n    kind: call\n    to: police\n")
        diagnostic = only(diagnose(text), "missing-key")
        assert diagnostic.message == "inject 'x': 'title' is required"
        assert_at(diagnostic, pos(text, "id: x"))

    def test_top_level(self):
        text = BASE.replace("slug: essai\n", "")
        diagnostic = only(diagnose(text), "missing-key")
        assert diagnostic.message == "'slug' is required"
        assert_at(diagnostic, (1, 1))

    def test_nested(self):
        text = inject(
            "  - id: x\n    kind: call\n    to: police\n    title: X\n    after: {delay: 2m}\n"
        )
        diagnostic = only(diagnose(text), "missing-key")
        assert diagnostic.message == "inject 'x': 'after.inject' is required"
        assert_at(diagnostic, pos(text, "{delay"))

    def test_item_without_id_is_named_by_its_position(self):
        text = inject("  - kind: call\n    to: police\n    title: X\n")
        diagnostic = only(diagnose(text), "missing-key")
        assert diagnostic.message == "inject #4: 'id' is required"

    def test_to_is_required_except_on_broadcast(self):
        text = inject("  - id: x\n    kind: message\n    title: X\n")
        diagnostic = only(diagnose(text), "missing-key")
        assert "inject 'x': 'to' is required" in diagnostic.message
        assert "broadcast" in diagnostic.message
        assert_at(diagnostic, pos(text, "id: x"))


class TestUnknownKey:
    def test_unknown_key_with_suggestion(self):
        text = inject("  - id: x\n    kind: call\n    to: police\n    title: X\n    bdy: Y\n")
        diagnostic = only(diagnose(text), "unknown-key")
        assert diagnostic.message == "inject 'x': unknown key 'bdy' (did you mean 'body'?)"
        assert_at(diagnostic, pos(text, "bdy"))

    def test_unknown_key_in_a_nested_block(self):
        text = inject(
            "  - id: x\n    kind: call\n    to: police\n    title: X\n"
            "    after: {inject: start, dealy: 3m}\n"
        )
        diagnostic = only(diagnose(text), "unknown-key")
        assert "unknown key 'dealy' in 'after' (did you mean 'delay'?)" in diagnostic.message
        assert_at(diagnostic, pos(text, "dealy"))

    def test_top_level(self):
        text = BASE.replace("language: fr\n", "language: fr\nauthor: Moi\n")
        diagnostic = only(diagnose(text), "unknown-key")
        assert diagnostic.message == "unknown key 'author' (did you mean 'authors'?)"
        assert_at(diagnostic, pos(text, "author:"))

    def test_x_keys_are_accepted_everywhere_a_model_is(self):
        text = (
            BASE.replace("language: fr\n", "language: fr\nx-editor: vim\n")
            .replace("    profession: police\n", "    profession: police\n    x-note: {a: 1}\n")
            .replace("      - {id: oui, label: Oui}", "      - {id: oui, label: Oui, x-score: 3}")
        )
        assert diagnose(text) == []
        assert "x-" not in check_scenario(("t.yaml", text.encode())).exported.yaml


class TestBadType:
    @pytest.mark.parametrize(
        ("line", "needle", "message"),
        [
            ("    title: [a]\n", "[a]", "inject 'x': 'title' must be text; got a list"),
            (
                "    free_text: yes\n",
                "yes",
                "inject 'x': 'free_text' must be true or false; got 'yes'",
            ),
            ("    attachments: pv.pdf\n", "pv.pdf", "inject 'x': 'attachments' must be a list"),
            ("    after: start\n", "start\n", "inject 'x': 'after' must be a mapping"),
            ("    at: [1]\n", "[1]", "inject 'x': 'at' must be a duration"),
        ],
    )
    def test_wrong_types(self, line, needle, message):
        text = inject("  - id: x\n    kind: decision\n    to: police\n    title: X\n" + line)
        text = text.replace("    title: X\n    title: [a]\n", "    title: [a]\n")
        diagnostic = only(diagnose(text), "bad-type")
        assert diagnostic.message.startswith(message), diagnostic.message
        assert_at(diagnostic, pos(text, needle, text.count(needle)))

    def test_to_that_is_neither_text_nor_list(self):
        text = inject("  - id: x\n    kind: call\n    to: 12\n    title: X\n")
        diagnostic = only(diagnose(text), "bad-type")
        assert diagnostic.message == (
            "inject 'x': 'to' must be all, a role id or a list of role ids; got the number 12"
        )
        assert_at(diagnostic, pos(text, "12\n"))

    def test_quoted_number_is_not_a_number(self):
        text = BASE.replace("language: fr\n", "language: fr\nversion: '2'\n")
        diagnostic = only(diagnose(text), "bad-type")
        assert diagnostic.message == "'version' must be a whole number; got '2'"


class TestBadValue:
    def test_kind_lists_the_choices(self):
        text = inject("  - id: call-ase\n    kind: sms\n    to: police\n    title: X\n")
        diagnostic = only(diagnose(text), "bad-value")
        assert diagnostic.message == (
            "inject 'call-ase': 'kind' must be one of message, document, call, scene, cue, "
            "decision, broadcast; got 'sms'"
        )
        assert_at(diagnostic, pos(text, "sms"))

    @pytest.mark.parametrize(
        ("old", "new", "expected"),
        [
            ("slug: essai", "slug: Essai!", "'slug' must be a slug"),
            ("slug: essai", "slug: e", "'slug' must be a slug"),
            ("language: fr", "language: français", "'language' must be a BCP 47 language tag"),
            ("id: p1", "id: Phase 1", "phase 'Phase 1': 'id' must be an id"),
            ("id: p1", "id: -p1", "phase '-p1': 'id' must be an id"),
            ("profession: police", "profession: cop", "role 'police': 'profession' must be one of"),
            ("kind: observer", "kind: public", "role 'obs': 'kind' must be one of"),
            ("title: Essai", "title: '  '", "'title' must not be empty"),
            ("title: Essai", "title: " + "x" * 301, "'title' must be at most 300 characters"),
        ],
    )
    def test_patterns_choices_and_lengths(self, old, new, expected):
        text = BASE.replace(old, new, 1)
        diagnostic = only(diagnose(text), "bad-value")
        assert diagnostic.message.startswith(expected), diagnostic.message
        assert_at(diagnostic, value_pos(text, new))

    def test_language_variants_are_accepted(self):
        for language in ("en", "fr-BE", "zh-Hant-TW", "pcm"):
            assert diagnose(BASE.replace("language: fr", f"language: {language}")) == []

    def test_seats_at_least_one(self):
        text = BASE.replace("    profession: police\n", "    profession: police\n    seats: 0\n")
        diagnostic = only(diagnose(text), "bad-value")
        assert diagnostic.message == "role 'police': 'seats' must be at least 1; got the number 0"
        assert_at(diagnostic, value_pos(text, "seats: 0"))

    @pytest.mark.parametrize("value", ["12min", "1.5h", "-3", "1h-2m", "h", "''"])
    def test_bad_durations(self, value):
        text = BASE.replace("    at: 1m\n", f"    at: {value}\n")
        diagnostic = only(diagnose(text), "bad-value")
        assert diagnostic.message.startswith("inject 'cue1': 'at' must be a duration")
        assert_at(diagnostic, value_pos(text, f"at: {value}"))

    def test_negative_int_duration(self):
        text = BASE.replace("    at: 1m\n", "    at: -5\n")
        assert only(diagnose(text), "bad-value").message.startswith("inject 'cue1': 'at' must be")

    def test_duration_longer_than_a_week(self):
        text = BASE.replace("    at: 1m\n", "    at: 200h\n")
        assert "at most 168h" in only(diagnose(text), "bad-value").message

    @pytest.mark.parametrize(
        ("written", "seconds"),
        [("90s", 90), ("12m", 720), ("1h30m", 5400), ("1h", 3600), ("600", 600), ("0", 0)],
    )
    def test_good_durations(self, written, seconds):
        checked = check_scenario(("t.yaml", BASE.replace("at: 1m", f"at: {written}").encode()))
        assert checked.doc.injects[1].at == seconds

    def test_all_mixed_with_roles(self):
        text = inject("  - id: x\n    kind: call\n    to: [all, police]\n    title: X\n")
        diagnostic = only(diagnose(text), "bad-value")
        assert "'to' is either all or a list of role ids, not both" in diagnostic.message
        assert_at(diagnostic, pos(text, "[all"))


class TestAllErrorsAtOnce:
    def test_schema_and_reference_errors_are_reported_together(self):
        text = inject(
            "  - id: a\n    kind: sms\n    to: police\n    title: A\n"
            "  - id: b\n    kind: call\n    to: [asso]\n    title: B\n"
            "  - id: c\n    kind: call\n    to: police\n    title: C\n    after: {inject: a}\n"
        )
        diagnostics = diagnose(text)
        # The malformed inject 'a' is reported once; 'c' waiting for it is not a second
        # error (its id is known, only its kind is wrong).
        assert sorted(codes(diagnostics)) == ["bad-value", "unknown-role"]


class TestModels:
    def test_manual_false_is_no_trigger(self):
        spec = Inject.model_validate(
            {"id": "a", "kind": "call", "to": "police", "title": "A", "manual": False}
        )
        assert spec.manual is None and spec.triggers == []

    def test_empty_optional_text_is_none(self):
        spec = Inject.model_validate(
            {"id": "a", "kind": "call", "to": "police", "title": "A", "body": "  ", "from": ""}
        )
        assert spec.body is None and spec.sender is None

    def test_attachment_paths_are_normalised(self):
        spec = Inject.model_validate(
            {"id": "a", "kind": "document", "to": "police", "title": "A",
             "attachments": [{"file": "./docs//pv.pdf"}]}
        )  # fmt: skip
        assert spec.attachments[0].file == "docs/pv.pdf"


class TestJsonSchema:
    def test_committed_schema_is_up_to_date(self):
        committed = (REPO / "docs" / "scenario.schema.json").read_text(encoding="utf-8")
        assert committed == json_schema_text(), (
            "docs/scenario.schema.json is stale: regenerate it with "
            "`python manage.py scenario_schema -o docs/scenario.schema.json`"
        )

    def test_identity_and_draft(self):
        schema = json_schema()
        assert schema["$id"] == SCHEMA_ID
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        assert json_schema("https://example.org/s.json")["$id"] == "https://example.org/s.json"
        assert FORMAT in schema["title"]

    def test_keys_are_the_models_keys_with_x_extensions(self):
        schema = json_schema()
        inject = schema["$defs"]["Inject"]
        assert list(inject["properties"]) == [
            field.alias or name for name, field in Inject.model_fields.items()
        ]
        assert "from" in inject["properties"]
        assert inject["additionalProperties"] is False
        assert "^x-" in inject["patternProperties"]
        assert set(schema["required"]) == {
            "format",
            "slug",
            "title",
            "language",
            "roles",
            "injects",
        }
        assert list(schema["properties"]) == list(Scenario.model_fields)

    def test_every_field_of_the_top_level_is_described_or_obvious(self):
        properties = json_schema()["properties"]
        for key in ("format", "slug", "language", "roles", "summary", "duration"):
            assert properties[key].get("description"), key

    def test_the_law_keys_are_in_the_schema(self):
        schema = json_schema()
        defs = schema["$defs"]
        for key in ("safety", "fiction", "requests", "countdowns"):
            assert key in schema["properties"], key
        assert {"reply", "repeat", "if"} <= set(defs["Inject"]["properties"])
        assert {"request", "outcome", "countdown", "state", "any", "delay"} <= set(
            defs["When"]["properties"]
        )
        assert {"request", "countdown", "expired", "all", "any", "not", "before"} <= set(
            defs["Measure"]["properties"]
        )
        condition = defs["Condition"]
        assert [branch["required"] for branch in condition["oneOf"]] == [
            ["inject"], ["decision", "option"], ["action"], ["request", "outcome"],
            ["countdown", "state"], ["all"], ["any"], ["not"],
        ]  # fmt: skip
        assert set(defs["Countdown"]["required"]) == {"id", "title", "roles", "limit", "starts"}
        assert set(defs["Request"]["required"]) == {"id", "label", "from", "to"}
        assert defs["Safety"]["properties"]["stop"]["enum"] == ["hold", "alert"]
        # `to` may be left out with reply: true; `repeat` needs a `when`.
        rules = json.dumps(defs["Inject"]["allOf"])
        assert '"reply": {"const": true}' in rules and '"then": {"required": ["when"]}' in rules

    def test_schema_is_json(self):
        assert json.loads(json_schema_text()) == json_schema()
