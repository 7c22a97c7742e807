"""The per-process hub: one doorbell listener, one read per ring, frames shared per class."""

from __future__ import annotations

import asyncio
import re

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer

from sessions import engine, hub
from sessions.fanout import ring, session_group
from sessions.models import Event, Seat
from sessions.signals import events_appended
from tests.factories import InjectFactory, RoleFactory, ScenarioVersionFactory
from tests.sessions.test_consumers import (
    call,
    connect,
    drain,
    pass_cookie,
    seqs,
    trainer_cookie,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


@pytest.fixture
def keys(seated):
    return {role: p.pass_key for role, p in seated.items()}


@pytest.fixture
def two_police(db, trainer, wall):
    """A session whose police role has two seats, both taken, and a running clock."""
    version = ScenarioVersionFactory()
    police = RoleFactory(version=version, ident="police", order=0, seats=2)
    RoleFactory(version=version, ident="parquet", order=1)
    InjectFactory(version=version, ident="m1", order=0, recipients=[police])
    session = engine.session_create(version=version, trainer=trainer, title="Deux agents")
    boss = engine.TrainerPrincipal(user_id=trainer.pk, name="Formatrice")
    engine.session_start(session_id=session.pk, principal=boss)
    principals = []
    for n, seat in enumerate(Seat.objects.filter(session=session, role__ident="police")):
        key = f"key-police-{n}"
        engine.seat_claim(session_id=session.pk, seat_id=seat.pk, name=f"agent {n}", pass_key=key)
        principals.append(engine.SeatPrincipal(seat_id=seat.pk, pass_key=key))
    return session, boss, principals


async def adhoc(session, boss, title: str):
    return await call(
        engine.inject_adhoc, session_id=session.pk, principal=boss, roles=["police"], title=title
    )


async def tell_police(session, seated, text: str):
    """The parquet writes to the police: one event for the police's seats."""
    return await call(
        engine.message_send,
        session_id=session.pk,
        principal=seated["parquet"],
        to_role="police",
        text=text,
    )


async def test_one_group_member_per_process_whatever_the_sockets(session, seated, keys, trainer):
    comms = [
        (await connect(session.pk, pass_cookie(session.pk, keys[role])))[0]
        for role in ("police", "parquet", "obs")
    ]
    cookie = await database_sync_to_async(trainer_cookie)(trainer)
    comms.append((await connect(session.pk, cookie))[0])
    for comm in comms:
        await drain(comm, quiet=0.2)
    members = get_channel_layer().groups.get(session_group(session.pk), {})
    assert len(members) == 1
    for comm in comms:
        await comm.disconnect()
    await asyncio.sleep(0.05)
    assert not get_channel_layer().groups.get(session_group(session.pk))
    assert session.pk not in hub.hub().feeds


async def test_seats_of_one_role_share_each_rendered_frame(two_police):
    session, boss, (a, b) = two_police
    comm_a, _, _ = await connect(session.pk, pass_cookie(session.pk, a.pass_key))
    comm_b, _, _ = await connect(session.pk, pass_cookie(session.pk, b.pass_key))
    await drain(comm_a)
    await drain(comm_b)
    feed = hub.hub().feeds[session.pk]
    misses = feed.frames.misses
    event = await adhoc(session, boss, "Appel du 17")
    frame_a = await comm_a.receive_from(timeout=2)
    frame_b = await comm_b.receive_from(timeout=2)
    assert frame_a == frame_b and f"<!--seq:{event.seq}-->" in frame_a
    assert feed.frames.misses == misses + 1  # rendered once for both
    await comm_a.disconnect()
    await comm_b.disconnect()


async def test_one_task_serves_every_woken_screen(two_police, monkeypatch):
    """No task per screen and event: the screens that can take the event at once take it
    on the hub's one push (a task each cost ~2.7 µs per screen and event)."""
    from sessions.consumers import SessionConsumer

    session, boss, (a, b) = two_police
    comms = [(await connect(session.pk, pass_cookie(session.pk, p.pass_key)))[0] for p in (a, b)]
    for comm in comms:
        await drain(comm)
    woken = []
    wake = SessionConsumer.wake
    monkeypatch.setattr(SessionConsumer, "wake", lambda self: woken.append(self) or wake(self))
    event = await adhoc(session, boss, "Appel du 17")
    for comm in comms:
        assert f"<!--seq:{event.seq}-->" in await comm.receive_from(timeout=2)
    assert woken == []
    for comm in comms:
        await comm.disconnect()


async def test_a_screen_that_must_wait_does_not_hold_up_the_others(two_police):
    """One agent's screen is busy (its flush holds the lock): the other gets the event at
    once, the busy one on a task of its own as soon as it is free — and exactly once.
    Each in turn, whatever order the push takes them in."""
    session, boss, principals = two_police
    comms = {p.seat_id: (await connect(session.pk, pass_cookie(session.pk, p.pass_key)))[0]
             for p in principals}
    for comm in comms.values():
        await drain(comm)
    screens = {c.viewer.seat.pk: c for c in hub.hub().feeds[session.pk].listeners}
    for busy, free in (list(comms), list(comms)[::-1]):
        async with screens[busy].flush_lock:
            event = await adhoc(session, boss, "Appel du 17")
            assert f"<!--seq:{event.seq}-->" in await comms[free].receive_from(timeout=2)
            assert await comms[busy].receive_nothing(timeout=0.2)
        assert seqs(await drain(comms[busy])) == [event.seq]
    for comm in comms.values():
        await comm.disconnect()


async def test_a_seat_only_event_gives_that_seat_its_own_frames(two_police):
    """Agent A opens an item: A's inbox shows it read, B's still unread — never mixed up."""
    session, boss, (a, b) = two_police
    first = await adhoc(session, boss, "Premier appel")
    comm_a, _, _ = await connect(session.pk, pass_cookie(session.pk, a.pass_key))
    comm_b, _, _ = await connect(session.pk, pass_cookie(session.pk, b.pass_key))
    await drain(comm_a)
    await drain(comm_b)
    await call(engine.item_open, session_id=session.pk, principal=a, item=first.seq)
    opened = await drain(comm_a)
    assert seqs(opened) and await drain(comm_b, quiet=0.3) == []  # B never hears of it
    feed = hub.hub().feeds[session.pk]
    misses, item_renders = feed.frames.misses, feed.frames.item_renders
    second = await adhoc(session, boss, "Second appel")
    frame_a = await comm_a.receive_from(timeout=2)
    frame_b = await comm_b.receive_from(timeout=2)
    # The new item is the same for both; the unread counters are not.
    assert 'id="inbox-unread" data-unread="1"' in frame_a
    assert 'id="inbox-unread" data-unread="2"' in frame_b
    # Two frames, one feed line: it does not depend on what a seat has opened.
    assert feed.frames.misses == misses + 2 and feed.frames.item_renders == item_renders + 1
    line = feed.frames.items[(second.seq, False, "fr")]
    assert line in frame_a and line in frame_b
    read = re.compile(rf'class="inbox-item" id="item-{first.seq}"')
    assert read.search("".join(opened)) and not read.search(frame_b)
    await comm_a.disconnect()
    await comm_b.disconnect()


async def test_a_seat_passes_over_a_batch_it_cannot_see_without_scanning_it(
    two_police, monkeypatch
):
    """Trainer-only events (notes here, every other seat's presence in a room) only move
    an idle seat's cursor: its next inject folds that inject alone."""
    from sessions.consumers import SessionConsumer

    session, boss, (a, _) = two_police
    comm, _, _ = await connect(session.pk, pass_cookie(session.pk, a.pass_key))
    await drain(comm)
    folded = []
    fold = SessionConsumer._fold
    monkeypatch.setattr(
        SessionConsumer, "_fold", lambda self, event: folded.append(event.seq) or fold(self, event)
    )
    for n in range(5):
        await call(engine.note_add, session_id=session.pk, principal=boss, text=f"Note {n}")
    assert await drain(comm, quiet=0.3) == []
    assert folded == []
    event = await adhoc(session, boss, "Appel du 17")
    frame = await comm.receive_from(timeout=2)
    assert f"<!--seq:{event.seq}-->" in frame and "Note" not in frame
    assert folded == [event.seq]
    await comm.disconnect()


async def test_a_lost_doorbell_is_recovered_by_the_periodic_check(
    session, boss, seated, keys, monkeypatch
):
    monkeypatch.setattr(hub, "FLUSH_EVERY_S", 0.3)
    await call(engine.session_start, session_id=session.pk, principal=boss)
    comm, _, _ = await connect(session.pk, pass_cookie(session.pk, keys["police"]))
    await drain(comm)
    events_appended.disconnect(dispatch_uid="sessions.fanout.ring")
    events_appended.disconnect(dispatch_uid="sessions.hub.committed")
    try:
        await tell_police(session, seated, "Sans sonnette")
        frame = await comm.receive_from(timeout=2)
    finally:
        events_appended.connect(hub.committed, dispatch_uid="sessions.hub.committed")
        events_appended.connect(ring, dispatch_uid="sessions.fanout.ring")
    assert "Sans sonnette" in frame
    await comm.disconnect()


async def test_this_processs_own_commits_reach_its_screens_without_a_read(
    session, boss, seated, keys, monkeypatch
):
    await call(engine.session_start, session_id=session.pk, principal=boss)
    comm, _, _ = await connect(session.pk, pass_cookie(session.pk, keys["police"]))
    await drain(comm)
    reads = []
    monkeypatch.setattr(hub, "_events_after", lambda *args: reads.append(args) or [])
    sent = await tell_police(session, seated, "Sans lecture")
    frame = await comm.receive_from(timeout=2)
    await asyncio.sleep(0.1)  # the doorbell, rung after the offer, finds it read
    assert "Sans lecture" in frame and reads == []
    offered = hub.hub().feeds[session.pk].events[-1]
    stored = await database_sync_to_async(Event.objects.get)(session=session, seq=sent.seq)
    fields = ("pk", "session_id", "seq", "kind", "audience", "actor", "clock_ms",
              "created_at", "payload")
    assert [getattr(offered, f) for f in fields] == [getattr(stored, f) for f in fields]
    assert "session" not in offered._state.fields_cache  # not the command's locked row
    await comm.disconnect()


async def test_a_read_overlapping_an_offer_extends_the_tail_once(session, boss, seated, keys):
    comm, _, _ = await connect(session.pk, pass_cookie(session.pk, keys["police"]))
    await drain(comm)
    feed = hub.hub().feeds[session.pk]
    before = feed.last_seq
    for n in range(3):
        await call(engine.note_add, session_id=session.pk, principal=boss, text=f"Note {n}")
    rows = await database_sync_to_async(
        lambda: list(Event.objects.filter(session=session, seq__gt=before).order_by("seq"))
    )()
    feed.last_seq, feed.events = before, feed.events[: before - feed.events[0].seq + 1]
    feed.offer(rows[:2])  # what this process committed...
    feed._take(rows)  # ...then a read begun before it returns
    assert [e.seq for e in feed.events][-4:] == [before, *[e.seq for e in rows]]
    feed.offer(rows[2:])  # an offer the tail has already passed is ignored
    assert feed.last_seq == rows[-1].seq and len({e.seq for e in feed.events}) == len(feed.events)
    await comm.disconnect()


async def test_a_cursor_beyond_the_tail_is_served_from_the_database(
    session, boss, seated, keys, monkeypatch
):
    monkeypatch.setattr(hub, "TAIL", 3)
    await call(engine.session_start, session_id=session.pk, principal=boss)
    for n in range(4):
        await tell_police(session, seated, f"Message {n}")
    comm, _, _ = await connect(session.pk, pass_cookie(session.pk, keys["police"]))
    got = seqs(await drain(comm))
    texts = "".join(await drain(comm, quiet=0.1))
    assert got == sorted(got) and len(got) >= 5  # clock.started + 4 messages
    assert hub.hub().feeds[session.pk].upto(got[-1]) is None  # the head left the tail
    assert "Message 0" not in texts  # (drained above, not sent twice)
    await comm.disconnect()


async def test_catching_up_renders_each_region_once_in_its_last_frame(session, seated, trainer):
    """A trainer joining late gets every seq, but the roster once, as it is now."""
    from sessions.audience import Perspective
    from sessions.projections import ROSTER, project_session
    from sessions.render import render_region

    cookie = await database_sync_to_async(trainer_cookie)(trainer)
    comm, _, _ = await connect(session.pk, cookie)
    frames = await drain(comm)
    got = seqs(frames)
    assert got == sorted(got) and len(got) >= 5  # session.created + 4 seats taken
    with_roster = [f for f in frames if 'id="region-roster"' in f]
    assert len(with_roster) == 1
    fresh = await database_sync_to_async(
        lambda: render_region(project_session(session, Perspective.trainer()), ROSTER, oob=True)
    )()
    assert fresh in with_roster[0]  # the pushed region is the region rendered fresh
    await comm.disconnect()


async def test_the_frame_cache_is_bounded_in_bytes(monkeypatch):
    from types import SimpleNamespace

    from sessions import render
    from sessions.audience import Perspective

    monkeypatch.setattr(render, "frame", lambda event, *a, **k: "x" * 1000 + str(event.seq))
    monkeypatch.setattr(render, "render_feed_item", lambda event, perspective: "")
    cache = render.FrameCache(size=100, max_bytes=5_000)
    state = SimpleNamespace(perspective=Perspective.trainer())
    for seq in range(1, 20):
        event = SimpleNamespace(seq=seq)
        cache.frame(event, state, {"roster"}, "control", language="fr", private=())
    assert cache.bytes <= 5_000 and len(cache.frames) == 4  # the most recent ones
    assert cache.bytes == sum(len(text) for text in cache.frames.values())


async def test_reads_never_take_more_threads_than_the_pool_spares(settings):
    # Each hub read holds a pooled connection: a burst of them must queue on the
    # hub's few threads, not grow with the host's CPUs and drain the pool.
    import threading
    import time

    running, peak, lock = [0], [0], threading.Lock()

    def read():
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.02)
        with lock:
            running[0] -= 1

    await asyncio.gather(*(hub._read(read)() for _ in range(40)))
    assert peak[0] == hub.READERS._max_workers == settings.HUB_READERS
