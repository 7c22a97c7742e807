"""The exercise clock: start, pause, resume, speed, jump to a phase."""

from __future__ import annotations

import pytest

from sessions import engine
from sessions.models import Event
from tests.sessions.engine.helpers import fired, start, tick


def test_start_fires_what_is_due_at_zero(session, boss):
    start(session, boss)
    assert set(fired(session)) == {"t0"}
    event = Event.objects.get(session=session, kind="inject.fired")
    assert event.audience == ["*"]  # a broadcast to all is public
    assert event.payload["late"] is False


def test_clock_pause_stops_time_and_resume_goes_on(session, boss, wall):
    start(session, boss)
    wall.advance(50)
    engine.session_pause(session_id=session.pk, principal=boss)
    wall.advance(1000)
    tick(session)
    assert "call" not in fired(session)  # the clock stood at 50 s
    engine.session_resume(session_id=session.pk, principal=boss)
    wall.advance(10)
    tick(session)
    assert fired(session)["call"].clock_ms == 60_000


def test_speed_scales_the_clock(session, boss, wall):
    start(session, boss)
    engine.clock_set_speed(session_id=session.pk, principal=boss, speed=60)
    wall.advance(1)  # one real second is one exercise minute
    tick(session)
    assert "call" in fired(session)


def test_unsupported_speed_is_refused(session, boss):
    start(session, boss)
    with pytest.raises(engine.EngineError) as err:
        engine.clock_set_speed(session_id=session.pk, principal=boss, speed=1000)
    assert err.value.code == "bad-speed"


def test_jump_to_phase_fires_skipped_over_injects_on_time(session, boss, seated, wall):
    start(session, boss)
    engine.clock_jump_to_phase(session_id=session.pk, principal=boss, phase_ident="p2")
    f = fired(session)
    assert {"call", "dec", "late-phase"} <= set(f)
    assert not any(firing.late for firing in f.values())
    # `after` counts from when its parent actually fired: at the jump.
    assert f["call"].clock_ms == 600_000 and "followup" not in f
    wall.advance(30)
    tick(session)
    assert fired(session)["followup"].clock_ms == 630_000
    with pytest.raises(engine.EngineError) as err:
        engine.clock_jump_to_phase(session_id=session.pk, principal=boss, phase_ident="p1")
    assert err.value.code == "jump-backwards"
