"""What the exercise clock has made due: reads only, for the engine to act on.

The clock itself is data on `Session` (anchor + speed). Here we compute, from the
scenario's triggers and the session's firings, which time-triggered thing is due next:
an `at` inject, an `after` inject, or a decision's deadline (which may fire its
`option: none` branch). The engine fires them (`injects._fire_due`); the scheduler
(`sessions.scheduler`) only asks the engine to look, often. Firing is claimed under the
session lock and the unique (session, inject) constraint, so any number of schedulers,
the trainer and a restart can race safely.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from scenarios.models import Inject
from scenarios.triggers import Cause
from sessions import law
from sessions.engine import facts, limits
from sessions.models import Event, InjectFiring, Session

# An inject fired more than this many *real* seconds after its due time is "late":
# the scheduler ticks every `scheduler.TICK_S`, so on time means within about a tick.
LATE_AFTER_S = 2.0


@dataclass(frozen=True)
class Due:
    kind: str  # "at" | "after" | "deadline" | "delay"
    due_ms: int
    inject_ident: str = ""
    firing: InjectFiring | None = None
    cause: str = ""  # for "delay": what set it off (decision, action, request, countdown)
    role: str = ""  # for "delay": whose act it was (a `reply: true` reaches that role)


@dataclass(frozen=True)
class _Timed:
    ident: str
    at_ms: int | None
    after_ident: str | None
    delay_ms: int


@dataclass(frozen=True)
class _When:
    """An inject fired by its `when` (trigger `when`, or a plain decision/action
    `when` stored with its columns too): its causes, flattened."""

    ident: str
    order: int
    causes: tuple[Cause, ...]
    repeat: bool
    legacy: bool  # trigger decision/action: the columns say it (and `when` may be None)


@lru_cache(maxsize=256)
def when_injects(version_id: int) -> tuple[_When, ...]:
    """A version's injects with a `when` of the new forms (`trigger` when), and the
    plain ones whose stored `when` has a delay or repeat (never stale: versions are
    immutable)."""
    rows = Inject.objects.filter(version_id=version_id).filter(when__isnull=False).order_by("order")
    found = []
    for row in rows:
        legacy = row.trigger in (Inject.Trigger.DECISION, Inject.Trigger.ACTION)
        found.append(_When(row.ident, row.order, tuple(row.causes), row.repeat, legacy))
    return tuple(found)


@lru_cache(maxsize=256)
def _has_conditions(version_id: int) -> bool:
    """Whether any inject of the version has an `if` (else nothing is ever withheld)."""
    return Inject.objects.filter(version_id=version_id).filter(condition__isnull=False).exists()


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


def _withheld(session: Session) -> set[str]:
    return set(
        Event.objects.filter(session=session, kind="inject.withheld").values_list(
            "payload__inject", flat=True
        )
    )


def _delayed(session: Session, firings: dict, withheld: set[str]) -> list[Due]:
    """Each delayed `when` whose cause has come, not yet fired: when it falls due.

    Read from the log (`facts.happenings`): the first occurrence matching one of its
    delayed causes, plus that delay; a `repeat` inject, one per occurrence, for those
    not yet fired by the engine."""
    specs = [
        spec
        for spec in when_injects(session.version_id)
        if any(cause.delay_s for cause in spec.causes) and spec.ident not in withheld
    ]
    specs = [
        s
        for s in specs
        if s.ident not in firings
        or (s.repeat and firings[s.ident].outcome == InjectFiring.Outcome.FIRED)
    ]
    if not specs:
        return []
    happened = facts.happenings(session)
    found: list[Due] = []
    for spec in specs:
        dues = sorted(
            (h.occurrence.clock_ms + cause.delay_s * 1000, h.seq, cause.kind, h.role)
            for cause in spec.causes
            if cause.delay_s
            for h in happened
            if cause.matches(h.occurrence)
        )
        if not spec.repeat:
            dues = dues[:1]
        else:
            done = (
                Event.objects.filter(
                    session=session, kind="inject.fired", payload__inject=spec.ident
                )
                .exclude(payload__cause="manual")
                .count()
            )
            dues = dues[done : done + 1]
        found += [
            Due(kind="delay", due_ms=due_ms, inject_ident=spec.ident, cause=kind, role=role)
            for due_ms, _seq, kind, role in dues
        ]
    return found


def next_due(session: Session, now_ms: int) -> Due | None:
    """The earliest time-triggered item due at `now_ms`, or None."""
    firings = {
        f.inject.ident: f
        for f in InjectFiring.objects.filter(session=session).select_related("inject")
    }
    withheld = _withheld(session) if _has_conditions(session.version_id) else set()
    candidates: list[Due] = [d for d in _delayed(session, firings, withheld) if d.due_ms <= now_ms]
    for timed in _timed_injects(session.version_id):
        if timed.ident in firings or timed.ident in withheld:
            continue
        if timed.at_ms is not None:
            due_ms = timed.at_ms
        else:
            parent = firings.get(timed.after_ident)
            if parent is None or parent.outcome != InjectFiring.Outcome.FIRED:
                continue  # a skipped inject's followers wait for the trainer
            due_ms = parent.clock_ms + timed.delay_ms
        if due_ms <= now_ms:
            candidates.append(
                Due(
                    kind="at" if timed.at_ms is not None else "after",
                    due_ms=due_ms,
                    inject_ident=timed.ident,
                )
            )
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
    withheld = _withheld(session) if _has_conditions(session.version_id) else set()
    times = [d.due_ms for d in _delayed(session, firings, withheld)]
    for timed in _timed_injects(session.version_id):
        if timed.ident in firings or timed.ident in withheld:
            continue
        if timed.at_ms is not None:
            times.append(timed.at_ms)
        elif (parent := firings.get(timed.after_ident)) and parent.outcome == "fired":
            times.append(parent.clock_ms + timed.delay_ms)
    times += [f.deadline_ms for f in firings.values() if f.deadline_ms and not f.deadline_done]
    if (timer_ms := limits.next_timer_ms(session)) is not None:
        times.append(timer_ms)  # a countdown's warning or expiry, a request's deadline
    return min(times) if times else None


def branches(decision: Inject, option: str) -> list[Inject]:
    """Injects waiting on this answer: the option itself, `any` for any real answer."""
    wanted = [option] if option == Inject.OPTION_NONE else [option, Inject.OPTION_ANY]
    if not option:  # a free-text answer is an answer
        wanted = [Inject.OPTION_ANY]
    return list(
        decision.branches.filter(trigger=Inject.Trigger.DECISION, when_option__in=wanted).order_by(
            "order"
        )
    )


def is_late(session: Session, due_ms: int, now_ms: int) -> bool:
    return (now_ms - due_ms) / max(session.speed, 1e-9) > LATE_AFTER_S * 1000


def forget_versions() -> None:
    """Drop the per-version cache (tests reuse ids of rolled-back versions)."""
    _timed_injects.cache_clear()
    when_injects.cache_clear()
    _has_conditions.cache_clear()
    law.forget()
