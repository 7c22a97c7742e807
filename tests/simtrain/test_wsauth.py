"""The WebSocket auth stack: a session store only for sockets that carry a login."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync
from django.test import Client

from simtrain.wsauth import socket_auth_stack


def _scope_seen(cookie: str) -> dict:
    seen = {}

    async def inner(scope, receive, send):
        seen.update(scope)
        if "user" in scope:
            seen["authenticated"] = await _authenticated(scope["user"])

    async def receive():  # pragma: no cover - the inner app never reads
        return {"type": "websocket.connect"}

    async def send(message):  # pragma: no cover - nor writes
        pass

    headers = [(b"cookie", cookie.encode())] if cookie else []
    scope = {"type": "websocket", "path": "/ws/", "headers": headers}
    async_to_sync(socket_auth_stack(inner))(scope, receive, send)
    return seen


async def _authenticated(user) -> bool:
    from channels.db import database_sync_to_async

    return await database_sync_to_async(lambda: user.is_authenticated)()


@pytest.mark.django_db(transaction=True)
def test_a_socket_without_a_login_gets_no_session_store():
    seen = _scope_seen("simtrain_pass_7=abc")
    assert "session" not in seen
    assert seen["cookies"] == {"simtrain_pass_7": "abc"}
    assert seen["authenticated"] is False


@pytest.mark.django_db(transaction=True)
def test_a_socket_with_a_login_is_its_user(trainer):
    client = Client()
    client.force_login(trainer)
    seen = _scope_seen(f"sessionid={client.cookies['sessionid'].value}")
    assert "session" in seen
    assert seen["authenticated"] is True
    assert seen["user"].pk == trainer.pk


@pytest.mark.django_db(transaction=True)
def test_a_stale_login_cookie_is_anonymous():
    seen = _scope_seen("sessionid=not-a-session")
    assert seen["authenticated"] is False
