"""The doorbell: rung after commit, without holding the command's thread."""

from __future__ import annotations

import asyncio
import threading

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer

from sessions import fanout


@pytest.mark.asyncio
async def test_a_command_thread_hands_the_ring_to_the_loop_and_returns(monkeypatch):
    order = []
    layer = get_channel_layer()

    async def group_send(group, message):
        order.append(("sent", group, message["seq"]))

    monkeypatch.setattr(layer, "group_send", group_send)

    def command():
        fanout.ring(session_id=7, seq=42)
        order.append(("returned",))

    await sync_to_async(command)()
    for _ in range(3):
        await asyncio.sleep(0)
    assert order == [("returned",), ("sent", "session-7", 42)]
    assert not fanout._ringing


def test_outside_a_server_the_ring_is_sent_before_returning(monkeypatch):
    order = []
    layer = get_channel_layer()

    async def group_send(group, message):
        order.append(("sent", group, message["seq"]))

    monkeypatch.setattr(layer, "group_send", group_send)
    thread = threading.Thread(target=lambda: fanout.ring(session_id=7, seq=1))
    thread.start()
    thread.join()
    fanout.ring(session_id=7, seq=2)
    assert order == [("sent", "session-7", 1), ("sent", "session-7", 2)]


@pytest.mark.asyncio
async def test_a_lost_ring_is_logged_with_its_session(monkeypatch, caplog):
    layer = get_channel_layer()

    async def group_send(group, message):
        raise ConnectionError("redis went away")

    monkeypatch.setattr(layer, "group_send", group_send)
    await sync_to_async(lambda: fanout.ring(session_id=7, seq=3))()
    for _ in range(3):
        await asyncio.sleep(0)
    assert "doorbell for session 7 seq 3 not delivered" in caplog.text
