"""The debrief's screens in Chromium, checked with axe-core: the annotation dialog (key A)
in the control room and on the observer's screen, the hot-wash on a trainee's screen
and its projection, the report with its new sections, the replay's "restart from here"
and knowledge matrix, and the scenario's lessons page."""

from __future__ import annotations

import pytest

from scenarios.models import Inject
from sessions import engine
from sessions.models import HotwashAnswer, Session
from tests.browser.conftest import wait_live
from tests.browser.test_accessibility import assert_no_serious

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_debrief_screens(stage):
    s, boss = stage.session, stage.principal()
    Inject.objects.filter(version=s.version, ident="doc-pv-constatation").update(key_fact=True)
    police = stage.seat("police", "Chloé Bernard")
    parquet = stage.seat("parquet", "Nadia Benali")
    joy = stage.seat("joy", "Amara N.")
    observer = stage.seat("observateur", "Olivier Roux")
    engine.session_start(session_id=s.pk, principal=boss)
    engine.inject_fire(session_id=s.pk, principal=boss, inject_ident="doc-pv-constatation")

    # The control room: A opens the annotation dialog; Enter in its text field sends it.
    control = stage.open(stage.trainer_page(), f"/sessions/{s.pk}/")
    control.locator("body").click(position={"x": 5, "y": 5})
    control.keyboard.press("a")
    control.wait_for_selector("#annotation-dialog[open]")
    assert control.evaluate("document.activeElement.id") == "annotation-text"
    assert_no_serious(control, "annotation dialog (control room)")
    control.keyboard.type("La police garde le PV pour elle")
    control.select_option("#annotation-tag", "silo")
    control.focus("#annotation-text")
    control.keyboard.press("Enter")
    control.wait_for_selector("#annotation-dialog", state="hidden")
    control.wait_for_selector("#feed [data-kind='annotation.added']:has-text('garde le PV')")

    # The observer annotates too; the trainee's screen never shows either.
    desk = stage.open(observer, f"/sessions/{s.pk}/desk/")
    desk.locator("body").click(position={"x": 5, "y": 5})
    desk.keyboard.press("a")
    desk.wait_for_selector("#annotation-dialog[open]")
    assert_no_serious(desk, "annotation dialog (observer)")
    desk.keyboard.type("Bonne question sur l’âge")
    desk.keyboard.press("Enter")
    desk.wait_for_selector("#annotation-dialog", state="hidden")
    trainee = stage.open(police, f"/sessions/{s.pk}/desk/")
    assert trainee.locator("[data-kind='annotation.added']").count() == 0
    assert not trainee.locator(".hotwash-invite").is_visible()

    # The end: the trainee's screen offers the hot-wash, live.
    engine.session_end(session_id=s.pk, principal=boss)
    trainee.wait_for_selector(".hotwash-invite a", state="visible")
    trainee.click(".hotwash-invite a")
    trainee.wait_for_url(f"**/sessions/{s.pk}/hotwash/")
    assert_no_serious(trainee, "hot-wash survey")
    trainee.fill("#hotwash-worked", "Le point de situation à 22 h")
    trainee.locator("input[name='confidence-indicateurs'][value='4']").check()
    trainee.click("main button[type=submit]")
    trainee.wait_for_selector(".alert--success")
    for who in (parquet, joy):
        engine.hotwash_answer(
            session_id=s.pk,
            principal=who.principal,
            worked="Le binôme",
            confidence={"indicateurs": 3},
        )
    assert HotwashAnswer.objects.filter(session=s).count() == 3

    review = stage.trainer_page("review")
    for path, where in (
        (f"/sessions/{s.pk}/hotwash/results/", "hot-wash projection"),
        (f"/sessions/{s.pk}/report/", "report"),
        (f"/scenarios/{s.version.scenario.slug}/lessons/", "lessons"),
    ):
        review.page.goto(stage.base + path)
        assert_no_serious(review.page, where)
    review.page.goto(f"{stage.base}/sessions/{s.pk}/report/")
    assert review.page.locator("#hotwash [data-hotwash='shown']").count() == 1
    assert review.page.locator(".chart--confidence, .chart--knowledge").count() == 2
    assert review.page.locator("#annotations li").count() >= 2

    # The replay: the knowledge matrix, then "restart from here".
    s.refresh_from_db()
    review.page.goto(f"{stage.base}/sessions/{s.pk}/replay/?seq={s.last_seq - 1}")
    review.page.click("#replay-knowledge-panel summary")
    assert_no_serious(review.page, "replay (knowledge matrix)")
    review.page.once("dialog", lambda dialog: dialog.accept())
    review.page.click(".replay__fork button")
    review.page.wait_for_url("**/sessions/*/")
    wait_live(review.page)
    fork = Session.objects.exclude(pk=s.pk).get()
    assert fork.state == Session.State.PAUSED
    assert review.page.url.endswith(f"/sessions/{fork.pk}/")
