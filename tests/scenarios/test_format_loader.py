"""The YAML loader: YAML 1.2 core schema, unsafe YAML refused, positions kept."""

from __future__ import annotations

import math

import pytest

from scenarios.format import ScenarioInvalid
from scenarios.format.loader import MAX_DEPTH, MAX_YAML_BYTES, load_yaml
from tests.scenarios.format_helpers import BASE, assert_at, diagnose, only, pos


def load(text: str | bytes):
    return load_yaml(text.encode() if isinstance(text, str) else text, name="t.yaml")


def refused(text: str | bytes) -> list:
    with pytest.raises(ScenarioInvalid) as caught:
        load(text)
    return caught.value.diagnostics


class TestCoreSchema:
    def test_yaml_1_1_booleans_stay_text(self):
        data = load("a: no\nb: yes\nc: on\nd: off\ne: y\nf: n\n").data
        assert data == {"a": "no", "b": "yes", "c": "on", "d": "off", "e": "y", "f": "n"}

    def test_core_booleans(self):
        assert load("a: true\nb: False\nc: TRUE\n").data == {"a": True, "b": False, "c": True}

    def test_dates_stay_text(self):
        data = load("a: 2024-01-05\nb: 2024-01-05T10:00:00Z\n").data
        assert data == {"a": "2024-01-05", "b": "2024-01-05T10:00:00Z"}

    def test_integers(self):
        data = load("a: 010\nb: 0o17\nc: 0x1F\nd: -3\ne: 1_000\nf: 1:30\n").data
        # 010 is ten (1.1 said octal); 1_000 and sexagesimal 1:30 are not core ints.
        assert data == {"a": 10, "b": 15, "c": 31, "d": -3, "e": "1_000", "f": "1:30"}

    def test_floats_and_nulls(self):
        data = load("a: 1.5\nb: 1e3\nc: .inf\nd: -.Inf\ne: .nan\nf: ~\ng: null\nh:\n").data
        assert (data["a"], data["b"], data["c"], data["d"]) == (1.5, 1000.0, math.inf, -math.inf)
        assert math.isnan(data["e"])
        assert data["f"] is data["g"] is data["h"] is None

    def test_quoted_scalars_are_text(self):
        assert load("a: '12'\nb: \"true\"\nc: 'null'\n").data == {
            "a": "12",
            "b": "true",
            "c": "null",
        }

    def test_core_tags_are_accepted(self):
        data = load(
            "a: !!str 12\nb: !!int '12'\nc: !!float '1'\nd: !!bool true\ne: !!null ''\n"
        ).data
        assert data == {"a": "12", "b": 12, "c": 1.0, "d": True, "e": None}

    def test_non_specific_tag_means_text(self):
        assert load("a: ! 12\n").data == {"a": "12"}

    def test_merge_key_is_a_plain_key(self):
        # `<<` merges only exist in YAML 1.1; here it is an ordinary (unknown) key.
        assert load("<<: {a: 1}\n").data == {"<<": {"a": 1}}


class TestRefused:
    def test_anchor_and_alias(self):
        text = "a: &x [1, 2]\nb: *x\n"
        diagnostics = refused(text)
        assert [d.code for d in diagnostics] == ["yaml-alias", "yaml-alias"]
        assert "anchor '&x'" in diagnostics[0].message
        assert_at(diagnostics[0], pos(text, "&x"))
        assert "alias '*x'" in diagnostics[1].message
        assert_at(diagnostics[1], pos(text, "*x"))

    def test_billion_laughs_is_refused_before_expansion(self):
        lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
        lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)]
        diagnostics = refused("\n".join(lines) + "\n")
        assert {d.code for d in diagnostics} == {"yaml-alias"}

    @pytest.mark.parametrize(
        "tag", ["!!python/object/apply:os.system", "!!binary", "!!set", "!!timestamp", "!local"]
    )
    def test_foreign_tags(self, tag):
        text = f"a: {tag} x\n"
        diagnostic = only(refused(text), "yaml-tag")
        assert "refused" in diagnostic.message
        assert_at(diagnostic, pos(text, tag))

    def test_explicit_core_tag_on_a_value_it_cannot_hold(self):
        loaded = load("a: !!int abc\n")
        diagnostic = only(loaded.diagnostics, "yaml-tag")
        assert "'abc' cannot be read as !!int" in diagnostic.message
        assert_at(diagnostic, (1, 4))

    def test_too_large(self):
        diagnostic = only(refused(b"a: b\n" * (MAX_YAML_BYTES // 5 + 1)), "too-large")
        assert "2 MiB" in diagnostic.message

    def test_not_utf8(self):
        text = "title: ok\nname: caf\xe9\n".encode("latin-1")
        diagnostic = only(refused(text), "encoding")
        assert "not UTF-8" in diagnostic.message
        assert_at(diagnostic, (2, 10))

    def test_utf16_is_not_utf8(self):
        assert only(refused("a: b\n".encode("utf-16")), "encoding")

    def test_utf8_bom_is_fine(self):
        assert load("\ufeffa: b\n".encode()).data == {"a": "b"}

    def test_control_character(self):
        text = "a: b\nc: d\x07\n"
        diagnostic = only(refused(text), "encoding")
        assert "U+0007" in diagnostic.message
        assert_at(diagnostic, (2, 5))

    @pytest.mark.parametrize("escape", ["\\0", "\\ud800"])
    def test_nul_and_lone_surrogate_escapes(self, escape):
        loaded = load(f'a: "x{escape}"\n')
        diagnostic = only(loaded.diagnostics, "encoding")
        assert_at(diagnostic, (1, 4))
        assert loaded.data["a"] == "x\ufffd"  # never handed on as is

    def test_syntax_error_points_at_the_problem(self):
        text = "a: [1, 2\nb: 3\n"
        diagnostic = only(refused(text), "yaml-syntax")
        assert "flow sequence" in diagnostic.message
        assert diagnostic.line == 2

    def test_tab_indentation_is_a_syntax_error(self):
        diagnostic = only(refused("a:\n\tb: 1\n"), "yaml-syntax")
        assert_at(diagnostic, (2, 1))

    def test_several_documents(self):
        diagnostic = only(refused("a: 1\n---\nb: 2\n"), "yaml-syntax")
        assert "single document" in diagnostic.message
        assert_at(diagnostic, (2, 1))

    def test_too_deep(self):
        text = "a: " + "[" * (MAX_DEPTH + 5) + "]" * (MAX_DEPTH + 5) + "\n"
        diagnostic = only(refused(text), "too-deep")
        assert f"more than {MAX_DEPTH} levels" in diagnostic.message

    def test_number_with_too_many_digits(self):
        loaded = load("a: " + "9" * 5000 + "\n")
        assert only(loaded.diagnostics, "bad-value").line == 1


class TestKeys:
    def test_duplicate_key_points_at_the_second(self):
        text = "title: A\nslug: b\ntitle: C\n"
        loaded = load(text)
        diagnostic = only(loaded.diagnostics, "duplicate-key")
        assert "key 'title' appears twice" in diagnostic.message
        assert "first at line 1" in diagnostic.message
        assert_at(diagnostic, (3, 1))
        assert loaded.data["title"] == "A"

    def test_duplicate_key_in_a_scenario_is_an_error_with_the_others(self):
        text = BASE.replace("title: Essai\n", "title: Essai\ntitle: Encore\n")
        text += "  - id: x\n    kind: sms\n    to: police\n    title: X\n"
        diagnostics = diagnose(text)
        assert_at(only(diagnostics, "duplicate-key"), pos(text, "title: Encore"))
        assert only(diagnostics, "bad-value")  # validation went on after the duplicate

    def test_non_text_key(self):
        text = "a: 1\n12: b\n"
        diagnostic = only(load(text).diagnostics, "bad-type")
        assert "key '12' must be text" in diagnostic.message
        assert_at(diagnostic, (2, 1))

    def test_mapping_as_key(self):
        diagnostic = only(load("? [a]\n: 1\n").diagnostics, "bad-type")
        assert_at(diagnostic, (1, 3))


class TestPositions:
    def test_values_and_keys_are_recorded(self):
        text = "roles:\n  - id: police\n    to: [a, b]\n"
        loaded = load(text)
        assert loaded.at(("roles", 0, "id")) == pos(text, "police")
        assert loaded.at(("roles", 0, "to", 1)) == pos(text, "b]")
        assert loaded.key_at(("roles", 0, "to")) == pos(text, "to:")

    def test_a_missing_path_falls_back_to_its_nearest_parent(self):
        text = "roles:\n  - id: police\n"
        loaded = load(text)
        assert loaded.at(("roles", 0, "title")) == pos(text, "id:")
        assert loaded.key_at(("roles", 0, "title")) == pos(text, "id:")

    def test_empty_file(self):
        assert load("").data is None
        diagnostic = only(diagnose(""), "bad-type")
        assert "empty file" in diagnostic.message
        assert_at(diagnostic, (1, 1))
