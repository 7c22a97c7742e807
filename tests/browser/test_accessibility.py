"""Accessibility: axe-core finds no serious or critical violation on the live screens, the
join flow and the scenario library; the main controls work from the keyboard alone."""

from __future__ import annotations

import pytest

from sessions import engine
from tests.browser.conftest import TABLET_LANDSCAPE, axe_violations, wait_live

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def assert_no_serious(page, where: str):
    found = axe_violations(page)
    assert not found, f"{where}: " + "; ".join(
        f"{v['impact']} {v['id']} ({v['help']}) at {', '.join(v['nodes'])}" for v in found
    )


def test_no_serious_violation_on_any_screen(stage):
    s, boss = stage.session, stage.principal()
    police = stage.seat("police", "Chloé Bernard")
    joy = stage.seat("joy", "Amara N.", viewport=TABLET_LANDSCAPE)
    engine.session_start(session_id=s.pk, principal=boss)
    engine.clock_jump_to_phase(session_id=s.pk, principal=boss, phase_ident="rencontre")
    engine.inject_fire(session_id=s.pk, principal=boss, inject_ident="doc-pv-constatation")
    engine.inject_fire(session_id=s.pk, principal=boss, inject_ident="dec-vincennes")
    engine.safety_stop(session_id=s.pk, principal=joy.principal)

    trainer = stage.trainer_page()
    control = stage.open(trainer, f"/sessions/{s.pk}/")
    control.click("[data-safety-ack]")  # the alert dialog is checked below, open
    assert_no_serious(control, "control room")
    control.click("[data-dialog-open='composer-dialog']")
    assert_no_serious(control, "ad-hoc composer")
    control.keyboard.press("Escape")

    desk = stage.open(police, f"/sessions/{s.pk}/desk/")
    desk.locator(".inbox-item summary").first.click()
    assert_no_serious(desk, "trainee desk")

    tablet = stage.open(joy, f"/sessions/{s.pk}/tablet/")
    assert_no_serious(tablet, "actor tablet")
    tablet.click("[data-dialog-open='character-dialog']")
    assert_no_serious(tablet, "character sheet")

    room = stage.trainer_page("room")
    assert_no_serious(stage.open(room, f"/sessions/{s.pk}/room/"), "room display")

    pack = stage.trainer_page("pack")
    pack.page.goto(f"{stage.base}/sessions/{s.pk}/pack/")
    assert_no_serious(pack.page, "printable pack")

    library = stage.trainer_page("library")
    library.page.goto(f"{stage.base}/scenarios/")
    assert_no_serious(library.page, "scenario library")

    # The join flow, as a trainee with nothing but the code.
    newcomer = stage._context()
    page = newcomer.new_page()
    page.goto(f"{stage.base}/join/")
    assert_no_serious(page, "join: code")
    page.fill("input[name=code]", s.code)
    page.click("main button[type=submit]")
    page.wait_for_url(f"**/sessions/{s.pk}/join/")
    assert_no_serious(page, "join: seat")
    page.fill("input[name=name]", "Inès Moreau")
    page.locator("input[name=seat]").first.check()
    page.click("main button[type=submit]")
    page.wait_for_url(f"**/sessions/{s.pk}/desk/")
    wait_live(page)
    newcomer.close()


def tab_to(page, selector: str, limit: int = 400) -> None:
    """Press Tab until the element matching `selector` has the focus.

    Matched afresh at each press: a live region swapped meanwhile (the clock's console
    after a speed change) holds a new element under the same selector.
    """
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.locator(selector).first.evaluate("el => el === document.activeElement"):
            return
    raise AssertionError(f"{selector} is not reachable with Tab")


def test_main_controls_work_from_the_keyboard(stage):
    s = stage.session
    police = stage.seat("police", "Chloé Bernard")
    joy = stage.seat("joy", "Amara N.", viewport=TABLET_LANDSCAPE)
    trainer = stage.trainer_page()
    control = stage.open(trainer, f"/sessions/{s.pk}/")

    # The trainer: start, speed, jump, note, ad-hoc composer — keys only.
    tab_to(control, "#console-toggle[data-action='start']")
    control.keyboard.press("Enter")
    control.wait_for_selector("#clock[data-state='running']")
    tab_to(control, ".segmented__option:text-is('10×')")
    control.keyboard.press("Enter")
    control.wait_for_selector(".segmented__option[aria-pressed='true']:text-is('10×')")
    tab_to(control, "#jump-phase")
    control.keyboard.press("ArrowDown")  # prébriefing → rencontre
    tab_to(control, ".console__jump button")
    control.keyboard.press("Enter")
    control.wait_for_selector("#region-timeline [data-inject='bc-j0'][data-state='fired']")
    # Tab wraps round the whole page, whose timeline lists every inject of the scenario.
    tab_to(control, "#console-toggle[data-action='pause']", limit=1500)
    control.keyboard.press("Enter")
    control.wait_for_selector("#clock[data-state='paused']")

    control.locator("body").click(position={"x": 5, "y": 5})
    control.keyboard.press("n")
    assert control.evaluate("document.activeElement.id") == "note-text"
    control.keyboard.type("Bonne séparation de Joy et Precious")
    control.keyboard.press("Enter")
    control.wait_for_selector("#region-notes .note:has-text('Bonne séparation')")

    control.locator("body").click(position={"x": 5, "y": 5})
    control.keyboard.press("i")
    control.wait_for_selector("#composer-dialog[open]")
    assert control.evaluate("document.activeElement.closest('dialog') !== null")
    control.keyboard.press("Escape")
    control.wait_for_selector("#composer-dialog", state="hidden")

    # The trainee: open an item, answer a decision — keys only.
    control.locator(
        "#region-timeline [data-inject='doc-pv-constatation'] "
        "form:has(input[value='inject.fire']) button"
    ).click()
    control.locator(
        "#region-timeline [data-inject='dec-vincennes'] form:has(input[value='inject.fire']) button"
    ).click()
    control.click("#console-toggle[data-action='resume']")
    desk = stage.open(police, f"/sessions/{s.pk}/desk/")
    tab_to(desk, "#region-inbox .inbox-item[data-inject='doc-pv-constatation'] summary")
    desk.keyboard.press("Enter")
    desk.wait_for_selector(
        "#region-inbox .inbox-item[data-inject='doc-pv-constatation']:not(.is-unread)"
    )
    tab_to(desk, "#region-inbox [data-inject='doc-pv-constatation'] .attachment__open")
    desk.keyboard.press("Enter")
    desk.wait_for_selector("#viewer[open] iframe.viewer__frame")
    desk.keyboard.press("Escape")
    desk.wait_for_selector("#viewer", state="hidden")
    tab_to(desk, "#opt-dec-vincennes-questionner")  # a radio group is one tab stop …
    desk.keyboard.press("ArrowDown")  # … and arrows choose within it
    assert desk.is_checked("#opt-dec-vincennes-separer")
    tab_to(desk, "[data-decision='dec-vincennes'] button[type=submit]")
    desk.keyboard.press("Enter")
    desk.wait_for_selector("#region-decisions .is-answered[data-decision='dec-vincennes']")

    # The actor: "done", then the character sheet — keys only.
    tablet = stage.open(joy, f"/sessions/{s.pk}/tablet/")
    tablet.wait_for_selector(".cue-card[data-state='open']")
    cue = tablet.locator(".cue-card").get_attribute("data-cue")
    tab_to(tablet, ".cue-card__done button")
    tablet.keyboard.press("Enter")
    tablet.wait_for_selector(f".cue-card[data-cue='{cue}'][data-state='open']", state="detached")
    tab_to(tablet, "[data-dialog-open='character-dialog']")
    tablet.keyboard.press("Enter")
    tablet.wait_for_selector("#character-dialog[open]")
    tablet.keyboard.press("Escape")
    tab_to(tablet, ".btn--stop")
