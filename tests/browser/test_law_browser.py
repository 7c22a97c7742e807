"""Countdowns and requests in real browsers: the holder's desk ticks story time left,
the sender sends a request with reasons, the decider approves it on a card, both see
the outcome and the countdown extended."""

from __future__ import annotations

import re

import pytest

from scenarios.services import scenario_import
from sessions import engine
from sessions.engine import due
from tests.drills import LAW

pytestmark = pytest.mark.browser


@pytest.fixture
def live_session(transactional_db, trainer_user):
    due.forget_versions()
    version = scenario_import(source=("law-drill.yaml", LAW.encode())).version
    return engine.session_create(version=version, trainer=trainer_user, title="Loi")


def left_text(page) -> str:
    return page.inner_text("#region-law [data-countdown='gav'] .deadline__left")


def test_a_request_extends_the_countdown_its_holders_watch(stage):
    s = stage.session
    police = stage.seat("police", "Chloé Bernard", path=f"/sessions/{s.pk}/desk/")
    parquet = stage.seat("parquet", "Julien Roy", path=f"/sessions/{s.pk}/desk/")
    control = stage.open(stage.trainer_page(), f"/sessions/{s.pk}/")
    control.click("#console-toggle[data-action='start']")
    control.wait_for_selector("#clock[data-state='running']")
    control.click(".segmented__option:text-is('60×')")
    # `placement` fires at 1 min (1 s at 60×): the countdown starts on both desks.
    for person in (police, parquet):
        person.page.wait_for_selector("#region-law [data-countdown='gav'][data-state='running']")
    # Story time left, not clock time to expiry (2 h 51 min away, across the jump).
    police.page.wait_for_function(
        "() => /^2[34]:\\d\\d:\\d\\d$/.test(document.querySelector("
        "\"#region-law [data-countdown='gav'] .deadline__left\").textContent)"
    )
    control.click(".segmented__option:text-is('1×')")
    first = left_text(police.page)
    police.page.wait_for_function(
        f"() => document.querySelector(\"#region-law [data-countdown='gav'] "
        f'.deadline__left").textContent !== {first!r}'
    )  # it ticks
    police.page.fill("#request-reason-prolongation", "Aveux partiels, confrontation à venir")
    police.page.click("#region-law [data-request='prolongation'] button[type=submit]")
    parquet.page.wait_for_selector(
        "#region-law [data-request='prolongation'][data-state='pending']"
    )
    assert "Aveux partiels" in parquet.page.inner_text("#region-law")
    parquet.page.check("#request-prolongation-approved")
    parquet.page.fill("#decide-reason-prolongation", "Nécessité de l'enquête")
    parquet.page.click("#region-law [data-request='prolongation'] button[type=submit]")
    for person in (police, parquet):
        person.page.wait_for_selector(
            "#region-law [data-request='prolongation'][data-state='approved']"
        )
    police.page.wait_for_function(
        "() => /^4[78]:\\d\\d:\\d\\d$/.test(document.querySelector("
        "\"#region-law [data-countdown='gav'] .deadline__left\").textContent)"
    )
    control.wait_for_selector("#region-law [data-request='prolongation'][data-state='approved']")
    assert re.search(r"Nécessité de l.enquête", control.inner_text("#region-law"))
