"""A bot: one participant driving a real browser session over HTTP and WebSocket.

It joins the way a person does (the code and a seat, or an invitation link; the trainer
with a login session), loads its live page, then keeps one WebSocket open and behaves
like `static/simtrain/live.js`: it resumes with `?after=<last seq held>`, drops any frame
whose seq it already holds, and reconnects by itself. On top of that it plays its part
at random — reproducibly from its own `random.Random` — answering decisions, taking
its role's actions, messaging its contacts, acknowledging cues, and dropping its socket
now and then.

Everything it is shown is recorded per *screen* (one page load and the frames applied
to it), which is what the report compares with the event log.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
from collections import Counter
from dataclasses import dataclass, field

from django.utils import timezone
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from rehearsal.answers import act_command, decision_answer, request_outcome
from rehearsal.browser import Browser, HttpError, seat_choices
from rehearsal.frames import ClockState, FeedItem, Page, parse_frame, parse_page
from rehearsal.pacing import Pacer

log = logging.getLogger(__name__)

TRAINER, TRAINEE, ACTOR, OBSERVER = "trainer", "trainee", "actor", "observer"


@dataclass(frozen=True)
class BotSpec:
    """Who the bot is and what its role may do (read from the database beforehand)."""

    name: str
    kind: str  # trainer | trainee | actor | observer
    role: str = ""
    seat_id: int | None = None
    invite_token: str = ""
    actions: tuple[tuple[str, bool], ...] = ()  # (action id, once)
    contacts: tuple[str, ...] = ()  # roles it may message
    # The trainer only:
    manual_injects: tuple[str, ...] = ()
    trainee_roles: tuple[str, ...] = ()
    all_roles: tuple[str, ...] = ()
    # The commands this server's protocol has (`sessions.protocol.COMMANDS`): optional
    # behaviours (opening inbox items, private notes) are played only if they exist.
    commands: frozenset[str] = frozenset()
    objectives: tuple[str, ...] = ()  # the trainer and observers rate them
    requests: tuple[str, ...] = ()  # requests its role may send
    decides: tuple[str, ...] = ()  # requests its role decides

    @property
    def page_path(self) -> str:
        return {TRAINER: "", ACTOR: "tablet/"}.get(self.kind, "desk/")


@dataclass(frozen=True)
class Behaviour:
    """How a bot behaves. `Behaviour.passive()` only watches (restart tests)."""

    act: bool = True  # answer, act, message, acknowledge
    drop_every_s: float = 15.0  # mean real seconds between socket drops; 0: never
    reconnect_delay_s: tuple[float, float] = (0.05, 1.5)  # after a drop of its own
    backoff_cap_s: float = 4.0  # live.js caps at 10 s; rehearsals are shorter
    # How long people take to react, in *exercise* seconds (at ×60, 20 s is 1/3 s real):
    # a rehearsal at any speed looks like the same exercise.
    answer_delay_s: tuple[float, float] = (20.0, 300.0)
    answer_ratio: float = 0.85  # some decisions are left to their deadline
    cue_delay_s: tuple[float, float] = (15.0, 150.0)
    safety_stops: bool = False
    reopen_ratio: float = 0.1  # trainer: reopen an answered decision
    reopen_delay_s: tuple[float, float] = (10.0, 60.0)
    open_ratio: float = 0.6  # open an inbox item (a seat-only event)
    open_delay_s: tuple[float, float] = (10.0, 300.0)
    # Requests: how often one is sent, and how the deciding role answers it (approve,
    # reject; the rest are left to run out their deadline, if they have one).
    request_ratio: float = 0.8
    approve_ratio: float = 0.45
    reject_ratio: float = 0.3
    decide_delay_s: tuple[float, float] = (10.0, 90.0)
    horizon_ms: int = 600_000  # planned acts fall in [0, horizon] on the exercise clock

    @property
    def longest_reaction_s(self) -> float:
        """The longest a reaction waits, in exercise seconds."""
        delays = (self.answer_delay_s, self.cue_delay_s, self.reopen_delay_s,
                  self.open_delay_s, self.decide_delay_s)
        return max(high for _, high in delays)

    @classmethod
    def passive(cls) -> Behaviour:
        return cls(act=False, drop_every_s=0.0, backoff_cap_s=1.0)


@dataclass
class Screen:
    """One page load and the frames applied to it: what a person had in front of them."""

    number: int
    cursor: int  # live.js `lastSeq`
    shown: Counter = field(default_factory=Counter)  # seq -> times shown
    order: list[int] = field(default_factory=list)  # seqs in the order they appeared
    page_seqs: tuple[int, ...] = ()
    dropped: int = 0  # frames dropped by the dedupe rule
    final: bool = False

    @property
    def duplicates_shown(self) -> int:
        return sum(n - 1 for n in self.shown.values() if n > 1)


@dataclass
class Outage:
    """One socket that ended without the bot closing for good, and when the next opened.

    `cause`: "disconnect" (the bot dropped it: chaos), "reload" (the server asked for a
    page reload) or "lost" (the server side went away: a crash, a dead worker).
    """

    cause: str
    dropped: float  # time.monotonic()
    reopened: float | None = None  # time.monotonic() when the next socket opened
    reopened_wall: float | None = None  # time.time() then (compared with Event.created_at)
    url: str = ""  # where the next socket opened


@dataclass
class PlannedAct:
    at_ms: int
    what: tuple


class Bot:
    def __init__(
        self,
        spec: BotSpec,
        *,
        base_url: str,
        session_id: int,
        code: str,
        rng: random.Random,
        behaviour: Behaviour | None = None,
        alternates: tuple[str, ...] = (),
    ):
        self.spec = spec
        # Several servers (the scale-out shape without a proxy): the bot starts on the
        # first and moves to the next when a connection or a page load fails.
        self.urls = [base_url, *(u for u in alternates if u != base_url)]
        self.base_url = base_url
        self.ws_base = "ws://" + base_url.split("://", 1)[1]
        self.session_id = session_id
        self.code = code
        self.rng = rng  # what it does: its plan, its answers
        # Its network's randomness apart: timing noise never changes which options it picks.
        self.net_rng = random.Random(rng.random())
        self.behaviour = behaviour or Behaviour()
        self.browser = Browser(base_url)
        # For resync times: (time.monotonic(), screen number, cursor) at every change of
        # what the screen holds, and every socket that ended before the bot closed.
        self.timeline: list[tuple[float, int, int]] = []
        self.outages: list[Outage] = []
        self.connections: list[tuple[float, str]] = []  # (time.monotonic(), url) per socket

        self.screens: list[Screen] = []
        self.received: set[int] = set()
        self.kinds: dict[int, str] = {}
        self.stamps: dict[int, str] = {}  # seq -> data-stamp-ms of what was shown
        self.clock: ClockState | None = None
        self.errors: Counter = Counter()
        self.commands: Counter = Counter()
        self.close_codes: list[int | None] = []
        self.refused: int | None = None  # a 4xxx close: live.js stops retrying
        self.connects = self.page_loads = self.hellos = 0
        self.pacer = Pacer()  # never faster than the server's command limit
        self.cutoff: int | None = None  # set by the coordinator when it closes for good

        self.plan: list[PlannedAct] = []
        self.pending: set[asyncio.Task] = set()
        self.reacted: set[int] = set()  # seqs already reacted to (across screens)
        self.answered: set[str] = set()
        self.reopened: set[str] = set()
        self.acked: set[str] = set()
        self.decisions: dict[str, tuple[tuple[str, ...], bool]] = {}  # inject -> options, free
        self.acting = self.behaviour.act
        self.chaos = self.behaviour.drop_every_s > 0

        self.ws = None
        self.connected = asyncio.Event()
        self._closing = False
        self._reload = False
        self._tasks: list[asyncio.Task] = []
        self._counter = 0
        if self.behaviour.act:
            self._make_plan()

    # --- identity -------------------------------------------------------------------------

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def screen(self) -> Screen:
        return self.screens[-1]

    @property
    def cursor(self) -> int:
        return self.screens[-1].cursor if self.screens else 0

    @property
    def idle(self) -> bool:
        """Nothing planned or pending any more (the coordinator waits for this)."""
        return not self.plan and not any(not t.done() for t in self.pending)

    def _text(self, what: str) -> str:
        self._counter += 1
        return f"{what} {self._counter} ({self.spec.name})"

    # --- joining --------------------------------------------------------------------------

    async def join(self) -> None:
        page = await asyncio.to_thread(self._join_blocking)
        for item in sorted(page.items, key=lambda i: i.seq):
            self._react(item)

    def _join_blocking(self) -> Page:
        b, sid = self.browser, self.session_id
        if self.spec.kind == TRAINER:
            return self._open_page(b.get(f"/sessions/{sid}/"), "the control room")
        if self.spec.kind == TRAINEE:
            b.get("/join/")  # the CSRF cookie
            r = b.post("/join/", {"code": self.code})
            if r.path != f"/sessions/{sid}/join/":
                raise HttpError("the session code was refused", r)
            if self.spec.seat_id not in seat_choices(r.text):
                raise HttpError(f"seat {self.spec.seat_id} is not offered", r)
            r = b.post(
                f"/sessions/{sid}/join/", {"name": self.spec.name, "seat": str(self.spec.seat_id)}
            )
        else:  # actors and observers: their invitation link only
            b.get(f"/invite/{self.spec.invite_token}/")
            r = b.post(f"/invite/{self.spec.invite_token}/", {"name": self.spec.name})
        return self._open_page(r, "the seat")

    def _open_page(self, response, what: str) -> Page:
        if response.status != 200 or 'id="live"' not in response.text:
            raise HttpError(f"{self.spec.name} could not open {what}", response)
        page = parse_page(response.text)
        self.page_loads += 1
        screen = Screen(
            number=len(self.screens) + 1, cursor=page.last_seq, page_seqs=tuple(page.seqs)
        )
        for item in sorted(page.items, key=lambda i: i.seq):  # the feed is newest first
            screen.shown[item.seq] += 1
            screen.order.append(item.seq)
            self._record(item)
        self.screens.append(screen)
        self.timeline.append((time.monotonic(), screen.number, screen.cursor))
        if page.clock is not None:
            self.clock = page.clock
        return page

    def _failover(self) -> None:
        """The next server in `urls` (no-op with one): cookies are per host, not port."""
        if len(self.urls) < 2:
            return
        index = (self.urls.index(self.base_url) + 1) % len(self.urls)
        self.base_url = self.urls[index]
        self.ws_base = "ws://" + self.base_url.split("://", 1)[1]
        self.browser.base_url = self.base_url

    def _reload_page(self) -> Page:
        """A browser refresh: a fresh page, a fresh screen, the cursor from the page."""
        return self._open_page(
            self.browser.get(f"/sessions/{self.session_id}/{self.spec.page_path}"), "its page"
        )

    # --- running --------------------------------------------------------------------------

    def start(self) -> None:
        """Connect and play (in the running loop) until `finish()`."""
        self._tasks = [asyncio.ensure_future(self._connection_loop())]
        if self.behaviour.act:
            self._tasks.append(asyncio.ensure_future(self._act_loop()))

    def stop_acting(self) -> None:
        self.acting = False
        self.chaos = False
        self.plan.clear()

    async def wait_connected(self, timeout: float) -> bool:
        try:
            await asyncio.wait_for(self.connected.wait(), timeout)
            return True
        except TimeoutError:
            return False

    async def finish(self, target_seq: int, *, timeout: float = 20.0) -> bool:
        """Wait until the screen is on the line again and holds `target_seq`, then close."""
        self.stop_acting()
        deadline = time.monotonic() + timeout
        while ((self.cursor < target_seq or not self.connected.is_set())
               and time.monotonic() < deadline and self.refused is None):
            await asyncio.sleep(0.05)
        reached = self.cursor >= target_seq
        await self.close()
        return reached

    async def close(self) -> None:
        self._closing = True
        for task in self.pending:
            task.cancel()
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await self.ws.close()
        for task in self._tasks:
            task.cancel()
        for task in [*self._tasks, *self.pending]:
            with contextlib.suppress(BaseException):
                await task
        if self.screens:
            self.screen.final = True

    def _ws_url(self) -> str:
        query = f"after={self.cursor}"
        if self.spec.kind != TRAINER:
            query = "as=seat&" + query  # what live_base.html's ws-connect asks for
        return f"{self.ws_base}/ws/sessions/{self.session_id}/?{query}"

    async def _connection_loop(self) -> None:
        failures = 0
        while not self._closing:
            if self._reload:
                self._reload = False
                try:
                    page = await asyncio.to_thread(self._reload_page)
                except Exception as err:  # the server is down: retry like a browser
                    log.debug("%s: reload failed: %s", self.name, err)
                    self._reload = True
                    failures += 1
                    self._failover()
                    await asyncio.sleep(self._backoff(failures))
                    continue
                for item in sorted(page.items, key=lambda i: i.seq):
                    self._react(item)  # what the page shows, a person acts on
            try:
                ws = await ws_connect(
                    self._ws_url(),
                    origin=self.base_url,
                    additional_headers={"Cookie": self.browser.cookie_header()},
                    proxy=None,
                    open_timeout=10,
                    ping_interval=None,
                    max_size=None,
                    max_queue=None,
                    compression=None,
                )
            except (OSError, InvalidHandshake, InvalidURI, TimeoutError) as err:
                failures += 1
                log.debug("%s: connect failed (%s)", self.name, err)
                self._failover()
                await asyncio.sleep(self._backoff(failures))
                continue
            failures = 0
            self.ws = ws
            self.connects += 1
            self.connections.append((time.monotonic(), self.base_url))
            if self.outages and self.outages[-1].reopened is None:
                outage = self.outages[-1]
                outage.reopened, outage.reopened_wall = time.monotonic(), time.time()
                outage.url = self.base_url
            self.connected.set()
            dropper = asyncio.ensure_future(self._chaos(ws)) if self.chaos else None
            try:
                await self._read(ws)
            finally:
                self.connected.clear()
                self.ws = None
                if dropper is not None:
                    dropper.cancel()
            code = ws.close_code
            self.close_codes.append(code)
            if code is not None and 4000 <= code < 5000:
                self.refused = code  # live.js: "refused", never retried
                self.errors[f"close-{code}"] += 1
                return
            if self._closing:
                return
            if not self.outages or self.outages[-1].reopened is not None:
                self.outages.append(
                    Outage(cause=getattr(ws, "_drop_cause", "lost"), dropped=time.monotonic())
                )
            if getattr(ws, "_dropped_on_purpose", False):
                await asyncio.sleep(self.net_rng.uniform(*self.behaviour.reconnect_delay_s))
            else:  # the server went away: back off like the browser client
                failures += 1
                await asyncio.sleep(self._backoff(failures))

    def _backoff(self, failures: int) -> float:
        # live.js: 250 ms + random * min(10 s, 0.5 s * 2^min(retry, 6))
        cap = self.behaviour.backoff_cap_s
        return 0.25 + self.net_rng.random() * min(cap, 0.5 * 2 ** min(failures, 6))

    async def _read(self, ws) -> None:
        try:
            async for message in ws:
                if isinstance(message, str):
                    self._on_message(message, ws)
        except ConnectionClosed:
            pass

    def _on_message(self, text: str, ws) -> None:
        frame = parse_frame(text)
        if frame.kind == "event":
            screen = self.screen
            if frame.seq <= screen.cursor:  # live.js: already on screen
                screen.dropped += 1
                return
            screen.cursor = frame.seq
            screen.shown[frame.seq] += 1
            screen.order.append(frame.seq)
            self.timeline.append((time.monotonic(), screen.number, frame.seq))
            if frame.clock is not None:
                self.clock = frame.clock
            item = frame.item or FeedItem(seq=frame.seq, kind="?")
            self._record(item)
            self._react(item)
        elif frame.kind == "error":
            self.errors[frame.error] += 1
        elif frame.kind == "reload":  # live.js reloads the page
            self.errors["reload"] += 1
            self._reload = True
            ws._dropped_on_purpose = True
            ws._drop_cause = "reload"
            asyncio.ensure_future(ws.close())

    def _record(self, item: FeedItem) -> None:
        self.received.add(item.seq)
        self.kinds[item.seq] = item.kind
        if item.stamp_ms:
            self.stamps[item.seq] = item.stamp_ms

    # --- chaos -----------------------------------------------------------------------------

    async def _chaos(self, ws) -> None:
        """Now and then: rewind with `hello`, drop the line, close, or refresh the page."""
        with contextlib.suppress(asyncio.CancelledError, ConnectionClosed):
            while self.chaos:
                await asyncio.sleep(self.net_rng.expovariate(1.0 / self.behaviour.drop_every_s))
                if not self.chaos or self._closing:
                    return
                roll = self.net_rng.random()
                if roll < 0.15:  # ask again from a little earlier: duplicates on the wire
                    after = max(0, self.cursor - self.net_rng.randint(1, 8))
                    self.hellos += 1
                    await ws.send(json.dumps({"cmd": "hello", "after": after}))
                    continue
                ws._dropped_on_purpose = True
                ws._drop_cause = "disconnect"
                if roll < 0.55:  # the network goes away: no closing handshake
                    ws.transport.abort()
                elif roll < 0.85:
                    await ws.close()
                else:  # the person refreshes the page
                    self._reload = True
                    await ws.close()
                return

    # --- playing its part ------------------------------------------------------------------

    def _clock_ms(self) -> int | None:
        if self.clock is None or self.clock.state != "running":
            return None
        return self.clock.now_ms(timezone.now())

    def _make_plan(self) -> None:
        rng, spec, horizon = self.rng, self.spec, max(1, self.behaviour.horizon_ms)

        def when(lo=0.03, hi=0.97) -> int:
            return int(rng.uniform(lo, hi) * horizon)

        plan: list[PlannedAct] = []
        if spec.kind == TRAINER:
            for ident in spec.manual_injects:
                roll = rng.random()
                if roll < 0.5:
                    plan.append(PlannedAct(when(0.05, 0.8), ("inject.fire", ident)))
                elif roll < 0.6:
                    plan.append(PlannedAct(when(0.05, 0.8), ("inject.skip", ident)))
            for _ in range(2):
                plan.append(PlannedAct(when(), ("note.add",)))
            if spec.trainee_roles:
                plan.append(
                    PlannedAct(when(0.1, 0.9), ("inject.adhoc", rng.choice(spec.trainee_roles)))
                )
            if len(spec.all_roles) >= 2:
                a, b = rng.sample(list(spec.all_roles), 2)
                plan.append(PlannedAct(when(), ("thread.write", a, b)))
            if "debrief.add" in spec.commands:
                for _ in range(rng.randint(1, 2)):
                    plan.append(PlannedAct(when(0.7, 0.97), ("debrief.add",)))
        if (
            spec.kind in (TRAINER, OBSERVER)
            and spec.objectives
            and ("objective.rate" in spec.commands)
        ):
            for _ in range(rng.randint(0 if spec.kind == TRAINER else 1, 2)):
                plan.append(
                    PlannedAct(
                        when(0.2, 0.97),
                        ("objective.rate", rng.choice(spec.objectives), rng.randint(1, 4)),
                    )
                )
        if spec.kind in (TRAINEE, ACTOR):
            if spec.kind == TRAINEE:
                for ident, once in spec.actions:
                    if rng.random() < 0.6:
                        # A repeatable action, more than once (`repeat` injects).
                        for _ in range(1 if once else rng.randint(2, 3)):
                            plan.append(PlannedAct(when(), ("action.take", ident)))
            if spec.contacts:
                count = rng.randint(1, 4) if spec.kind == TRAINEE else rng.randint(0, 2)
                for _ in range(count):
                    plan.append(PlannedAct(when(), ("message.send", rng.choice(spec.contacts))))
            if spec.kind == TRAINEE and "request.send" in spec.commands:
                for ident in spec.requests:
                    for _ in range(rng.randint(1, 2)):  # again: refused while pending
                        if rng.random() < self.behaviour.request_ratio:
                            plan.append(PlannedAct(when(), ("request.send", ident)))
            if spec.kind == TRAINEE and "note.private" in spec.commands:
                for _ in range(rng.randint(0, 2)):
                    plan.append(PlannedAct(when(), ("note.private",)))
            if self.behaviour.safety_stops and rng.random() < 0.25:
                plan.append(PlannedAct(when(), ("safety.stop",)))
        self.plan = sorted(plan, key=lambda act: act.at_ms)

    def _command(self, what: tuple) -> dict:
        return act_command(what, self.rng, self._text)

    async def _act_loop(self) -> None:
        with contextlib.suppress(asyncio.CancelledError):
            while not self._closing:
                await asyncio.sleep(self.net_rng.uniform(0.1, 0.3))
                if not self.acting or not self.plan or not self.connected.is_set():
                    continue
                now = self._clock_ms()
                if now is None:
                    continue
                while self.plan and self.plan[0].at_ms <= now and self.acting:
                    act = self.plan.pop(0)
                    await self.send(self._command(act.what))

    def _soon(self, delay_s: float, make_command) -> None:
        """Send a command after `delay_s` real seconds (whatever the exercise clock)."""

        async def run():
            await asyncio.sleep(delay_s)
            if self.acting:
                await self.send(make_command())

        self._track(run(), f"in {delay_s}s real")

    def _later(self, delay: float, make_command) -> None:
        """Send a command once `delay` seconds have passed on the exercise clock."""
        target_ms = (self._clock_ms() or 0) + int(delay * 1000)

        async def run():
            while self.acting and (self._clock_ms() or 0) < target_ms:
                await asyncio.sleep(0.05)
            if self.acting:
                command = make_command()
                if command is not None:
                    await self.send(command)

        self._track(run(), f"at clock {target_ms // 1000}s")

    def _track(self, coro, what: str) -> None:
        """A reaction in flight: the run waits for it (`idle`) and can say where it is."""
        task = asyncio.ensure_future(coro)
        task.set_name(what)
        self.pending.add(task)
        task.add_done_callback(self.pending.discard)

    def crashed(self) -> BaseException | None:
        """The exception that ended one of its loops (it would never be idle again)."""
        for task in self._tasks:
            if task.done() and not task.cancelled() and task.exception() is not None:
                return task.exception()
        return None

    def busy_with(self) -> str:
        """What it still has to do, and where its oldest reaction waits (a stuck run)."""
        parts = []
        if self.plan:
            parts.append(f"{len(self.plan)} planned from clock {self.plan[0].at_ms // 1000}s")
        waiting = [task for task in self.pending if not task.done()]
        if waiting:
            task = waiting[0]
            frames = task.get_stack()
            where = f"{frames[-1].f_code.co_name}:{frames[-1].f_lineno}" if frames else "?"
            parts.append(f"{len(waiting)} pending, one {task.get_name()} in {where}")
        now = self._clock_ms()
        parts.append(f"its clock {'not running' if now is None else f'{now // 1000}s'}")
        if not self.connected.is_set():
            parts.append("offline" + (f" (refused {self.refused})" if self.refused else ""))
        return ", ".join(parts)

    def _react(self, item: FeedItem) -> None:
        if item.kind == "inject.fired" and item.inject_kind == "decision":
            self.decisions[item.inject] = (item.options, item.free_text)
        if not self.acting or item.seq in self.reacted:
            return
        self.reacted.add(item.seq)
        rng, kind = self.rng, self.spec.kind
        if (
            item.kind == "inject.fired"
            and kind != TRAINER
            and "item.open" in self.spec.commands
            and rng.random() < self.behaviour.open_ratio
        ):
            self._later(
                rng.uniform(*self.behaviour.open_delay_s),
                lambda: {"cmd": "item.open", "item": item.seq},
            )
        if item.kind == "inject.fired" and item.inject_kind == "decision" and kind == TRAINEE:
            if item.inject not in self.answered and rng.random() < self.behaviour.answer_ratio:
                self.answered.add(item.inject)
                self._later(rng.uniform(*self.behaviour.answer_delay_s), lambda: self._answer(item))
        elif item.kind == "decision.reopened" and kind == TRAINEE:
            self.answered.add(item.inject)
            self._later(rng.uniform(*self.behaviour.answer_delay_s), lambda: self._answer(item))
        elif item.kind == "inject.fired" and item.inject_kind == "cue" and kind == ACTOR:
            if item.inject not in self.acked:
                self.acked.add(item.inject)
                self._later(
                    rng.uniform(*self.behaviour.cue_delay_s),
                    lambda: {"cmd": "cue.done", "inject": item.inject},
                )
        elif item.kind == "request.sent" and kind == TRAINEE and item.request in self.spec.decides:
            b = self.behaviour
            if outcome := request_outcome(rng, b.approve_ratio, b.reject_ratio):
                self._later(rng.uniform(*b.decide_delay_s), lambda: {
                    "cmd": "request.decide", "request": item.request, "outcome": outcome,
                    "reason": self._text("Décision motivée")})
        elif item.kind == "safety.stop" and kind == TRAINER:
            # A stop that holds (`safety.stop: hold`) paused the clock: the trainer
            # checks on the person, then resumes (real time: the clock is stopped).
            self._soon(0.5, lambda: {"cmd": "session.resume"})
        elif item.kind == "decision.answered" and kind == TRAINER and item.inject and item.role:
            key = f"{item.inject}|{item.role}"
            if key not in self.reopened and rng.random() < self.behaviour.reopen_ratio:
                self.reopened.add(key)
                self._later(
                    rng.uniform(*self.behaviour.reopen_delay_s),
                    lambda: {"cmd": "decision.reopen", "inject": item.inject, "role": item.role},
                )

    def _answer(self, item: FeedItem) -> dict:
        options, free = self.decisions.get(item.inject, (item.options, item.free_text))
        return decision_answer(self.rng, item.inject, options, free, self._text)

    async def send(self, command: dict, *, timeout: float = 30.0) -> bool:
        """Send once the socket is open (a click while offline waits for the line)."""
        deadline = time.monotonic() + timeout
        while not self._closing and time.monotonic() < deadline:
            ws = self.ws
            if ws is None or not self.connected.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(
                        self.connected.wait(), max(0.01, deadline - time.monotonic())
                    )
                continue
            try:
                await self.pacer.wait()
                await ws.send(json.dumps(command))
            except ConnectionClosed:
                await asyncio.sleep(0.05)
                continue
            self.commands[command["cmd"]] += 1
            return True
        return False


def derive_rng(seed: int, name: str) -> random.Random:
    """One generator per bot, from the run's seed and the bot's name (stable across runs)."""
    return random.Random(f"{seed}:{name}")
