"""The live screens in real browsers: one context per person, a real server between them.

- Six people (trainer, three trainees of different roles, two actors) play the first
  phases of the shipped scenario at an accelerated clock: each sees its role's world
  and nothing else; a decision reaches the trainer's board; a message crosses between
  two trainee roles; an actor's "done" and safety stop reach the trainer.
- A trainee's browser goes offline for a minute of exercise time while injects fire;
  back online, the page shows every missed item, in order, once, without reloading.
"""

from __future__ import annotations

import re

import pytest

from sessions import engine
from sessions.audience import Perspective
from sessions.models import Event
from tests.browser.conftest import TABLET_LANDSCAPE, wait_live

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

# Texts that belong to one role's world only (titles of the shipped scenario's injects).
SCENE_ASSO = "Au feu de la route de la Ferme"  # scene-maraude → asso
CUE_JOY = "Joy — au feu, puis dans la voiture du client"  # cue-joy-vincennes → joy
CUE_PRECIOUS = "Precious — surveiller sans en avoir l'air"  # cue-precious-vincennes
DECISION_ASSO = "La jeune monte dans une voiture"  # dec-asso-nuit → asso
ANNUAIRE = "Annuaire de l'exercice et conventions"  # doc-annuaire → every trainee
GRILLE = "Grille d'observation par objectif"  # doc-grille-observation → observers


def text_of(page) -> str:
    return page.locator("body").inner_text()


def test_six_people_play_the_first_phases(stage):
    s = stage.session
    trainer = stage.trainer_page()
    police = stage.seat("police", "Chloé Bernard")
    parquet = stage.seat("parquet", "Julien Roy")
    asso = stage.seat("asso", "Awa Diallo")
    joy = stage.seat("joy", "Amara N.", viewport=TABLET_LANDSCAPE)
    precious = stage.seat("precious", "Blessing O.", viewport=TABLET_LANDSCAPE)
    control = stage.open(trainer, f"/sessions/{s.pk}/")
    for person in (police, parquet, asso):
        stage.open(person, f"/sessions/{s.pk}/desk/")
    for person in (joy, precious):
        stage.open(person, f"/sessions/{s.pk}/tablet/")

    # Everyone is connected, and the trainer's roster says so.
    for role in ("police", "parquet", "asso", "joy", "precious"):
        control.wait_for_selector(f".roster-row[data-role='{role}'][data-presence='connected']")

    # Start, 60×, then straight to phase 1: what the jump passes over fires now.
    control.click("#console-toggle[data-action='start']")
    control.wait_for_selector("#clock[data-state='running']")
    control.click(".segmented__option:text-is('60×')")
    control.wait_for_selector(".segmented__option[aria-pressed='true']:text-is('60×')")
    control.select_option("#jump-phase", "rencontre")
    control.click(".console__jump button[type=submit]")
    # scene-maraude fired at 10:00; its decision follows 3 exercise minutes later (3 s).
    asso.page.wait_for_selector("#region-decisions [data-decision='dec-asso-nuit']")
    control.click(".segmented__option:text-is('1×')")  # now people have time to think
    control.wait_for_selector(".segmented__option[aria-pressed='true']:text-is('1×')")
    assert control.evaluate("window.simtrainLive.clockMs()") >= 13 * 60 * 1000

    # Each sees what its role should …
    joy.page.wait_for_selector(".cue-card[data-cue='cue-joy-vincennes']")
    precious.page.wait_for_selector(".cue-card[data-cue='cue-precious-vincennes']")
    police.page.wait_for_selector("#region-inbox [data-inject='doc-annuaire']")
    parquet.page.wait_for_selector("#region-inbox [data-inject='doc-annuaire']")
    asso.page.wait_for_selector("#region-inbox [data-inject='scene-maraude']")
    assert (
        SCENE_ASSO in text_of(asso.page)
        or asso.page.locator("#region-inbox [data-inject='scene-maraude']").count() == 1
    )
    # … and nothing else: not in the text, not in the HTML either.
    others = {
        "police": [SCENE_ASSO, CUE_JOY, CUE_PRECIOUS, DECISION_ASSO, GRILLE],
        "parquet": [SCENE_ASSO, CUE_JOY, CUE_PRECIOUS, DECISION_ASSO, GRILLE],
        "asso": [CUE_JOY, CUE_PRECIOUS, GRILLE],
        "joy": [SCENE_ASSO, CUE_PRECIOUS, DECISION_ASSO, ANNUAIRE, GRILLE],
        "precious": [SCENE_ASSO, CUE_JOY, DECISION_ASSO, ANNUAIRE, GRILLE],
    }
    pages = {"police": police, "parquet": parquet, "asso": asso, "joy": joy, "precious": precious}
    for role, forbidden in others.items():
        html = pages[role].page.content().replace("&#x27;", "'").replace("&#39;", "'")
        for text in forbidden:
            assert text not in html, (role, text)
    # No trainee page names the injects other roles received.
    for role in ("police", "parquet"):
        html = pages[role].page.content()
        assert "scene-maraude" not in html and "cue-joy-vincennes" not in html, role

    # A decision answered at one desk appears on the trainer's board.
    card = asso.page.locator("#region-decisions [data-decision='dec-asso-nuit']")
    card.locator("label", has_text="Appeler tout de suite le 17").click()
    card.locator("textarea").fill("Mineure probable en danger : on signale tout de suite.")
    card.locator("button[type=submit]").click()
    asso.page.wait_for_selector("#region-decisions .is-answered[data-decision='dec-asso-nuit']")
    answer = control.locator("#region-board [data-decision='dec-asso-nuit'] li[data-role='asso']")
    answer.wait_for()
    control.wait_for_selector(
        "#region-board [data-decision='dec-asso-nuit'] li[data-role='asso'][data-answer='informer']"
    )
    assert "Awa Diallo" in answer.inner_text()
    # … and its branch reaches the police (msg-appel-maraude: option "informer").
    police.page.wait_for_selector("#region-inbox [data-inject='msg-appel-maraude']")
    assert parquet.page.locator("[data-inject='msg-appel-maraude']").count() == 0

    # A message crosses from the police desk to the prosecutor's.
    police.page.locator("#thread-with-parquet > summary").click()
    police.page.fill("#msg-parquet", "Mineure probable, client en garde à vue. On se rappelle ?")
    police.page.press("#msg-parquet", "Enter")
    received = parquet.page.locator(
        "#thread-with-police .message", has_text="client en garde à vue"
    )
    received.wait_for()
    assert "Chloé Bernard" in received.inner_text()
    assert asso.page.locator(".message", has_text="client en garde à vue").count() == 0
    control.wait_for_selector(
        "#region-threads .message:has-text('client en garde à vue')", state="attached"
    )

    # The police officer is reading an item when the next one arrives: it stays open.
    police.page.locator("#region-inbox [data-inject='msg-appel-maraude'] summary").click()
    police.page.wait_for_selector(
        "#region-inbox .inbox-item[data-inject='msg-appel-maraude']:not(.is-unread) details[open]"
    )

    # The trainer fires an inject by hand from the timeline; only its recipient gets it.
    control.locator(
        "#region-timeline [data-inject='doc-pv-constatation'] "
        "form:has(input[value='inject.fire']) button"
    ).click()
    police.page.wait_for_selector("#region-inbox [data-inject='doc-pv-constatation']")
    assert police.page.locator(
        "#region-inbox [data-inject='msg-appel-maraude'] details").get_attribute("open") == ""
    unread = police.page.locator("#region-inbox .inbox-item.is-unread").count()
    assert police.page.locator("#inbox-unread").get_attribute("data-unread") == str(unread)
    control.wait_for_selector(
        "#region-timeline [data-inject='doc-pv-constatation'][data-state='fired']"
    )

    # An actor's "done" reaches the trainer.
    joy.page.click(".cue-card[data-cue='cue-joy-vincennes'] .cue-card__done button")
    # The card moves on (here to the actors' opening cue, still unplayed).
    joy.page.wait_for_selector(
        ".cue-card[data-cue='cue-joy-vincennes'][data-state='open']", state="detached"
    )
    control.wait_for_selector("#region-timeline [data-inject='cue-joy-vincennes'] .ack")
    assert (
        "Joy"
        in control.locator("#region-timeline [data-inject='cue-joy-vincennes'] .ack").inner_text()
    )

    # A safety stop cannot be missed: a modal to acknowledge, then a banner that stays.
    precious.page.click(".btn--stop")
    precious.page.wait_for_selector("#region-alerts .safety-sent")
    dialog = control.locator("#safety-dialog[open]")
    dialog.wait_for()
    assert dialog.get_attribute("role") == "alertdialog"
    assert "Blessing O." in dialog.inner_text() and "Precious" in dialog.inner_text()
    control.keyboard.press("Escape")  # Escape does not dismiss it …
    assert control.locator("#safety-dialog[open]").count() == 1
    control.click("[data-safety-ack]")  # … acknowledging does
    control.wait_for_selector("#safety-dialog", state="hidden")
    assert "Blessing O." in control.locator("#region-alerts .safety-banner").inner_text()
    # Only the trainer (and the actor) know: the other actor's tablet says nothing.
    assert joy.page.locator("#region-alerts .safety-sent").count() == 0

    # The log agrees with the screens.
    kinds = set(Event.objects.filter(session=s).values_list("kind", flat=True))
    assert {"decision.answered", "message.sent", "cue.acknowledged", "safety.stop"} <= kinds


def visible_inbox_seqs(session, seat) -> list[int]:
    perspective = Perspective.for_seat(seat)
    return [
        e.seq
        for e in Event.objects.filter(session=session, kind="inject.fired").order_by("seq")
        if perspective.sees_event(e)
        and e.payload.get("kind") in {"message", "document", "call", "scene", "broadcast"}
    ]


def visible_seqs(session, seat) -> list[int]:
    perspective = Perspective.for_seat(seat)
    return [
        e.seq
        for e in Event.objects.filter(session=session).order_by("seq")
        if perspective.sees_event(e)
    ]


def test_offline_trainee_catches_up_without_reloading(stage):
    s, boss = stage.session, stage.principal()
    police = stage.seat("police", "Chloé Bernard")
    engine.session_start(session_id=s.pk, principal=boss)
    engine.clock_jump_to_phase(session_id=s.pk, principal=boss, phase_ident="rencontre")
    page = stage.open(police, f"/sessions/{s.pk}/desk/")
    loaded_at = page.evaluate("window.simtrainLoadedAt")
    before = page.locator("#region-inbox .inbox-item").count()
    assert before == len(visible_inbox_seqs(s, police.seat)) > 0

    police.context.set_offline(True)
    page.wait_for_selector("#connection[data-state='offline'], #connection[data-state='closed']")

    # A minute (and more) of exercise time passes while injects fire for the police:
    # the scheduled PV at 14:00, the decision a minute after it, two ad-hoc messages.
    engine.clock_set_speed(session_id=s.pk, principal=boss, speed=60)
    for n in (1, 2):
        engine.inject_adhoc(
            session_id=s.pk,
            principal=boss,
            roles=["police"],
            kind="message",
            title=f"Appel du standard n° {n}",
            sender="Standard BPM",
            body=f"Message {n} pendant la coupure.",
        )
        page.wait_for_timeout(1500)
    deadline = 40
    while (
        not Event.objects.filter(
            session=s, kind="inject.fired", payload__inject="dec-vincennes"
        ).exists()
        and deadline
    ):
        page.wait_for_timeout(250)
        deadline -= 1
    engine.clock_set_speed(session_id=s.pk, principal=boss, speed=1)
    missed = [seq for seq in visible_inbox_seqs(s, police.seat)]
    assert len(missed) >= before + 3  # the PV and both messages at least
    # Nothing reached the offline page.
    assert page.locator("#region-inbox .inbox-item").count() == before

    police.context.set_offline(False)
    wait_live(page)
    expected = visible_inbox_seqs(s, police.seat)
    page.wait_for_function(
        "n => document.querySelectorAll('#region-inbox .inbox-item').length === n",
        arg=len(expected),
    )
    shown = [
        int(x)
        for x in page.locator("#region-inbox .inbox-item").evaluate_all(
            "items => items.map(i => i.dataset.seq)"
        )
    ]
    assert shown == sorted(expected, reverse=True)  # every missed item, newest first, once
    page.wait_for_selector("#region-decisions [data-decision='dec-vincennes']")
    # The feed holds every visible event once, in order (newest first).
    page.wait_for_function(
        "n => Math.max(...[...document.querySelectorAll('#feed .feed-item')]"
        ".map(e => +e.dataset.seq)) >= n",
        arg=max(visible_seqs(s, police.seat)),
    )
    feed = [
        int(x)
        for x in page.locator("#feed .feed-item").evaluate_all(
            "items => items.map(i => i.dataset.seq)"
        )
    ]
    assert feed == sorted(set(feed), reverse=True)
    assert set(visible_seqs(s, police.seat)) <= set(feed)
    # No reload happened: the marker set at load is still there, one navigation only.
    assert page.evaluate("window.simtrainLoadedAt") == loaded_at
    assert page.evaluate("performance.getEntriesByType('navigation').length") == 1
    assert re.match(r"^\d+$", page.evaluate("document.getElementById('live').dataset.lastSeq"))
