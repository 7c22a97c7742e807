"""simtrain.bodylimit: oversized request bodies are refused before they are read."""

from __future__ import annotations

import socket
import time
import urllib.request

import pytest

from simtrain import bodylimit
from simtrain.bodylimit import BodyLimit, limit_for
from tests.live_server import daphne  # noqa: F401 (a fixture)


def test_uploads_may_be_large_on_their_paths_only():
    assert limit_for("/scenarios/import/") == bodylimit.MAX_UPLOAD_BYTES
    assert limit_for("/sessions/12/adhoc/") == bodylimit.MAX_UPLOAD_BYTES
    assert bodylimit.MAX_UPLOAD_BYTES > 5 * 20 * bodylimit.MiB  # an ad-hoc inject's files
    for path in ("/join/", "/login/", "/sessions/12/adhoc/x/", "/scenarios/import/../"):
        assert limit_for(path) == bodylimit.MAX_BODY_BYTES


class App:
    """Reads the body as Django does, and answers 200 with what it read."""

    def __init__(self):
        self.called = False

    async def __call__(self, scope, receive, send):
        self.called = True
        body = b""
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # Django: RequestAborted, no response
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": str(len(body)).encode()})


async def run(path: str, chunks: list[bytes], headers=()):
    app, sent = App(), []
    messages = [{"type": "http.request", "body": c, "more_body": i < len(chunks) - 1}
                for i, c in enumerate(chunks)]

    async def receive():
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "path": path, "headers": list(headers), "method": "POST"}
    await BodyLimit(app)(scope, receive, send)
    return app, sent


@pytest.mark.asyncio
async def test_a_declared_length_over_the_limit_is_refused_without_calling_the_app():
    app, sent = await run("/join/", [b""], headers=[(b"content-length", b"1610612736")])
    assert not app.called
    assert sent[0]["status"] == 413


@pytest.mark.asyncio
async def test_a_body_streamed_past_the_limit_is_cut_and_refused(monkeypatch):
    monkeypatch.setattr(bodylimit, "MAX_BODY_BYTES", 10)
    app, sent = await run("/join/", [b"12345", b"67890", b"x"])
    assert app.called and [m.get("status") for m in sent if "status" in m] == [413]
    app, sent = await run("/join/", [b"12345", b"67890"])
    assert sent[0]["status"] == 200 and sent[1]["body"] == b"10"


# --- In Daphne, for real ---------------------------------------------------------------------


def raw_request(port: int, head: bytes, body_chunks=(), timeout=5.0) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(head)
        try:
            for chunk in body_chunks:
                sock.sendall(chunk)
        except OSError:  # the server stopped reading: what we want
            pass
        data = b""
        try:
            while chunk := sock.recv(65536):
                data += chunk
        except OSError:
            pass
        return data


def healthz_seconds(base_url: str) -> float:
    start = time.monotonic()
    with urllib.request.urlopen(f"{base_url}/healthz", timeout=10) as response:
        assert response.status == 200
    return time.monotonic() - start


@pytest.mark.django_db(transaction=True)
def test_daphne_refuses_a_huge_post_at_its_headers_and_stays_responsive(daphne):  # noqa: F811
    """The probe: an anonymous 1.5 GB POST stalled /healthz for 18 s."""
    start = time.monotonic()
    answer = raw_request(daphne.port, b"POST /join/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                         b"Content-Type: application/x-www-form-urlencoded\r\n"
                         b"Content-Length: 1610612736\r\n\r\n",
                         body_chunks=[b"x" * 65536] * 16)
    assert answer.startswith(b"HTTP/1.1 413")
    assert time.monotonic() - start < 5
    assert healthz_seconds(daphne.base_url) < 2


@pytest.mark.django_db(transaction=True)
def test_daphne_cuts_a_chunked_body_at_the_limit(daphne):  # noqa: F811
    chunk = b"x" * 65536
    framed = b"%x\r\n" % len(chunk) + chunk + b"\r\n"
    answer = raw_request(daphne.port, b"POST /join/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                         b"Transfer-Encoding: chunked\r\n\r\n",
                         body_chunks=[framed] * 80)  # 5 MiB, over the 3 MiB limit
    assert answer.startswith(b"HTTP/1.1 413")
    assert healthz_seconds(daphne.base_url) < 2
