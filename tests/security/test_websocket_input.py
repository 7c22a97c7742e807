"""Hostile WebSocket input beyond malformed frames: origins, and ids of other sessions."""

from __future__ import annotations

import json

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from sessions import consumers, engine, sockets
from sessions.models import Event, Seat
from simtrain.asgi import application
from tests.sessions.test_consumers import (
    call,
    closed_with,
    drain,
    errors,
    pass_cookie,
    trainer_cookie,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


async def open_socket(session_id: int, headers: list[tuple[bytes, bytes]]):
    # A browser always sends Host: the Origin must match it (simtrain.origin).
    headers = [(b"host", b"localhost"), *headers]
    comm = WebsocketCommunicator(application, f"/ws/sessions/{session_id}/", headers=headers)
    connected, _ = await comm.connect()
    return comm, connected


@pytest.mark.parametrize(
    "origins",
    [
        [b"http://evil.example"],
        [],
        [b"http://localhost", b"http://evil.example"],  # duplicated: the last one is checked
        [b"null"],
        [b"http://localhost.evil.example"],
        # The Host is localhost (port 80): another port or scheme is another origin.
        [b"http://localhost:9999"],
        [b"https://localhost"],
        [b"ws://localhost"],
    ],
)
async def test_bad_origins_are_refused(session, seated, origins):
    cookie = pass_cookie(session.pk, seated["police"].pass_key)
    headers = [(b"origin", o) for o in origins] + [(b"cookie", cookie.encode())]
    comm, connected = await open_socket(session.pk, headers)
    assert not connected


async def test_a_good_origin_is_accepted(session, seated):
    cookie = pass_cookie(session.pk, seated["police"].pass_key)
    comm, connected = await open_socket(
        session.pk, [(b"origin", b"http://localhost"), (b"cookie", cookie.encode())]
    )
    assert connected
    await comm.disconnect()


async def test_trainer_cannot_touch_a_seat_of_another_session(session, boss, trainer,
                                                              live_version):
    other = await call(engine.session_create, version=live_version, trainer=trainer,
                       title="Autre")
    foreign = await database_sync_to_async(
        lambda: Seat.objects.filter(session=other).first().pk)()
    cookie = await database_sync_to_async(trainer_cookie)(trainer)
    comm, _ = await open_socket(
        session.pk, [(b"origin", b"http://localhost"), (b"cookie", cookie.encode())]
    )
    await drain(comm)
    before = await database_sync_to_async(lambda: Event.objects.filter(session=other).count())()
    await comm.send_to(text_data=json.dumps({"cmd": "seat.free", "seat": foreign}))
    assert errors(await drain(comm)) == ["unknown-seat"]
    after = await database_sync_to_async(lambda: Event.objects.filter(session=other).count())()
    assert after == before
    await comm.disconnect()


async def test_a_pass_for_one_session_opens_no_other(session, seated, trainer, live_version):
    other = await call(engine.session_create, version=live_version, trainer=trainer,
                       title="Autre")
    # The cookie name and the signature are both bound to the session id.
    cookie = pass_cookie(session.pk, seated["police"].pass_key).replace(
        f"simtrain_pass_{session.pk}=", f"simtrain_pass_{other.pk}="
    )
    comm, connected = await open_socket(
        other.pk, [(b"origin", b"http://localhost"), (b"cookie", cookie.encode())]
    )
    output = await comm.receive_output(timeout=2)
    while output["type"] != "websocket.close":
        output = await comm.receive_output(timeout=2)
    assert output["code"] == 4401


async def test_an_origin_on_another_port_gets_no_trainer_stream(session, trainer):
    """The probe: a page on another port of the same host got the trainer's stream."""
    cookie = await database_sync_to_async(trainer_cookie)(trainer)
    good = [(b"host", b"127.0.0.1:8000"), (b"cookie", cookie.encode())]
    comm = WebsocketCommunicator(application, f"/ws/sessions/{session.pk}/",
                                 headers=[*good, (b"origin", b"http://127.0.0.1:9999")])
    connected, _ = await comm.connect()
    assert not connected
    comm = WebsocketCommunicator(application, f"/ws/sessions/{session.pk}/",
                                 headers=[*good, (b"origin", b"http://127.0.0.1:8000")])
    connected, _ = await comm.connect()
    assert connected and (await drain(comm))
    await comm.disconnect()


async def seat_socket(session, key: str, ip: str = "127.0.0.1"):
    comm = WebsocketCommunicator(
        application, f"/ws/sessions/{session.pk}/",
        headers=[(b"host", b"localhost"), (b"origin", b"http://localhost"),
                 (b"cookie", pass_cookie(session.pk, key).encode())],
    )
    comm.scope["client"] = (ip, 5000)
    connected, _ = await comm.connect()
    assert connected
    return comm


async def alive(comm) -> bool:
    await drain(comm)
    await comm.send_to(text_data=json.dumps({"cmd": "ping"}))
    return await comm.receive_from(timeout=2) == "<!--pong-->"


async def test_sockets_per_seat_are_capped(session, seated, monkeypatch):
    monkeypatch.setattr(sockets, "PER_SEAT", 2)
    key = seated["police"].pass_key
    first, second = await seat_socket(session, key), await seat_socket(session, key)
    await drain(first)
    await drain(second)
    third = await seat_socket(session, key)
    assert await closed_with(third) == consumers.CLOSE_TOO_MANY
    other = await seat_socket(session, seated["parquet"].pass_key)  # another seat: fine
    assert await alive(other)
    await first.disconnect()
    again = await seat_socket(session, key)  # a socket closed: room for one more
    assert await alive(again)
    for comm in (second, other, again):
        await comm.disconnect()


async def test_sockets_per_address_are_capped_before_any_query(session, seated, monkeypatch):
    monkeypatch.setattr(sockets, "PER_IP", 2)
    a = await seat_socket(session, seated["police"].pass_key, ip="203.0.113.5")
    b = await seat_socket(session, seated["parquet"].pass_key, ip="203.0.113.5")
    await drain(a)
    await drain(b)
    c = await seat_socket(session, seated["joy"].pass_key, ip="203.0.113.5")
    assert await closed_with(c) == consumers.CLOSE_TOO_MANY
    d = await seat_socket(session, seated["joy"].pass_key, ip="203.0.113.6")
    assert await alive(d)
    for comm in (a, b, d):
        await comm.disconnect()


async def test_the_command_rate_is_per_seat_not_per_socket(session, seated, monkeypatch):
    """The probe: 40 sockets of one seat each had the full rate (397 events in 9 s)."""
    monkeypatch.setattr(consumers, "RATE_CAPACITY", 6)
    monkeypatch.setattr(consumers, "RATE_PER_S", 0.01)
    key = seated["police"].pass_key
    comms = [await seat_socket(session, key) for _ in range(3)]
    for comm in comms:
        await drain(comm)
    answers = []
    for _ in range(4):
        for comm in comms:
            await comm.send_to(text_data=json.dumps({"cmd": "ping"}))
            answers.append(await comm.receive_from(timeout=2))
    assert answers.count("<!--pong-->") == 6  # one bucket of 6 for the seat, not 3 × 6
    assert sum(a.startswith("<!--error:rate-limited") for a in answers) == 6
    for comm in comms:
        await comm.disconnect()
