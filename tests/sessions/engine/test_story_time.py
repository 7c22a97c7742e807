"""Story time beside the clock: the server's label, the browser's (clock.js), the replay's."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import translation

from scenarios.models import ScenarioVersion
from sessions import engine, layout, replay, story
from sessions.audience import Perspective
from sessions.exports import events_csv
from sessions.models import Event
from sessions.projections import apply, new_state
from sessions.render import render_region
from tests.sessions.engine.helpers import start
from tests.sessions.review_helpers import fresh_caches  # noqa: F401 - a fixture

FICTION = {
    "starts": "2026-03-15T22:40:00",
    "jumps": [
        {"at_s": 1800, "to": "2026-03-16T09:00:00"},
        {"at_s": 3300, "to": "2026-03-25T14:00:00"},
    ],
}
MOMENTS = [0, 59_999, 60_000, 1_799_999, 1_800_000, 2_000_000, 3_300_000, 9_999_000]


def test_the_label_follows_the_fiction_and_its_jumps():
    with translation.override("fr"):
        assert story.label(FICTION, 0) == "dim. 15 mars 2026, 22:40"
        assert story.label(FICTION, 1_800_000) == "lun. 16 mars 2026, 09:00"
        assert story.label(None, 1_800_000) == "" and story.browser_data(None) == ""


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node to run clock.js")
@pytest.mark.parametrize("language", ["fr", "en"])
def test_the_browser_computes_the_same_label_as_the_server(language):
    with translation.override(language):
        data = story.browser_data(FICTION)
        expected = [story.label(FICTION, ms) for ms in MOMENTS]
    script = (Path(settings.BASE_DIR) / "static" / "simtrain" / "clock.js").read_text()
    program = (
        "var window = {};\n" + script + "\nvar data = " + data + ";\n"
        "console.log(JSON.stringify("
        + json.dumps(MOMENTS)
        + ".map(function (ms) { return window.simtrainClock.story(ms, data); })));"
    )
    out = subprocess.run(["node", "-e", program], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == expected


def _clock(session, perspective=None) -> str:
    perspective = perspective or Perspective.trainer()
    state = new_state(perspective, session.version_id, session.pk)
    for event in Event.objects.filter(session=session).order_by("seq"):
        apply(state, event)
    with translation.override("fr"):
        return render_region(state, "clock")


def test_every_screen_shows_story_time_beside_the_clock_and_the_replay_too(
    live_version, session, boss, wall
):
    assert "clock__story" not in _clock(session)  # without fiction nothing changes
    ScenarioVersion.objects.filter(pk=live_version.pk).update(fiction=FICTION)
    layout.forget_caches()
    start(session, boss)
    wall.advance(1800)
    engine.session_pause(session_id=session.pk, principal=boss)
    html = _clock(session, Perspective(kind="room"))
    assert "lun. 16 mars 2026, 09:00" in html and "data-story=" in html
    session.refresh_from_db()
    view = replay.viewpoint(session, "trainer")
    with translation.override("fr"):
        frame = replay.frame_at(session, view, t_ms=60_000)
    assert "dim. 15 mars 2026, 22:41" in frame.clock_html


def test_the_csv_export_has_story_time_only_with_fiction(live_version, session, boss, wall):
    start(session, boss)
    notice, header = events_csv(session).splitlines()[:2]  # the EXERCICE notice comes first
    assert "EXERCICE" in notice and "recit" not in header
    ScenarioVersion.objects.filter(pk=live_version.pk).update(fiction=FICTION)
    session.refresh_from_db()
    session.version.refresh_from_db()
    with translation.override("fr"):
        rows = events_csv(session).splitlines()
    assert rows[1].endswith(";recit") and rows[2].endswith("dim. 15 mars 2026, 22:40")
