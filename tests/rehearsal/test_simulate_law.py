"""A rehearsal of the law example: bots take repeatable actions more than once, a
safety stop holds the exercise until the trainer bot resumes it, and the report's law
invariants hold (a withheld inject never fires by itself; repeat once per taking)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sessions.models import Event
from tests.rehearsal.test_simulate import _fresh_timed_cache, assert_clean, simulate  # noqa: F401
from tests.scenarios.format_helpers import DATA

pytestmark = pytest.mark.django_db(transaction=True)


def test_rehearsal_of_the_law_example_with_holding_safety_stops(tmp_path: Path):
    source = tmp_path / "law.yaml"
    text = (DATA / "law.yaml").read_text(encoding="utf-8")
    source.write_text(text.replace("  stop: alert", "  stop: hold"), encoding="utf-8")
    report = simulate(
        str(source), "--speed", "240", "--seed", "5", "--drop-every", "0", "--safety-stops"
    )
    assert_clean(report)
    assert report["injects"]["withheld_fired_by_itself"] == []
    assert report["injects"]["repeat_not_once_per_taking"] == []
    log = Event.objects.filter(session_id=report["session_id"])
    taken = log.filter(kind="action.taken", payload__action="auditionner").count()
    assert log.filter(kind="inject.fired", payload__inject="pv-audition").count() == taken
    assert taken >= 2  # repeatable, taken more than once
    holds = log.filter(kind="clock.paused", payload__reason="safety").count()
    assert holds >= 1 and holds == log.filter(kind="safety.stop").count()
    assert log.filter(kind="clock.resumed").count() >= 1  # the trainer bot resumed
