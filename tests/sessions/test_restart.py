"""A crash of the server loses nothing, and what fell due while it was down fires once, late.

With a real Daphne process and real WebSocket clients (trainer, trainee, actor,
observer): start a session, let some injects fire, SIGKILL the server, let wall time
pass (the clock is data, so exercise time passes while the server is down), restart it
on the same port, and check the log, the firings and every client's screen.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter

import pytest
from asgiref.sync import sync_to_async
from django.db import close_old_connections, connections

from rehearsal.bot import (
    ACTOR,
    OBSERVER,
    TRAINEE,
    TRAINER,
    Behaviour,
    Bot,
    BotSpec,
    derive_rng,
)
from rehearsal.report import participant_report
from rehearsal.runner import login_cookie
from scenarios.models import Inject, Role
from sessions import engine
from sessions.audience import Perspective
from sessions.engine import due
from sessions.models import Event, InjectFiring, Seat, Session
from tests.factories import InjectFactory, RoleFactory, ScenarioVersionFactory
from tests.live_server import live_server

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

SPEED = 30  # one real second is 30 s of exercise
DOWN_S = 8.0  # real seconds the server stays dead: 4 exercise minutes
BEFORE = {"open", "a-police", "a-cue"}  # due by 30 s: fire before the crash
WHILE_DOWN = {"d-police", "d-parquet", "d-cue", "d-all"}  # due 120 s … 200 s
# `after` counts from when its inject actually fired: d-police fires late at the restart,
# so d-after falls due 45 s (exercise) later, with the server up: on time.
FOLLOWER = "d-after"


def build_version():
    v = ScenarioVersionFactory()
    police = RoleFactory(version=v, ident="police", order=0)
    parquet = RoleFactory(version=v, ident="parquet", order=1, profession="prosecutor")
    joy = RoleFactory(version=v, ident="joy", order=2, kind=Role.Kind.ACTOR, profession="")
    obs = RoleFactory(version=v, ident="obs", order=3, kind=Role.Kind.OBSERVER, profession="")
    everyone = [police, parquet, joy, obs]
    at = Inject.Trigger.AT

    def inject(ident, order, seconds, to, kind="message"):
        return InjectFactory(
            version=v,
            ident=ident,
            order=order,
            trigger=at,
            at_s=seconds,
            kind=kind,
            recipients=to,
            to_all=kind == "broadcast",
        )

    inject("open", 0, 0, everyone, "broadcast")
    inject("a-police", 1, 20, [police])
    inject("a-cue", 2, 30, [joy], "cue")
    d_police = inject("d-police", 3, 120, [police])
    inject("d-parquet", 4, 150, [parquet], "document")
    inject("d-cue", 5, 160, [joy], "cue")
    InjectFactory(
        version=v,
        ident="d-after",
        order=6,
        trigger=Inject.Trigger.AFTER,
        after_inject=d_police,
        after_delay_s=45,
        recipients=[police, parquet],
    )
    inject("d-all", 7, 200, everyone, "broadcast")
    inject("much-later", 8, 3600, [police])
    return v


def fired(session_id: int) -> set[str]:
    close_old_connections()
    return set(
        InjectFiring.objects.filter(session_id=session_id).values_list("inject__ident", flat=True)
    )


def log_rows(session_id: int) -> list[tuple]:
    close_old_connections()
    return list(
        Event.objects.filter(session_id=session_id)
        .order_by("seq")
        .values_list("seq", "kind", "audience", "actor", "clock_ms", "payload")
    )


def target_for(session_id: int, perspective: Perspective) -> tuple[int, int]:
    """(the session's last seq, the last seq `perspective` is owed up to it)."""
    close_old_connections()
    last = Session.objects.get(pk=session_id).last_seq
    owed = [
        seq
        for seq, _k, audience, *_ in log_rows(session_id)
        if seq <= last and perspective.sees(audience)
    ]
    return last, max(owed, default=0)


def perspective(bot: Bot) -> Perspective:
    close_old_connections()
    if bot.spec.seat_id is None:
        return Perspective.trainer()
    return Perspective.for_seat(Seat.objects.select_related("role").get(pk=bot.spec.seat_id))


async def until(predicate, timeout: float, what: str, poll: float = 0.05):
    deadline = time.monotonic() + timeout
    while True:
        value = await predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(poll)


def test_sigkill_loses_nothing_and_catches_up_late(trainer):
    due.forget_versions()
    version = build_version()
    session = engine.session_create(version=version, trainer=trainer, title="Redémarrage")
    seats = {s.role.ident: s for s in Seat.objects.filter(session=session).select_related("role")}
    cookie, logout = login_cookie(trainer)
    specs = [
        BotSpec(name="trainer", kind=TRAINER),
        BotSpec(name="police", kind=TRAINEE, role="police", seat_id=seats["police"].pk),
        BotSpec(
            name="joy",
            kind=ACTOR,
            role="joy",
            seat_id=seats["joy"].pk,
            invite_token=seats["joy"].invite_token,
        ),
        BotSpec(
            name="obs",
            kind=OBSERVER,
            role="obs",
            seat_id=seats["obs"].pk,
            invite_token=seats["obs"].invite_token,
        ),
    ]
    db = sync_to_async  # thread-sensitive: one worker thread for the ORM
    try:
        with live_server() as server:
            bots = [
                Bot(
                    spec,
                    base_url=server.base_url,
                    session_id=session.pk,
                    code=session.code,
                    rng=derive_rng(0, spec.name),
                    behaviour=Behaviour.passive(),
                )
                for spec in specs
            ]
            bots[0].browser.set_cookie("sessionid", cookie)
            by_name = {bot.name: bot for bot in bots}

            async def holds_everything_owed(bot) -> bool:
                _last, owed = await db(target_for)(session.pk, await db(perspective)(bot))
                return bot.cursor >= owed

            async def scenario():
                for bot in bots:
                    await bot.join()
                    bot.start()
                    assert await bot.wait_connected(15), bot.name
                trainer_bot = by_name["trainer"]
                await trainer_bot.send({"cmd": "session.start"})
                await trainer_bot.send({"cmd": "clock.speed", "speed": SPEED})
                await until(
                    lambda: db(lambda: BEFORE <= fired(session.pk))(), 10, "the first injects"
                )
                for bot in bots:
                    await until(
                        lambda bot=bot: holds_everything_owed(bot), 10, f"{bot.name} to catch up"
                    )
                before_kill = await db(log_rows)(session.pk)
                assert not WHILE_DOWN & await db(fired)(session.pk), "too slow: raise DOWN_S"
                held = {bot.name: set(bot.received) for bot in bots}

                server.kill()
                killed_at = time.monotonic()
                await asyncio.sleep(DOWN_S)
                assert all(not bot.connected.is_set() for bot in bots)
                await asyncio.to_thread(server.start)  # the same port
                await until(
                    lambda: db(lambda: WHILE_DOWN | {FOLLOWER} <= fired(session.pk))(),
                    10,
                    "the catch-up",
                )
                assert time.monotonic() - killed_at >= DOWN_S

                for bot in bots:  # they reconnect by themselves, with ?after=
                    await until(
                        lambda bot=bot: holds_everything_owed(bot),
                        15,
                        f"{bot.name} to reconnect and catch up",
                    )
                await trainer_bot.send({"cmd": "session.end"})
                await until(
                    lambda: db(
                        lambda: Session.objects.get(pk=session.pk).state == Session.State.ENDED
                    )(),
                    10,
                    "the end",
                )
                last, _ = await db(target_for)(session.pk, Perspective.trainer())
                for bot in bots[1:]:
                    _, owed = await db(target_for)(session.pk, await db(perspective)(bot))
                    bot.cutoff = last
                    assert await bot.finish(owed), bot.name
                await asyncio.sleep(0.5)  # the presence.left events of the seats
                last, owed = await db(target_for)(session.pk, Perspective.trainer())
                bots[0].cutoff = last
                assert await bots[0].finish(owed)
                await db(connections.close_all)()
                return before_kill, held

            before_kill, held = asyncio.run(scenario())
    finally:
        logout()

    after = log_rows(session.pk)
    by_seq = {row[0]: row for row in after}
    # 1. Everything in the log before the crash is still there, unchanged.
    assert after[: len(before_kill)] == before_kill
    # 2. Everything a client was shown before the crash is in the log, as it was shown.
    for bot in bots:
        for seq in held[bot.name]:
            assert by_seq[seq][1] == bot.kinds[seq], (bot.name, seq)
    # 3. What fell due while the server was down fired exactly once, marked late.
    counts = Counter(row[5]["inject"] for row in after if row[1] == "inject.fired")
    firings = {
        f.inject.ident: f
        for f in InjectFiring.objects.filter(session=session).select_related("inject")
    }
    for ident in WHILE_DOWN:
        assert counts[ident] == 1, ident
        firing = firings[ident]
        assert firing.late, ident
        assert by_seq[firing.seq][5]["late"] is True, ident
        assert by_seq[firing.seq][5]["inject"] == ident
    for ident in BEFORE:
        assert counts[ident] == 1 and not firings[ident].late, ident
    follower, parent = firings[FOLLOWER], firings["d-police"]
    assert counts[FOLLOWER] == 1 and not follower.late
    assert follower.due_ms == parent.clock_ms + 45_000
    assert "much-later" not in firings
    assert [row[0] for row in after] == list(range(1, len(after) + 1))
    # 4. Every client ends with exactly its audience's events, in order, no duplicates.
    events = {e.seq: e for e in Event.objects.filter(session=session)}
    for bot in bots:
        assert bot.connects >= 2, f"{bot.name} never reconnected"
        report = participant_report(bot, events, perspective(bot), bot.cutoff)
        assert report.leaked == [] and report.gaps == [], (bot.name, report)
        assert report.duplicates_shown == 0 and report.out_of_order == 0, (bot.name, report)
        screen = bot.screens[-1]
        owed = [
            seq
            for seq in sorted(events)
            if seq <= bot.cutoff and perspective(bot).sees(events[seq].audience)
        ]
        assert screen.order[: len(owed)] == owed, bot.name
    # The actor saw its cues from before and after the crash, and nothing else's.
    joy_injects = {
        events[s].payload.get("inject")
        for s in by_name["joy"].received
        if events[s].kind == "inject.fired"
    }
    assert joy_injects == {"open", "a-cue", "d-cue", "d-all"}
