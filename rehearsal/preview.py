"""The reviewer's one-click rehearsal: a version played headless, fast, in the request.

A rehearsal session of the version (it may be awaiting review: rehearsals run any
version) is played by `in_process` bots with the exercise clock at the engine's top
speed. Time passes by moving the session's anchor back — this session's alone, never
the process's clock, so live sessions served by the same process are untouched. The
run stops once the clock is past the scenario's length and the scheduler has nothing
left, or at a step cap. The session stays (it is a rehearsal: its replay shows what
each screen got); its log is what `preview_report` reads.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import timedelta

from django.db.models import F
from django.utils import timezone

from rehearsal.in_process import WEIGHTS as IN_PROCESS_WEIGHTS
from rehearsal.in_process import Rehearsal, rehearsal_start
from rehearsal.report import inject_summary
from scenarios.models import Inject, Role
from sessions import engine
from sessions.audience import Perspective
from sessions.engine import due
from sessions.engine.clock import MAX_SPEED
from sessions.models import Event, Session

# A bot step lets 0.05–0.7 s pass (`in_process`); scaled by this at MAX_SPEED it covers
# about 4–50 s of exercise: ~300 steps for two hours, a few seconds of work.
STEP_SCALE = 0.3
# The reviewer wants to see the branches: people answer and act more than in a replay.
WEIGHTS = {**IN_PROCESS_WEIGHTS, "decide": 30, "cue": 12, "action": 14, "safety": 0, "pause": 0}
MAX_STEPS = 4000  # a scenario that never settles is stopped, and said so
QUIET_S = 15 * 60  # a stretch this long with no inject is worth a look
TITLE = "Répétition de relecture"


@dataclass
class Preview:
    session_id: int
    clock_s: int
    steps: int
    seconds: float  # wall time the run took
    capped: bool
    events: int = 0
    log_contiguous: bool = True
    never_fired: list[dict] = field(default_factory=list)
    late: list[dict] = field(default_factory=list)
    leaks: list[dict] = field(default_factory=list)  # seen by a role it was not for
    missed: list[dict] = field(default_factory=list)  # not seen by a role it was for
    quiet: list[tuple[int, int]] = field(default_factory=list)  # (from_s, to_s)
    idle_roles: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not (
            self.capped
            or not self.log_contiguous
            or self.never_fired
            or self.leaks
            or self.missed
            or self.idle_roles
        )


def _shift(session_id: int, seconds: float) -> None:
    Session.objects.filter(pk=session_id).update(
        anchor_at=F("anchor_at") - timedelta(seconds=seconds)
    )


def preview_run(*, version, trainer, seed: int = 1) -> Preview:
    started = time.monotonic()
    play: Rehearsal = rehearsal_start(
        version=version,
        trainer=trainer,
        seed=seed,
        weights=WEIGHTS,
        title=f"{TITLE} — v{version.number}",
        advance=lambda seconds: None,  # set below, once the session exists
    )
    session_id = play.session.pk
    engine.clock_set_speed(session_id=session_id, principal=play.boss, speed=MAX_SPEED)
    play.advance = lambda seconds: _shift(session_id, seconds * STEP_SCALE)
    end_ms = _planned_end_ms(version)
    steps = 0
    while steps < MAX_STEPS:
        session = Session.objects.get(pk=session_id)
        if session.state == Session.State.RUNNING:
            clock = session.clock_ms(timezone.now())
            if clock >= end_ms and due.next_due_ms(session) is None:
                break
        play.step()
        steps += 1
    session = Session.objects.get(pk=session_id)
    clock_s = session.clock_ms(timezone.now()) // 1000
    engine.session_end(session_id=session_id, principal=play.boss)
    return preview_report(
        Session.objects.get(pk=session_id),
        Preview(
            session_id=session_id,
            clock_s=clock_s,
            steps=steps,
            seconds=round(time.monotonic() - started, 2),
            capped=steps >= MAX_STEPS,
        ),
    )


def _planned_end_ms(version) -> int:
    timed = version.injects.filter(trigger=Inject.Trigger.AT).values_list("at_s", flat=True)
    return max([version.duration_s or 0, *[s or 0 for s in timed]]) * 1000


def preview_report(session: Session, preview: Preview) -> Preview:
    """What the log says: injects that never fired, deliveries to the wrong roles,
    long quiet stretches, roles that no inject addressed to them reached (broadcasts
    to all give nobody a task)."""
    events = {e.seq: e for e in Event.objects.filter(session=session).order_by("seq")}
    preview.events = len(events)
    preview.log_contiguous = sorted(events) == list(range(1, len(events) + 1))
    summary = inject_summary(session, events)
    preview.never_fired = summary["never_fired"]
    preview.late = summary["late"]
    roles = list(
        Role.objects.filter(version_id=session.version_id).exclude(kind=Role.Kind.OBSERVER)
    )
    public = {
        i.ident
        for i in Inject.objects.filter(version_id=session.version_id, kind=Inject.Kind.BROADCAST)
        if i.is_public
    }
    idents = {r.ident for r in roles}
    busy: set[str] = set()
    fired_at: list[int] = []
    for event in events.values():
        if event.kind == "inject.fired":
            fired_at.append(event.clock_ms)
            ident = event.payload.get("inject")
            # Observers see every role's injects by design: only seated roles count.
            meant = idents if ident in public else idents & set(event.payload.get("roles") or [])
            seen = {
                r.ident
                for r in roles
                if Perspective(kind="seat", role_ident=r.ident).sees(event.audience)
            }
            if ident not in public:  # a broadcast to all gives nobody a task
                busy |= seen
            for role in sorted(seen - meant):
                preview.leaks.append({"inject": ident, "role": role, "seq": event.seq})
            for role in sorted(meant - seen):
                preview.missed.append({"inject": ident, "role": role, "seq": event.seq})
    preview.idle_roles = sorted(r.ident for r in roles if r.ident not in busy)
    marks = [0, *sorted(fired_at), preview.clock_s * 1000]
    preview.quiet = [
        (a // 1000, b // 1000)
        for a, b in zip(marks, marks[1:], strict=False)
        if b - a >= QUIET_S * 1000
    ]
    return preview
