"""Importing into the library and exporting from it: rows, versions, atomicity,
round trips, and a property test that no input can break an import."""

from __future__ import annotations

import copy
import io
import zipfile
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from scenarios import models as m
from scenarios.format import ScenarioInvalid, canonical_dict, check_scenario
from scenarios.format.export import content_hash
from scenarios.services import (
    scenario_document,
    scenario_export,
    scenario_import,
    scenario_import_many,
)
from tests.factories import UserFactory
from tests.scenarios.format_helpers import BASE, DATA, bundle_files, make_zip

REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "fixtures" / "scenarios"

ROW_MODELS = [
    m.Scenario,
    m.ScenarioVersion,
    m.Role,
    m.Role.contacts.through,
    m.Phase,
    m.Action,
    m.Action.roles.through,
    m.Request,
    m.Request.senders.through,
    m.Countdown,
    m.Countdown.roles.through,
    m.Inject,
    m.Inject.recipients.through,
    m.Blob,
    m.Attachment,
    m.Objective,
    m.Objective.roles.through,
]


def row_counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in ROW_MODELS}


def shipped_sources() -> list[Path]:
    return (
        sorted(p for p in SHIPPED.iterdir() if not p.name.startswith("."))
        if SHIPPED.is_dir()
        else []
    )


def full_zip(yaml_text: str | None = None) -> bytes:
    text = yaml_text if yaml_text is not None else (DATA / "full.yaml").read_text()
    return make_zip({"scenario.yaml": text.encode(), **bundle_files()})


pytestmark = pytest.mark.django_db


class TestImport:
    def test_full_scenario_rows(self):
        user = UserFactory()
        result = scenario_import(source=DATA / "full.yaml", user=user)
        assert (result.created, result.unchanged, result.number, result.slug) == (
            True, False, 1, "full-example",
        )  # fmt: skip
        version = result.version
        assert version.title == "Exemple complet : une mineure au commissariat"
        assert (version.language, version.author_version, version.duration_s) == ("fr", 3, 5400)
        assert version.authors == ["Équipe pédagogique ENM", "Claire Martin"]
        assert version.tags == ["traite", "mineurs", "audition"]
        assert version.imported_by == user
        assert version.source_name == "full.yaml"
        assert version.warnings == []
        assert version.content_hash == check_scenario(DATA / "full.yaml").content_hash

        roles = {role.ident: role for role in version.roles.all()}
        assert list(roles) == ["police", "parquet", "ase", "joy", "formateur"]
        police = roles["police"]
        assert (police.seats, police.profession, police.contacts_explicit) == (2, "police", True)
        assert {r.ident for r in police.contacts.all()} == {"parquet", "ase"}
        assert police.briefing.startswith("Vous êtes de permanence")
        assert roles["joy"].character["age"] == "15"
        assert roles["parquet"].contacts_explicit is False

        injects = {inject.ident: inject for inject in version.injects.all()}
        assert list(injects) == [
            "ouverture", "patrouille", "joy-entre", "pv", "appel-parquet", "placement",
            "ase-avisee", "relance", "trace", "interprete-arrive", "fin",
        ]  # fmt: skip
        T = m.Inject.Trigger  # noqa: N806
        opening = injects["ouverture"]
        assert (opening.to_given, opening.to_all, opening.trigger, opening.at_s) == (
            False, False, T.AT, 0,
        )  # fmt: skip
        assert opening.recipients.count() == 5
        scene = injects["patrouille"]
        assert scene.to_all and scene.sender == "Brigade des réseaux ferrés"
        assert scene.phase.ident == "arrivee"
        cue = injects["joy-entre"]
        assert (cue.trigger, cue.after_inject, cue.after_delay_s) == (T.AFTER, scene, 30)
        assert cue.cue["if"]["on vous demande votre âge"].startswith("Répétez")
        assert [r.ident for r in cue.recipients.all()] == ["joy"]
        call = injects["appel-parquet"]
        assert (call.trigger, call.manual_explicit) == (T.MANUAL, True)
        decision = injects["placement"]
        assert decision.option_ids == ["opp", "rien"]
        assert (decision.free_text, decision.deadline_s) == (True, 600)
        branch = injects["ase-avisee"]
        assert (branch.trigger, branch.when_decision, branch.when_option) == (
            T.DECISION,
            decision,
            "opp",
        )
        assert injects["relance"].when_option == "none"
        on_action = injects["interprete-arrive"]
        assert (on_action.trigger, on_action.when_action.ident) == (T.ACTION, "interprete")

        attachments = list(injects["pv"].attachments.all())
        assert [a.path for a in attachments] == [
            "files/pv-audition.pdf", "files/plan.png", "files/note.txt", "files/consignes.md",
        ]  # fmt: skip
        assert attachments[0].title == "PV d'interpellation"
        assert attachments[0].blob.content_type == "application/pdf"
        assert bytes(attachments[1].blob.data) == bundle_files()["files/plan.png"]

        actions = {action.ident: action for action in version.actions.all()}
        assert actions["note"].once is False
        assert {r.ident for r in actions["note"].roles.all()} == {"police", "parquet"}

        objectives = {o.ident: o for o in version.objectives.all()}
        protect = objectives["protect"]
        assert (protect.measure, protect.measure_decision, protect.measure_option) == (
            "decision", decision, "opp",
        )  # fmt: skip
        assert protect.within_s == 1800
        talk = objectives["talk"]
        assert (talk.measure_from.ident, talk.measure_to.ident) == ("police", "parquet")
        assert objectives["interpreter"].measure_action == actions["interprete"]

    def test_reimport_of_identical_content_writes_nothing(self):
        first = scenario_import(source=DATA / "full.yaml")
        before = row_counts()
        again = scenario_import(source=("full.zip", first.version and full_zip()))
        assert (again.created, again.unchanged, again.number) == (False, True, 1)
        assert again.version == first.version
        assert row_counts() == before

    def test_reformatted_but_equal_content_is_unchanged(self):
        scenario_import(source=("t.yaml", BASE.encode()))
        reformatted = "# a comment\n" + BASE.replace("at: 0\n", "at: 0s\n")
        assert scenario_import(source=("t.yaml", reformatted.encode())).unchanged

    def test_changed_content_makes_the_next_version(self):
        scenario_import(source=("t.yaml", BASE.encode()))
        result = scenario_import(source=("t.yaml", BASE.replace("Début", "Le début").encode()))
        assert (result.created, result.number) == (True, 2)
        third = scenario_import(source=("t.yaml", BASE.replace("Début", "Encore").encode()))
        assert third.number == 3
        back = scenario_import(source=("t.yaml", BASE.encode()))  # equal to v1, not to v3
        assert (back.created, back.number) == (True, 4)
        assert m.Scenario.objects.get(slug="essai").latest == back.version

    def test_warnings_are_returned_and_stored(self):
        text = BASE.replace("    phase: p1\n", "")
        result = scenario_import(source=("w.yaml", text.encode()))
        assert [w.code for w in result.warnings] == ["empty-phase"]
        assert result.version.warnings == [str(result.warnings[0])]
        assert result.version.warnings[0].startswith("w.yaml:")

    def test_check_only_writes_nothing(self):
        before = row_counts()
        result = scenario_import(source=DATA / "full.yaml", check_only=True)
        assert (result.version, result.created, result.unchanged, result.number) == (
            None, False, False, 1,
        )  # fmt: skip
        assert row_counts() == before
        scenario_import(source=DATA / "full.yaml")
        assert scenario_import(source=DATA / "full.yaml", check_only=True).unchanged

    def test_blobs_are_shared_by_content(self):
        scenario_import(source=DATA / "full.yaml")
        scenario_import(source=DATA / "bundle")
        # bundle/pv.pdf and bundle/images/plan.png are the same bytes as in full.yaml
        assert m.Blob.objects.count() == 4
        assert m.Attachment.objects.count() == 6

    def test_injects_are_created_dependencies_first(self):
        # `early` waits for `late`, written after it: rows are immutable, so `late` must
        # exist before `early` is created.
        text = BASE + "  - id: early\n    kind: call\n    to: police\n    title: E\n"
        text += "    after: {inject: late, delay: 1m}\n"
        text += "  - id: late\n    kind: call\n    to: police\n    title: L\n    at: 3m\n"
        version = scenario_import(source=("t.yaml", text.encode())).version
        early = version.injects.get(ident="early")
        assert early.after_inject.ident == "late"
        assert [i.ident for i in version.injects.order_by("order")][-2:] == ["early", "late"]

    def test_a_chain_longer_than_the_recursion_limit(self):
        # `after` chains are followed with loops, not recursion.
        text = BASE.replace("    deadline: 5m\n", "")
        text += "  - id: c0\n    kind: call\n    to: police\n    title: C\n"
        text += "    when: {decision: dec, option: none}\n"
        text += "".join(
            f"  - id: c{i}\n    kind: call\n    to: police\n    title: C\n"
            f"    after: {{inject: c{i - 1}}}\n"
            for i in range(1, 1200)
        )
        result = scenario_import(source=("long.yaml", text.encode()))
        assert [w.code for w in result.warnings] == ["never-fires"] * 1200
        assert result.version.injects.get(ident="c1199").after_inject.ident == "c1198"


class TestAtomicity:
    def test_a_failing_import_leaves_the_database_unchanged(self):
        scenario_import(source=DATA / "full.yaml")
        before = row_counts()
        broken = (DATA / "full.yaml").read_text().replace("to: [ase]", "to: [asso]")
        with pytest.raises(ScenarioInvalid) as caught:
            scenario_import(source=("full.zip", full_zip(broken)))
        assert [d.code for d in caught.value.errors] == ["unknown-role"]
        assert row_counts() == before

    def test_a_failure_while_writing_rolls_everything_back(self, monkeypatch):
        from scenarios import services

        def explode(self, order, spec):
            raise RuntimeError("disk full")

        monkeypatch.setattr(services._VersionWriter, "write_objective", explode)
        before = row_counts()
        with pytest.raises(RuntimeError):
            scenario_import(source=DATA / "full.yaml")
        assert row_counts() == before

    def test_many_sources_all_or_nothing(self):
        before = row_counts()
        bad = BASE.replace("slug: essai", "slug: autre").replace("to: [joy]", "to: [jo]")
        with pytest.raises(ScenarioInvalid) as caught:
            scenario_import_many(
                sources=[DATA / "minimal.yaml", ("bad.yaml", bad.encode()), DATA / "full.yaml"]
            )
        assert [(d.file, d.code) for d in caught.value.errors] == [("bad.yaml", "unknown-role")]
        assert row_counts() == before
        results = scenario_import_many(sources=[DATA / "minimal.yaml", DATA / "full.yaml"])
        assert [(r.slug, r.number, r.created) for r in results] == [
            ("minimal", 1, True), ("full-example", 1, True),
        ]  # fmt: skip

    def test_errors_of_every_source_are_reported(self):
        with pytest.raises(ScenarioInvalid) as caught:
            scenario_import_many(sources=[("a.yaml", b"format: x\n"), ("b.yaml", b"[\n")])
        assert [(d.file, d.code) for d in caught.value.errors] == [
            ("a.yaml", "unsupported-format"), ("b.yaml", "yaml-syntax"),
        ]  # fmt: skip


class TestExport:
    @pytest.mark.parametrize(
        "source", ["minimal.yaml", "full.yaml", "external.yaml", "bundle", "law.yaml"]
    )
    def test_import_export_import(self, source):
        checked = check_scenario(DATA / source)
        version = scenario_import(source=DATA / source).version
        exported = scenario_export(version=version)
        assert exported.yaml == checked.exported.yaml
        assert exported.files == checked.files
        assert exported.content_hash == version.content_hash
        doc, _files = scenario_document(version=version)
        assert canonical_dict(doc) == canonical_dict(checked.doc)

        again = scenario_import(source=("again.zip", exported.to_zip()))
        assert again.unchanged and again.version == version

    @pytest.mark.parametrize(
        "source", ["minimal.yaml", "full.yaml", "external.yaml", "bundle", "law.yaml"]
    )
    def test_export_import_export_is_byte_identical(self, source, tmp_path):
        first = scenario_export(version=scenario_import(source=DATA / source).version)
        # Through the database again, under another slug, so that a new version is made.
        renamed = first.yaml.replace(
            f"slug: {check_scenario(DATA / source).slug}\n", "slug: copie\n"
        )
        entries = {"scenario.yaml": renamed.encode(), **first.files}
        second = scenario_export(
            version=scenario_import(source=("c.zip", make_zip(entries))).version
        )
        assert second.yaml == renamed
        assert second.files == first.files
        first.write_folder(tmp_path / "a")
        third = scenario_export(version=scenario_import(source=tmp_path / "a").version)
        assert third.to_zip() == first.to_zip()

    def test_import_keeps_what_is_explicit(self):
        version = scenario_import(source=DATA / "external.yaml").version
        exported = scenario_export(version=version).yaml
        assert "manual: true" in exported
        assert "contacts:\n      - prosecutor\n" in exported
        assert "x-" not in exported


class TestExternalAuthor:
    def test_a_scenario_written_from_the_spec_imports_unchanged(self):
        result = scenario_import(source=DATA / "external.yaml")
        assert result.warnings == []
        version = result.version
        assert version.tags == ["2019-05-14", "yes", "on"]  # YAML 1.2: all text
        assert version.duration_s == 3600
        injects = {i.ident: i for i in version.injects.all()}
        assert [r.ident for r in injects["first-call"].recipients.all()] == ["prosecutor"]
        assert injects["first-call"].at_s == 120
        assert injects["mother-arrives"].after_delay_s == 300
        assert injects["mother-arrives"].cue == {"say": "Where is my son?", "emotion": "no"}
        assert injects["custody"].options == [
            {"id": "extend", "label": "yes"}, {"id": "release", "label": "no"},
        ]  # fmt: skip
        assert injects["lawyer-call"].manual_explicit is True
        lawyer = version.roles.get(ident="lawyer")
        assert (lawyer.seats, [c.ident for c in lawyer.contacts.all()]) == (2, ["prosecutor"])
        assert version.roles.get(ident="mother").character == {"age": "41", "languages": "English"}
        objective = version.objectives.get()
        assert (objective.measure_option, objective.within_s) == ("release", 1500)
        assert [r.ident for r in objective.roles.all()] == ["prosecutor"]


class TestShippedScenarios:
    def test_there_is_a_shipped_scenario(self):
        assert shipped_sources(), f"no shipped scenario in {SHIPPED}"

    def test_every_shipped_scenario_round_trips(self):
        for source in shipped_sources():
            checked = check_scenario(source)
            assert [str(w) for w in checked.warnings] == [], source
            version = scenario_import(source=source).version
            exported = scenario_export(version=version)
            assert exported.yaml == checked.exported.yaml
            assert exported.files == checked.files
            doc, _files = scenario_document(version=version)
            assert canonical_dict(doc) == canonical_dict(checked.doc)
            again = check_scenario(("again.zip", exported.to_zip()))
            assert again.exported.to_zip() == exported.to_zip()
            assert scenario_import(source=source).unchanged  # `make run` re-imports it


# --- the property test ---------------------------------------------------------------------

SEED = yaml.safe_load((DATA / "full.yaml").read_text())
# Uploaded as a lone YAML file, a scenario can carry no attachments.
LONE_SEED = copy.deepcopy(SEED)
for _inject in LONE_SEED["injects"]:
    _inject.pop("attachments", None)
KEYS = sorted(
    {"id", "kind", "to", "title", "at", "after", "when", "manual", "options", "cue", "roles",
     "phase", "x-note", "free_text", "deadline", "measure", "contacts", "profession", "all"}
)  # fmt: skip
IDS = ["police", "parquet", "joy", "placement", "opp", "none", "any", "all", "interprete",
       "arrivee", "patrouille", "files/plan.png", "../x.pdf"]  # fmt: skip

leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-5, max_value=10**7),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.sampled_from(IDS + ["12m", "1h30m", "90s", "abc", "", "yes", "2024-01-05"]),
    st.text(max_size=12),
)
value = st.recursive(
    leaf,
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(st.sampled_from(KEYS), children, max_size=3),
    ),
    max_leaves=6,
)


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for key, child in node.items():
            yield from _paths(child, (*prefix, key))
    elif isinstance(node, list):
        for index, child in enumerate(node):
            yield from _paths(child, (*prefix, index))


def _parent(doc, path):
    for part in path[:-1]:
        doc = doc[part]
    return doc


@st.composite
def mutated_scenario(draw, seed: dict) -> bytes:
    doc = copy.deepcopy(seed)
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        paths = [p for p in _paths(doc) if p]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent, key = _parent(doc, path), path[-1]
        action = draw(st.sampled_from(["drop", "replace", "duplicate", "add-key", "swap-type"]))
        if action == "drop":
            del parent[key]
        elif action == "replace":
            parent[key] = draw(value)
        elif action == "duplicate" and isinstance(parent, list):
            parent.append(copy.deepcopy(parent[key]))  # same id twice
        elif action == "add-key" and isinstance(parent[key], dict):
            parent[key][draw(st.sampled_from(KEYS))] = draw(value)
        elif action == "swap-type":
            current = parent[key]
            parent[key] = [current] if not isinstance(current, list) else {"x": current}
    text = yaml.safe_dump(doc, allow_unicode=True, sort_keys=draw(st.booleans()))
    data = text.encode("utf-8")
    how = draw(st.sampled_from(["as-is", "as-is", "truncate", "flip-bytes"]))
    if how == "truncate":
        data = data[: draw(st.integers(min_value=0, max_value=len(data)))]
    elif how == "flip-bytes":
        data = bytearray(data)
        for _ in range(draw(st.integers(min_value=1, max_value=4))):
            data[draw(st.integers(min_value=0, max_value=len(data) - 1))] = draw(
                st.integers(min_value=0, max_value=255)
            )
        data = bytes(data)
    return data


garbage = st.one_of(
    st.binary(max_size=300),
    st.text(max_size=300).map(lambda t: t.encode("utf-8", "surrogatepass")),
    st.sampled_from([b"", b"~", b"[]", b"- a", b"format: simtrain.scenario/1", b"a: &x 1\nb: *x"]),
)


@st.composite
def source(draw):
    kind = draw(st.sampled_from(["zip", "zip", "yaml", "garbage-yaml", "garbage-zip"]))
    if kind == "zip":
        scenario = draw(mutated_scenario(SEED))
        return ("fuzz.zip", make_zip({"scenario.yaml": scenario, **bundle_files()}))
    if kind == "yaml":
        return ("fuzz.yaml", draw(mutated_scenario(LONE_SEED)))
    if kind == "garbage-yaml":
        return ("fuzz.yaml", draw(garbage))
    return ("fuzz.zip", draw(garbage))


@settings(
    max_examples=150,
    deadline=None,
    derandomize=True,  # the same examples on every run: a failure is reproducible as is
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(upload=source())
def test_no_input_breaks_an_import(upload):
    """Any input ends as a complete import or as ScenarioInvalid with at least one error,
    and a refused input changes no row."""
    before = row_counts()
    try:
        result = scenario_import(source=upload)
    except ScenarioInvalid as invalid:
        event("refused: " + ", ".join(sorted({d.code for d in invalid.errors})))
        assert invalid.errors
        assert all(d.file and d.code for d in invalid.diagnostics)
        assert row_counts() == before
        return
    event("imported")
    after = row_counts()
    if result.unchanged:
        assert after == before
        return
    assert after["ScenarioVersion"] == before["ScenarioVersion"] + 1
    exported = scenario_export(version=result.version)
    assert content_hash(exported.yaml, exported.files) == result.version.content_hash


def test_property_seed_is_valid():
    """The mutations start from a scenario that imports (else they prove little)."""
    assert check_scenario(("seed.zip", full_zip())).slug == "full-example"


def test_zip_of_the_seed_is_readable():
    with zipfile.ZipFile(io.BytesIO(full_zip())) as archive:
        assert "scenario.yaml" in archive.namelist()
