"""Chaos for rehearsals: faults injected while the bots play, and how fast screens resync.

    simulate_session SCENARIO --chaos disconnects,kill-server            # embedded shape
    simulate_session SCENARIO --chaos redis-restart,kill-worker          # scale-out shape

Faults (`FAULTS`):
- `disconnects`: every bot drops its own socket at random (seeded: `Bot.net_rng`), mean
  `--drop-every` real seconds apart — the line goes (no close handshake), a clean close,
  or a page refresh — and reconnects after a short random delay, resuming by seq;
- `kill-server` (embedded): SIGKILL of the Daphne process at `kill_server_at` of the
  exercise's horizon, `server_down_s` real seconds of nothing (the exercise clock keeps
  running: it is data), then a restart on the same port. Bots reconnect with backoff;
  injects that fell due while it was down fire once, late, from the restarted scheduler;
- `redis-restart` (scale-out): Redis stopped at `redis_restart_at`, started again
  (empty) `redis_down_s` later. Sockets stay open; the workers' periodic check of
  `last_seq` delivers what the lost doorbells did not;
- `kill-worker` (scale-out): SIGKILL of one of the two workers at `kill_worker_at`, for
  good. Its clients reconnect to the other.

Resync time, per participant and fault (`resync_samples`):
- *from*: the fault — the moment the coordinator killed the server / the worker or
  stopped Redis, or, for a bot's own disconnect, the moment its socket ended;
- *back*: the line is back — the participant's new socket opened (Redis: Redis
  answered again; sockets stayed open);
- *target*: the log's last seq when the line came back (the largest seq whose
  `created_at` is not after *back*), narrowed to the participant's audience: the last
  event of its audience at that moment;
- *caught up*: the first moment at or after *back* (Redis: after *from*, as the
  workers' periodic check of `last_seq` may deliver everything before Redis is back)
  when its screen's cursor (live.js `lastSeq`: every frame is applied in seq order, and
  gaps are checked separately) reached the target.
`resync` = caught up − back, at least 0 (what reconnecting costs: the catch-up frames);
`recovery` = caught up − from (what the participant lived through: detection, backoff,
downtime and catch-up). Both are reported as p50/p99 per fault kind (nearest rank). A
sample that never caught up is `unresolved`, and fails the run.
"""

from __future__ import annotations

import asyncio
import bisect
import logging
import math
import time
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

DISCONNECTS, KILL_SERVER, REDIS_RESTART, KILL_WORKER = (
    "disconnects",
    "kill-server",
    "redis-restart",
    "kill-worker",
)
FAULTS = (DISCONNECTS, KILL_SERVER, REDIS_RESTART, KILL_WORKER)
SCALEOUT_FAULTS = frozenset({REDIS_RESTART, KILL_WORKER})
SOCKET_FAULTS = frozenset({KILL_SERVER, KILL_WORKER})  # these close every socket they serve
# A bot's own drop, in the report (and the server's `reload` frames, should any come):
DISCONNECT, RELOAD, UNEXPLAINED = "disconnect", "reload", "unexplained"


@dataclass(frozen=True)
class ChaosPlan:
    faults: frozenset[str] = frozenset()
    kill_server_at: float = 0.4  # fraction of the horizon, on the exercise clock
    server_down_s: float = 3.0  # real seconds
    redis_restart_at: float = 0.3
    redis_down_s: float = 3.0
    kill_worker_at: float = 0.6

    @classmethod
    def parse(cls, text: str, **kwargs) -> ChaosPlan:
        names = {n.strip() for n in text.split(",") if n.strip()}
        unknown = names - set(FAULTS)
        if unknown:
            raise ValueError(
                f"unknown fault(s): {', '.join(sorted(unknown))} (known: {', '.join(FAULTS)})"
            )
        if KILL_SERVER in names and names & SCALEOUT_FAULTS:
            raise ValueError(
                f"{KILL_SERVER} is a fault of the embedded shape; "
                f"{', '.join(sorted(SCALEOUT_FAULTS))} of the scale-out shape"
            )
        return cls(faults=frozenset(names), **kwargs)

    @property
    def scaleout(self) -> bool:
        return bool(self.faults & SCALEOUT_FAULTS)

    @property
    def disconnects(self) -> bool:
        return DISCONNECTS in self.faults

    def schedule(self, horizon_ms: int) -> list[tuple[int, str]]:
        """(exercise clock ms, fault) for the process-level faults, in order."""
        at = {
            KILL_SERVER: self.kill_server_at,
            REDIS_RESTART: self.redis_restart_at,
            KILL_WORKER: self.kill_worker_at,
        }
        return sorted((int(at[f] * horizon_ms), f) for f in self.faults if f in at)


@dataclass
class Fault:
    """One process-level fault as it happened (times: `time.monotonic()` / `time.time()`)."""

    kind: str
    at_clock_ms: int  # when it was due on the exercise clock
    started: float = 0.0
    started_wall: float = 0.0
    repaired: float | None = None  # the server / Redis answering again; None: never
    repaired_wall: float | None = None
    detail: str = ""

    def to_dict(self, t0: float) -> dict:
        return {
            "kind": self.kind,
            "at_clock_ms": self.at_clock_ms,
            "started_s": round(self.started - t0, 3),
            "down_s": round(self.repaired - self.started, 3) if self.repaired else None,
            "detail": self.detail,
        }


class FaultInjector:
    """Runs the plan's process-level faults when the exercise clock reaches them."""

    def __init__(self, plan: ChaosPlan, stack, horizon_ms: int, progress=None):
        self.plan = plan
        self.stack = stack
        self.pending = plan.schedule(horizon_ms)
        self.faults: list[Fault] = []
        self.progress = progress or (lambda message: None)
        self._task: asyncio.Task | None = None

    @property
    def busy(self) -> bool:
        """A fault is still due or under way: the exercise is not over."""
        return bool(self.pending) or (self._task is not None and not self._task.done())

    def poll(self, clock_ms: int) -> None:
        if self._task is not None and not self._task.done():
            return
        if self._task is not None and self._task.exception() is not None:
            raise self._task.exception()
        if self.pending and self.pending[0][0] <= clock_ms:
            at_ms, kind = self.pending.pop(0)
            self._task = asyncio.ensure_future(self._inject(kind, at_ms))

    async def wait(self) -> None:
        if self._task is not None:
            await self._task

    async def _inject(self, kind: str, at_ms: int) -> None:
        fault = Fault(kind=kind, at_clock_ms=at_ms)
        self.faults.append(fault)
        fault.started, fault.started_wall = time.monotonic(), time.time()
        if kind == KILL_SERVER:
            await asyncio.to_thread(self.stack.kill_server)
            self.progress(f"chaos: SIGKILL of the server; down for {self.plan.server_down_s}s")
            await asyncio.sleep(self.plan.server_down_s)
            await asyncio.to_thread(self.stack.restart_server)
        elif kind == REDIS_RESTART:
            await asyncio.to_thread(self.stack.stop_redis)
            self.progress(f"chaos: Redis stopped; down for {self.plan.redis_down_s}s")
            await asyncio.sleep(self.plan.redis_down_s)
            await asyncio.to_thread(self.stack.start_redis)
        elif kind == KILL_WORKER:
            fault.detail = await asyncio.to_thread(self.stack.kill_worker)
            self.progress(f"chaos: SIGKILL of the worker {fault.detail}; it stays dead")
            return  # never repaired: its clients move to the other worker
        else:  # pragma: no cover
            raise ValueError(kind)
        fault.repaired, fault.repaired_wall = time.monotonic(), time.time()
        self.progress(f"chaos: {kind} repaired after {fault.repaired - fault.started:.1f}s")


# --- resync times ---------------------------------------------------------------------------


@dataclass
class Sample:
    kind: str
    participant: str
    start: float  # the fault (or the socket's end)
    back: float | None  # the line back
    caught: float | None  # the screen caught up
    target: int = 0

    @property
    def resync_s(self) -> float | None:
        if self.caught is None or self.back is None:
            return None
        return max(0.0, self.caught - self.back)

    @property
    def recovery_s(self) -> float | None:
        return None if self.caught is None else max(0.0, self.caught - self.start)


class LogIndex:
    """The last seq of the log at a wall-clock moment (from `Event.created_at`)."""

    def __init__(self, events):
        pairs = sorted((e.created_at.timestamp(), seq) for seq, e in events.items())
        self.times = [t for t, _ in pairs]
        self.last: list[int] = []
        best = 0
        for _, seq in pairs:
            best = max(best, seq)
            self.last.append(best)

    def last_seq_at(self, wall: float) -> int:
        i = bisect.bisect_right(self.times, wall)
        return self.last[i - 1] if i else 0


def caught_up_at(timeline: list[tuple[float, int, int]], since: float, target: int):
    """First moment >= `since` when the cursor was >= `target` (None: never)."""
    cursor = 0
    for t, _screen, value in timeline:
        if t <= since:
            cursor = value
            continue
        if cursor >= target:
            return since
        cursor = value
        if cursor >= target:
            return t
    return since if cursor >= target else None


def _owed(visible: list[int], upto: int) -> int:
    i = bisect.bisect_right(visible, upto)
    return visible[i - 1] if i else 0


def _attribute(outage, faults: list[Fault]) -> tuple[str, float]:
    """(fault kind, start) for a bot's outage."""
    end = outage.reopened if outage.reopened is not None else math.inf
    for fault in faults:
        if fault.kind not in SOCKET_FAULTS:
            continue
        window_end = fault.repaired if fault.repaired is not None else fault.started + 2.0
        if outage.cause == "lost":
            # The server side went away: within the fault (or just after it).
            if fault.started - 0.5 <= outage.dropped <= window_end + 1.0:
                return fault.kind, min(outage.dropped, fault.started)
        elif outage.dropped <= fault.started <= end:
            # Its own drop, but the reconnect had to wait for the fault to pass.
            return fault.kind, outage.dropped
    if outage.cause == "lost":
        return UNEXPLAINED, outage.dropped
    return (RELOAD if outage.cause == "reload" else DISCONNECT), outage.dropped


def resync_samples(bots, faults: list[Fault], events, visible: dict[str, list[int]]):
    """Every resync of the run: one per bot outage, and one per bot per Redis restart."""
    index = LogIndex(events)
    samples: list[Sample] = []
    for bot in bots:
        seqs = visible[bot.name]
        kinds = set()
        for outage in bot.outages:
            kind, start = _attribute(outage, faults)
            kinds.add(kind)
            if outage.reopened is None:
                samples.append(Sample(kind, bot.name, start, None, None))
                continue
            target = _owed(seqs, index.last_seq_at(outage.reopened_wall))
            caught = caught_up_at(bot.timeline, outage.reopened, target)
            samples.append(Sample(kind, bot.name, start, outage.reopened, caught, target))
        for fault in faults:
            if fault.kind == KILL_WORKER and fault.kind not in kinds:
                # On the dead worker when it died, yet no socket of its was lost then?
                before = [url for t, url in getattr(bot, "connections", ()) if t <= fault.started]
                if before and before[-1] == fault.detail:
                    samples.append(Sample(fault.kind, bot.name, fault.started, None, None))
            if fault.kind in SOCKET_FAULTS or fault.repaired is None:
                continue
            # Sockets stayed open. A bot that was off the line at that moment is measured
            # by its own outage instead.
            if any(
                o.dropped <= fault.repaired and (o.reopened is None or o.reopened > fault.repaired)
                for o in bot.outages
            ):
                continue
            target = _owed(seqs, index.last_seq_at(fault.repaired_wall))
            # From the fault on: the periodic check may have delivered all of it already.
            caught = caught_up_at(bot.timeline, fault.started, target)
            samples.append(
                Sample(fault.kind, bot.name, fault.started, fault.repaired, caught, target)
            )
    return samples


def percentile(values: list[float], p: float) -> float | None:
    """Nearest rank: the smallest value with at least p% of the values at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass
class ResyncStats:
    count: int = 0
    unresolved: int = 0
    resync_p50: float | None = None
    resync_p99: float | None = None
    resync_max: float | None = None
    recovery_p50: float | None = None
    recovery_p99: float | None = None
    participants: list[str] = field(default_factory=list)


def summarise(samples: list[Sample]) -> dict[str, ResyncStats]:
    by_kind: dict[str, list[Sample]] = {}
    for sample in samples:
        by_kind.setdefault(sample.kind, []).append(sample)
    out = {}
    for kind, group in sorted(by_kind.items()):
        resync = [s.resync_s for s in group if s.resync_s is not None]
        recovery = [s.recovery_s for s in group if s.recovery_s is not None]

        def r(x):
            return None if x is None else round(x, 3)

        out[kind] = ResyncStats(
            count=len(group),
            unresolved=sum(1 for s in group if s.caught is None),
            resync_p50=r(percentile(resync, 50)),
            resync_p99=r(percentile(resync, 99)),
            resync_max=r(max(resync, default=None)),
            recovery_p50=r(percentile(recovery, 50)),
            recovery_p99=r(percentile(recovery, 99)),
            participants=sorted({s.participant for s in group}),
        )
    return out
