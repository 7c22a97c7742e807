"""Countdowns in the engine: started, warned, extended, expired, stopped by conditions,
in story time, on the scheduler's tick; frozen with the clock; expired once."""

from __future__ import annotations

import pytest

from scenarios.fiction import Fiction
from sessions import engine, scheduler
from sessions.engine.limits import next_timer_ms
from sessions.models import Event
from tests.sessions.conftest import seat_up
from tests.sessions.engine.helpers import fired, kinds, start, tick

pytestmark = pytest.mark.django_db

# tests.drills.LAW: `placement` at 1m starts `gav` (24 h of story time); the story
# jumps at clock 10m from 15/03 22:50 to 16/03 20:00, so at 10m 2 h 41 min are left.
# The 2 h warning falls due at clock 51m, the expiry at 2 h 51 min.
START_MS, JUMP_MS = 60_000, 600_000
WARN_MS = JUMP_MS + 41 * 60_000
EXPIRY_MS = JUMP_MS + (2 * 60 + 41) * 60_000


@pytest.fixture
def boss(trainer):
    return engine.TrainerPrincipal(user_id=trainer.pk, name="Formatrice")


def countdown_events(session):
    """(kind, clock, payload) of each countdown event; every one names its countdown's
    title for the screens (checked here, left out of what is returned)."""
    rows = Event.objects.filter(session=session, kind__startswith="countdown.")
    found = []
    for kind, clock_ms, payload in rows.values_list("kind", "clock_ms", "payload"):
        assert payload.pop("title") == "Garde à vue"
        found.append((kind, clock_ms, payload))
    return found


def run_to(session, wall, clock_s: float):
    """Move the wall clock (speed 1) to `clock_s` from the start, ticking on the way."""
    session.refresh_from_db()
    now = session.clock_ms(wall.now)
    wall.advance(clock_s - now / 1000)
    tick(session)


def test_the_story_times_the_test_relies_on(law_version):
    fiction = Fiction.from_stored(law_version.fiction)
    assert fiction.expiry_clock_ms(START_MS, 24 * 3_600_000) == EXPIRY_MS
    assert fiction.warning_clock_ms(START_MS, 24 * 3_600_000, 2 * 3_600_000) == WARN_MS


def test_a_countdown_starts_when_its_condition_holds_and_warns_then_expires_on_time(
    law_session, boss, wall
):
    start(law_session, boss)
    run_to(law_session, wall, 59)
    assert countdown_events(law_session) == []
    run_to(law_session, wall, 60)
    assert countdown_events(law_session) == [("countdown.started", START_MS, {"countdown": "gav"})]
    run_to(law_session, wall, WARN_MS / 1000 - 1)
    assert [k for k, *_ in countdown_events(law_session)] == ["countdown.started"]
    run_to(law_session, wall, WARN_MS / 1000)
    assert countdown_events(law_session)[-1] == ("countdown.warned", WARN_MS, {"countdown": "gav"})
    run_to(law_session, wall, EXPIRY_MS / 1000 - 1)
    assert "countdown.expired" not in kinds(law_session)
    run_to(law_session, wall, EXPIRY_MS / 1000)
    assert countdown_events(law_session)[-1] == (
        "countdown.expired",
        EXPIRY_MS,
        {"countdown": "gav"},
    )
    # `when: {countdown: gav, state: expired}` fires its inject, in the same instant.
    assert fired(law_session)["fin-gav"].clock_ms == EXPIRY_MS
    # Expired stays expired: later ticks, even much later, log nothing more about it.
    run_to(law_session, wall, EXPIRY_MS / 1000 + 3600)
    assert [k for k, *_ in countdown_events(law_session)] == [
        "countdown.started",
        "countdown.warned",
        "countdown.expired",
    ]
    assert next_timer_ms(law_session) is None


def test_countdown_events_reach_its_roles_only(law_session, boss, wall):
    start(law_session, boss)
    run_to(law_session, wall, 60)
    event = Event.objects.get(session=law_session, kind="countdown.started")
    assert event.audience == ["role:parquet", "role:police"]
    assert event.actor == "system"


def test_a_countdown_freezes_with_the_clock(law_session, boss, wall):
    start(law_session, boss)
    run_to(law_session, wall, 60)
    run_to(law_session, wall, WARN_MS / 1000 - 10)
    engine.session_pause(session_id=law_session.pk, principal=boss)
    wall.advance(3 * 3600)  # hours of real time while paused
    tick(law_session)
    assert "countdown.warned" not in kinds(law_session)
    engine.session_resume(session_id=law_session.pk, principal=boss)
    wall.advance(10)
    tick(law_session)
    assert countdown_events(law_session)[-1][:2] == ("countdown.warned", WARN_MS)


def test_a_stopped_countdown_never_expires(law_session, boss, wall):
    police = seat_up(law_session, "police")
    start(law_session, boss)
    run_to(law_session, wall, 120)
    engine.action_take(session_id=law_session.pk, principal=police, action_ident="lever-gav")
    assert countdown_events(law_session)[-1] == ("countdown.stopped", 120_000, {"countdown": "gav"})
    run_to(law_session, wall, EXPIRY_MS / 1000 + 60)
    assert [k for k, *_ in countdown_events(law_session)] == [
        "countdown.started",
        "countdown.stopped",
    ]
    assert "fin-gav" not in fired(law_session)


def test_an_approved_request_extends_the_countdown_once(law_session, boss, wall):
    police, parquet = seat_up(law_session, "police"), seat_up(law_session, "parquet")
    start(law_session, boss)
    run_to(law_session, wall, 60)
    run_to(law_session, wall, 120)
    for _round in range(2):  # sent and approved twice: the extension applies once
        engine.request_send(
            session_id=law_session.pk,
            principal=police,
            request_ident="prolongation",
            reason="Aveux partiels",
        )
        engine.request_decide(
            session_id=law_session.pk,
            principal=parquet,
            request_ident="prolongation",
            outcome="approved",
            reason="Motivé",
        )
    extended = [e for e in countdown_events(law_session) if e[0] == "countdown.extended"]
    assert extended == [
        ("countdown.extended", 120_000, {"countdown": "gav", "extension": 0, "by_s": 86_400})
    ]
    later = EXPIRY_MS + 24 * 3_600_000
    run_to(law_session, wall, EXPIRY_MS / 1000 + 60)
    assert "countdown.expired" not in kinds(law_session)
    assert next_timer_ms(law_session) == later - 2 * 3_600_000  # its warning, moved too
    run_to(law_session, wall, later / 1000)
    assert countdown_events(law_session)[-1][:2] == ("countdown.expired", later)


def test_a_late_tick_logs_the_warning_then_the_expiry(law_session, boss, wall):
    start(law_session, boss)
    run_to(law_session, wall, 60)
    session = law_session
    wall.advance(EXPIRY_MS / 1000 * 2)  # the server was down past both
    tick(session)
    events = countdown_events(session)
    assert [k for k, *_ in events] == ["countdown.started", "countdown.warned", "countdown.expired"]
    assert events[-1][1] == events[-2][1]  # both logged at the late tick, in order


def test_scenarios_without_the_law_keys_log_nothing_new(session, boss, wall):
    start(session, boss)
    wall.advance(700)
    tick(session)
    assert not [k for k in kinds(session) if k.startswith(("countdown.", "request."))]


def test_the_scheduler_process_fires_warnings_and_expiries(law_session, boss, wall):
    start(law_session, boss)
    wall.advance(60)
    scheduler.tick_all()
    wall.advance(EXPIRY_MS / 1000)
    scheduler.tick_all()
    assert [k for k, *_ in countdown_events(law_session)] == [
        "countdown.started",
        "countdown.warned",
        "countdown.expired",
    ]


def test_an_act_just_after_expiry_finds_the_countdown_expired(law_session, boss, wall):
    police = seat_up(law_session, "police")
    start(law_session, boss)
    run_to(law_session, wall, 60)
    run_to(law_session, wall, EXPIRY_MS / 1000 - 1)
    wall.advance(1.1)  # past expiry, before the scheduler's next tick
    engine.action_take(session_id=law_session.pk, principal=police, action_ident="lever-gav")
    assert [k for k, *_ in countdown_events(law_session)] == [
        "countdown.started",
        "countdown.warned",
        "countdown.expired",
    ]
    logged = kinds(law_session)
    assert "countdown.stopped" not in logged  # too late: it had run out
    assert logged.index("countdown.expired") < logged.index("action.taken")


def test_ticks_with_nothing_new_read_the_log_once(law_session, boss, wall, monkeypatch):
    # While a countdown runs, every tick asks the law's state and facts: the rows of a
    # log that did not grow are read once, not four times a second.
    from sessions.engine import limits

    start(law_session, boss)
    run_to(law_session, wall, 60)  # `gav` is running
    reads = []
    real = limits.Event.objects.filter
    monkeypatch.setattr(
        limits.Event.objects, "filter", lambda *a, **kw: reads.append(kw) or real(*a, **kw)
    )
    for _ in range(3):
        run_to(law_session, wall, 61)
    assert len(reads) == 1
    # Something new in the log: read again, and the countdown still warns on time.
    run_to(law_session, wall, WARN_MS / 1000)
    assert len(reads) > 1
    assert [k for k, _ms, _p in countdown_events(law_session)][-1] == "countdown.warned"
