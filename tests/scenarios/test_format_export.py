"""The canonical text: one form per scenario, stable through export and import."""

from __future__ import annotations

import io
import zipfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scenarios.format import canonical_dict, check_scenario
from scenarios.format.export import ExportedScenario, dump_yaml
from scenarios.format.loader import load_yaml
from tests.scenarios.format_helpers import BASE, DATA, bundle_files, make_zip


def canonical(source) -> ExportedScenario:
    return check_scenario(source).exported


def reimport(exported: ExportedScenario) -> ExportedScenario:
    return canonical(("again.zip", exported.to_zip()))


class TestCanonicalText:
    def test_minimal(self):
        assert canonical(DATA / "minimal.yaml").yaml == (
            "format: simtrain.scenario/1\n"
            "slug: minimal\n"
            "title: Le plus petit scénario\n"
            "language: fr\n"
            "roles:\n"
            "  - id: police\n"
            "    title: Enquêtrice\n"
            "    kind: trainee\n"
            "    profession: police\n"
            "injects:\n"
            "  - id: appel\n"
            "    kind: call\n"
            "    to:\n"
            "      - police\n"
            "    title: Appel du commissariat\n"
        )

    def test_key_order_follows_the_spec_whatever_the_file_says(self):
        text = canonical(DATA / "external.yaml").yaml
        top = [line.split(":")[0] for line in text.splitlines() if line and line[0].isalpha()]
        assert top == [
            "format", "slug", "title", "language", "version", "summary", "duration", "tags",
            "objectives", "roles", "phases", "injects",
        ]  # fmt: skip
        inject = text[text.index("  - id: custody") :]
        keys = [line.strip().split(":")[0] for line in inject.splitlines()[1:8]]
        assert keys[:4] == ["kind", "to", "- prosecutor", "title"]
        assert inject.index("at: 15m") < inject.index("options:") < inject.index("deadline: 10m")

    def test_durations_are_written_canonically(self):
        text = canonical(DATA / "external.yaml").yaml
        assert "duration: 1h\n" in text
        assert "delay: 5m\n" in text
        assert "within: 25m\n" in text
        assert "starts: 0s\n" in text

    def test_defaults_and_empties_are_left_out(self):
        text = BASE.replace(
            "    profession: police\n",
            "    profession: police\n    seats: 1\n    briefing: ''\n",
        ).replace("label: Demander un interprète", "label: Demander un interprète\n    once: true")
        text = text.replace("    at: 2m\n", "    at: 2m\n    body:\n    free_text: false\n")
        out = canonical(("t.yaml", text.encode())).yaml
        for absent in ("seats", "briefing", "once", "body", "free_text: false", "manual"):
            assert absent not in out

    def test_explicit_choices_are_kept(self):
        text = canonical(DATA / "full.yaml").yaml
        assert "    to: all\n" in text  # not the expanded list
        assert "    manual: true\n" in text
        assert "    contacts:\n      - parquet\n      - ase\n" in text
        assert "    free_text: true\n" in text
        assert "    once: false\n" in text
        # the broadcast without `to` stays without it
        assert "  - id: ouverture\n    kind: broadcast\n    title:" in text

    def test_role_lists_are_sets_in_role_order(self):
        text = BASE.replace("to: [parquet]", "to: [parquet]").replace(
            "    to: [joy]\n", "    to: [joy]\n"
        )
        text += "  - id: x\n    kind: message\n    to: [parquet, police, parquet]\n    title: X\n"
        out = canonical(("t.yaml", text.encode())).yaml
        assert "    to:\n      - police\n      - parquet\n    title: X\n" in out

    def test_single_role_id_is_written_as_a_list(self):
        out = canonical(DATA / "external.yaml").yaml
        assert "    to:\n      - lawyer\n" in out

    def test_multiline_text_as_literal_blocks(self):
        out = canonical(DATA / "full.yaml").yaml
        assert "summary: |\n  Une jeune fille" in out
        assert "    briefing: |\n      Vous êtes de permanence" in out

    def test_folded_text_becomes_one_line(self):
        out = canonical(DATA / "external.yaml").yaml
        assert (
            "summary: A short night-shift exercise for a duty prosecutor and a youth lawyer.\n"
            in out
        )

    @pytest.mark.parametrize(
        "title",
        ["yes", "no", "on", "null", "~", "true", "0o17", "0x1F", "1e5", "12", "2024-01-05", ".inf"],
    )
    def test_text_that_looks_like_something_else_is_quoted(self, title):
        text = BASE.replace("title: Essai", f"title: '{title}'")
        out = canonical(("t.yaml", text.encode())).yaml
        assert f"title: '{title}'\n" in out
        assert canonical(("t.yaml", out.encode())).yaml == out

    def test_cue_situations_are_sorted(self):
        text = BASE.replace(
            "    title: Joy parle\n",
            "    title: Joy parle\n    cue:\n      if: {zèbre: Z, avion: A, 'Maman': M}\n",
        )
        out = canonical(("t.yaml", text.encode())).yaml
        assert "      if:\n        Maman: M\n        avion: A\n        zèbre: Z\n" in out

    def test_x_keys_are_dropped(self):
        out = canonical(DATA / "external.yaml").yaml
        assert "x-" not in out


class TestStability:
    @pytest.mark.parametrize(
        "source",
        ["minimal.yaml", "full.yaml", "external.yaml", "bundle", "law.yaml"],
    )
    def test_export_import_export_is_identical(self, source):
        first = canonical(DATA / source)
        second = reimport(first)
        assert second.yaml == first.yaml
        assert second.files == first.files
        assert second.to_zip() == first.to_zip()
        assert second.content_hash == first.content_hash

    @pytest.mark.parametrize("source", ["full.yaml", "law.yaml"])
    def test_import_export_import_gives_the_same_document(self, source):
        checked = check_scenario(DATA / source)
        again = check_scenario(("full.zip", checked.exported.to_zip()))
        assert canonical_dict(again.doc) == canonical_dict(checked.doc)

    def test_content_hash_ignores_formatting_but_not_content(self):
        base = canonical(("t.yaml", BASE.encode()))
        reformatted = BASE.replace("roles: [police]", "roles:\n      - police").replace(
            "at: 0\n", "at: 0s\n"
        )
        assert canonical(("t.yaml", reformatted.encode())).content_hash == base.content_hash
        changed = BASE.replace("title: Début", "title: Le début")
        assert canonical(("t.yaml", changed.encode())).content_hash != base.content_hash

    def test_content_hash_covers_attachments(self):
        first = canonical(DATA / "bundle")
        entries = {"scenario.yaml": first.yaml.encode(), **first.files}
        entries["pv.pdf"] = first.files["pv.pdf"] + b"\n% changed\n"
        assert canonical(("b.zip", make_zip(entries))).content_hash != first.content_hash


class TestWriting:
    def test_zip_is_deterministic_and_ordered(self):
        exported = canonical(DATA / "full.yaml")
        data = exported.to_zip()
        assert data == exported.to_zip()
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = archive.namelist()
            assert names == ["scenario.yaml", *sorted(bundle_files())]
            assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
            assert archive.read("scenario.yaml").decode() == exported.yaml

    def test_folder(self, tmp_path):
        exported = canonical(DATA / "bundle")
        exported.write_folder(tmp_path / "out")
        assert (tmp_path / "out" / "scenario.yaml").read_text() == exported.yaml
        assert (tmp_path / "out" / "images" / "plan.png").read_bytes() == exported.files[
            "images/plan.png"
        ]
        assert canonical(tmp_path / "out").yaml == exported.yaml

    def test_single_yaml(self, tmp_path):
        canonical(DATA / "minimal.yaml").write_yaml(tmp_path / "m.yaml")
        assert canonical(tmp_path / "m.yaml").yaml == (tmp_path / "m.yaml").read_text()
        with pytest.raises(ValueError, match="write it as a .zip or a folder"):
            canonical(DATA / "bundle").write_yaml(tmp_path / "b.yaml")


# Text the loader accepts: no NUL, no lone surrogates (both refused on input).
scalar_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    max_size=60,
)


@settings(max_examples=300, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(values=st.lists(scalar_text, min_size=1, max_size=5))
def test_any_text_survives_the_canonical_dumper(values):
    """Whatever text an author writes comes back unchanged from the canonical YAML."""
    data = {"items": values, "first": values[0]}
    assert load_yaml(dump_yaml(data).encode(), name="t").data == data
