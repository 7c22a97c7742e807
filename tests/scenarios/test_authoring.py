"""Drafts and their review: the services under the browser editor."""

from __future__ import annotations

import pytest

from scenarios import authoring
from scenarios.format.loader import load_yaml
from scenarios.models import Draft, ScenarioVersion, VersionReview, version_is_approved
from scenarios.selectors import scenario_list
from scenarios.services import scenario_import
from sessions import engine
from tests.scenarios.format_helpers import BASE

pytestmark = pytest.mark.django_db


@pytest.fixture
def version(trainer):
    return scenario_import(source=("essai.yaml", BASE.encode()), user=trainer).version


def _document():
    return load_yaml(BASE.encode(), name="t.yaml").data


def test_a_draft_from_a_version_holds_its_content_and_files(trainer, version):
    draft = authoring.draft_from_version(user=trainer, version=version)
    assert draft.document["slug"] == "essai"
    assert [r["id"] for r in draft.document["roles"]] == ["police", "parquet", "joy", "obs"]
    assert draft.base_version == version and draft.revision == 1
    assert authoring.draft_check(draft).ok


def test_a_stale_save_is_refused_and_overwrites_nothing(trainer, version):
    draft = authoring.draft_from_version(user=trainer, version=version)
    first = {**draft.document, "title": "Premier onglet"}
    authoring.draft_save(draft_id=draft.pk, user=trainer, document=first, revision=1)
    second = {**draft.document, "title": "Second onglet"}
    with pytest.raises(authoring.DraftConflict) as refused:
        authoring.draft_save(draft_id=draft.pk, user=trainer, document=second, revision=1)
    assert refused.value.revision == 2
    draft.refresh_from_db()
    assert draft.document["title"] == "Premier onglet" and draft.revision == 2


def test_only_the_author_edits_a_draft(trainer, second_trainer, version):
    draft = authoring.draft_from_version(user=trainer, version=version)
    with pytest.raises(authoring.AuthoringRefused) as refused:
        authoring.draft_save(
            draft_id=draft.pk, user=second_trainer, document=draft.document, revision=1
        )
    assert refused.value.code == "not-found"


def test_an_invalid_draft_saves_but_does_not_submit(trainer, version):
    draft = authoring.draft_from_version(user=trainer, version=version)
    broken = _document()
    broken["injects"][2]["to"] = ["nobody"]
    draft = authoring.draft_save(draft_id=draft.pk, user=trainer, document=broken, revision=1)
    check = authoring.draft_check(draft)
    assert not check.ok
    assert any(d.path[:2] == ("injects", 2) for d in check.errors)
    with pytest.raises(authoring.AuthoringRefused) as refused:
        authoring.draft_submit(draft_id=draft.pk, user=trainer, revision=draft.revision)
    assert refused.value.code == "invalid" and refused.value.check.errors
    assert ScenarioVersion.objects.count() == 1


def test_the_existing_slug_of_an_edited_scenario_is_fixed(trainer, version):
    draft = authoring.draft_from_version(user=trainer, version=version)
    with pytest.raises(authoring.AuthoringRefused) as refused:
        authoring.draft_save(
            draft_id=draft.pk,
            user=trainer,
            document={**draft.document, "slug": "autre"},
            revision=1,
        )
    assert refused.value.code == "slug-fixed"


def test_submit_then_approve_makes_a_runnable_version(trainer, second_trainer, version):
    draft = authoring.draft_from_version(user=trainer, version=version)
    edited = {**draft.document, "title": "Essai revu"}
    draft = authoring.draft_save(draft_id=draft.pk, user=trainer, document=edited, revision=1)
    submitted = authoring.draft_submit(
        draft_id=draft.pk, user=trainer, revision=draft.revision, note="Titre revu"
    )
    assert submitted.number == 2 and not version_is_approved(submitted)
    # The library still offers v1; the pending version cannot start a live session.
    assert [v.number for v in scenario_list()] == [1]
    with pytest.raises(engine.EngineError) as refused:
        engine.session_create(version=submitted, trainer=trainer, title="Live")
    assert refused.value.code == "not-approved"
    # A rehearsal of it may run (the reviewer tries it).
    engine.session_create(version=submitted, trainer=trainer, title="Essai", rehearsal=True)

    with pytest.raises(authoring.AuthoringRefused) as own:
        authoring.review_approve(version_id=submitted.pk, user=trainer)
    assert own.value.code == "own-work"
    authoring.review_approve(version_id=submitted.pk, user=second_trainer, comment="Bien")
    approved = ScenarioVersion.objects.get(pk=submitted.pk)
    assert version_is_approved(approved)
    assert Draft.objects.get(pk=draft.pk).state == Draft.State.PUBLISHED
    assert [v.number for v in scenario_list()] == [2]
    engine.session_create(version=approved, trainer=trainer, title="Live")
    with pytest.raises(authoring.AuthoringRefused) as twice:
        authoring.review_approve(version_id=submitted.pk, user=second_trainer)
    assert twice.value.code == "decided"


def test_sending_back_needs_a_comment_and_reopens_the_draft(trainer, second_trainer, version):
    draft = authoring.draft_from_version(user=trainer, version=version)
    edited = {**draft.document, "summary": "Un résumé"}
    draft = authoring.draft_save(draft_id=draft.pk, user=trainer, document=edited, revision=1)
    submitted = authoring.draft_submit(draft_id=draft.pk, user=trainer, revision=draft.revision)
    with pytest.raises(authoring.AuthoringRefused) as bare:
        authoring.review_return(version_id=submitted.pk, user=second_trainer, comment="  ")
    assert bare.value.code == "comment-required"
    authoring.review_return(
        version_id=submitted.pk, user=second_trainer, comment="Précisez le résumé"
    )
    review = VersionReview.objects.get(version=submitted)
    assert review.state == VersionReview.State.RETURNED and review.comment
    draft.refresh_from_db()
    assert draft.state == Draft.State.EDITING and draft.base_version == submitted
    # Resubmitting the very same content: nothing to review.
    with pytest.raises(authoring.AuthoringRefused) as same:
        authoring.draft_submit(draft_id=draft.pk, user=trainer, revision=draft.revision)
    assert same.value.code == "unchanged"


def test_a_new_scenario_and_a_duplicate_take_free_slugs(trainer, version):
    with pytest.raises(authoring.AuthoringRefused) as taken:
        authoring.draft_new(user=trainer, slug="essai", title="Encore")
    assert taken.value.code == "slug-taken"
    new = authoring.draft_new(user=trainer, slug="Nouveau cas", title="Nouveau cas")
    assert new.slug == "nouveau-cas" and not authoring.draft_check(new).ok
    copy = authoring.draft_duplicate(user=trainer, version=version, slug="essai-bis")
    assert copy.document["slug"] == "essai-bis" and copy.document["title"] == "Essai (copie)"
    assert authoring.draft_check(copy).ok


def test_attachments_are_uploaded_checked_and_removed(trainer, version):
    draft = authoring.draft_from_version(user=trainer, version=version)
    with pytest.raises(authoring.AuthoringRefused) as unsafe:
        authoring.draft_put_file(draft_id=draft.pk, user=trainer, path="../x.pdf", data=b"%PDF")
    assert unsafe.value.code == "unsafe-path"
    with pytest.raises(authoring.AuthoringRefused) as kind:
        authoring.draft_put_file(draft_id=draft.pk, user=trainer, path="a.exe", data=b"MZ")
    assert kind.value.code == "bad-type"
    authoring.draft_put_file(draft_id=draft.pk, user=trainer, path="docs/pv.pdf", data=b"%PDF-1")
    assert authoring.draft_files(draft) == {"docs/pv.pdf": b"%PDF-1"}
    authoring.draft_remove_file(draft_id=draft.pk, user=trainer, path="docs/pv.pdf")
    assert authoring.draft_files(draft) == {}


def test_a_missing_attachment_is_reported_at_its_field(trainer, version):
    draft = authoring.draft_from_version(user=trainer, version=version)
    document = _document()
    document["injects"][0]["attachments"] = [{"file": "docs/absent.pdf"}]
    check = authoring.draft_check(draft, document)
    (error,) = check.errors
    assert error.code == "missing-attachment"
    assert error.path[:2] == ("injects", 0) and error.anchor.startswith("f-injects-0")
