"""One doorbell listener per server process, and one read of the log per doorbell.

With a channel and a group membership per WebSocket, one event in a session of 500
participants cost 500 channel-layer messages, 500 reads of the same rows, 500 renders
of mostly the same fragment and, every 2 s, 500 polls of the database (see
docs/performance.md for the profile). Here each process keeps, per session it serves,
a `Feed`:

- one group membership (the process's own channel) instead of one per socket, so a
  doorbell costs one channel-layer message per process;
- the tail of the log in memory, read once per doorbell (or handed over by this
  process's own commands: `committed`), which every consumer of the
  session pulls from (and rebuilds its screen from on connect);
- a cache of rendered frames shared by viewers who see the same thing
  (`render.FrameCache`), and one task per batch of new events that serves its screens
  in turn (`Feed._push`);
- one periodic check of `last_seq` per process for all its sessions, which recovers a
  lost doorbell (Redis restarted, a group send dropped over capacity).

The database stays the truth: the feed is a read cache of an append-only log, filled
from the database — or, for what this process itself just committed, with those same
rows as a read would return them (`committed`) — and a consumer whose cursor falls
outside it reads the database directly, as before.
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import os
import time
import weakref
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from contextvars import Context
from typing import Protocol

from asgiref.sync import SyncToAsync, sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import close_old_connections, connection

from sessions import presence
from sessions.fanout import session_group
from sessions.models import Event, Session
from sessions.render import FrameCache

log = logging.getLogger(__name__)

FLUSH_EVERY_S = settings.LIVE_CHECK_EVERY_S  # each process checks its sessions' last_seq
REJOIN_GROUPS_EVERY_S = 60.0  # group memberships expire (group_expiry); renew them well before
TAIL = 3000  # events of one session kept in memory (a long log: resets read the database)
BATCH = 500  # events read per query

# The hub's reads run on their own few threads. The loop's default executor grows to
# min(32, CPUs + 4) threads, each holding a pooled connection while it reads: on a
# many-core host a burst of doorbells would take every connection of the pool and
# the sockets' commands would wait behind them. Keep this below SIMTRAIN_DB_POOL_MAX.
READERS = ThreadPoolExecutor(max_workers=settings.HUB_READERS, thread_name_prefix="hub-read")


class Listener(Protocol):
    async def push(self) -> None: ...

    def interested(self, tokens: frozenset[str], freed_seats: set[int]) -> bool: ...

    def pass_over(self, first: int, last: int) -> None: ...

    def reannounce(self) -> None: ...


class Feed:
    """The in-memory tail of one session's log, as this process last read it."""

    def __init__(self, hub: Hub, session_id: int):
        self.hub = hub
        self.session_id = session_id
        self.events: list[Event] = []  # contiguous seqs
        self.last_seq = 0
        self.wanted = 0  # the highest seq a doorbell or the poll announced
        self.listeners: set[Listener] = set()
        self.frames = FrameCache()
        self.due: dict[Listener, None] | None = None  # woken, for the next push (ordered set)
        self.ready: asyncio.Future = asyncio.get_running_loop().create_future()
        self._refresher: asyncio.Task | None = None

    # --- reads (in the event loop, no I/O) -------------------------------------------------

    def after(self, seq: int) -> list[Event] | None:
        """The events after `seq`, or None if the tail does not reach back that far."""
        if seq >= self.last_seq:
            return []
        if not self.events or seq + 1 < self.events[0].seq:
            return None
        return self.events[seq + 1 - self.events[0].seq :]

    def upto(self, seq: int) -> list[Event] | None:
        """The whole log up to `seq`, or None if its head has left the tail."""
        if seq > self.last_seq:
            return None
        if seq == 0:
            return []
        if not self.events or self.events[0].seq != 1:
            return None
        return self.events[:seq]

    # --- updates -------------------------------------------------------------------------------

    def ring(self, seq: int) -> None:
        """A doorbell (or the poll) says the log reaches `seq`: read what we lack, once."""
        self.wanted = max(self.wanted, seq)
        if self.wanted > self.last_seq and self._refresher is None:
            self._refresher = asyncio.ensure_future(self._refresh())

    async def catch_up(self) -> None:
        """Read whatever the database holds beyond our tail now (a client claims more)."""
        seq = await _read(_last_seq)(self.session_id)
        self.ring(seq)
        if self._refresher is not None:
            await asyncio.shield(self._refresher)

    async def _refresh(self) -> None:
        try:
            while self.wanted > self.last_seq:
                new = await _read(_events_after)(self.session_id, self.last_seq)
                if not new:
                    break
                self._take(new)
        except Exception:  # the periodic check retries
            log.warning(
                "reading session %s after seq %s failed",
                self.session_id,
                self.last_seq,
                exc_info=True,
            )
        finally:
            self._refresher = None

    def offer(self, committed: list[Event]) -> None:
        """Events this process just committed: the rows a read would return, without
        the read (the doorbell's round trip and a query, ~5 ms before any screen moved).
        Taken only if they continue the tail; otherwise the doorbell reads as before."""
        if self.ready.done() and committed and committed[0].seq == self.last_seq + 1:
            self.wanted = max(self.wanted, committed[-1].seq)
            self._take(committed)

    def _take(self, new: list[Event]) -> None:
        # A read started before an offer may return rows the offer already gave.
        new = new[max(0, self.last_seq + 1 - new[0].seq) :]
        if new:
            self._extend(new)
            self._wake(new)

    def _extend(self, new: list[Event]) -> None:
        if new[0].seq != self.last_seq + 1:  # never expected: the log has no gaps
            log.warning(
                "session %s: tail jumps from %s to %s; rereading",
                self.session_id,
                self.last_seq,
                new[0].seq,
            )
            self.events = []
        self.events.extend(new)
        self.last_seq = new[-1].seq
        if len(self.events) > TAIL:
            del self.events[: len(self.events) - TAIL]
            self.frames.forget_before(self.events[0].seq)

    def _wake(self, new: list[Event]) -> None:
        tokens = frozenset(token for event in new for token in event.audience)
        freed = {event.payload.get("seat") for event in new if event.kind == "seat.freed"}
        first, last = new[0].seq, new[-1].seq
        due = []
        for listener in list(self.listeners):
            if listener.interested(tokens, freed):
                due.append(listener)
            else:
                listener.pass_over(first, last)
        if not due:
            return
        if self.due is None:
            self.due = dict.fromkeys(due)
            asyncio.ensure_future(self._push())
        else:  # a push is already on its way: it takes these too
            self.due.update(dict.fromkeys(due))

    async def _push(self) -> None:
        """Every woken screen, in turn, on one task.

        Not a task per screen and event (500 per event at 500 screens, ~2.7 µs each to
        create and schedule, against ~0.2 µs for an await in turn). A screen that can
        deliver from the tail without waiting does so here (`push`); one that must wait
        (a flush running, a read of the database) goes on a task of its own, so it never
        holds up the screens after it.
        """
        due, self.due = self.due or {}, None
        for listener in due:
            try:
                await listener.push()
            except Exception:
                log.exception("push to a screen of session %s failed", self.session_id)


class Hub:
    """This process's doorbell listener (one per event loop: Daphne has one)."""

    def __init__(self):
        self.layer = get_channel_layer()
        self.feeds: dict[int, Feed] = {}
        self.channel: str | None = None
        self.tasks: list[asyncio.Task] = []
        self.groups_joined_at = 0.0

    async def join(self, session_id: int, listener: Listener) -> Feed:
        feed = self.feeds.get(session_id)
        if feed is None:
            feed = self.feeds[session_id] = Feed(self, session_id)
            self._start()
            asyncio.ensure_future(self._open(feed))
        feed.listeners.add(listener)
        try:
            await asyncio.shield(feed.ready)
        except BaseException:
            self.leave(session_id, listener)
            raise
        return feed

    def leave(self, session_id: int, listener: Listener) -> None:
        feed = self.feeds.get(session_id)
        if feed is None:
            return
        feed.listeners.discard(listener)
        if feed.listeners:
            return
        del self.feeds[session_id]
        if self.channel is not None and self.layer is not None:
            asyncio.ensure_future(self._discard(session_id, self.channel))
        if not self.feeds:
            self._stop()

    async def _open(self, feed: Feed) -> None:
        """Join the group first, then read the tail: no event can fall in between."""
        try:
            await self._ensure_channel()
            if self.layer is not None:
                await self.layer.group_add(session_group(feed.session_id), self.channel)
        except Exception:  # Redis down: the periodic check serves until it is back
            log.warning(
                "could not join the doorbell group of session %s", feed.session_id, exc_info=True
            )
            self.groups_joined_at = 0.0
        try:
            events, last_seq = await _read(_tail)(feed.session_id)
            feed.events, feed.last_seq = events, last_seq
            feed.wanted = max(feed.wanted, last_seq)
            feed.ready.set_result(None)
            feed.ring(feed.wanted)  # a doorbell may have rung while we read
        except Exception as err:
            if not feed.ready.done():
                feed.ready.set_exception(err)
            if self.feeds.get(feed.session_id) is feed:
                del self.feeds[feed.session_id]

    async def _ensure_channel(self) -> None:
        if self.channel is None and self.layer is not None:
            self.channel = await self.layer.new_channel(prefix="simtrain-hub")

    async def _discard(self, session_id: int, channel: str) -> None:
        try:
            await self.layer.group_discard(session_group(session_id), channel)
        except Exception:  # it expires by itself (group_expiry)
            log.debug("group_discard failed", exc_info=True)

    async def _rejoin_groups(self) -> None:
        await self._ensure_channel()
        for session_id in list(self.feeds):
            await self.layer.group_add(session_group(session_id), self.channel)
        self.groups_joined_at = time.monotonic()

    def _start(self) -> None:
        if not self.tasks:
            self.tasks = [
                asyncio.ensure_future(self._poll()),
                asyncio.ensure_future(self._heartbeat()),
            ]
            if self.layer is not None:
                self.tasks.append(asyncio.ensure_future(self._listen()))

    def _stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        self.tasks = []

    async def _listen(self) -> None:
        """Doorbells for every session of this process, on one channel."""
        pause = 0.1
        while True:
            try:
                await self._ensure_channel()
                message = await self.layer.receive(self.channel)
                pause = 0.1
            except asyncio.CancelledError:
                raise
            except Exception:  # e.g. Redis restarting: memberships may be gone with it
                log.warning("doorbell channel failed; retrying in %.1fs", pause, exc_info=True)
                self.groups_joined_at = 0.0
                await asyncio.sleep(pause)
                pause = min(pause * 2, FLUSH_EVERY_S)
                continue
            if message.get("type") == "doorbell":
                feed = self.feeds.get(message.get("session"))
                if feed is not None and feed.ready.done():
                    feed.ring(int(message.get("seq", 0)))

    async def _poll(self) -> None:
        """Recover lost doorbells: one query per process for all its sessions."""
        while True:
            await asyncio.sleep(FLUSH_EVERY_S)
            ids = [sid for sid, feed in self.feeds.items() if feed.ready.done()]
            if not ids:
                continue
            try:
                seqs = await _read(_last_seqs)(ids)
            except Exception:
                log.warning("periodic check of sessions failed", exc_info=True)
                continue
            for session_id, seq in seqs.items():
                feed = self.feeds.get(session_id)
                if feed is not None:
                    feed.ring(seq)
            if (
                self.layer is not None
                and time.monotonic() - self.groups_joined_at > REJOIN_GROUPS_EVERY_S
            ):
                try:
                    await self._rejoin_groups()
                except Exception:
                    log.warning("renewing doorbell groups failed", exc_info=True)

    async def _heartbeat(self) -> None:
        """Renew this worker's lease while it serves sockets (sessions.presence).

        A seat socket recorded once but missing from the database now was closed by a
        sweep (we stalled past the grace): it records its presence again.
        """
        while True:
            await asyncio.sleep(presence.HEARTBEAT_S)
            try:
                recorded = await _read(presence.renew)(presence.WORKER_ID)
            except Exception:
                log.warning("renewing the worker lease failed", exc_info=True)
                continue
            for feed in list(self.feeds.values()):
                for listener in list(feed.listeners):
                    if getattr(listener, "announced", False) and (
                        listener.socket_id not in recorded
                    ):
                        listener.reannounce()


_hubs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Hub] = weakref.WeakKeyDictionary()


def hub() -> Hub:
    """The hub of the running event loop (the in-memory channel layer is per loop too)."""
    loop = asyncio.get_running_loop()
    found = _hubs.get(loop)
    if found is None:
        found = _hubs[loop] = Hub()
    return found


# --- In worker threads --------------------------------------------------------------------


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


def committed(sender=None, *, session_id: int, events: Iterable[Event] = (), **kwargs) -> None:
    """After a command's commit, in its thread: offer its events to this process's feed
    of the session, if it has one (`Feed.offer`). Other processes hear the doorbell,
    rung after this (`apps`), whose wait for the loop is the fan-out's backpressure."""
    loop = main_loop()
    if loop is None or not events:
        return
    found = _hubs.get(loop)
    if found is None or session_id not in found.feeds:
        return
    rows = [_as_read(event) for event in events]
    try:
        loop.call_soon_threadsafe(_offer, found, session_id, rows, context=Context())
    except RuntimeError:  # the loop closed meanwhile: nobody left to tell
        pass


def _offer(found: Hub, session_id: int, rows: list[Event]) -> None:
    feed = found.feeds.get(session_id)
    if feed is not None:
        feed.offer(rows)


def _as_read(event: Event) -> Event:
    """The event as a read of its row would return it: JSON values through their
    column's encoding and decoding (tuples become lists, text is repaired), and no
    reference to the command's locked session. A copy: the engine's own is left as is."""
    row = copy.copy(event)  # Model.__getstate__ copies _state and its fields cache
    row._state.fields_cache.clear()
    row.audience = _through_column("audience", event.audience)
    row.payload = _through_column("payload", event.payload)
    return row


def _through_column(name: str, value):
    field = Event._meta.get_field(name)
    return field.from_db_value(json.dumps(value, cls=field.encoder), None, connection)


def _read(fn):
    """Run a read of the hub in the shared thread pool, with its own connection.

    Not `database_sync_to_async`: that runs everything on the one thread Channels keeps
    for ORM work, where the commands of every socket and the embedded scheduler's
    ticks queue too; a doorbell's read must not wait behind a burst of writes. Nor the
    loop's default executor: its size follows the host's CPUs, not the pool (READERS).
    """

    def call(*args):
        close_old_connections()
        try:
            return fn(*args)
        finally:
            connection.close()  # back to the pool (PostgreSQL) / file closed (SQLite)

    return sync_to_async(call, thread_sensitive=False, executor=READERS)


def _tail(session_id: int) -> tuple[list[Event], int]:
    events = list(Event.objects.filter(session_id=session_id).order_by("-seq")[:TAIL])
    events.reverse()
    return events, events[-1].seq if events else 0


def _events_after(session_id: int, seq: int) -> list[Event]:
    return list(Event.objects.filter(session_id=session_id, seq__gt=seq).order_by("seq")[:BATCH])


def _last_seq(session_id: int) -> int:
    return Session.objects.filter(pk=session_id).values_list("last_seq", flat=True).first() or 0


def _last_seqs(ids: Iterable[int]) -> dict[int, int]:
    return dict(Session.objects.filter(pk__in=list(ids)).values_list("pk", "last_seq"))
