"""The scenario editor in Chromium: writing, live validation, the timeline, keyboard use,
accessibility and a save conflict between two pages."""

from __future__ import annotations

import time

import pytest
from django.test import Client
from django.urls import reverse

from scenarios import authoring
from scenarios.format.loader import load_yaml
from scenarios.models import Draft
from tests.browser.conftest import DESKTOP, axe_violations
from tests.scenarios.format_helpers import BASE

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def editor(browser, server, trainer_user):
    """Opens a draft's editor in a fresh context of the trainer's."""
    contexts, pages = [], []

    def open_page(draft: Draft):
        context = browser.new_context(viewport=DESKTOP, locale="fr-FR")
        context.set_default_timeout(15000)
        contexts.append(context)
        client = Client()
        client.force_login(trainer_user)
        context.add_cookies(
            [
                {
                    "name": "sessionid",
                    "value": client.cookies["sessionid"].value,
                    "url": server.base_url,
                }
            ]
        )
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        # The strict CSP: a refused inline script or style is reported on the console.
        page.on(
            "console",
            lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None,
        )
        page.goto(server.base_url + reverse("scenarios:draft_edit", kwargs={"draft_id": draft.pk}))
        page.js_errors = errors
        pages.append(page)
        return page

    yield open_page
    problems = [error for page in pages for error in page.js_errors]
    for context in contexts:
        context.close()
    assert problems == [], "page errors or CSP violations"


def _small_draft(user) -> Draft:
    draft = authoring.draft_new(user=user, slug="essai", title="Essai")
    document = load_yaml(BASE.encode(), name="t.yaml").data
    return authoring.draft_save(draft_id=draft.pk, user=user, document=document, revision=1)


def _saved(page, revision: int):
    page.locator(f"[data-ed-saved='{revision}']").wait_for()


def test_a_minimal_scenario_is_written_from_nothing(editor, trainer_user):
    draft = authoring.draft_new(user=trainer_user, slug="premier", title="Premier")
    page = editor(draft)
    assert page.locator("#ed-check .ed-diag").count() > 0  # no roles, no injects yet
    page.click("#f-roles > [data-ed-add]")
    page.fill("#f-roles-0-id", "police")
    page.fill("#f-roles-0-title", "Police")
    page.select_option("#f-roles-0-kind", "trainee")
    page.select_option("#f-roles-0-profession", "police")
    page.click("#f-injects > [data-ed-add]")
    page.fill("#f-injects-0-id", "appel")
    page.select_option("#f-injects-0-kind", "message")
    page.fill("#f-injects-0-to", "police")
    page.fill("#f-injects-0-title", "Un appel")
    page.fill("#f-injects-0-at", "5m")
    page.locator("#ed-check .alert--success").wait_for()
    page.click("button[form=ed-form][type=submit]")
    _saved(page, 2)
    assert page.locator("#ed-revision").input_value() == "2"
    assert page.locator("#ed-unsaved").is_hidden()
    # The saved injects' table and timeline came back with the save.
    page.locator(".ed-tl-item[data-ident='appel']").wait_for()
    assert page.locator("#ed-inject-table tbody tr").count() == 1
    draft.refresh_from_db()
    assert draft.document["injects"] == [
        {"id": "appel", "kind": "message", "to": ["police"], "title": "Un appel", "at": "5m"}
    ]
    assert authoring.draft_check(draft).ok
    # An unsaved change holds the submission back; saved, it goes to review.
    page.fill("#f-injects-0-title", "Un appel de nuit")
    page.fill("#ed-submit-note", "Premier jet")
    page.click("[data-ed-submit] button[type=submit]")
    page.locator("#ed-status .alert--error").wait_for()
    assert not Draft.objects.get(pk=draft.pk).state == Draft.State.SUBMITTED
    page.click("button[form=ed-form][type=submit]")
    _saved(page, 3)
    assert page.locator("#ed-submit-revision").input_value() == "3"
    page.click("[data-ed-submit] button[type=submit]")
    page.wait_for_url("**/scenarios/premier/v1/")
    draft.refresh_from_db()
    assert draft.state == Draft.State.SUBMITTED
    assert draft.reviews.get().note == "Premier jet"


def test_live_validation_marks_the_field_and_jumps_to_it(editor, trainer_user):
    page = editor(_small_draft(trainer_user))
    page.locator("#ed-check .alert--success").wait_for()
    page.locator("details:has(#f-roles-0-id) > summary").click()
    page.fill("#f-roles-0-id", "Police !")
    entry = page.locator("#ed-check .ed-diag[data-anchor^='f-roles-0-id']").first
    entry.wait_for()
    field = page.locator("#f-roles-0-id")
    assert field.get_attribute("aria-invalid") == "true"
    assert page.locator("#f-roles-0-id + .ed-field-diag").is_visible()
    page.locator("#f-title").focus()
    entry.locator("a").click()
    assert page.evaluate("document.activeElement.id") == "f-roles-0-id"
    page.fill("#f-roles-0-id", "police")
    page.locator("#ed-check .alert--success").wait_for()
    assert field.get_attribute("aria-invalid") is None


def test_dragging_an_inject_on_the_timeline_changes_its_time(editor, trainer_user, version):
    started = time.monotonic()
    draft = authoring.draft_from_version(user=trainer_user, version=version)
    page = editor(draft)
    page.locator("#ed-form").wait_for()
    opened = time.monotonic() - started
    # An inject no other covers on the timeline (several may share a minute).
    index = page.evaluate(
        """() => [...document.querySelectorAll('.ed-tl-item')].find(el => {
             el.scrollIntoView({block: 'center'});
             const r = el.getBoundingClientRect();
             return document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2) === el;
           }).dataset.injectIndex"""
    )
    item = page.locator(f".ed-tl-item[data-inject-index='{index}']")
    item.scroll_into_view_if_needed()
    before = int(item.get_attribute("data-at"))
    box = item.bounding_box()
    track = item.locator("xpath=..").bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] / 2 + track["width"] / 10, box["y"] + 5, steps=5)
    page.mouse.up()
    after = int(item.get_attribute("data-at"))
    assert after != before and after % 60 == 0
    field = page.locator(f"#f-injects-{index}-at")
    assert field.input_value() and page.locator("#ed-unsaved").is_visible()
    started = time.monotonic()
    page.click("button[form=ed-form][type=submit]")
    _saved(page, 2)
    saved = time.monotonic() - started
    draft.refresh_from_db()
    assert draft.document["injects"][int(index)]["at"] == field.input_value()
    print(f"130 injects: editor opened in {opened:.1f}s, saved in {saved:.1f}s")


def test_keyboard_only_editing_and_moving_an_inject(editor, trainer_user):
    page = editor(_small_draft(trainer_user))
    for _ in range(80):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "f-title":
            break
    assert page.evaluate("document.activeElement.id") == "f-title"
    page.keyboard.press("Control+A")
    page.keyboard.type("Essai au clavier")
    item = page.locator(".ed-tl-item[data-ident='cue1']")
    item.focus()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("Shift+ArrowRight")
    assert item.get_attribute("data-at") == str(60 + 2 * 60 + 600)
    assert "13m" in page.locator("#ed-timeline-live").text_content()
    page.locator("button[form=ed-form][type=submit]").focus()
    page.keyboard.press("Enter")
    _saved(page, 3)
    draft = Draft.objects.get(slug="essai")
    assert draft.document["title"] == "Essai au clavier"
    assert draft.document["injects"][1]["at"] == "13m"


def test_the_editor_has_no_serious_accessibility_violation(editor, trainer_user):
    page = editor(_small_draft(trainer_user))
    page.locator("#ed-check .alert--success").wait_for()
    page.locator("details:has(#f-injects-2-id) > summary").click()
    assert axe_violations(page) == []


def test_a_save_conflict_between_two_pages_overwrites_nothing(editor, trainer_user):
    draft = _small_draft(trainer_user)
    first, second = editor(draft), editor(draft)
    first.fill("#f-title", "Premier onglet")
    first.click("button[form=ed-form][type=submit]")
    _saved(first, 3)
    second.fill("#f-title", "Second onglet")
    second.click("button[form=ed-form][type=submit]")
    message = second.locator("#ed-status [data-ed-conflict]")
    message.wait_for()
    assert "Rechargez-le" in message.text_content()
    assert second.locator("#ed-revision").input_value() == "2"
    draft.refresh_from_db()
    assert draft.document["title"] == "Premier onglet" and draft.revision == 3


def test_a_trigger_form_shows_its_own_keys(editor, trainer_user):
    page = editor(_small_draft(trainer_user))
    page.click("#f-injects > [data-ed-add]")
    page.fill("#f-injects-3-id", "suite")
    page.select_option("#f-injects-3-kind", "message")
    page.fill("#f-injects-3-to", "police")
    page.fill("#f-injects-3-title", "Interprète en route")
    page.click("[data-prefix='injects.3.when'] > [data-ed-add]")  # added on demand
    page.fill("#f-injects-3-when-decision", "dec")
    page.select_option("#f-injects-3-when--form", "action")
    assert page.locator("#f-injects-3-when-decision").is_hidden()
    assert page.locator("#f-injects-3-when-decision").input_value() == ""
    page.fill("#f-injects-3-when-action", "interprete")
    page.locator("#ed-check .alert--success").wait_for()
    page.click("button[form=ed-form][type=submit]")
    _saved(page, 3)
    draft = Draft.objects.get(slug="essai")
    assert draft.document["injects"][3]["when"] == {"action": "interprete"}


def test_list_items_are_added_moved_and_removed(editor, trainer_user):
    page = editor(_small_draft(trainer_user))
    page.click("#f-phases > [data-ed-add]")
    page.fill("#f-phases-1-id", "p2")
    page.fill("#f-phases-1-title", "Phase 2")
    page.locator("#f-phases .ed-item").nth(1).locator("[data-ed-move='-1']").first.click()
    assert page.locator("#f-phases-0-id").input_value() == "p2"
    assert page.locator("input[name='phases.1.id']").input_value() == "p1"
    start = page.locator("#f-injects .ed-items > .ed-item").first
    start.locator("> .ed-tools [data-ed-remove]").click()
    assert page.locator(".ed-tl-item[data-ident='start']").count() == 0
    assert page.locator(".ed-tl-item[data-ident='cue1']").get_attribute("data-inject-index") == "0"
    assert page.locator("#f-injects-0-id").input_value() == "cue1"
    page.locator("#ed-check .alert--success").wait_for()
    page.click("button[form=ed-form][type=submit]")
    _saved(page, 3)
    draft = Draft.objects.get(slug="essai")
    assert [p["id"] for p in draft.document["phases"]] == ["p2", "p1"]
    assert [i["id"] for i in draft.document["injects"]] == ["cue1", "dec"]
