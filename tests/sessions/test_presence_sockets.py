"""Presence leases through the real consumer: a seat socket's row, its goodbye, and the
hub's heartbeat recording a swept worker's sockets again."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async

from sessions import engine, presence
from sessions.models import Event, LiveSocket, WorkerLease
from tests.sessions.test_consumers import call, closed_with, connect, drain, pass_cookie

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


@pytest.fixture
def keys(seated):
    return {role: p.pass_key for role, p in seated.items()}


@database_sync_to_async
def rows(session) -> list[tuple[int, str]]:
    return list(LiveSocket.objects.filter(session=session).values_list("seat_id", "worker"))


@database_sync_to_async
def presence_kinds(session) -> list[tuple[str, str]]:
    return [
        (e.kind, e.payload.get("reason", ""))
        for e in Event.objects.filter(session=session, kind__startswith="presence.").order_by("seq")
    ]


async def wait_until(predicate, timeout: float = 5.0) -> bool:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        if await predicate():
            return True
        await asyncio.sleep(0.05)
    return False


async def test_a_seat_socket_is_recorded_against_its_worker_until_it_closes(session, seated, keys):
    comm, _, _ = await connect(session.pk, pass_cookie(session.pk, keys["police"]))
    await drain(comm)
    assert await rows(session) == [(seated["police"].seat_id, presence.WORKER_ID)]
    lease = await database_sync_to_async(WorkerLease.objects.filter(pk=presence.WORKER_ID).exists)()
    assert lease
    await comm.disconnect()
    assert await wait_until(lambda: _empty(session))
    assert await presence_kinds(session) == [
        ("presence.connected", ""),
        ("presence.left", "closed"),
    ]


async def _empty(session) -> bool:
    return await rows(session) == []


async def test_a_socket_whose_seat_was_freed_leaves_no_row(session, boss, seated, keys):
    comm, _, _ = await connect(session.pk, pass_cookie(session.pk, keys["police"]))
    await drain(comm)
    await call(
        engine.seat_free, session_id=session.pk, principal=boss, seat_id=seated["police"].seat_id
    )
    await closed_with(comm)
    await comm.disconnect()  # the server's close, as Daphne then reports it
    assert await wait_until(lambda: _empty(session))
    assert await presence_kinds(session) == [("presence.connected", "")]


async def test_a_worker_whose_lease_was_swept_records_its_sockets_again(
    session, seated, keys, monkeypatch, wall
):
    monkeypatch.setattr(presence, "HEARTBEAT_S", 0.1)
    comm, _, _ = await connect(session.pk, pass_cookie(session.pk, keys["police"]))
    await drain(comm)
    # The process stalled past its grace: a scheduler (its clock that far on) swept it.
    later = wall.now + timedelta(seconds=presence.GRACE_S + 1)
    assert await database_sync_to_async(presence.sweep)(now=later) == 1

    async def back() -> bool:
        return await rows(session) == [(seated["police"].seat_id, presence.WORKER_ID)]

    assert await wait_until(back)  # the next heartbeat found its socket gone
    assert await presence_kinds(session) == [
        ("presence.connected", ""),
        ("presence.left", "worker-lost"),
        ("presence.connected", ""),
    ]
    wall.advance(1)
    lease = await database_sync_to_async(WorkerLease.objects.get)(pk=presence.WORKER_ID)
    assert wall.now - lease.heartbeat_at < timedelta(seconds=2)
    await comm.disconnect()
