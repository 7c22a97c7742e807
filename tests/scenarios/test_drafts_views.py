"""The drafts and review pages: who may see and do what, and what each refusal says."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from scenarios import authoring
from scenarios.models import Draft, Scenario, ScenarioVersion, VersionReview
from scenarios.services import scenario_import
from tests.factories import UserFactory
from tests.scenarios.format_helpers import BASE

pytestmark = pytest.mark.django_db


@pytest.fixture
def reviewer_client(second_trainer):
    client = Client()
    client.force_login(second_trainer)
    return client


@pytest.fixture
def version(trainer):
    return scenario_import(source=("essai.yaml", BASE.encode()), user=trainer).version


def _edited(trainer, version, title="Essai revu") -> Draft:
    draft = authoring.draft_from_version(user=trainer, version=version)
    return authoring.draft_save(
        draft_id=draft.pk, user=trainer, document={**draft.document, "title": title}, revision=1
    )


def _submitted(trainer, version) -> ScenarioVersion:
    draft = _edited(trainer, version)
    return authoring.draft_submit(draft_id=draft.pk, user=trainer, revision=draft.revision)


def _edit_path(draft) -> str:
    return f"/scenarios/drafts/{draft.pk}/"


# --- access ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["scenarios:drafts", "scenarios:draft_new", "scenarios:reviews"])
def test_anonymous_is_sent_to_log_in(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 302 and "/login" in response["Location"]


def test_a_trainee_is_refused(client, db):
    client.force_login(UserFactory(username="stagiaire"))
    assert client.get(reverse("scenarios:drafts")).status_code == 403


def test_another_trainer_cannot_submit_or_discard_my_draft(trainer, reviewer_client, version):
    draft = _edited(trainer, version)
    submit = reviewer_client.post(
        reverse("scenarios:draft_submit", args=[draft.pk]), {"revision": draft.revision}
    )
    discard = reviewer_client.post(
        reverse("scenarios:draft_discard", args=[draft.pk]), {"confirm": "yes"}
    )
    assert submit.status_code == 404 and discard.status_code == 404
    draft.refresh_from_db()
    assert draft.state == Draft.State.EDITING


def test_my_drafts_lists_only_mine(trainer, trainer_client, second_trainer, version):
    mine = _edited(trainer, version, title="Le mien")
    authoring.draft_new(user=second_trainer, slug="autre", title="Celui de la relectrice")
    page = trainer_client.get(reverse("scenarios:drafts")).content.decode()
    assert "Le mien" in page and _edit_path(mine) in page
    assert "Celui de la relectrice" not in page


# --- starting a draft ------------------------------------------------------------------


def test_a_new_draft_opens_in_the_editor(trainer, trainer_client):
    response = trainer_client.post(
        reverse("scenarios:draft_new"), {"slug": "Nouveau Cas", "title": "Cas", "language": "fr"}
    )
    draft = Draft.objects.get(author=trainer)
    assert draft.slug == "nouveau-cas"
    assert response.status_code == 302 and response["Location"] == _edit_path(draft)


def test_a_taken_slug_is_refused_beside_the_form_and_nothing_is_created(trainer_client, version):
    response = trainer_client.post(
        reverse("scenarios:draft_new"), {"slug": "essai", "title": "X", "language": "fr"}
    )
    assert response.status_code == 400
    assert "Un scénario « essai » existe déjà" in response.content.decode()
    assert not Draft.objects.exists()


def test_an_unknown_language_is_refused(trainer_client):
    response = trainer_client.post(
        reverse("scenarios:draft_new"), {"slug": "cas", "title": "X", "language": "xx"}
    )
    assert response.status_code == 400 and not Draft.objects.exists()


def test_edit_a_version_starts_a_draft_of_it(trainer, trainer_client, version):
    response = trainer_client.post(reverse("scenarios:draft_from_version", args=["essai", 1]))
    draft = Draft.objects.get(author=trainer)
    assert draft.base_version == version and response["Location"] == _edit_path(draft)


def test_edit_needs_a_post(trainer_client, version):
    assert (
        trainer_client.get(reverse("scenarios:draft_from_version", args=["essai", 1])).status_code
        == 405
    )


def test_duplicate_under_a_new_slug(trainer, trainer_client, version):
    url = reverse("scenarios:draft_duplicate", args=["essai", 1])
    assert trainer_client.get(url).status_code == 200
    response = trainer_client.post(url, {"slug": "essai-bis", "title": "Essai bis"})
    draft = Draft.objects.get(author=trainer)
    assert draft.slug == "essai-bis" and draft.base_version is None
    assert response["Location"] == _edit_path(draft)
    refused = trainer_client.post(url, {"slug": "essai", "title": ""})
    assert refused.status_code == 400 and Draft.objects.count() == 1


# --- submitting ------------------------------------------------------------------------


def test_submit_makes_the_next_version_pending(trainer, trainer_client, version):
    draft = _edited(trainer, version)
    response = trainer_client.post(
        reverse("scenarios:draft_submit", args=[draft.pk]),
        {"revision": draft.revision, "note": "Titre revu"},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == "/scenarios/essai/v2/"
    page = response.content.decode()
    assert "Version 2 soumise" in page and "en attente de relecture" in page
    assert "Lancer une session" not in page
    assert VersionReview.objects.get(version__number=2).note == "Titre revu"


def test_an_invalid_draft_is_refused_with_links_to_its_fields(trainer, trainer_client):
    draft = authoring.draft_new(user=trainer, slug="vide", title="Vide")
    response = trainer_client.post(
        reverse("scenarios:draft_submit", args=[draft.pk]), {"revision": draft.revision}
    )
    page = response.content.decode()
    assert response.status_code == 400 and "erreur(s)" in page
    assert f'href="{_edit_path(draft)}#f-' in page
    assert not Scenario.objects.filter(slug="vide").exists()


def test_a_stale_submit_is_a_conflict(trainer, trainer_client, version):
    draft = _edited(trainer, version)
    response = trainer_client.post(
        reverse("scenarios:draft_submit", args=[draft.pk]), {"revision": 1}
    )
    assert response.status_code == 409 and "Rechargez-le" in response.content.decode()
    assert ScenarioVersion.objects.count() == 1


def test_an_unchanged_draft_has_nothing_to_review(trainer, trainer_client, version):
    draft = authoring.draft_from_version(user=trainer, version=version)
    response = trainer_client.post(
        reverse("scenarios:draft_submit", args=[draft.pk]), {"revision": 1}
    )
    assert response.status_code == 400 and "rien à relire" in response.content.decode()


def test_discard_needs_confirmation(trainer, trainer_client, version):
    draft = _edited(trainer, version)
    url = reverse("scenarios:draft_discard", args=[draft.pk])
    assert trainer_client.post(url).status_code == 400 and Draft.objects.exists()
    response = trainer_client.post(url, {"confirm": "yes"})
    assert response["Location"] == reverse("scenarios:drafts") and not Draft.objects.exists()


# --- reviewing -------------------------------------------------------------------------


def test_the_queue_offers_the_decision_to_others_only(
    trainer, trainer_client, reviewer_client, version
):
    submitted = _submitted(trainer, version)
    own = trainer_client.get(reverse("scenarios:reviews")).content.decode()
    assert "en attente d’un second formateur" in own and "Approuver" not in own
    other = reviewer_client.get(reverse("scenarios:reviews")).content.decode()
    assert "Approuver" in other
    assert "/scenarios/essai/diff/?from=1&amp;to=2" in other
    assert reverse("scenarios:receives", args=["essai", submitted.number]) in other


def test_approve_makes_the_version_launchable(trainer, reviewer_client, version):
    submitted = _submitted(trainer, version)
    url = reverse("scenarios:review_decide", args=["essai", 2])
    response = reviewer_client.post(url, {"decision": "approve", "comment": "Bien"})
    assert response["Location"] == reverse("scenarios:reviews")
    page = reviewer_client.get(reverse("scenarios:version", args=["essai", 2])).content.decode()
    assert "Approuvée par" in page and "Lancer une session" in page
    new = reviewer_client.get(reverse("sessions:new", args=[submitted.pk]))
    assert new.status_code == 200


def test_return_needs_a_comment_and_reopens_the_draft(
    trainer, trainer_client, reviewer_client, version
):
    _submitted(trainer, version)
    url = reverse("scenarios:review_decide", args=["essai", 2])
    refused = reviewer_client.post(url, {"decision": "return", "comment": " "})
    assert refused.status_code == 400
    assert VersionReview.objects.get().state == VersionReview.State.PENDING
    reviewer_client.post(url, {"decision": "return", "comment": "Revoir la phase 2"})
    assert Draft.objects.get().state == Draft.State.EDITING
    page = trainer_client.get(reverse("scenarios:drafts")).content.decode()
    assert "Revoir la phase 2" in page and "renvoyée par" in page


def test_own_work_and_decided_reviews_are_refused(
    trainer, trainer_client, reviewer_client, version
):
    _submitted(trainer, version)
    url = reverse("scenarios:review_decide", args=["essai", 2])
    own = trainer_client.post(url, {"decision": "approve"})
    assert own.status_code == 403 and "Un autre formateur" in own.content.decode()
    reviewer_client.post(url, {"decision": "approve"})
    again = reviewer_client.post(url, {"decision": "return", "comment": "Non"})
    assert again.status_code == 409
    assert VersionReview.objects.get().state == VersionReview.State.APPROVED


def test_a_pending_version_cannot_open_the_session_form(trainer, trainer_client, version):
    submitted = _submitted(trainer, version)
    response = trainer_client.get(reverse("sessions:new", args=[submitted.pk]))
    assert response.status_code == 409
    assert "n’a pas été approuvée" in response.content.decode()
    posted = trainer_client.post(reverse("sessions:new", args=[submitted.pk]), {"title": "S"})
    assert posted.status_code == 409


def test_the_library_links_to_drafts_and_counts_reviews(trainer, trainer_client, version):
    _submitted(trainer, version)
    page = trainer_client.get(reverse("scenarios:library")).content.decode()
    assert reverse("scenarios:draft_new") in page and reverse("scenarios:drafts") in page
    assert "Relectures (1 en attente)" in page


def test_the_history_shows_each_review_state(trainer, trainer_client, version):
    _submitted(trainer, version)
    page = trainer_client.get(reverse("scenarios:history", args=["essai"])).content.decode()
    assert "À relire" in page


# --- the second_trainer's rehearsal ----------------------------------------------------------


def test_a_pending_version_rehearses_and_reports(trainer, reviewer_client, version):
    submitted = _submitted(trainer, version)
    url = reverse("scenarios:version_rehearse", args=["essai", submitted.number])
    response = reviewer_client.post(url)
    page = response.content.decode()
    assert response.status_code == 200
    # In this scenario the police only get the opening broadcast to all.
    assert "Rôles inoccupés" in page and "<code>police</code>" in page
    assert "Tous les injects sont partis" in page and "Revoir la répétition" in page
    assert VersionReview.objects.get().state == VersionReview.State.PENDING


def test_a_rehearsal_needs_a_post(reviewer_client, version):
    url = reverse("scenarios:version_rehearse", args=["essai", 1])
    assert reviewer_client.get(url).status_code == 405


def test_one_rehearsal_at_a_time_per_trainer(trainer, trainer_client, version):
    from django.core.cache import cache

    cache.add(f"rehearse-preview:{trainer.pk}", 1, timeout=60)
    try:
        response = trainer_client.post(reverse("scenarios:version_rehearse", args=["essai", 1]))
    finally:
        cache.delete(f"rehearse-preview:{trainer.pk}")
    assert response.status_code == 429 and "encore en cours" in response.content.decode()


def test_the_pages_speak_english_too(trainer, trainer_client, version):
    _submitted(trainer, version)
    trainer_client.post(reverse("set_language"), {"language": "en"})
    page = trainer_client.get(reverse("scenarios:drafts")).content.decode()
    assert "My drafts" in page and "waiting for a second trainer" in page
    queue = trainer_client.get(reverse("scenarios:reviews")).content.decode()
    assert "Your version: waiting for a second trainer" in queue


def test_the_editor_page_leads_to_submitting(trainer, trainer_client, version):
    draft = _edited(trainer, version)
    page = trainer_client.get(_edit_path(draft)).content.decode()
    assert f"/scenarios/drafts/#draft-{draft.pk}" in page
    listed = trainer_client.get(reverse("scenarios:drafts")).content.decode()
    assert f'id="draft-{draft.pk}"' in listed


# --- preview of a draft, before it is submitted ----------------------------------------


def test_a_draft_previews_what_each_role_receives_before_it_is_submitted(
    trainer, trainer_client, version
):
    draft = _edited(trainer, version, title="Essai en cours")
    url = reverse("scenarios:draft_preview", args=[draft.pk])
    response = trainer_client.post(url, {"revision": draft.revision, "then": "receives"})
    preview = Scenario.objects.get(preview=True)
    shown = preview.versions.get()
    assert response.status_code == 302
    assert response.url == reverse("scenarios:receives", args=[preview.slug, 1])
    assert shown.title == "Essai en cours"
    page = trainer_client.get(response.url + "?role=parquet").content.decode()
    assert "Décider" in page  # the parquet's decision, as the draft has it
    # Never in the library, never live; the draft itself is untouched and still editable.
    library = trainer_client.get(reverse("scenarios:library")).content.decode()
    assert preview.slug not in library
    from sessions import engine

    with pytest.raises(engine.EngineError):
        engine.session_create(version=shown, trainer=trainer, title="Non")
    draft.refresh_from_db()
    assert draft.state == Draft.State.EDITING and ScenarioVersion.objects.count() == 2
    # The same content again: the same preview.
    trainer_client.post(url, {"revision": draft.revision})
    assert preview.versions.count() == 1


def test_a_draft_rehearses_before_it_is_submitted(trainer, trainer_client, version):
    draft = _edited(trainer, version)
    response = trainer_client.post(
        reverse("scenarios:draft_preview", args=[draft.pk]),
        {"revision": draft.revision, "then": "rehearse"},
    )
    assert response.status_code == 200 and "Revoir la répétition" in response.content.decode()


def test_an_invalid_or_stale_draft_has_no_preview(trainer, trainer_client, version):
    draft = _edited(trainer, version)
    url = reverse("scenarios:draft_preview", args=[draft.pk])
    assert trainer_client.post(url, {"revision": 1}).status_code == 409
    broken = {**draft.document, "roles": []}
    draft = authoring.draft_save(
        draft_id=draft.pk, user=trainer, document=broken, revision=draft.revision
    )
    response = trainer_client.post(url, {"revision": draft.revision})
    assert response.status_code == 400 and "#f-" in response.content.decode()
    assert not Scenario.objects.filter(preview=True).exists()
