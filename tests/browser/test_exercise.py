"""The control room of an exercise of syndicates in a real browser: axe, commands, drill-down."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from sessions import engine
from sessions.exercises import services
from sessions.models import Seat, new_secret
from tests.browser.conftest import axe_violations, screenshot, wait_live

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def assert_no_serious(page, where: str):
    found = axe_violations(page)
    assert not found, f"{where}: " + "; ".join(
        f"{v['impact']} {v['id']} ({v['help']}) at {', '.join(v['nodes'])}" for v in found
    )


def test_the_exercise_control_room(stage, version, trainer_user):
    exercise = services.exercise_create(version=version, trainer=trainer_user,
                                        title="Promotion 2026", syndicates=3)
    teams = services.syndicates_of(exercise)
    trainer = stage.trainer_page()
    page = trainer.page
    page.goto(f"{stage.base}/exercises/{exercise.pk}/")
    assert page.locator("#exercise-overview tbody tr").count() == 3
    assert_no_serious(page, "exercise control room")

    def send(command: str) -> None:
        with page.expect_response(lambda r: r.url.endswith("/command/")):
            page.click(f"button[name=command][value={command}]")
        page.wait_for_selector("[data-outcomes]")

    send("start")  # to all teams
    assert page.locator("[data-outcome][data-ok='1']").count() == 3
    # Between two polls each team's clock ticks by itself.
    clock = page.locator("tr[data-syndicate='1'] .clock__time")
    before = clock.inner_text()
    expect(clock).not_to_have_text(before, timeout=2000)  # the poll is every 3 s
    page.select_option("#exercise-target", "2")
    send("pause")
    assert page.locator("[data-outcome]").count() == 1
    assert page.locator("[data-outcome='2'][data-ok='1']").count() == 1
    send("resume")  # the target stays team 2: it resumes
    assert page.locator("[data-outcome='2'][data-ok='1']").count() == 1
    page.select_option("#exercise-target", "all")
    send("resume")  # no team is paused now: each refuses, and says so
    assert page.locator("[data-outcome][data-ok='0']").count() == 3
    assert_no_serious(page, "exercise control room with refusals")

    # A safety stop in team 3 reaches the overview at its next poll, first of all.
    seat = Seat.objects.filter(session=teams[2].session, role__kind="trainee").first()
    key = new_secret()
    engine.seat_claim(session_id=teams[2].session_id, seat_id=seat.pk, name="Inès", pass_key=key)
    engine.safety_stop(session_id=teams[2].session_id,
                       principal=engine.SeatPrincipal(seat.pk, key))
    page.wait_for_selector(".safety-banner [data-syndicate='3']", timeout=10000)
    assert_no_serious(page, "exercise control room with a safety stop")
    screenshot(page, "exercise-control-room", full_page=True)

    # Drill down into team 1's own control room, and back.
    page.click(f"a[href='/sessions/{teams[0].session_id}/']")
    wait_live(page)
    page.click("[data-exercise-back]")
    page.wait_for_selector("#exercise-overview")
    assert page.url.endswith(f"/exercises/{exercise.pk}/")

    page.goto(f"{stage.base}/exercises/{exercise.pk}/plenary/")
    assert page.locator("[data-graph]").count() == 3
    assert_no_serious(page, "plenary")
    screenshot(page, "plenary", full_page=True)
