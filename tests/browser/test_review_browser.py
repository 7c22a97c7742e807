"""The review step in Chromium: an author submits a draft from "Mes brouillons", a second
trainer rehearses it headless and approves it from the queue, and the version becomes
launchable; then a third version is sent back with a comment, which the author reads
beside the reopened draft."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from scenarios import authoring
from scenarios.models import Draft, VersionReview
from scenarios.services import scenario_import
from simtrain.permissions import TRAINER_GROUP
from tests.browser.conftest import DESKTOP
from tests.browser.test_accessibility import assert_no_serious
from tests.factories import UserFactory
from tests.scenarios.format_helpers import BASE

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _page_for(browser, server, user):
    context = browser.new_context(viewport=DESKTOP, locale="fr-FR", timezone_id="Europe/Paris")
    context.set_default_timeout(15000)
    client = Client()
    client.force_login(user)
    context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": server.base_url}]
    )
    return context, context.new_page()


def _edited_draft(author, version, title):
    draft = authoring.draft_from_version(user=author, version=version)
    return authoring.draft_save(
        draft_id=draft.pk, user=author, document={**draft.document, "title": title}, revision=1
    )


def _submit_from_my_drafts(page, base, draft, note):
    page.goto(f"{base}/scenarios/drafts/")
    page.click(f"details:has(#note-{draft.pk}) summary")
    page.fill(f"#note-{draft.pk}", note)
    page.click(f"form:has(#note-{draft.pk}) button[type=submit]")


def test_submit_approve_then_return_with_a_comment(browser, server, trainer_user):
    base = server.base_url
    reviewer = UserFactory(username="relectrice", first_name="Inès", last_name="Roche")
    reviewer.groups.add(Group.objects.get(name=TRAINER_GROUP))
    version = scenario_import(source=("essai.yaml", BASE.encode()), user=trainer_user).version
    author_context, author = _page_for(browser, server, trainer_user)
    reviewer_context, review = _page_for(browser, server, reviewer)
    try:
        # The author submits v2 from their drafts; it waits for someone else.
        draft = _edited_draft(trainer_user, version, "Essai revu")
        _submit_from_my_drafts(author, base, draft, "Titre revu")
        author.wait_for_url("**/scenarios/essai/v2/")
        assert "Version 2 soumise" in author.inner_text(".messages")
        assert author.locator("#review-state").is_visible()
        assert author.locator("a:has-text('Lancer une session')").count() == 0
        assert author.locator("#review-state button:has-text('Approuver')").count() == 0

        # The second trainer approves it from the queue: v2 may now start a session.
        review.goto(f"{base}/scenarios/reviews/")
        assert_no_serious(review, "review queue")
        card = review.locator("article.review-card:has-text('Essai revu')")
        assert "Titre revu" in card.inner_text()
        # Before deciding, a headless rehearsal of the pending version, in one click.
        card.locator("button:has-text('Répéter sans stagiaires')").click()
        review.wait_for_selector("h1:has-text('Répétition de « Essai revu » (v2)')")
        assert "Rôles inoccupés" in review.inner_text("main")
        assert_no_serious(review, "rehearsal report")
        review.goto(f"{base}/scenarios/essai/v2/")
        assert_no_serious(review, "pending version page")
        review.goto(f"{base}/scenarios/reviews/")
        card.locator("button:has-text('Approuver')").click()
        review.wait_for_url("**/scenarios/reviews/")
        assert "Version 2 approuvée" in review.inner_text(".messages")
        review.goto(f"{base}/scenarios/essai/v2/")
        assert "Approuvée par Inès Roche" in review.inner_text("#review-state")
        review.click("a:has-text('Lancer une session (v2)')")
        review.wait_for_selector("button:has-text('Créer la session')")

        # A third version goes back with a comment; the author reads it by the draft.
        again = _edited_draft(trainer_user, version.scenario.versions.get(number=2), "Essai 3")
        _submit_from_my_drafts(author, base, again, "")
        author.wait_for_url("**/scenarios/essai/v3/")
        review.goto(f"{base}/scenarios/reviews/")
        card = review.locator("article.review-card:has-text('Essai 3')")
        card.locator("button:has-text('Renvoyer à l’auteur')").click()
        assert "Dites à l’auteur ce qu’il faut reprendre" in review.inner_text("main")
        assert VersionReview.objects.get(version__number=3).state == VersionReview.State.PENDING
        review.goto(f"{base}/scenarios/reviews/")
        card = review.locator("article.review-card:has-text('Essai 3')")
        card.locator("textarea").fill("La phase 2 manque de contexte.")
        card.locator("button:has-text('Renvoyer à l’auteur')").click()
        review.wait_for_url("**/scenarios/reviews/")
        assert Draft.objects.get(pk=again.pk).state == Draft.State.EDITING

        author.goto(f"{base}/scenarios/drafts/")
        assert_no_serious(author, "my drafts")
        row = author.inner_text("main")
        assert "Version 3 renvoyée par Inès Roche" in row
        assert "La phase 2 manque de contexte." in row
        author.goto(f"{base}/scenarios/essai/v3/")
        assert author.locator("a:has-text('Lancer une session')").count() == 0
    finally:
        author_context.close()
        reviewer_context.close()
