"""After commit, ring the doorbell of the session's group.

The channel layer is a doorbell (`{type, session, seq}`), not a carrier: group sends are
at-most-once and drop silently over capacity, so the message carries no content. Each
process, on hearing it (`sessions.hub`: one group member per process, not per
socket), reads what it has not read yet from the database — the truth — and its
consumers render it for their own audience. A periodic check recovers a missed ring.
"""

from __future__ import annotations

import asyncio
import logging
import os
from contextvars import Context

from asgiref.sync import SyncToAsync, async_to_sync
from channels.layers import get_channel_layer

log = logging.getLogger(__name__)

_ringing: set[asyncio.Task] = set()  # the loop keeps only weak references to tasks


def session_group(session_id: int) -> str:
    return f"session-{session_id}"


def main_loop() -> asyncio.AbstractEventLoop | None:
    """The server's event loop, seen from a command running in one of its worker
    threads (`sync_to_async`); None elsewhere (a management command, a sync test).

    Schedule on it with a fresh `Context()`: the thread's own context says a sync call
    is in progress, and a task inheriting it could never call `sync_to_async`."""
    local = SyncToAsync.threadlocal
    loop = getattr(local, "main_event_loop", None)
    if loop is None or getattr(local, "main_event_loop_pid", None) != os.getpid():
        return None
    if loop.is_closed() or not loop.is_running():
        return None
    return loop


def ring(sender=None, *, session_id: int, seq: int, **kwargs) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    group = session_group(session_id)
    message = {"type": "doorbell", "session": session_id, "seq": seq}
    loop = main_loop()
    if loop is not None:
        # Hand the send to the loop and return: waiting for it (async_to_sync) held the
        # command's thread — the one every socket's commands share — until the loop,
        # busy pushing the previous event to 500 screens, came round to it.
        try:
            loop.call_soon_threadsafe(_send_soon, layer, group, message, context=Context())
            return
        except RuntimeError:  # the loop closed meanwhile
            pass
    try:
        async_to_sync(layer.group_send)(group, message)
    except Exception:  # the log is committed; clients catch up on their next flush
        log.warning("doorbell for session %s seq %s not delivered", session_id, seq, exc_info=True)


def _send_soon(layer, group: str, message: dict) -> None:
    task = asyncio.ensure_future(layer.group_send(group, message))
    _ringing.add(task)
    task.add_done_callback(lambda done: _sent(done, message))


def _sent(task: asyncio.Task, message: dict) -> None:
    _ringing.discard(task)
    if not task.cancelled() and task.exception() is not None:
        log.warning(
            "doorbell for session %s seq %s not delivered",
            message["session"],
            message["seq"],
            exc_info=task.exception(),
        )
