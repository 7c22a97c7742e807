"""The scheduler: ticks the engine for every running session, forever.

It uses the engine (`engine.scheduler_tick`), never the other way round. It runs as an
asyncio task, either inside the server (the embedded default: `WithEmbeddedScheduler`
wraps the ASGI app) or in its own processes (`manage.py run_scheduler`, scale-out).
The embedded one must run in the server's own event loop: the in-memory channel layer
only works within one loop, and the doorbells the scheduler rings after commit go
through it. Daphne has no ASGI lifespan, so it starts when the reactor starts, and
(belt and braces) on the first connection.
"""

from __future__ import annotations

import asyncio
import logging

from channels.db import database_sync_to_async
from django.db import close_old_connections

from sessions import engine, presence
from sessions.models import Session

log = logging.getLogger(__name__)

TICK_S = 0.25


def tick_all() -> int:
    """One pass over every running session. Returns how many events were appended."""
    appended = 0
    for session_id in Session.objects.filter(state=Session.State.RUNNING).values_list(
        "pk", flat=True
    ):
        try:
            appended += engine.scheduler_tick(session_id=session_id)
        except Exception:  # one broken session must not stop the others' clocks
            log.exception("scheduler tick failed for session %s", session_id)
    try:  # the sockets of a worker that died (SIGKILL) without closing them
        appended += presence.sweep_if_due()
    except Exception:
        log.exception("presence sweep failed")
    return appended


def _tick_in_thread() -> int:
    close_old_connections()
    try:
        return tick_all()
    finally:
        close_old_connections()


async def run_forever(stop: asyncio.Event | None = None, interval: float = TICK_S) -> None:
    """The scheduler as an asyncio task: in Daphne's loop (embedded) or its own process.

    ORM work runs in a worker thread; the after-commit doorbell then reaches the
    channel layer through this loop, which the in-memory layer requires.
    """
    tick = database_sync_to_async(_tick_in_thread)
    log.info("scheduler running (tick %.2fs)", interval)
    while stop is None or not stop.is_set():
        try:
            await tick()
        except Exception:
            log.exception("scheduler pass failed")
        await asyncio.sleep(interval)


class WithEmbeddedScheduler:
    """ASGI wrapper: starts `run_forever()` once in the serving loop."""

    def __init__(self, app):
        self.app = app
        self.task: asyncio.Task | None = None
        try:
            # Imported here, not at the top: importing the reactor installs one, which
            # only a process served by Daphne should do.
            from twisted.internet import reactor

            reactor.callWhenRunning(self.ensure_started)
        except Exception:  # not under Twisted (another ASGI server): first request starts it
            log.debug("no Twisted reactor; the scheduler starts with the first connection")

    def ensure_started(self) -> None:
        if self.task is None or self.task.done():
            self.task = asyncio.ensure_future(run_forever())

    async def __call__(self, scope, receive, send):
        self.ensure_started()
        return await self.app(scope, receive, send)
