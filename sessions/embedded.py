"""The scheduler inside the server process (the embedded default).

It must run in the server's own event loop: the in-memory channel layer only works
within one loop, and the doorbells the scheduler rings after commit go through it.
Daphne has no ASGI lifespan, so we start it when the reactor starts, and (belt and
braces) on the first connection.
"""

from __future__ import annotations

import asyncio
import logging

from sessions import clock

log = logging.getLogger(__name__)


class WithEmbeddedScheduler:
    """ASGI wrapper: starts `clock.run_forever()` once in the serving loop."""

    def __init__(self, app):
        self.app = app
        self.task: asyncio.Task | None = None
        try:
            from twisted.internet import reactor

            reactor.callWhenRunning(self.ensure_started)
        except Exception:  # not under Twisted (another ASGI server): first request starts it
            log.debug("no Twisted reactor; the scheduler starts with the first connection")

    def ensure_started(self) -> None:
        if self.task is None or self.task.done():
            self.task = asyncio.ensure_future(clock.run_forever())

    async def __call__(self, scope, receive, send):
        self.ensure_started()
        return await self.app(scope, receive, send)
