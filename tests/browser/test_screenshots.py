"""Screenshots of every live screen, for docs/screenshots/ (and for people to look at).

A session of the shipped scenario is played into its first phases through the engine,
then each screen is opened as its person would and photographed: the control room and
a desk at 1366×900, the actor's tablet at 1280×800 and 800×1280, the room display.
The tablet's cue card must fit its screen in both orientations (no scrolling).
"""

from __future__ import annotations

import pytest

from sessions import engine
from tests.browser.conftest import (
    TABLET_LANDSCAPE,
    TABLET_PORTRAIT,
    screenshot,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def play_first_phases(stage):
    """Night 0 at Vincennes: a decision answered, one pending, messages, a cue played."""
    s, boss = stage.session, stage.principal()
    people = {
        "police": stage.seat("police", "Chloé Bernard"),
        "parquet": stage.seat("parquet", "Julien Roy"),
        "asso": stage.seat("asso", "Awa Diallo"),
        "joy": stage.seat("joy", "Amara N.", viewport=TABLET_LANDSCAPE),
        "precious": stage.seat("precious", "Blessing O.", viewport=TABLET_LANDSCAPE),
    }
    engine.session_start(session_id=s.pk, principal=boss)
    engine.clock_jump_to_phase(session_id=s.pk, principal=boss, phase_ident="rencontre")
    engine.cue_acknowledge(
        session_id=s.pk, principal=people["precious"].principal, inject_ident="cue-comediens-entree"
    )
    engine.inject_fire(session_id=s.pk, principal=boss, inject_ident="dec-asso-nuit")
    engine.decision_answer(
        session_id=s.pk,
        principal=people["asso"].principal,
        inject_ident="dec-asso-nuit",
        option="informer",
        rationale="Mineure probable, en danger immédiat.",
    )
    engine.inject_fire(session_id=s.pk, principal=boss, inject_ident="doc-pv-constatation")
    engine.inject_fire(session_id=s.pk, principal=boss, inject_ident="dec-vincennes")
    engine.message_send(
        session_id=s.pk,
        principal=people["police"].principal,
        to_role="parquet",
        text="Mineure probable au bois de Vincennes, "
        "client placé en garde à vue. Je vous rappelle dans 10 minutes.",
    )
    engine.message_send(
        session_id=s.pk,
        principal=people["parquet"].principal,
        to_role="police",
        text="Bien noté. Ne l’entendez pas devant la « cousine ». Tenez-moi informé.",
    )
    engine.note_add(
        session_id=s.pk,
        principal=boss,
        text="Police : bonne prise de distance avec la contrôleuse.",
    )
    engine.action_take(
        session_id=s.pk, principal=people["police"].principal, action_ident="interprete"
    )
    return people


def test_screenshots_of_every_screen(stage):
    people = play_first_phases(stage)
    s = stage.session

    trainer = stage.trainer_page()
    stage.open(trainer, f"/sessions/{s.pk}/")
    for role in ("police", "parquet", "asso"):
        stage.open(people[role], f"/sessions/{s.pk}/desk/")
    stage.open(people["joy"], f"/sessions/{s.pk}/tablet/")
    stage.open(people["precious"], f"/sessions/{s.pk}/tablet/")
    trainer.page.wait_for_selector(".roster-row[data-presence='connected'][data-role='joy']")
    screenshot(trainer.page, "control-room")

    police = people["police"].page
    police.locator(".inbox-item").first.locator("summary").click()
    police.wait_for_selector(".inbox-item:not(.is-unread) >> nth=0")
    police.evaluate("window.scrollTo(0, 0)")
    screenshot(police, "trainee-desk")

    joy = people["joy"].page
    screenshot(joy, "actor-tablet-landscape")
    joy.set_viewport_size(TABLET_PORTRAIT)
    joy.wait_for_timeout(300)
    screenshot(joy, "actor-tablet-portrait")
    joy.locator("[data-dialog-open='character-dialog']").click()
    joy.wait_for_selector("#character-dialog[open]")
    screenshot(joy, "actor-character-sheet")

    room = stage.trainer_page("room")
    stage.open(room, f"/sessions/{s.pk}/room/")
    screenshot(room.page, "room-display")


@pytest.mark.parametrize(
    "viewport", [TABLET_LANDSCAPE, TABLET_PORTRAIT], ids=["1280x800", "800x1280"]
)
def test_the_cue_card_fits_a_10_inch_tablet(stage, viewport):
    s, boss = stage.session, stage.principal()
    joy = stage.seat("joy", "Amara N.", viewport=viewport)
    engine.session_start(session_id=s.pk, principal=boss)
    engine.clock_jump_to_phase(session_id=s.pk, principal=boss, phase_ident="rencontre")
    page = stage.open(joy, f"/sessions/{s.pk}/tablet/")
    page.wait_for_selector(".cue-card[data-cue='cue-joy-vincennes']")
    page.wait_for_timeout(300)  # fonts and the fitter
    size = page.viewport_size
    for selector in (".cue-card", ".btn--stop", ".cue-card__done button"):
        box = page.locator(selector).bounding_box()
        assert box is not None, selector
        assert box["x"] >= 0 and box["y"] >= 0, selector
        assert box["x"] + box["width"] <= size["width"] + 0.5, selector
        assert box["y"] + box["height"] <= size["height"] + 0.5, selector
    # Nothing scrolls: neither the page nor the card's body.
    assert page.evaluate("document.documentElement.scrollHeight <= window.innerHeight + 1")
    assert page.evaluate(
        "(() => { const b = document.querySelector('.cue-card__body');"
        " return b.scrollHeight <= b.clientHeight + 1; })()"
    )
    # Legible at arm's length: the line to say is big.
    say = page.evaluate(
        "parseFloat(getComputedStyle(document.querySelector('.cue-card__say blockquote')).fontSize)"
    )
    assert say >= 22, page.locator(".cue-card").get_attribute("data-fit-scale")
