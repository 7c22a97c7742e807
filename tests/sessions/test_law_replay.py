"""The replay of a session with countdowns and requests equals what the live screens
showed, at every recorded moment (the test_replay.py pattern, over real sockets)."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async

from sessions import engine, replay
from sessions.models import Session
from tests.sessions.conftest import seat_up
from tests.sessions.test_consumers import connect, drain, pass_cookie, trainer_cookie
from tests.sessions.test_replay import LiveScreen, _diff, _initial, fresh_regions


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_the_law_replays_as_it_was_shown_live(law_session, trainer, wall):
    session = law_session
    boss = engine.TrainerPrincipal(user_id=trainer.pk, name="Formatrice")
    seats = {}
    for ident in ("police", "parquet", "obs"):
        seats[ident] = await database_sync_to_async(seat_up)(session, ident)
    screens = {}
    cookie = await database_sync_to_async(trainer_cookie)(trainer)
    comm, _, _ = await connect(session.pk, cookie)
    view = await database_sync_to_async(replay.viewpoint)(session, "trainer")
    screens["trainer"] = LiveScreen(
        comm, view, await database_sync_to_async(_initial)(session, view)
    )
    for ident, principal in seats.items():
        comm, _, _ = await connect(session.pk, pass_cookie(session.pk, principal.pass_key))
        view = await database_sync_to_async(replay.viewpoint)(session, f"seat:{principal.seat_id}")
        screens[ident] = LiveScreen(
            comm, view, await database_sync_to_async(_initial)(session, view)
        )
    moments = []

    async def record():
        for screen in screens.values():
            screen.absorb(await drain(screen.comm, quiet=0.3))
        fresh = await database_sync_to_async(Session.objects.get)(pk=session.pk)
        moments.append((fresh.last_seq, {k: dict(s.regions) for k, s in screens.items()}))

    def run(fn, **kwargs):
        return database_sync_to_async(fn)(session_id=session.pk, **kwargs)

    await run(engine.session_start, principal=boss)
    wall.advance(60)
    await run(engine.scheduler_tick)  # the countdown starts
    await record()
    await run(
        engine.request_send,
        principal=seats["police"],
        request_ident="prolongation",
        reason="Aveux partiels",
    )
    await record()
    wall.advance(20)
    await run(
        engine.request_decide,
        principal=seats["parquet"],
        request_ident="prolongation",
        outcome="approved",
        reason="Motivé",
    )
    await record()
    await run(
        engine.request_send,
        principal=seats["police"],
        request_ident="prolongation",
        reason="Encore",
    )
    wall.advance(130)
    await run(engine.scheduler_tick)  # unanswered: none
    await record()
    await run(engine.action_take, principal=seats["police"], action_ident="lever-gav")
    await record()
    for screen in screens.values():
        await screen.comm.disconnect()
    last = moments[-1][1]
    assert 'data-state="stopped"' in last["police"]["law"]
    assert 'data-state="none"' in last["parquet"]["law"]
    assert "Aveux partiels" in last["trainer"]["law"] and "Aveux partiels" in last["obs"]["law"]
    session = await database_sync_to_async(Session.objects.get)(pk=session.pk)
    for seq, shown in moments:
        for name, screen in screens.items():
            by_seq = await database_sync_to_async(fresh_regions)(session, screen.view, seq=seq)
            assert by_seq == shown[name], (name, seq, _diff(by_seq, shown[name]))
