"""One WebSocket per participant: authenticate, catch up from `after`, then stream.

Delivery is pull-based: the channel layer only rings a doorbell, which this process's
hub (`sessions.hub`) hears once for all its sockets of the session; the hub reads the
new events once and pushes them, on one task, to the consumers that may see one of
them (and, every 2 s, checks `last_seq` in case a ring was lost). Each consumer then
folds the events after the last seq it sent into its own screen state, keeps those its
perspective may see, and sends their frames in order — rendered once per class of
equivalent viewers (`render.FrameCache`). The client drops any seq it already holds.
Result: at-least-once on the wire, exactly-once on screen, in order, across drops and restarts.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import logging
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.db import close_old_connections
from django.utils import translation

from sessions import engine, presence, protocol, sockets
from sessions.access import Viewer, seat_still_held, viewer_for
from sessions.hub import FLUSH_EVERY_S, Feed, hub  # noqa: F401 (FLUSH_EVERY_S: documented here)
from sessions.layout import plan_for, session_seats
from sessions.models import Event, Session
from sessions.projections import ScreenState, apply, new_state
from sessions.render import (
    ROOM,
    batch_frames,
    error_frame,
    reload_frame,
    screen_for,
    seat_only,
)
from simtrain.clientip import scope_client_ip

log = logging.getLogger(__name__)

# Close codes (4xxx: the browser must not retry; see docs/protocol.md).
CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404
CLOSE_UNAVAILABLE = 1013  # try again later (the database is unreachable)
CLOSE_TOO_MANY = 4429  # too many sockets for this seat, login or address (sessions.sockets)

BATCH = 500  # events read per query while catching up from the database
RATE_CAPACITY = 20  # commands in a burst, per holder (all their sockets together) …
RATE_PER_S = 5.0  # … refilled at this rate, as frames arrive (`SessionConsumer._metered`)
ADMITTED = "simtrain.admitted"  # a frame's mark: its token was taken on arrival (or not)


@dataclasses.dataclass(frozen=True, slots=True)
class HeldSeat:
    """What a socket keeps of its seat (as `Viewer.seat`): the `Seat` row with its `Role`
    cost every idle socket over 1 KiB (more with long texts), for two fields."""

    pk: int
    role_kind: str


class SessionConsumer(AsyncWebsocketConsumer):
    session_id: int
    viewer: Viewer | None = None
    feed: Feed | None = None
    state: ScreenState | None = None
    sent_seq: int = 0
    counted: tuple[tuple[str, str], ...] = ()  # keys of this socket in sockets.registry
    socket_id: str = ""  # its LiveSocket row (sessions.presence), for a seat's socket
    bucket: sockets.TokenBucket | None = None  # its holder's command budget, once known
    announced = False  # its row was written once (the hub's heartbeat checks it is still there)

    async def connect(self):
        self.session_id = int(self.scope["url_route"]["kwargs"]["session_id"])
        self.language = self._language()
        self.flush_lock = asyncio.Lock()
        self.waking = False
        self.ahead = False
        self.private: tuple[int, ...] = ()  # seqs of seat-only events folded in
        # Accept, then close with a 4xxx code: a refused handshake looks like a network
        # error to the browser, which would retry forever.
        await self.accept()
        if not self._count([("ip", scope_client_ip(self.scope))]):  # before any query
            await self._close(CLOSE_TOO_MANY)
            return
        code, viewer, version_id = await database_sync_to_async(self._authenticate)()
        if viewer is None:
            await self._close(code)
            return
        holder = (("seat", str(viewer.seat.pk)) if viewer.seat is not None
                  else ("user", str(viewer.principal.user_id)))
        if not self._count([holder]):
            await self._close(CLOSE_TOO_MANY)
            return
        self.bucket = sockets.registry.bucket(":".join(holder), RATE_CAPACITY, RATE_PER_S)
        if self._query().get("screen") == "room":
            # The projector: the trainer's login, but only what every seat may see, and
            # read-only (it takes no command).
            if not viewer.is_trainer:
                await self._close(CLOSE_FORBIDDEN)
                return
            viewer = Viewer(ROOM, viewer.principal)
        self.viewer, self.perspective, self.version_id = viewer, viewer.perspective, version_id
        self.screen = screen_for(viewer.perspective, viewer.seat.role_kind if viewer.seat else "")
        try:
            self.feed = await hub().join(self.session_id, self)
            async with self.flush_lock:
                await self._reset(self._after_param())
        except Exception:
            log.exception("could not open session %s", self.session_id)
            self.viewer = None
            await self.close(code=CLOSE_UNAVAILABLE)
            return
        if viewer.seat is not None:
            self.socket_id = presence.new_socket_id()
            await self._announce(viewer)
            self.announced = True
        await self.flush()

    async def disconnect(self, code):
        viewer, self.viewer = self.viewer, None  # stops any flush still scheduled
        sockets.registry.release(list(self.counted))
        self.counted = ()
        if self.feed is not None:
            self.feed.hub.leave(self.session_id, self)
        if viewer is None or viewer.seat is None:
            if self.socket_id:  # we closed it (its seat was lost): only its row to drop
                await database_sync_to_async(presence.forget_socket)(self.socket_id)
            return
        await self._goodbye(viewer)

    async def _goodbye(self, viewer: Viewer) -> None:
        try:
            await self._engine(engine.presence_set, principal=viewer.principal, connected=False,
                               socket_id=self.socket_id)
        except engine.EngineError:  # the seat was freed meanwhile: nothing to record
            await database_sync_to_async(presence.forget_socket)(self.socket_id)

    async def _announce(self, viewer: Viewer) -> None:
        await self._engine(engine.presence_set, principal=viewer.principal, connected=True,
                           socket_id=self.socket_id, worker=presence.WORKER_ID)

    def reannounce(self) -> None:
        """Called by the hub when this worker's lease was swept: record us again."""
        if self.viewer is not None and self.viewer.seat is not None and self.socket_id:
            asyncio.ensure_future(self._reannounced(self.viewer))

    async def _reannounced(self, viewer: Viewer) -> None:
        try:
            await self._announce(viewer)
        except Exception:  # the seat was freed, or the database is down: the next one
            log.warning("re-recording presence failed", exc_info=True)
            return
        if self.viewer is None:  # closed meanwhile: its goodbye may have run before us
            await self._goodbye(viewer)

    # --- inbound --------------------------------------------------------------------------

    async def __call__(self, scope, receive, send):
        """Channels' loop (`AsyncConsumer.__call__`), with frames metered as they arrive.

        Channels takes the next frame only once a handler is done: while a command waits
        for the database, the frames behind it queue, and a bucket drained only then
        refused a person who clicked at a steady pace for the server's own backlog (the
        ×240 rehearsal on a loaded runner: 20 refusals). Here a reader takes frames (and
        their tokens) while a handler runs, and only then: an idle socket waits on
        `receive` alone — no reader task, no queue of its own, no `asyncio.wait` —
        which was ~6 KiB of every idle socket's memory (docs/performance.md, Capacity).
        """
        self.scope = scope
        # No channel per socket: doorbells reach the process's hub, which wakes the
        # consumers (sessions.hub); so `receive` is the only source of messages.
        self.channel_layer = None
        self.base_send = send
        backlog: collections.deque[dict] = collections.deque()
        try:
            while True:
                if not backlog:
                    backlog.append(self._metered(await receive()))
                reader = asyncio.ensure_future(self._read(receive, backlog))
                try:
                    await self.dispatch(backlog.popleft())
                finally:
                    # Not awaited: a frame in the backlog is dispatched at once, not a
                    # loop pass later. Once cancelled, the reader takes nothing more: a
                    # frame it got is in the backlog already, one it waits for stays in
                    # Daphne's queue (cancelling `Queue.get` loses nothing).
                    reader.cancel()
        except StopConsumer:
            pass

    async def _read(self, receive, backlog: collections.deque) -> None:
        while True:
            message = self._metered(await receive())
            backlog.append(message)
            if message["type"] == "websocket.disconnect":
                return

    def _metered(self, message: dict) -> dict:
        """Take a command frame's token on arrival; a refused frame loses its payload."""
        if message["type"] == "websocket.receive" and message.get("text") is not None:
            bucket = self.bucket  # none until the handshake has found the holder
            if bucket is not None and not bucket.take():
                return {"type": "websocket.receive", "text": "", ADMITTED: False}
            if bucket is not None:
                message[ADMITTED] = True
        return message

    async def websocket_receive(self, message):
        if self.viewer is None:
            return
        if message.get("text") is not None:
            admitted = message.get(ADMITTED)
            if admitted is None:  # it came in while the handshake ran
                admitted = self.bucket.take()
            if not admitted:
                await self._error("rate-limited", "too many commands; slow down")
                return
        await super().websocket_receive(message)

    async def receive(self, text_data=None, bytes_data=None):
        if self.viewer is None:
            return
        if bytes_data is not None:
            await self._error("binary", "binary frames are not accepted")
            return
        try:
            data = protocol.parse_frame(text_data or "")
            cmd = data["cmd"]
            if cmd == "hello":  # resume from the client's last seq (same as ?after=)
                after = data.get("after", 0)
                if isinstance(after, bool) or not isinstance(after, int) or after < 0:
                    raise protocol.FrameError("bad-field", "'after' must be a seq (int >= 0)")
                async with self.flush_lock:
                    await self._reset(after)
                await self.flush()
                return
            if cmd == "ping":
                await self.send(text_data="<!--pong-->")
                return
            command = protocol.COMMANDS[cmd]
            if self.screen == "room":
                raise protocol.FrameError("forbidden", "the room display takes no command")
            if command.who == "trainer" and not self.viewer.is_trainer:
                raise protocol.FrameError("forbidden", "this command is for the trainer")
            if command.who == "seat" and self.viewer.seat is None:
                if cmd == "message.send":  # the trainer writes in a thread instead
                    raise protocol.FrameError("forbidden", "use thread.write")
                raise protocol.FrameError("forbidden", "this command is for seated participants")
            kwargs = protocol.command_kwargs(command, data)
        except protocol.FrameError as err:
            await self._error(err.code, err.message)
            return
        try:
            await self._engine(command.service, principal=self.viewer.principal, **kwargs)
        except engine.EngineError as err:
            await self._error(err.code, err.message)
            if err.code == "seat-lost":
                await self.close(code=CLOSE_FORBIDDEN)
        except Exception:
            log.exception("command %s failed", cmd)
            await self._error("server-error", "the command failed; nothing was changed")

    # --- outbound -------------------------------------------------------------------------

    def interested(self, tokens: frozenset[str], freed_seats: set[int]) -> bool:
        """Called by the hub: does a batch addressed to these audience tokens concern
        this screen?"""
        viewer = self.viewer
        if viewer is None or self.state is None:
            return False
        if viewer.is_trainer or (viewer.seat is not None and viewer.seat.pk in freed_seats):
            return True
        return viewer.perspective.may_see_any(tokens)

    def pass_over(self, first: int, last: int) -> None:
        """Called by the hub for a batch this screen may not see (`interested` said no).

        Folding it would only move the cursor, event by event: a seat left out of a
        run of trainer-only events (every other seat's presence) used to scan them all
        at its next wake — 500 seats × 1,000 presence events was the first inject's
        200 ms stall. Only a screen that is up to date and idle moves at once; any
        other scans the batch as before.
        """
        if (
            self.state is not None
            and not self.waking
            and not self.flush_lock.locked()
            and self.sent_seq == first - 1
            and self.state.last_seq == first - 1
        ):
            self.sent_seq = self.state.last_seq = last

    async def push(self) -> None:
        """Called by the hub, on the one task that serves every woken screen in turn:
        flush now if that needs no wait — no flush running or scheduled, our next events
        in the tail, our seat not freed among them — else on a task of our own (`wake`).
        """
        if self.viewer is None or self.feed is None:
            return
        idle = not self.waking and not self.flush_lock.locked() and not self.ahead
        if idle and self._from_tail() is not None:
            await self.flush()
            return
        self.wake()

    def wake(self) -> None:
        """The feed has new events for us that we cannot take at once: flush soon."""
        if not self.waking:
            self.waking = True
            asyncio.ensure_future(self._woken())

    async def _woken(self):
        self.waking = False
        try:
            await self.flush()
        except Exception:
            log.exception("flush of session %s failed", self.session_id)

    async def flush(self):
        if self.viewer is None or self.feed is None:
            return
        async with self.flush_lock:
            if self.viewer is None:
                return
            if self.ahead:  # the client holds more than the log: it must reload
                self.ahead = False
                await self.send(text_data=reload_frame())
            while True:
                events = self._from_tail()
                if events is not None:
                    frames, scanned_to, more = self._frames(events), None, False
                    if events:
                        scanned_to = events[-1].seq
                else:  # beyond the tail, or our seat changed hands: ask the database
                    ok, frames, scanned_to, more = await database_sync_to_async(self._load)(
                        self.sent_seq
                    )
                    if not ok:
                        self.viewer = None
                        await self.close(code=CLOSE_FORBIDDEN)
                        return
                for text in frames:
                    await self.send(text_data=text)
                if scanned_to is None:
                    return
                self.sent_seq = scanned_to
                if not more:
                    return

    def _fold(self, event: Event) -> set[str] | None:
        """Fold one event into the screen state; the changed regions, None if not ours."""
        perspective = self.perspective
        if not perspective.sees_event(event):
            self.state.last_seq = event.seq
            return None
        changed = apply(self.state, event)
        if seat_only(perspective, event.audience):
            self.private += (event.seq,)
        return changed

    def _folded(self, events: list[Event]) -> list[tuple[Event, set[str]]]:
        folded = []
        for event in events:
            changed = self._fold(event)
            if changed is not None:
                folded.append((event, changed))
        return folded

    def _frames(self, events: list[Event]) -> list[str]:
        """Frames from the feed, in the event loop: no I/O, renders shared per class."""
        return batch_frames(
            self._folded(events), self.state, self.screen, language=self.language,
            render=lambda event, regions, whole: self.feed.frames.frame(
                event, self.state, regions, self.screen, language=self.language,
                private=self.private, whole=whole,
            ),
        )

    def _from_tail(self) -> list[Event] | None:
        """Our next events from the feed, or None if they must come from the database:
        beyond the tail, or our seat changed hands among them (it loses its stream)."""
        events = self.feed.after(self.sent_seq)
        if events is None or self._seat_freed_in(events):
            return None
        return events

    def _seat_freed_in(self, events: list[Event]) -> bool:
        seat = self.viewer.seat
        return seat is not None and any(
            event.kind == "seat.freed" and event.payload.get("seat") == seat.pk
            for event in events
        )

    async def _reset(self, after: int) -> None:
        """Rebuild this screen's state as the client holds it: the log up to `after`."""
        if after > self.feed.last_seq:  # the client may know a seq our tail has not read yet
            await self.feed.catch_up()
        self.sent_seq = min(after, self.feed.last_seq)
        self.ahead = after > self.feed.last_seq
        events = self.feed.upto(self.sent_seq)
        if events is None:  # the head of a long log has left the tail
            events = await database_sync_to_async(self._log_upto)(self.sent_seq)
        self.state = new_state(self.perspective, self.version_id, self.session_id)
        self.private = ()
        for event in events:
            self._fold(event)

    # --- in worker threads ----------------------------------------------------------------

    def _authenticate(self) -> tuple[int, Viewer | None, int]:
        close_old_connections()
        session = Session.objects.filter(pk=self.session_id).first()
        if session is None:
            return CLOSE_NOT_FOUND, None, 0
        user = self.scope.get("user")
        viewer = viewer_for(
            session, user=user, cookies=self.scope.get("cookies", {}),
            prefer_seat=self._query().get("as") == "seat",
        )
        if viewer is None:
            authenticated = getattr(user, "is_authenticated", False)
            return (CLOSE_FORBIDDEN if authenticated else CLOSE_UNAUTHENTICATED), None, 0
        plan_for(session.version_id)  # loaded here, so the event loop never queries it
        session_seats(session.pk)  # the roster's seats, likewise
        if viewer.seat is not None:
            viewer = dataclasses.replace(
                viewer, seat=HeldSeat(viewer.seat.pk, viewer.seat.role.kind))
        return 0, viewer, session.version_id

    def _log_upto(self, seq: int) -> list[Event]:
        close_old_connections()
        return list(
            Event.objects.filter(session_id=self.session_id, seq__lte=seq)
            .order_by("seq")
            .iterator(chunk_size=2000)
        )

    def _load(self, after: int) -> tuple[bool, list[str], int | None, bool]:
        """Frames after `after` from the database: (seat still held, frames, scanned to, more).

        The path for cursors beyond the feed's tail, and whenever our seat was freed:
        a freed seat loses its stream at once.
        """
        close_old_connections()
        viewer = self.viewer
        if viewer.seat is not None and not seat_still_held(
            viewer.seat.pk, viewer.principal.pass_key
        ):
            return False, [], None, False
        events = list(
            Event.objects.filter(session_id=self.session_id, seq__gt=after).order_by("seq")[:BATCH]
        )
        if not events:
            return True, [], None, False
        frames = batch_frames(self._folded(events), self.state, self.screen,
                              language=self.language)
        return True, frames, events[-1].seq, len(events) == BATCH

    # --- helpers ----------------------------------------------------------------------------

    async def _close(self, code: int) -> None:
        """Refuse this socket: it stops counting against its holder and address now."""
        sockets.registry.release(list(self.counted))
        self.counted = ()
        await self.close(code=code)

    def _count(self, keys: list[tuple[str, str]]) -> bool:
        """Count this socket under `keys` (sessions.sockets), unless one is full."""
        if not sockets.registry.admit(keys):
            return False
        self.counted += tuple(keys)
        return True

    async def _engine(self, service, **kwargs):
        def call():
            close_old_connections()
            return service(session_id=self.session_id, **kwargs)

        return await database_sync_to_async(call)()

    async def _error(self, code: str, message: str):
        await self.send(text_data=error_frame(code, message, language=self.language))

    def _query(self) -> dict[str, str]:
        raw = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
        return {k: v[-1] for k, v in raw.items()}

    def _after_param(self) -> int:
        try:
            return max(0, int(self._query().get("after", "0")))
        except ValueError:
            return 0

    def _language(self) -> str:
        cookies = self.scope.get("cookies", {})
        wanted = cookies.get(settings.LANGUAGE_COOKIE_NAME, "")
        codes = {code for code, _ in settings.LANGUAGES}
        return wanted if wanted in codes else translation.get_language() or "fr"
