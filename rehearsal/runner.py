"""A whole rehearsal: a session, a real server, one bot per seat, a report.

    report = simulate(version=version, config=SimulationConfig(speed=60, seed=1))

The run ends when the clock is past the last timed item, the bots have nothing left
to do and the scheduler has nothing left within reach (`clock.next_due_ms()` is None,
or further than `REACH_S` real seconds away: a 15-day countdown is not waited for) —
or when it stalls (bots still busy, nothing due, no new event for a minute), or when
the clock or the wall clock passes its cap. Then the trainer ends the session, each
bot waits for the frames it is owed and disconnects, and the log is compared with
what every screen showed; the report says why a run stopped short (`stopped`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.contrib.auth.models import Group
from django.db import close_old_connections, connections
from django.utils import timezone

from rehearsal.bot import Behaviour, Bot, derive_rng
from rehearsal.chaos import ChaosPlan, FaultInjector
from rehearsal.plan import ScenarioPlan, scenario_plan
from rehearsal.report import Report, build_report, perspective_of
from rehearsal.stack import EmbeddedStack, ScaleoutStack
from sessions import engine
from sessions.audience import Perspective
from sessions.engine import due
from sessions.models import Event, Session
from simtrain.permissions import TRAINER_GROUP, ensure_groups

log = logging.getLogger(__name__)

SIMULATOR_USERNAME = "simulator"
CLOCK_MARGIN_MS = 5 * 60_000  # past the worst case, the run stops anyway …
REAL_MARGIN_S = 20.0  # … but leaves the bots this long to finish what they started
QUIET_S = 1.0  # nothing due, nothing pending, for this long: the exercise is over
# Past the horizon the run waits for what the scheduler has due within this many real
# seconds; a countdown of days in story time would otherwise hold it for hours.
REACH_S = 60.0
# Past the horizon, nothing due within reach and no new event for this long (plus the
# bots' longest reaction): a bot waits for what will never come; the run ends, says what.
STALL_S = 60.0


@dataclass(frozen=True)
class SimulationConfig:
    speed: float = 60.0
    seed: int = 0
    port: int | None = None
    drop_every_s: float = 15.0  # mean real seconds between a bot's socket drops; 0: never
    safety_stops: bool = False
    wall_timeout_s: float | None = None  # default: from the scenario's length and speed
    title: str = ""
    # Faults to inject (`rehearsal.chaos`). None: the bots' own drops only, every
    # `drop_every_s`, as before. A plan: drops only if it lists `disconnects`.
    chaos: ChaosPlan | None = None

    @property
    def drops_s(self) -> float:
        if self.chaos is None or self.chaos.disconnects:
            return self.drop_every_s
        return 0.0

    @property
    def scaleout(self) -> bool:
        return self.chaos is not None and self.chaos.scaleout


def simulator_user():
    """The dedicated trainer account rehearsals run as (created on first use)."""
    ensure_groups()
    user, created = get_user_model().objects.get_or_create(
        username=SIMULATOR_USERNAME,
        defaults={"first_name": "Simulation", "last_name": "simtrain"},
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    user.groups.add(Group.objects.get(name=TRAINER_GROUP))
    return user


def login_cookie(user) -> tuple[str, Callable[[], None]]:
    """A server-side login session for `user`: the `sessionid` value and how to end it.

    What `django.contrib.auth.login` stores, without a password (the simulator has none).
    """
    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store[SESSION_KEY] = user._meta.pk.value_to_string(user)
    store[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.save()
    return store.session_key, store.delete


def create_session(*, version, user, title: str = "") -> Session:
    stamp = timezone.localtime().strftime("%Y-%m-%d %H:%M")
    return engine.session_create(
        rehearsal=True,
        version=version,
        trainer=user,
        title=title or f"Répétition automatique {stamp}",
        cohort="simulation",
    )


def _db(fn):
    """ORM work from the bots' event loop: one worker thread, closed at the end."""
    return sync_to_async(fn, thread_sensitive=True)


def _status(session_id: int) -> dict:
    close_old_connections()
    session = Session.objects.get(pk=session_id)
    return {
        "state": session.state,
        "clock_ms": session.clock_ms(timezone.now()),
        "next_due_ms": due.next_due_ms(session),
        "last_seq": session.last_seq,
    }


def _running_countdowns(session_id: int) -> list[str]:
    """The countdowns started and neither stopped nor expired yet, by the log."""
    started, ended = [], set()
    for kind, payload in Event.objects.filter(
        session_id=session_id, kind__startswith="countdown."
    ).values_list("kind", "payload"):
        if kind == "countdown.started":
            started.append(payload["countdown"])
        elif kind in ("countdown.stopped", "countdown.expired"):
            ended.add(payload["countdown"])
    return [ident for ident in dict.fromkeys(started) if ident not in ended]


def _target(session_id: int, perspective: Perspective, upto: int) -> int:
    """The last seq `perspective` is owed, at or below `upto` (what its cursor must reach)."""
    close_old_connections()
    for event in Event.objects.filter(session_id=session_id, seq__lte=upto).order_by("-seq"):
        if perspective.sees_event(event):
            return event.seq
    return 0


def _close_db() -> None:
    connections.close_all()


class Coordinator:
    """The coordinator: runs in one event loop with every bot."""

    def __init__(
        self,
        *,
        session: Session,
        plan: ScenarioPlan,
        stack: EmbeddedStack | ScaleoutStack,
        config: SimulationConfig,
        trainer_cookie: str,
        progress: Callable[[str], None] | None = None,
    ):
        self.session_id = session.pk
        self.code = session.code
        self.plan = plan
        self.stack = stack
        self.config = config
        self.trainer_cookie = trainer_cookie
        self.progress = progress or (lambda message: None)
        self.capped = False
        self.stopped = ""  # why the run ended before everything it waited for was done
        self.timings: dict[str, float] = {}
        self.t0 = time.monotonic()
        self.injector = FaultInjector(
            config.chaos or ChaosPlan(), stack, plan.horizon_ms, progress=self.progress
        )
        behaviour = Behaviour(
            drop_every_s=config.drops_s,
            safety_stops=config.safety_stops,
            horizon_ms=plan.horizon_ms,
        )
        urls = stack.urls
        self.bots = [
            Bot(
                spec,
                # Spread over the workers (scale-out); each bot moves on when one fails.
                base_url=urls[n % len(urls)],
                alternates=tuple(urls[(n + k) % len(urls)] for k in range(1, len(urls))),
                session_id=session.pk,
                code=session.code,
                rng=derive_rng(config.seed, spec.name),
                behaviour=behaviour,
            )
            for n, spec in enumerate(plan.specs)
        ]
        self.trainer = self.bots[0]
        self.trainer.browser.set_cookie(settings.SESSION_COOKIE_NAME, trainer_cookie)

    @property
    def reach_ms(self) -> int:
        """How far ahead on the clock the run waits for what falls due."""
        return int(REACH_S * 1000 * self.config.speed)

    @property
    def clock_cap_ms(self) -> int:
        # Past the worst case within reach: 5 exercise minutes, or the bots' real-time
        # reactions.
        latest = min(self.plan.latest_ms, self.plan.horizon_ms + self.reach_ms)
        real_margin_ms = int(REAL_MARGIN_S * 1000 * self.config.speed)
        return latest + max(CLOCK_MARGIN_MS, real_margin_ms)

    @property
    def wall_cap_s(self) -> float:
        if self.config.wall_timeout_s:
            return self.config.wall_timeout_s
        return self.clock_cap_ms / 1000 / self.config.speed * 1.5 + 60

    async def run(self) -> None:
        try:
            await self._run()
        finally:
            for bot in self.bots:
                with contextlib.suppress(Exception):
                    await bot.close()
            await _db(_close_db)()

    async def _run(self) -> None:
        await self.connect()
        t1 = time.monotonic()
        await self.trainer.send({"cmd": "session.start"})
        await self.trainer.send({"cmd": "clock.speed", "speed": self.config.speed})
        await self.started()
        await self._play(t1)
        self.timings["exercise"] = time.monotonic() - t1
        t2 = self.stop_acting()
        await self.trainer.send({"cmd": "session.end"})
        await self.wind_up(t2)

    # The phases of a run, for a coordinator of several syndicates (rehearsal.exercise) too.

    async def connect(self) -> None:
        """The trainer opens the control room, every seat joins, every socket is open."""
        t0 = self.t0 = time.monotonic()
        await self.trainer.join()
        self.trainer.start()
        seats = self.bots[1:]
        await asyncio.gather(*(bot.join() for bot in seats))
        for bot in seats:
            bot.start()
        for bot in self.bots:
            if not await bot.wait_connected(30):
                raise RuntimeError(f"{bot.name} could not open its WebSocket")
        self.timings["join"] = time.monotonic() - t0
        self.progress(
            f"{len(self.bots)} participants connected "
            f"({len(seats)} seats) in {self.timings['join']:.1f}s"
        )

    async def started(self) -> None:
        await self._wait_for(lambda s: s["state"] == Session.State.RUNNING, 15, "the start")

    def stop_acting(self) -> float:
        for bot in self.bots:
            bot.stop_acting()
        return time.monotonic()

    async def wind_up(self, t2: float) -> None:
        """Once the session is ended: every participant gets what it is owed, then leaves."""
        await self._wait_for(lambda s: s["state"] == Session.State.ENDED, 15, "the end")
        await self._finish()
        self.timings["finish"] = time.monotonic() - t2
        self.timings["total"] = time.monotonic() - self.t0

    async def _wait_for(self, predicate, timeout: float, what: str) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            status = await _db(_status)(self.session_id)
            if predicate(status):
                return status
            if time.monotonic() > deadline:
                raise RuntimeError(f"timed out waiting for {what} (session {status['state']})")
            await asyncio.sleep(0.1)

    async def _play(self, started: float) -> None:
        quiet_since = None
        last_report = 0.0
        still = (-1, 0.0)  # (last seq, since): how long the log has not moved
        stall_s = STALL_S + self.bots[0].behaviour.longest_reaction_s / self.config.speed
        while True:
            status = await _db(_status)(self.session_id)
            now = time.monotonic()
            for bot in self.bots:  # a loop that died would leave its bot busy for ever
                if (error := bot.crashed()) is not None:
                    raise RuntimeError(f"{bot.name} stopped playing: {error!r}") from error
            if status["state"] == Session.State.PAUSED and now - started < self.wall_cap_s:
                # A safety stop that holds paused the clock; the trainer bot resumes it.
                await asyncio.sleep(0.25)
                continue
            if status["state"] != Session.State.RUNNING:
                return
            clock_ms, due = status["clock_ms"], status["next_due_ms"]
            self.injector.poll(clock_ms)
            past_horizon = clock_ms >= self.plan.horizon_ms
            due_soon = due is not None and due - clock_ms <= self.reach_ms
            settled = past_horizon and not due_soon and not self.injector.busy
            if settled and all(bot.idle for bot in self.bots):
                quiet_since = quiet_since or now
                if now - quiet_since >= QUIET_S:
                    if due is not None:
                        running = await _db(_running_countdowns)(self.session_id)
                        self.stopped = f"next due at clock {due // 1000}s, out of reach" + (
                            f" (countdowns running: {', '.join(running)})" if running else ""
                        )
                        self.progress(f"{self.stopped}; ending the session")
                    return
            else:
                quiet_since = None
            if status["last_seq"] != still[0] or due_soon:
                still = (status["last_seq"], now)  # moving, or waiting for the clock
            elif settled and now - still[1] > stall_s:
                self.stopped = (
                    f"stalled: no new event for {now - still[1]:.0f}s past the "
                    f"horizon (next due: {due}); busy: {self._busy()}"
                )
                self.progress(f"{self.stopped}; ending the session")
                return
            if clock_ms >= self.clock_cap_ms or now - started >= self.wall_cap_s:
                self.capped = True
                self.progress(
                    f"time cap reached at clock {clock_ms // 1000}s (next due: "
                    f"{due}, busy: {self._busy()}); ending the session"
                )
                await self.injector.wait()  # never end with the server down
                return
            if now - last_report >= 10:
                last_report = now
                waiting = ""
                if past_horizon:  # say what the end waits for
                    waiting = f"; past the horizon, next due {due}, busy: {self._busy()}"
                self.progress(
                    f"clock {clock_ms // 60000} min, {status['last_seq']} events" + waiting
                )
            await asyncio.sleep(0.25)

    def _busy(self) -> str:
        """The bots the end of the run waits for, with what each still has to do."""
        return (
            "; ".join(f"{bot.name} ({bot.busy_with()})" for bot in self.bots if not bot.idle)
            or "none"
        )

    async def _finish(self) -> None:
        """Each participant gets what it is owed, then leaves; the trainer last."""
        status = await _db(_status)(self.session_id)
        upto = status["last_seq"]
        seats = self.bots[1:]

        async def leave(bot: Bot, upto: int) -> None:
            perspective = await _db(perspective_of)(bot.spec.kind, bot.spec.seat_id)
            target = await _db(_target)(self.session_id, perspective, upto)
            bot.cutoff = upto
            if not await bot.finish(target):
                log.warning(
                    "%s did not receive up to seq %s (holds %s)", bot.name, target, bot.cursor
                )

        await asyncio.gather(*(leave(bot, upto) for bot in seats))
        # Their presence.left events are the trainer's: wait until the log settles.
        last, stable_since, deadline = -1, time.monotonic(), time.monotonic() + 5
        while time.monotonic() < deadline:
            status = await _db(_status)(self.session_id)
            if status["last_seq"] != last:
                last, stable_since = status["last_seq"], time.monotonic()
            elif time.monotonic() - stable_since >= 0.5:
                break
            await asyncio.sleep(0.1)
        await leave(self.trainer, last)


def simulate(
    *, version, config: SimulationConfig, progress: Callable[[str], None] | None = None
) -> Report:
    """Rehearse `version` end to end on a real server; returns the report."""
    progress = progress or (lambda message: None)
    user = simulator_user()
    session = create_session(version=version, user=user, title=config.title)
    plan = scenario_plan(session)
    cookie, logout = login_cookie(user)
    stack = ScaleoutStack() if config.scaleout else EmbeddedStack(port=config.port)
    t0 = time.monotonic()
    try:
        stack.start()
        server_s = time.monotonic() - t0
        progress(
            f"session {session.pk} (code {session.code}); {stack.describe()} "
            f"ready in {server_s:.1f}s"
        )
        rehearsal = Coordinator(
            session=session,
            plan=plan,
            stack=stack,
            config=config,
            trainer_cookie=cookie,
            progress=progress,
        )
        asyncio.run(rehearsal.run())
    except Exception as err:
        err.add_note(stack.log_tail())
        raise
    finally:
        stack.close()
        logout()
    return build_report(
        session_id=session.pk,
        bots=rehearsal.bots,
        seed=config.seed,
        speed=config.speed,
        port=stack.port,
        timings={"server": server_s, **rehearsal.timings},
        capped=rehearsal.capped,
        stopped=rehearsal.stopped,
        shape=stack.shape,
        chaos=sorted(config.chaos.faults) if config.chaos else None,
        faults=rehearsal.injector.faults,
        t0=rehearsal.t0,
    )
