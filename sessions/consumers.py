"""One WebSocket per participant: authenticate, catch up from `after`, then stream.

Delivery is pull-based: the channel layer only rings a doorbell; on each ring (and on
a periodic flush, in case a ring was lost) the consumer reads the events after the
last seq it sent, keeps those its perspective may see, renders them and sends them in
order. The client drops any seq it already holds. Result: at-least-once on the wire,
exactly-once on screen, in order, across drops and restarts.
"""

from __future__ import annotations

import asyncio
import logging
import time
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.db import close_old_connections
from django.utils import translation

from sessions import engine, protocol
from sessions.access import Viewer, seat_still_held, viewer_for
from sessions.fanout import session_group
from sessions.models import Event, Session
from sessions.projections import apply, project_session
from sessions.render import error_frame, frame, reload_frame, screen_for

log = logging.getLogger(__name__)

# Close codes (4xxx: the browser must not retry; see docs/protocol.md).
CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404

FLUSH_EVERY_S = 2.0  # recovers a lost doorbell
BATCH = 500  # events read per query while catching up
RATE_CAPACITY = 20  # commands in a burst …
RATE_PER_S = 5.0  # … refilled at this rate


class TokenBucket:
    def __init__(self, capacity: float, rate: float):
        self.capacity, self.rate = capacity, rate
        self.tokens, self.stamp = capacity, time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


class SessionConsumer(AsyncWebsocketConsumer):
    session_id: int
    viewer: Viewer | None = None
    sent_seq: int = 0

    async def connect(self):
        self.session_id = int(self.scope["url_route"]["kwargs"]["session_id"])
        self.language = self._language()
        self.bucket = TokenBucket(RATE_CAPACITY, RATE_PER_S)
        self.flush_lock = asyncio.Lock()
        self.flusher: asyncio.Task | None = None
        # Accept, then close with a 4xxx code: a refused handshake looks like a network
        # error to the browser, which would retry forever.
        await self.accept()
        code, viewer = await database_sync_to_async(self._authenticate)()
        if viewer is None:
            await self.close(code=code)
            return
        self.viewer = viewer
        self.screen = screen_for(viewer.perspective, viewer.seat.role.kind if viewer.seat else "")
        await database_sync_to_async(self._reset)(self._after_param())
        await self.channel_layer.group_add(session_group(self.session_id), self.channel_name)
        if viewer.seat is not None:
            await self._engine(engine.presence_set, principal=viewer.principal, connected=True)
        await self.flush()
        self.flusher = asyncio.ensure_future(self._flush_periodically())

    async def disconnect(self, code):
        if self.flusher is not None:
            self.flusher.cancel()
        if self.viewer is None:
            return
        await self.channel_layer.group_discard(session_group(self.session_id), self.channel_name)
        if self.viewer.seat is not None:
            try:
                await self._engine(
                    engine.presence_set, principal=self.viewer.principal, connected=False
                )
            except engine.EngineError:
                pass  # the seat was freed meanwhile: nothing to record

    # --- inbound --------------------------------------------------------------------------

    async def receive(self, text_data=None, bytes_data=None):
        if self.viewer is None:
            return
        if bytes_data is not None:
            await self._error("binary", "binary frames are not accepted")
            return
        if not self.bucket.take():
            await self._error("rate-limited", "too many commands; slow down")
            return
        try:
            data = protocol.parse_frame(text_data or "")
            cmd = data["cmd"]
            if cmd == "hello":  # resume from the client's last seq (same as ?after=)
                after = data.get("after", 0)
                if isinstance(after, bool) or not isinstance(after, int) or after < 0:
                    raise protocol.FrameError("bad-field", "'after' must be a seq (int >= 0)")
                async with self.flush_lock:
                    await database_sync_to_async(self._reset)(after)
                await self.flush()
                return
            if cmd == "ping":
                await self.send(text_data="<!--pong-->")
                return
            command = protocol.COMMANDS[cmd]
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

    async def doorbell(self, message):
        if message.get("seq", 0) > self.sent_seq:
            await self.flush()

    async def flush(self):
        if self.viewer is None:
            return
        async with self.flush_lock:
            while True:
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

    async def _flush_periodically(self):
        try:
            while True:
                await asyncio.sleep(FLUSH_EVERY_S)
                await self.flush()
        except asyncio.CancelledError:
            pass

    # --- in worker threads ----------------------------------------------------------------

    def _authenticate(self) -> tuple[int, Viewer | None]:
        close_old_connections()
        session = Session.objects.filter(pk=self.session_id).first()
        if session is None:
            return CLOSE_NOT_FOUND, None
        user = self.scope.get("user")
        viewer = viewer_for(
            session, user=user, cookies=self.scope.get("cookies", {}),
            prefer_seat=self._query().get("as") == "seat",
        )
        if viewer is None:
            authenticated = getattr(user, "is_authenticated", False)
            return (CLOSE_FORBIDDEN if authenticated else CLOSE_UNAUTHENTICATED), None
        return 0, viewer

    def _reset(self, after: int) -> None:
        """Rebuild this screen's state as the client holds it: the log up to `after`."""
        close_old_connections()
        session = Session.objects.get(pk=self.session_id)
        self.sent_seq = min(after, session.last_seq)
        self.ahead = after > session.last_seq
        self.state = project_session(session, self.viewer.perspective, upto_seq=self.sent_seq)

    def _load(self, after: int) -> tuple[bool, list[str], int | None, bool]:
        """Frames after `after` for this viewer: (seat still held, frames, scanned to, more).

        Every flush re-checks the seat, so a freed seat loses its stream at once.
        """
        close_old_connections()
        viewer = self.viewer
        if viewer.seat is not None and not seat_still_held(
            viewer.seat.pk, viewer.principal.pass_key
        ):
            return False, [], None, False
        last_seq = (
            Session.objects.filter(pk=self.session_id).values_list("last_seq", flat=True).first()
        ) or 0
        if self.ahead:  # the client holds more than the log: it must reload
            self.ahead = False
            return True, [reload_frame()], last_seq, False
        events = list(
            Event.objects.filter(session_id=self.session_id, seq__gt=after).order_by("seq")[:BATCH]
        )
        if not events:
            return True, [], None, False
        frames = []
        for event in events:
            if viewer.perspective.sees(event.audience):
                changed = apply(self.state, event)
                frames.append(frame(event, self.state, changed, self.screen,
                                    language=self.language))
            else:
                self.state.last_seq = event.seq
        return True, frames, events[-1].seq, len(events) == BATCH

    # --- helpers ----------------------------------------------------------------------------

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
