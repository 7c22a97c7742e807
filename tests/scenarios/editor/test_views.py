"""The editor's pages: for the draft's author only; saving, checking, attachments."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from scenarios import authoring
from scenarios.editor.fields import to_fields
from scenarios.models import Draft
from scenarios.services import scenario_import

pytestmark = pytest.mark.django_db

SCENARIO = Path(__file__).parents[3] / "fixtures" / "scenarios" / "nigerian-minors"
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 32


@pytest.fixture
def draft(trainer):
    return authoring.draft_new(user=trainer, slug="essai-editeur", title="Essai")


@pytest.fixture
def shipped_draft(trainer):
    version = scenario_import(source=SCENARIO, user=trainer).version
    return authoring.draft_from_version(user=trainer, version=version)


def url(name, draft, **kwargs):
    return reverse(f"scenarios:{name}", kwargs={"draft_id": draft.pk, **kwargs})


def _post(client, name, draft, pairs, revision):
    data: dict[str, list[str]] = {"revision": [str(revision)]}
    for key, value in pairs:
        data.setdefault(key, []).append(value)
    return client.post(url(name, draft), data, HTTP_HX_REQUEST="true")


def test_the_editor_opens_for_its_author_only(client, trainer, second_trainer, draft):
    assert client.get(url("draft_edit", draft)).status_code == 302  # to log in
    client.force_login(second_trainer)
    assert client.get(url("draft_edit", draft)).status_code == 404
    client.force_login(trainer)
    page = client.get(url("draft_edit", draft))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="title"' in html and 'id="f-title"' in html and 'id="ed-revision"' in html
    assert 'id="t-Inject"' in html  # a new inject comes from its template


def test_the_shipped_scenario_opens_and_saves(client, trainer, shipped_draft):
    client.force_login(trainer)
    page = client.get(url("draft_edit", shipped_draft))
    assert page.status_code == 200
    assert page.content.decode().count('class="ed-tl-item"') > 50
    saved = _post(client, "draft_save", shipped_draft, to_fields(shipped_draft.document), 1)
    assert saved.status_code == 200
    shipped_draft.refresh_from_db()
    assert shipped_draft.revision == 2 and authoring.draft_check(shipped_draft).ok


def test_a_save_stores_the_posted_document_and_shows_the_new_revision(client, trainer, draft):
    client.force_login(trainer)
    pairs = [*to_fields(draft.document), ("summary", "Un résumé")]
    response = _post(client, "draft_save", draft, pairs, 1)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="ed-revision" value="2"' in html and 'hx-swap-oob="true"' in html
    draft.refresh_from_db()
    assert draft.document["summary"] == "Un résumé" and draft.revision == 2


def test_a_stale_save_is_a_conflict_and_changes_nothing(client, trainer, draft):
    client.force_login(trainer)
    assert _post(client, "draft_save", draft, [("title", "Premier")], 1).status_code == 200
    response = _post(client, "draft_save", draft, [("title", "Second")], 1)
    assert response.status_code == 409
    assert "Rechargez-le" in response.content.decode()
    draft.refresh_from_db()
    assert draft.document["title"] == "Premier" and draft.revision == 2


def test_a_draft_in_review_is_shown_read_only_and_not_saved(client, trainer, draft):
    Draft.objects.filter(pk=draft.pk).update(state=Draft.State.SUBMITTED)
    client.force_login(trainer)
    page = client.get(url("draft_edit", draft)).content.decode()
    assert "ne se modifie plus" in page and "disabled" in page
    assert _post(client, "draft_save", draft, [("title", "x")], 1).status_code == 400


def test_the_check_answers_with_diagnostics_at_their_fields(client, trainer, draft):
    client.force_login(trainer)
    pairs = [*to_fields(draft.document), ("roles.0.id", "Police!"), ("roles.0.kind", "trainee")]
    response = _post(client, "draft_check", draft, pairs, 1)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-anchor="f-roles-0-id"' in html and 'href="#f-roles-0-id"' in html
    draft.refresh_from_db()
    assert draft.revision == 1 and "roles" not in draft.document  # checking saves nothing


def test_others_cannot_save_or_check(client, second_trainer, draft):
    client.force_login(second_trainer)
    assert _post(client, "draft_save", draft, [("title", "x")], 1).status_code == 404
    assert _post(client, "draft_check", draft, [("title", "x")], 1).status_code == 404
    draft.refresh_from_db()
    assert draft.document["title"] == "Essai"


def test_an_attachment_is_uploaded_previewed_and_removed(client, trainer, draft):
    client.force_login(trainer)
    upload = SimpleUploadedFile("plan.png", PNG, content_type="image/png")
    response = client.post(url("draft_file", draft), {"file": upload, "path": "docs/plan.png"})
    assert response.status_code == 302 and response["Location"].endswith("#s-files")
    preview = client.get(url("draft_file", draft, path="docs/plan.png"))
    assert preview.status_code == 200 and preview.content == PNG
    assert preview["Content-Type"] == "image/png"
    assert preview["Content-Disposition"].startswith("inline")
    assert preview["X-Content-Type-Options"] == "nosniff"
    assert "docs/plan.png" in client.get(url("draft_edit", draft)).content.decode()
    client.post(url("draft_file", draft), {"remove": "docs/plan.png"})
    assert client.get(url("draft_file", draft, path="docs/plan.png")).status_code == 404


def test_a_text_attachment_is_downloaded_not_shown(client, trainer, draft):
    client.force_login(trainer)
    upload = SimpleUploadedFile("notes.txt", b"<script>x</script>", content_type="text/html")
    client.post(url("draft_file", draft), {"file": upload})
    response = client.get(url("draft_file", draft, path="notes.txt"))
    assert response["Content-Disposition"].startswith("attachment")
    assert not response["Content-Type"].startswith("text/html")


@pytest.mark.parametrize("path", ["../secret.png", "/etc/passwd.png", "a/../../b.png", "x.exe"])
def test_unsafe_paths_and_types_are_refused(client, trainer, draft, path):
    client.force_login(trainer)
    upload = SimpleUploadedFile("f.png", PNG)
    response = client.post(url("draft_file", draft), {"file": upload, "path": path})
    assert response.status_code == 400
    assert "refusé" in response.content.decode() or "Fichier" in response.content.decode()
    assert not draft.files.exists()


def test_others_cannot_see_or_change_attachments(client, trainer, second_trainer, draft):
    authoring.draft_put_file(draft_id=draft.pk, user=trainer, path="plan.png", data=PNG)
    client.force_login(second_trainer)
    assert client.get(url("draft_file", draft, path="plan.png")).status_code == 404
    assert client.post(url("draft_file", draft), {"remove": "plan.png"}).status_code == 404
    assert draft.files.count() == 1


def test_removing_a_missing_file_says_so(client, trainer, draft):
    client.force_login(trainer)
    response = client.post(url("draft_file", draft), {"remove": "absent.png"})
    assert response.status_code == 400 and "pas dans le brouillon" in response.content.decode()


def test_a_conflict_without_htmx_is_a_whole_page_with_the_way_back(client, trainer, draft):
    client.force_login(trainer)
    client.post(url("draft_save", draft), {"revision": "1", "title": "Premier"})
    response = client.post(url("draft_save", draft), {"revision": "1", "title": "Second"})
    assert response.status_code == 409
    html = response.content.decode()
    assert "<html" in html and "Rechargez-le" in html and url("draft_edit", draft) in html
    draft.refresh_from_db()
    assert draft.document["title"] == "Premier"


def test_the_page_says_which_keys_a_save_would_drop(client, trainer, draft):
    Draft.objects.filter(pk=draft.pk).update(document={**draft.document, "summery": "x"})
    client.force_login(trainer)
    html = client.get(url("draft_edit", draft)).content.decode()
    assert "ne sont pas du format" in html and "<code>summery</code>" in html


def test_an_attachment_over_the_limit_is_refused_before_it_is_read(
    client, trainer, draft, monkeypatch
):
    from scenarios.editor import views

    monkeypatch.setattr(views, "MAX_BUNDLE_BYTES", len(PNG) - 1)
    client.force_login(trainer)
    upload = SimpleUploadedFile("plan.png", PNG, content_type="image/png")
    response = client.post(url("draft_file", draft), {"file": upload})
    assert response.status_code == 400 and "taille permise" in response.content.decode()
    assert not draft.files.exists()
