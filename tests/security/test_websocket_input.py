"""Hostile WebSocket input beyond malformed frames: origins, and ids of other sessions."""

from __future__ import annotations

import json

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from sessions import engine
from sessions.models import Event, Seat
from simtrain.asgi import application
from tests.sessions.test_consumers import call, drain, errors, pass_cookie, trainer_cookie

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


async def open_socket(session_id: int, headers: list[tuple[bytes, bytes]]):
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
