"""Request bodies have a size limit, enforced before they are read.

Daphne (Twisted) reads a whole request body — into a temporary file past 100 KB —
before the application sees the request: an anonymous 1.5 GB POST kept the embedded
server busy writing it to disk, and /healthz stalled for 18 s. So the limit is checked
where the bytes arrive:

- in Daphne: `install_in_daphne` makes its request class check the declared
  `Content-Length` as soon as the headers are in, and count chunked bodies as they
  come; over the limit it answers 413 and closes the connection, reading no further;
- in the ASGI app (`BodyLimit`, for any other server and as a second wall): the same
  check on the headers, and a count of the body messages;
- behind nginx: `client_max_body_size`, per location, with the same numbers
  (scripts/nginx.conf.template).

Uploads (a scenario bundle: 50 MiB; an ad-hoc inject's files: 5 × 20 MiB) may be
large, on their two paths only; every other request is small.
"""

from __future__ import annotations

import io
import re

from simtrain.env import env_int

MiB = 1024 * 1024
MAX_BODY_BYTES = env_int("SIMTRAIN_MAX_BODY_BYTES", 3 * MiB)
MAX_UPLOAD_BYTES = env_int("SIMTRAIN_MAX_UPLOAD_BYTES", 110 * MiB)
UPLOAD_PATHS = re.compile(r"^/(scenarios/import|sessions/\d+/adhoc)/$")
REFUSAL = b"Request body too large."


def limit_for(path: str) -> int:
    return MAX_UPLOAD_BYTES if UPLOAD_PATHS.match(path or "") else MAX_BODY_BYTES


def _declared(value: bytes | str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


class BodyLimit:
    """ASGI middleware: 413 for a body over the path's limit, checked as it arrives."""

    def __init__(self, application):
        self.application = application

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.application(scope, receive, send)
        limit = limit_for(scope.get("path", ""))
        headers = dict(scope.get("headers") or ())
        declared = _declared(headers.get(b"content-length"))
        if declared is not None and declared > limit:
            return await _refuse(send)
        state = {"received": 0, "over": False, "started": False}

        async def limited_receive():
            message = await receive()
            if message["type"] == "http.request":
                state["received"] += len(message.get("body", b""))
                if state["received"] > limit:
                    state["over"] = True
                    return {"type": "http.disconnect"}  # Django stops reading: RequestAborted
            return message

        async def watched_send(message):
            if message["type"] == "http.response.start":
                state["started"] = True
            await send(message)

        await self.application(scope, limited_receive, watched_send)
        if state["over"] and not state["started"]:
            await _refuse(send)


async def _refuse(send) -> None:
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                            (b"content-length", str(len(REFUSAL)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": REFUSAL})


# --- Daphne -------------------------------------------------------------------------------


def install_in_daphne() -> None:
    """Make Daphne's HTTP requests refuse an oversized body before reading it."""
    try:
        from daphne import http_protocol
    except ImportError:
        return
    base = http_protocol.WebRequest
    if getattr(base, "simtrain_body_limit", False):
        return

    class LimitedWebRequest(base):
        simtrain_body_limit = True
        _refused = False
        _received = 0
        _limit = MAX_BODY_BYTES

        def gotLength(self, length):  # noqa: N802 (Twisted's name)
            path = (getattr(self.channel, "_path", b"") or b"").split(b"?", 1)[0]
            self._limit = limit_for(path.decode("latin-1"))
            if length is not None and length > self._limit:
                self.content = io.BytesIO()
                self._refuse()
                return
            super().gotLength(length)

        def handleContentChunk(self, data):  # noqa: N802
            if self._refused:
                return
            self._received += len(data)
            if self._received > self._limit:
                self._refuse()
                return
            super().handleContentChunk(data)

        def process(self):
            if self._refused:  # the body was cut short: never hand it to the application
                return None
            return super().process()

        def _refuse(self):
            self._refused = True
            transport = self.channel.transport if self.channel is not None else None
            if transport is None:
                return
            transport.write(
                b"HTTP/1.1 413 Payload Too Large\r\nContent-Type: text/plain; charset=utf-8\r\n"
                b"Content-Length: " + str(len(REFUSAL)).encode() + b"\r\n"
                b"Connection: close\r\n\r\n" + REFUSAL
            )
            transport.loseConnection()

    http_protocol.WebRequest = LimitedWebRequest
