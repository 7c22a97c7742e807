"""`safety: {stop: hold}`: a safety stop holds the exercise until the trainer resumes."""

from __future__ import annotations

import pytest
from django.utils import translation

from scenarios.models import ScenarioVersion
from sessions import engine, replay
from sessions.audience import Perspective
from sessions.models import Event, Session
from sessions.projections import apply, new_state
from sessions.render import render_region
from tests.sessions.engine.helpers import fired, start, tick
from tests.sessions.review_helpers import fresh_caches  # noqa: F401 - a fixture


@pytest.fixture
def holding(live_version):
    ScenarioVersion.objects.filter(pk=live_version.pk).update(
        safety_stop=ScenarioVersion.SafetyStop.HOLD
    )
    return live_version


def _clock_html(session, perspective) -> str:
    state = new_state(perspective, session.version_id, session.pk)
    for event in Event.objects.filter(session=session).order_by("seq"):
        if perspective.sees_event(event):
            apply(state, event)
    with translation.override("fr"):
        return render_region(state, "clock")


def test_a_stop_that_holds_pauses_the_clock_and_freezes_deadlines(
    holding, session, boss, seated, wall
):
    start(session, boss)
    wall.advance(120)
    tick(session)  # the decision fires at 120 s, its deadline is at 180 s
    wall.advance(10)
    engine.safety_stop(session_id=session.pk, principal=seated["joy"], note="stop")
    session.refresh_from_db()
    assert session.state == Session.State.PAUSED and session.anchor_clock_ms == 130_000
    paused = Event.objects.filter(session=session, kind="clock.paused").get()
    assert paused.payload["reason"] == "safety" and paused.audience == ["*"]
    wall.advance(3600)
    tick(session)
    assert "on-none" not in fired(session)
    engine.session_resume(session_id=session.pk, principal=boss)
    wall.advance(50)
    tick(session)
    assert "on-none" in fired(session)
    assert fired(session)["on-none"].clock_ms == 180_000


def test_every_screen_but_the_trainers_says_exercice_suspendu(holding, session, boss, seated, wall):
    start(session, boss)
    engine.safety_stop(session_id=session.pk, principal=seated["police"])
    joy = Perspective(kind="seat", role_ident="joy", seat_id=seated["joy"].seat_id)
    assert "Exercice suspendu" in _clock_html(session, joy)
    assert "Exercice suspendu" in _clock_html(session, Perspective(kind="room"))
    assert "Exercice suspendu" not in _clock_html(session, Perspective.trainer())
    engine.session_resume(session_id=session.pk, principal=boss)
    assert "Exercice suspendu" not in _clock_html(session, joy)


def test_a_stop_while_the_trainer_had_paused_still_holds(holding, session, boss, seated):
    start(session, boss)
    engine.session_pause(session_id=session.pk, principal=boss)
    engine.safety_stop(session_id=session.pk, principal=seated["joy"])
    reasons = [
        e.payload.get("reason")
        for e in Event.objects.filter(session=session, kind="clock.paused").order_by("seq")
    ]
    assert reasons == [None, "safety"]


def test_before_the_start_a_stop_only_alerts(holding, session, seated):
    engine.safety_stop(session_id=session.pk, principal=seated["joy"])
    assert not Event.objects.filter(session=session, kind="clock.paused").exists()


def test_alert_keeps_todays_behaviour(session, boss, seated):
    assert session.version.safety_stop == ScenarioVersion.SafetyStop.ALERT
    start(session, boss)
    engine.safety_stop(session_id=session.pk, principal=seated["joy"])
    assert Session.objects.get(pk=session.pk).state == Session.State.RUNNING
    assert not Event.objects.filter(session=session, kind="clock.paused").exists()


def test_the_replay_shows_the_hold_to_the_seats_as_they_saw_it(holding, session, boss, seated):
    start(session, boss)
    engine.safety_stop(session_id=session.pk, principal=seated["joy"])
    session.refresh_from_db()
    seat = replay.viewpoint(session, f"seat:{seated['police'].seat_id}")
    with translation.override("fr"):
        held = replay.frame_at(session, seat, seq=session.last_seq).clock_html
        before = replay.frame_at(session, seat, seq=session.last_seq - 2).clock_html
    assert "Exercice suspendu" in held and "Exercice suspendu" not in before
    assert "Exercice suspendu" in _clock_html(
        session, Perspective(kind="seat", role_ident="police", seat_id=seated["police"].seat_id)
    )
