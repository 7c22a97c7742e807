"""The replay and the after-action report in a real browser, with axe-core.

A session of the shipped scenario is played through the engine (`rehearsal.in_process`),
then the trainer opens its replay: switches perspective, jumps to a marker, plays at
16×, and reads the report, rates an objective and downloads the PDF. axe-core finds no
serious or critical violation on either page, and the strict CSP reports nothing.
"""

from __future__ import annotations

import time

import pytest

from rehearsal.in_process import rehearse
from sessions.models import Event, Seat
from tests.browser.conftest import axe_violations
from tests.sessions.conftest import WallClock

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def played(version, trainer_user):
    """Played and ended before the server starts: its scheduler, on real time, must not
    tick a session whose clock runs on this fake wall clock. (Tests list it first.)"""
    wall = WallClock()
    with pytest.MonkeyPatch.context() as patch:  # hours of exercise in a few seconds
        patch.setattr("django.utils.timezone.now", wall)
        return rehearse(version=version, trainer=trainer_user, advance=wall.advance,
                        events=350, seed=11, title="Promotion 2026 — relecture")


def assert_no_serious(page, where: str) -> None:
    found = axe_violations(page)
    assert not found, f"{where}: " + "; ".join(
        f"{v['impact']} {v['id']} ({v['help']}) at {', '.join(v['nodes'])}" for v in found)


def watch_console(page) -> list[str]:
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda err: problems.append(str(err)))
    return problems


def test_replay_switches_perspective_jumps_and_plays(played, stage):
    trainer = stage.trainer_page()
    page = trainer.page
    problems = watch_console(page)
    page.goto(f"{stage.base}/sessions/{played.pk}/replay/")
    page.wait_for_selector(".replay-frame[data-as='trainer'] #replay-region-roster")
    assert page.locator("[data-replay='play']").is_visible()  # replay.js took over
    assert_no_serious(page, "replay, control room")

    # The perspective of one trainee: the desk's regions, not the control room's.
    police = Seat.objects.filter(session=played, role__ident="police").order_by("number").first()
    page.select_option("#replay-as", f"seat:{police.pk}")
    page.wait_for_selector(f".replay-frame[data-as='seat:{police.pk}'] #replay-region-inbox")
    assert page.locator("#replay-region-roster").count() == 0
    assert f"as=seat%3A{police.pk}" in page.url  # the URL follows

    # A marker seeks to its event, exactly.
    marker = page.locator(".replay__marker--inject a[data-seq]").nth(2)
    seq = marker.get_attribute("data-seq")
    marker.click()
    page.wait_for_selector(f"#replay-status[data-seq='{seq}']")
    assert page.locator(".replay__marker a[aria-current]").count() == 1

    # Play at 16×: the moment moves on, and only changed regions are fetched.
    page.click("[data-speed='16']")
    before = int(page.locator("#replay-status").get_attribute("data-t"))
    page.click("[data-replay='play']")
    deadline = time.monotonic() + 15  # (wait_for_function would need eval: the CSP says no)
    while int(page.locator("#replay-status").get_attribute("data-t")) <= before + 8000:
        assert time.monotonic() < deadline, "the replay did not play"
        page.wait_for_timeout(100)
    page.click("[data-replay='play']")
    assert page.locator("[data-replay='play']").get_attribute("aria-pressed") == "false"

    # The scrubber from the keyboard.
    page.focus("#replay-t")
    page.keyboard.press("End")
    last = played.last_seq
    page.wait_for_selector(f"#replay-status[data-seq='{last}']")
    assert_no_serious(page, "replay, trainee desk")

    # Without JavaScript the same moment is a plain link.
    page.goto(f"{stage.base}/sessions/{played.pk}/replay/?as=seat:{police.pk}&seq=5")
    page.wait_for_selector("#replay-status[data-seq='5']")
    assert not [p for p in problems if "Content Security Policy" in p or "Refused" in p], \
        problems


def test_report_rates_an_objective_and_prints(played, stage):
    trainer = stage.trainer_page()
    page = trainer.page
    problems = watch_console(page)
    page.goto(f"{stage.base}/sessions/{played.pk}/report/")
    page.wait_for_selector("#aar-objectives")
    assert page.locator("svg.chart--graph title").count() >= 1
    assert page.locator("#comm-matrix").count() == 1
    assert_no_serious(page, "after-action report")

    objective = page.locator(".aar-objective").first
    ident = objective.get_attribute("data-objective")
    before = Event.objects.filter(session=played, kind="objective.rated").count()
    objective.locator(".aar-rate-toggle > summary").click()
    objective.locator("input[name='level'][value='4']").check()
    objective.locator("textarea[name='comment']").fill("Très bon réflexe.")
    objective.locator("button[type='submit']").click()
    page.locator(f"#objective-{ident} tr[data-level='4']",
                 has_text="Très bon réflexe.").wait_for()
    assert Event.objects.filter(session=played, kind="objective.rated").count() == before + 1

    page.select_option("#debrief-kind", "takeaway")
    page.fill("#debrief-text", "Présumer la minorité, toujours.")
    page.click(".aar-debrief__form button[type='submit']")
    page.wait_for_selector("text=Présumer la minorité, toujours.")
    assert_no_serious(page, "after-action report, after rating")

    pdf = trainer.context.request.get(f"{stage.base}/sessions/{played.pk}/report.pdf")
    assert pdf.ok and pdf.headers["content-type"] == "application/pdf"
    assert pdf.body()[:4] == b"%PDF"
    assert not [p for p in problems if "Content Security Policy" in p or "Refused" in p], \
        problems
