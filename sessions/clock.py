"""The exercise clock's consequences: what is due, and the scheduler that fires it.

The clock itself is data on `Session` (anchor + speed). Here we compute, from the
scenario's triggers and the session's firings, which time-triggered thing is due next:
an `at` inject, an `after` inject, or a decision's deadline (which may fire its
`option: none` branch). The engine fires them; the scheduler only asks the engine to
look, often. Firing is claimed under the session lock and the unique (session, inject)
constraint, so any number of schedulers, the trainer and a restart can race safely.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from functools import lru_cache

from django.db import close_old_connections

from scenarios.models import Inject
from sessions.models import InjectFiring, Session

log = logging.getLogger(__name__)

# An inject fired more than this many *real* seconds after its due time is "late":
# the scheduler ticks every TICK_S, so on time means within about a tick.
LATE_AFTER_S = 2.0
TICK_S = 0.25


@dataclass(frozen=True)
class Due:
    kind: str  # "at" | "after" | "deadline"
    due_ms: int
    inject_ident: str = ""
    firing: InjectFiring | None = None


@dataclass(frozen=True)
class _Timed:
    ident: str
    at_ms: int | None
    after_ident: str | None
    delay_ms: int


@lru_cache(maxsize=256)
def _timed_injects(version_id: int) -> tuple[_Timed, ...]:
    """A version's time-triggered injects. Versions are immutable, so this never goes stale."""
    rows = (
        Inject.objects.filter(
            version_id=version_id, trigger__in=[Inject.Trigger.AT, Inject.Trigger.AFTER]
        )
        .select_related("after_inject")
        .order_by("order")
    )
    return tuple(
        _Timed(
            ident=row.ident,
            at_ms=row.at_s * 1000 if row.trigger == Inject.Trigger.AT else None,
            after_ident=row.after_inject.ident if row.after_inject else None,
            delay_ms=(row.after_delay_s or 0) * 1000,
        )
        for row in rows
    )


def next_due(session: Session, now_ms: int) -> Due | None:
    """The earliest time-triggered item due at `now_ms`, or None."""
    firings = {
        f.inject.ident: f
        for f in InjectFiring.objects.filter(session=session).select_related("inject")
    }
    candidates: list[Due] = []
    for timed in _timed_injects(session.version_id):
        if timed.ident in firings:
            continue
        if timed.at_ms is not None:
            due_ms = timed.at_ms
        else:
            parent = firings.get(timed.after_ident)
            if parent is None or parent.outcome != InjectFiring.Outcome.FIRED:
                continue  # a skipped inject's followers wait for the trainer
            due_ms = parent.clock_ms + timed.delay_ms
        if due_ms <= now_ms:
            candidates.append(Due(kind="at" if timed.at_ms is not None else "after",
                                  due_ms=due_ms, inject_ident=timed.ident))
    for firing in firings.values():
        if (
            firing.deadline_ms is not None
            and not firing.deadline_done
            and firing.deadline_ms <= now_ms
        ):
            candidates.append(Due(kind="deadline", due_ms=firing.deadline_ms, firing=firing))
    if not candidates:
        return None
    # Deadlines before injects due at the same instant: an expiry can open a branch.
    return min(candidates, key=lambda d: (d.due_ms, d.kind != "deadline"))


def next_due_ms(session: Session) -> int | None:
    """When the next time-triggered item falls due (for countdowns), or None."""
    firings = {
        f.inject.ident: f
        for f in InjectFiring.objects.filter(session=session).select_related("inject")
    }
    times = []
    for timed in _timed_injects(session.version_id):
        if timed.ident in firings:
            continue
        if timed.at_ms is not None:
            times.append(timed.at_ms)
        elif (parent := firings.get(timed.after_ident)) and parent.outcome == "fired":
            times.append(parent.clock_ms + timed.delay_ms)
    times += [
        f.deadline_ms for f in firings.values() if f.deadline_ms and not f.deadline_done
    ]
    return min(times) if times else None


def branches(decision: Inject, option: str) -> list[Inject]:
    """Injects waiting on this answer: the option itself, `any` for any real answer."""
    wanted = [option] if option == Inject.OPTION_NONE else [option, Inject.OPTION_ANY]
    if not option:  # a free-text answer is an answer
        wanted = [Inject.OPTION_ANY]
    return list(
        decision.branches.filter(trigger=Inject.Trigger.DECISION, when_option__in=wanted)
        .order_by("order")
    )


def is_late(session: Session, due_ms: int, now_ms: int) -> bool:
    return (now_ms - due_ms) / max(session.speed, 1e-9) > LATE_AFTER_S * 1000


# --- The scheduler loop ------------------------------------------------------------------


def tick_all() -> int:
    """One pass over every running session. Returns how many events were appended."""
    from sessions import engine

    appended = 0
    for session_id in Session.objects.filter(state=Session.State.RUNNING).values_list(
        "pk", flat=True
    ):
        try:
            appended += engine.scheduler_tick(session_id=session_id)
        except Exception:  # one broken session must not stop the others' clocks
            log.exception("scheduler tick failed for session %s", session_id)
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
    from channels.db import database_sync_to_async

    tick = database_sync_to_async(_tick_in_thread)
    log.info("scheduler running (tick %.2fs)", interval)
    while stop is None or not stop.is_set():
        try:
            await tick()
        except Exception:
            log.exception("scheduler pass failed")
        await asyncio.sleep(interval)
