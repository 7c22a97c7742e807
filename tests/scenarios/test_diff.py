"""The readable diff of two scenarios: the pure comparison, and its page."""

from __future__ import annotations

import copy
import shutil
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import translation

from scenarios.diff import Segment, diff_documents, text_segments
from scenarios.format import canonical_dict, check_scenario
from scenarios.services import scenario_import
from scenarios.version_diff import diff_draft, diff_versions
from tests.factories import UserFactory
from tests.scenarios.format_helpers import DATA, make_zip

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "scenarios" / "nigerian-minors"


@pytest.fixture(scope="module")
def full() -> dict:
    return canonical_dict(check_scenario(DATA / "full.yaml").doc)


def fields(change) -> dict[str, tuple[str, str, str]]:
    return {f.path: (f.kind, f.old, f.new) for f in change.changes}


# --- the pure comparison -----------------------------------------------------------------


def test_identical_documents_have_no_difference(full):
    diff = diff_documents(full, copy.deepcopy(full), {"a.txt": b"x"}, {"a.txt": b"x"})
    assert diff.identical
    assert diff.summary() == []
    assert diff.summary_text == "Aucune différence"


def test_injects_added_removed_and_changed_field_by_field(full):
    new = copy.deepcopy(full)
    new["injects"] = [i for i in new["injects"] if i["id"] != "relance"]
    placement = next(i for i in new["injects"] if i["id"] == "placement")
    placement["options"][1]["label"] = "Rien du tout"
    placement["deadline"] = "15m"
    del placement["free_text"]
    ase = next(i for i in new["injects"] if i["id"] == "ase-avisee")
    ase["when"]["option"] = "rien"
    new["injects"].append(
        {"id": "bilan", "kind": "message", "to": ["police"], "title": "Bilan", "at": "1h"}
    )

    injects = diff_documents(full, new).list("injects")

    assert [(i.id, i.label) for i in injects.added] == [("bilan", "Bilan")]
    assert {f.path: f.new for f in injects.added[0].fields} == {
        "id": "bilan",
        "kind": "message",
        "to": "[police]",
        "title": "Bilan",
        "at": "1h",
    }
    assert [i.id for i in injects.removed] == ["relance"]
    assert injects.removed[0].label == "Le commissariat relance"
    changed = {c.id: c for c in injects.changed}
    assert set(changed) == {"placement", "ase-avisee"}
    assert fields(changed["placement"]) == {
        "options[rien].label": ("changed", "Aucune mesure", "Rien du tout"),
        "free_text": ("removed", "true", ""),
        "deadline": ("changed", "10m", "15m"),
    }
    assert fields(changed["ase-avisee"]) == {"when.option": ("changed", "opp", "rien")}
    # The data path points into the new document, as the editor's diagnostics do.
    when = changed["ase-avisee"].changes[0]
    assert when.location == ("injects", new["injects"].index(ase), "when", "option")
    assert injects.moved == ()


def test_a_move_is_reported_apart_from_content_changes(full):
    new = copy.deepcopy(full)
    moved = new["injects"].pop(0)  # "ouverture" goes last
    new["injects"].append(moved)

    injects = diff_documents(full, new).list("injects")

    assert injects.changed == () and injects.added == () and injects.removed == ()
    assert [(m.id, m.old_position, m.new_position) for m in injects.moved] == [
        ("ouverture", 1, len(new["injects"]))
    ]


def test_an_item_both_moved_and_edited_is_in_both_lists(full):
    new = copy.deepcopy(full)
    new["roles"].reverse()
    new["roles"][0]["title"] = "Observatrice"  # formateur, now first
    roles = diff_documents(full, new).list("roles")
    assert [c.id for c in roles.changed] == ["formateur"]
    assert roles.changed[0].old_label == "Observateur"
    assert roles.changed[0].label == "Observatrice"
    # Reversing five items: four moves explain it, the one left stays put.
    assert len(roles.moved) == 4


def test_nested_lists_by_id_by_position_and_as_values(full):
    new = copy.deepcopy(full)
    placement = next(i for i in new["injects"] if i["id"] == "placement")
    placement["options"].reverse()
    placement["options"].append({"id": "autre", "label": "Autre mesure"})
    pv = next(i for i in new["injects"] if i["id"] == "pv")
    pv["attachments"][1]["title"] = "Plan du commissariat"  # matched by file
    pv["to"] = ["police"]
    joy = next(i for i in new["injects"] if i["id"] == "joy-entre")
    joy["cue"]["if"]["on vous propose à manger"] = "Refusez."
    new["objectives"][2]["measure"]["message"]["to"] = "ase"

    changed = {c.id: fields(c) for c in diff_documents(full, new).list("injects").changed}
    assert changed["placement"] == {
        "options[autre]": ("added", "", "{id: autre, label: Autre mesure}"),
        "options": ("moved", "[opp, rien]", "[rien, opp]"),
    }
    assert changed["pv"] == {
        "to": ("changed", "[police, parquet]", "[police]"),
        "attachments[files/plan.png].title": ("added", "", "Plan du commissariat"),
    }
    assert changed["joy-entre"] == {
        'cue.if["on vous propose à manger"]': (
            "changed",
            "Acceptez, remerciez en anglais.",
            "Refusez.",
        ),
    }
    objectives = diff_documents(full, new).list("objectives")
    assert fields(objectives.changed[0]) == {"measure.message.to": ("changed", "parquet", "ase")}


def test_metadata_fiction_and_safety_field_by_field(full):
    law = canonical_dict(check_scenario(DATA / "law.yaml").doc)
    new = copy.deepcopy(law)
    new["title"] = "Nouveau titre"
    new["tags"] = ["gav"]
    new["fiction"]["jumps"][1]["to"] = "2026-03-26T14:00"
    del new["safety"]  # back to the default stop

    metadata = {f.path: (f.kind, f.old, f.new) for f in diff_documents(law, new).metadata}
    assert metadata["title"] == ("changed", law["title"], "Nouveau titre")
    assert metadata["tags"][0] == "added" and metadata["tags"][2] == "[gav]"
    assert metadata["fiction.jumps[1].to"] == ("changed", "2026-03-25T14:00:30", "2026-03-26T14:00")
    assert metadata["safety.stop"] == ("removed", "alert", "")
    assert set(metadata) == {"title", "tags", "fiction.jumps[1].to", "safety.stop"}


def test_attachments_compared_by_hash():
    old = {"a.txt": b"un", "b.pdf": b"%PDF-1", "c.png": b"png"}
    new = {"a.txt": b"un", "b.pdf": b"%PDF-2", "d.md": b"# d"}
    doc = {"format": "simtrain.scenario/1", "slug": "s", "title": "S", "language": "fr"}
    files = diff_documents(doc, doc, old, new).attachments
    assert [(f.path, f.kind) for f in files] == [
        ("b.pdf", "changed"),
        ("c.png", "removed"),
        ("d.md", "added"),
    ]
    changed = files[0]
    assert changed.old_sha256 != changed.new_sha256 and changed.old_size == 6
    assert files[1].new_sha256 == "" and files[1].new_size is None


def test_from_nothing_everything_is_added_and_back(full):
    added = diff_documents({}, full)
    assert [len(d.added) for d in added.lists] == [5, 2, 2, 3, 0, 0, 11]
    assert all(not d.removed and not d.changed for d in added.lists)
    assert added.summary()[0] == "Informations générales : 9 modifications"
    assert "Injects : 11 ajouts" in added.summary()
    removed = diff_documents(full, {"roles": [], "injects": []})
    assert [len(d.removed) for d in removed.lists] == [5, 2, 2, 3, 0, 0, 11]


def test_a_broken_draft_is_compared_without_failing(full):
    broken = {
        "title": 12,
        "injects": [{"title": "sans id"}, {"id": "ouverture"}, {"id": "ouverture"}, "texte"],
        "roles": "pas une liste",
    }
    diff = diff_documents(full, broken)
    metadata = {f.path: (f.kind, f.old, f.new) for f in diff.metadata}
    assert metadata["title"][2] == "12"
    assert metadata["roles"][0] == "changed"  # not a list: compared as a value
    assert diff.list("roles").empty
    injects = diff.list("injects")
    assert {i.id for i in injects.added} == {"#1", "#3", "#4"}  # matched by position
    assert "ouverture" in {c.id for c in injects.changed}


def test_the_summary_counts_each_part_in_french_and_english(full):
    new = copy.deepcopy(full)
    new["injects"] = new["injects"][1:]
    new["injects"][0]["title"] = "Autre"
    new["phases"].append({"id": "fin", "title": "Fin"})
    diff = diff_documents(full, new)
    assert diff.summary() == [
        "Phases : 1 ajout",
        "Injects : 1 modification, 1 suppression",
    ]
    with translation.override("en"):
        assert diff.summary_text == "Phases: 1 added; Injects: 1 changed, 1 removed"


def test_long_texts_show_the_words_that_changed():
    old = "Première ligne inchangée.\nVous êtes seule ce soir avec votre binôme.\n"
    new = "Première ligne inchangée.\nVous êtes seule cette nuit avec votre binôme.\n"
    segments = text_segments(old, new)
    assert [s.text for s in segments.old if s.kind == "removed"] == ["ce", "soir"]
    assert [s.text for s in segments.new if s.kind == "added"] == ["cette", "nuit"]
    assert segments.old[0] == Segment("same", "Première ligne inchangée.\nVous êtes seule ")
    assert "".join(s.text for s in segments.old) == old
    assert "".join(s.text for s in segments.new) == new
    diff = diff_documents({"summary": old}, {"summary": new})
    assert diff.metadata[0].long
    assert diff.metadata[0].segments == segments


# --- versions from the database ----------------------------------------------------------


V1 = """\
format: simtrain.scenario/1
slug: audition-diff
title: Audition d'une mineure
language: fr
roles:
  - id: police
    title: Enquêtrice
    kind: trainee
    profession: police
injects:
  - id: appel
    kind: call
    to: [police]
    title: Appel du commissariat
    at: 2m
  - id: fin
    kind: broadcast
    to: all
    title: Fin de l'exercice
    at: 30m
"""
V2 = V1.replace("at: 30m", "at: 45m").replace(
    "    title: Appel du commissariat\n",
    "    title: Appel du commissariat\n    attachments:\n      - file: notes/consignes.txt\n",
)


@pytest.fixture
def versions(trainer):
    v1 = scenario_import(source=("v1.yaml", V1.encode()), user=trainer).version
    data = make_zip({"scenario.yaml": V2.encode(), "notes/consignes.txt": b"Restez calme.\n"})
    v2 = scenario_import(source=("v2.zip", data), user=trainer).version
    return v1, v2


@pytest.mark.django_db
def test_diff_versions_reads_both_versions_and_their_files(versions):
    v1, v2 = versions
    diff = diff_versions(v1, v2)
    changed = diff.list("injects").changed
    assert {c.id: fields(c) for c in changed} == {
        "appel": {"attachments[notes/consignes.txt]": ("added", "", "{file: notes/consignes.txt}")},
        "fin": {"at": ("changed", "30m", "45m")},
    }
    assert [(a.path, a.kind) for a in diff.attachments] == [("notes/consignes.txt", "added")]
    assert diff_versions(v2, v2).identical


@pytest.mark.django_db
def test_a_draft_is_compared_in_canonical_form_with_its_base(versions):
    v1, _ = versions
    draft = canonical_dict(check_scenario(("v1.yaml", V1.encode())).doc)
    draft["injects"][1]["at"] = 1800  # seconds: the same as 30m once canonical
    draft["injects"][0]["to"] = "police"
    assert diff_draft(v1, draft, {}).identical
    draft["title"] = "Autre titre"
    assert [f.path for f in diff_draft(v1, draft, {}).metadata] == ["title"]
    assert len(diff_draft(None, draft, {}).list("injects").added) == 2
    invalid = {**draft, "injects": [{"id": "x"}]}  # compared as it is
    assert [c.id for c in diff_draft(v1, invalid, {}).list("injects").removed] == ["appel", "fin"]


# --- the page ----------------------------------------------------------------------------


def diff_url(slug: str = "audition-diff", **params) -> str:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return reverse("scenarios:diff", args=[slug]) + (f"?{query}" if query else "")


@pytest.mark.django_db
def test_the_page_shows_changes_in_french(trainer_client, versions):
    response = trainer_client.get(diff_url(**{"from": 1, "to": 2}))
    assert response.status_code == 200
    html = response.content.decode()
    assert "De v1 à v2" in html
    assert "Injects : 2 modifications" in html
    assert "Pièces jointes : 1 ajout" in html
    assert "<del>30m</del>" in html and "<ins>45m</ins>" in html
    assert "notes/consignes.txt" in html
    reverse_order = trainer_client.get(diff_url(**{"from": "v2", "to": "v1"}))
    assert reverse_order.status_code == 200
    assert "<del>45m</del>" in reverse_order.content.decode()
    assert "à rebours" in reverse_order.content.decode()


@pytest.mark.django_db
def test_the_page_in_english(trainer_client, versions):
    trainer_client.post(reverse("set_language"), {"language": "en", "next": "/"})
    html = trainer_client.get(diff_url(**{"from": 1, "to": 2})).content.decode()
    assert "From v1 to v2" in html and "Injects: 2 changed" in html


@pytest.mark.django_db
def test_the_same_version_is_identical(trainer_client, versions):
    html = trainer_client.get(diff_url(**{"from": 2, "to": 2})).content.decode()
    assert "C’est la même version : il n’y a rien à comparer." in html


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({}, "manquant : from, to"),
        ({"from": 1}, "manquant : to"),
        ({"from": "un", "to": 2}, "« un » (paramètre from) n’est pas un numéro de version"),
        ({"from": 1, "to": "-2"}, "« -2 » (paramètre to) n’est pas un numéro de version"),
    ],
)
def test_bad_parameters_are_a_400_that_says_why(trainer_client, versions, params, message):
    response = trainer_client.get(diff_url(**params))
    assert response.status_code == 400
    assert message in response.content.decode()


@pytest.mark.django_db
def test_a_missing_version_or_scenario_is_a_404(trainer_client, versions):
    response = trainer_client.get(diff_url(**{"from": 1, "to": 9}))
    assert response.status_code == 404
    assert "n’a pas de version 9 (versions existantes : v1, v2)" in response.content.decode()
    assert trainer_client.get(diff_url("nope", **{"from": 1, "to": 2})).status_code == 404


@pytest.mark.django_db
def test_only_trainers_see_it(client, groups, versions):
    url = diff_url(**{"from": 1, "to": 2})
    response = client.get(url)
    assert response.status_code == 302 and response.url.startswith(reverse("login"))
    client.force_login(UserFactory(username="nobody"))
    assert client.get(url).status_code == 403


@pytest.mark.django_db
def test_the_history_links_to_it(trainer_client, versions):
    html = trainer_client.get(reverse("scenarios:history", args=["audition-diff"])).content.decode()
    assert f'href="{reverse("scenarios:diff", args=["audition-diff"])}?from=1&amp;to=2"' in html
    assert 'name="from"' in html and 'name="to"' in html


@pytest.mark.django_db
def test_the_shipped_scenario_edited_renders(trainer_client, trainer, tmp_path):
    version = scenario_import(source=FIXTURE, user=trainer).version
    folder = tmp_path / "edited"
    shutil.copytree(FIXTURE, folder)
    text = (folder / "scenario.yaml").read_text(encoding="utf-8")
    edited = text.replace('at: 30s\n    title: "Bienvenue', 'at: 45s\n    title: "Bienvenue', 1)
    (folder / "scenario.yaml").write_text(edited.replace("duration: 2h30m\n", "duration: 2h45m\n"))
    assert scenario_import(source=folder, user=trainer).version.number == 2
    response = trainer_client.get(diff_url(version.scenario.slug, **{"from": 1, "to": 2}))
    assert response.status_code == 200
    html = response.content.decode()
    assert "<li>Informations générales : 1 modification</li>" in html
    assert "<li>Injects : 1 modification</li>" in html
    assert "<del>30s</del>" in html and "<ins>45s</ins>" in html
    assert "<ins>2h45m</ins>" in html
