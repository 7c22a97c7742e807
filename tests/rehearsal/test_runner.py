"""How a rehearsal's play ends (`Coordinator._play`), against a scripted session status.

No server: the bots are built but never connect, and `_status` is replaced by what the
database would say. What matters is that a run always ends, and says why when it ends
short — CI once waited 900 s on a run that nothing would ever end.
"""

from __future__ import annotations

import asyncio
import time
from types import SimpleNamespace

import pytest

from rehearsal import runner
from rehearsal.bot import OBSERVER, TRAINER, BotSpec
from rehearsal.plan import ScenarioPlan
from rehearsal.runner import Coordinator, SimulationConfig
from sessions import engine
from sessions.models import Session
from tests.sessions.conftest import seat_up
from tests.sessions.engine.helpers import start, tick

HORIZON_MS = 600_000
DAY_MS = 24 * 3_600_000


def coordinator(*, latest_ms: int = HORIZON_MS, speed: float = 240) -> Coordinator:
    plan = ScenarioPlan(
        specs=(
            BotSpec(name="Formateur", kind=TRAINER),
            BotSpec(name="Bot observateur 1", kind=OBSERVER, seat_id=7),
        ),
        horizon_ms=HORIZON_MS,
        latest_ms=latest_ms,
    )
    c = Coordinator(
        session=SimpleNamespace(pk=1, code="ABCD"),
        plan=plan,
        stack=SimpleNamespace(urls=["http://127.0.0.1:9"]),
        config=SimulationConfig(speed=speed, drop_every_s=0),
        trainer_cookie="x",
    )
    for bot in c.bots:
        bot.plan.clear()  # nothing planned: only what a test adds keeps a bot busy
    return c


def script(
    monkeypatch, *, clock_ms: int, next_due_ms=None, last_seq: int = 40, clock_step_ms: int = 0
):
    """`_status` says: running, this clock (moving by `clock_step_ms` a call), this due."""
    calls = {"n": 0}

    def status(session_id):
        calls["n"] += 1
        now = clock_ms + calls["n"] * clock_step_ms
        due = next_due_ms if next_due_ms is None or now < next_due_ms else None
        return {
            "state": Session.State.RUNNING,
            "clock_ms": now,
            "next_due_ms": due,
            "last_seq": last_seq + (due is None and next_due_ms is not None),
        }

    monkeypatch.setattr(runner, "_status", status)
    monkeypatch.setattr(runner, "STALL_S", 0.5)
    monkeypatch.setattr(runner, "QUIET_S", 0.2)
    return calls


def play(c: Coordinator, setup=None) -> None:
    async def main():
        if setup is not None:
            setup(c)
        try:
            await asyncio.wait_for(c._play(time.monotonic()), 20)
        finally:
            for bot in c.bots:
                await bot.close()

    asyncio.run(main())


@pytest.mark.timeout(60)
def test_a_bot_waiting_for_a_clock_that_never_comes_ends_the_run_as_stalled(monkeypatch):
    script(monkeypatch, clock_ms=HORIZON_MS + 1000)
    c = coordinator()

    def stuck(c):  # its screen's clock is not running: "in 30 s" never comes
        c.bots[1]._later(30, lambda: {"cmd": "note.private", "text": "x"})

    play(c, stuck)
    assert c.stopped.startswith("stalled: no new event for")
    assert "Bot observateur 1 (1 pending, one at clock 30s in run:" in c.stopped
    assert "its clock not running" in c.stopped and not c.capped


@pytest.mark.timeout(60)
def test_a_run_with_nothing_left_ends_without_a_word(monkeypatch):
    script(monkeypatch, clock_ms=HORIZON_MS + 1000)
    c = coordinator()
    play(c)
    assert c.stopped == "" and not c.capped


@pytest.mark.timeout(60)
def test_a_countdown_of_days_is_not_waited_for(monkeypatch):
    # A running 15-day limit keeps something due; at ×240 it is 90 minutes away.
    script(monkeypatch, clock_ms=HORIZON_MS + 1000, next_due_ms=HORIZON_MS + 15 * DAY_MS)
    monkeypatch.setattr(runner, "_running_countdowns", lambda session_id: ["gav", "dp"])
    c = coordinator(latest_ms=HORIZON_MS + 15 * DAY_MS)
    play(c)
    assert c.stopped == (
        f"next due at clock {(HORIZON_MS + 15 * DAY_MS) // 1000}s, out of "
        "reach (countdowns running: gav, dp)"
    )
    # Its caps stay within reach too, so a run that keeps moving still ends in minutes.
    assert c.clock_cap_ms == HORIZON_MS + c.reach_ms + int(runner.REAL_MARGIN_S * 1000 * 240)
    assert c.wall_cap_s < 10 * 60


@pytest.mark.timeout(60)
def test_what_falls_due_within_reach_is_waited_for(monkeypatch):
    # Due 40 clock seconds ahead, the clock moving 20 s a poll: no stall meanwhile, and
    # the run ends once it fired.
    calls = script(
        monkeypatch, clock_ms=HORIZON_MS, next_due_ms=HORIZON_MS + 40_000, clock_step_ms=20_000
    )
    monkeypatch.setattr(runner, "STALL_S", 0.0)  # any still log would stall at once
    c = coordinator()
    play(c)
    assert c.stopped == "" and calls["n"] >= 3


@pytest.mark.timeout(60)
def test_a_bot_whose_loop_died_fails_the_run_at_once(monkeypatch):
    script(monkeypatch, clock_ms=HORIZON_MS // 2)
    c = coordinator()

    async def broken():
        raise KeyError("frame")

    def crash(c):
        c.bots[1]._tasks = [asyncio.ensure_future(broken())]

    with pytest.raises(RuntimeError, match=r"Bot observateur 1 stopped playing: KeyError"):
        play(c, crash)


@pytest.mark.django_db
def test_the_running_countdowns_are_those_neither_stopped_nor_expired(law_session, boss, wall):
    police = seat_up(law_session, "police")
    start(law_session, boss)
    wall.advance(90)  # tests.drills.LAW starts `gav` at 1m
    tick(law_session)
    assert runner._running_countdowns(law_session.pk) == ["gav"]
    engine.action_take(session_id=law_session.pk, principal=police, action_ident="lever-gav")
    assert runner._running_countdowns(law_session.pk) == []
