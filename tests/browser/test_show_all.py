"""Capped lists in a real browser: "N earlier — show all" loads a thread or the notes in
place, live and in the replay, under the strict CSP, with focus on the list it loaded."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from sessions import engine
from sessions.projections import SHOWN
from tests.browser.test_replay_browser import assert_no_serious, watch_console

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

EXTRA = 5  # entries beyond the cap


def _long_lists(stage, police, parquet):
    s = stage.session
    boss = stage.principal()
    engine.session_start(session_id=s.pk, principal=boss)
    for i in range(SHOWN + EXTRA):
        engine.message_send(session_id=s.pk, principal=police.principal, to_role="parquet",
                            text=f"Message numéro {i}")
        engine.note_add(session_id=s.pk, principal=boss, text=f"Note du formateur {i}")
        engine.note_private(session_id=s.pk, principal=police.principal,
                            text=f"Note privée {i}")


def _show_all(page, scope: str, count: int, label: str) -> None:
    link = page.locator(f"{scope} .show-all__link")
    expect(link).to_have_text(label)
    link.focus()
    page.keyboard.press("Enter")  # a link: the keyboard opens it as a click would
    items = page.locator(f"{scope} li[data-seq]")
    expect(items).to_have_count(count)
    expect(page.locator(f"{scope} .show-all__link")).to_have_count(0)


def test_show_all_live_on_the_desk_and_in_the_control_room(stage):
    s = stage.session
    police = stage.seat("police", "Chloé Bernard")
    parquet = stage.seat("parquet", "Julien Roy")
    trainer = stage.trainer_page()
    _long_lists(stage, police, parquet)
    total = SHOWN + EXTRA

    desk = stage.open(police, f"/sessions/{s.pk}/desk/")
    problems = watch_console(desk)
    thread = "#thread-with-parquet"
    expect(desk.locator(f"{thread} li[data-seq]")).to_have_count(SHOWN)
    _show_all(desk, thread, total, f"{EXTRA} messages plus anciens — tout afficher")
    expect(desk.locator(f"{thread} .thread__messages")).to_be_focused()
    expect(desk.locator(f"{thread} li[data-seq]").first).to_contain_text("Message numéro 0")
    _show_all(desk, "#region-notes", total, f"{EXTRA} notes plus anciennes — tout afficher")
    expect(desk.locator("#notes-list")).to_be_focused()
    assert "Note du formateur" not in desk.locator("#region-notes").inner_text()
    assert_no_serious(desk, "desk, lists shown whole")
    # A message arrives while the thread is shown whole: it stays whole, with the new
    # message, and the focus stays where the user is.
    desk.locator("#msg-parquet").focus()
    engine.message_send(session_id=s.pk, principal=parquet.principal, to_role="police",
                        text="Réponse du parquet")
    expect(desk.locator(f"{thread} li[data-seq]")).to_have_count(total + 1)
    expect(desk.locator(f"{thread} li[data-seq]").last).to_contain_text("Réponse du parquet")
    expect(desk.locator(f"{thread} .thread__messages[data-full]")).to_have_count(1)
    expect(desk.locator("#msg-parquet")).to_be_focused()

    control = stage.open(trainer, f"/sessions/{s.pk}/")
    control.click("#thread-parquet-police > summary")
    _show_all(control, "#thread-parquet-police", total + 1,  # with the parquet's answer
              f"{EXTRA + 1} messages plus anciens — tout afficher")
    # The trainer's notes hold the private ones too: twice as many.
    hidden = 2 * total - SHOWN
    _show_all(control, "#region-notes", 2 * total,
              f"{hidden} notes plus anciennes — tout afficher")
    assert not [p for p in problems if "Content Security Policy" in p or "Refused" in p], \
        problems


def test_show_all_in_the_replay_gives_the_replayed_perspective(stage):
    s = stage.session
    police = stage.seat("police", "Chloé Bernard")
    parquet = stage.seat("parquet", "Julien Roy")
    _long_lists(stage, police, parquet)
    moment = s.__class__.objects.get(pk=s.pk).last_seq
    engine.note_private(session_id=s.pk, principal=police.principal, text="Plus tard")
    total = SHOWN + EXTRA

    trainer = stage.trainer_page()
    page = trainer.page
    problems = watch_console(page)
    page.goto(f"{stage.base}/sessions/{s.pk}/replay/?as=seat:{police.seat.pk}&seq={moment}")
    page.wait_for_selector(f".replay-frame[data-as='seat:{police.seat.pk}']")
    # Inside the read-only screen (a disabled fieldset) the link still works.
    _show_all(page, "#region-notes", total, f"{EXTRA} notes plus anciennes — tout afficher")
    notes = page.locator("#region-notes").inner_text()
    assert "Note privée 0" in notes and "Note du formateur" not in notes
    assert "Plus tard" not in notes  # after the replayed moment
    _show_all(page, "#thread-with-parquet", total,
              f"{EXTRA} messages plus anciens — tout afficher")
    assert not [p for p in problems if "Content Security Policy" in p or "Refused" in p], \
        problems
