"""Reads of an exercise: every syndicate side by side, as the trainer's control room shows it.

Each row is that syndicate's own trainer state (`replay.state_at`, from its snapshots),
so the exercise overview says nothing a syndicate's own control room would not.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.utils import timezone

from scenarios.models import Role
from sessions import engine, replay
from sessions.audience import Perspective
from sessions.exercises.models import Exercise, ExerciseEntry, Syndicate
from sessions.exercises.services import syndicates_of
from sessions.layout import plan_for
from sessions.models import Seat, Session
from simtrain.permissions import is_course_admin


def may_drive(user, exercise: Exercise) -> bool:
    """Only the exercise's own trainer drives it (start, pause, inject, place)."""
    return getattr(user, "is_authenticated", False) and exercise.trainer_id == user.pk


def may_review(user, exercise: Exercise) -> bool:
    """Its trainer, and course admins, read the plenary and its exports."""
    return may_drive(user, exercise) or (
        getattr(user, "is_authenticated", False) and is_course_admin(user)
    )


@dataclass
class Alert:
    kind: str  # safety | throttled | late | expired
    clock_ms: int
    text: str = ""
    name: str = ""


@dataclass
class SyndicateRow:
    syndicate: Syndicate
    session: Session
    clock_ms: int
    clock: dict
    phase: str
    alerts: list[Alert] = field(default_factory=list)
    fired: int = 0
    injects: int = 0
    decisions_answered: int = 0
    decisions: int = 0
    seats_held: int = 0
    seats: int = 0
    connected: int = 0

    @property
    def safety(self) -> int:
        return sum(1 for a in self.alerts if a.kind == "safety")

    @property
    def progress_pct(self) -> int:
        return round(100 * self.fired / self.injects) if self.injects else 0


def _phase_at(plan, clock_ms: int) -> str:
    current = ""
    for _ident, title, starts_ms in plan.phases:
        if starts_ms is not None and starts_ms <= clock_ms:
            current = title
    return current


def syndicate_row(syndicate: Syndicate, *, now=None) -> SyndicateRow:
    session = syndicate.session
    session.refresh_from_db()
    state = replay.state_at(session, Perspective.trainer(), session.last_seq)
    plan = plan_for(session.version_id)
    clock_ms = session.clock_ms(now or timezone.now())
    alerts = [
        Alert("safety", e.clock_ms, e.payload.get("note", ""), e.payload.get("name", ""))
        for e in state.alerts
        if e.kind == "safety.stop"
    ]
    if state.join_throttled:
        alerts.append(Alert("throttled", clock_ms))
    alerts += [
        Alert("late", f["clock_ms"], plan.inject(ident).title if plan.inject(ident) else ident)
        for ident, f in state.firings.items()
        if f.get("late")
    ]
    # Safety stops first, the newest first among each kind.
    order = {"safety": 0, "throttled": 1, "late": 2}
    alerts.sort(key=lambda a: (order.get(a.kind, 9), -a.clock_ms))
    decisions = [i for i in plan.injects if i.kind == "decision"]
    answered = sum(1 for d in state.decisions.values() if d.answers)
    seats = list(
        Seat.objects.filter(session=session)
        .exclude(role__kind=Role.Kind.OBSERVER)
        .values_list("holder_key", flat=True)
    )
    return SyndicateRow(
        syndicate=syndicate,
        session=session,
        clock_ms=clock_ms,
        clock=session.clock_payload(),
        phase=_phase_at(plan, clock_ms),
        alerts=alerts,
        fired=sum(1 for f in state.firings.values() if f["state"] == "fired"),
        injects=len(plan.injects),
        decisions_answered=answered,
        decisions=len(decisions),
        seats_held=sum(1 for key in seats if key),
        seats=len(seats),
        connected=sum(1 for s in state.seats.values() if s.get("connections")),
    )


def overview(exercise: Exercise) -> dict:
    now = timezone.now()
    rows = [syndicate_row(s, now=now) for s in syndicates_of(exercise)]
    plan = plan_for(exercise.version_id)
    return {
        "exercise": exercise,
        "rows": rows,
        "safety_rows": [r for r in rows if r.safety],
        "speeds": engine.SPEED_CHOICES,
        "plan": plan,
        "phases": [(ident, title) for ident, title, ms in plan.phases if ms is not None],
        "manual_injects": [i for i in plan.injects if i.trigger == "manual"] or list(plan.injects),
        "waiting": list(
            ExerciseEntry.objects.filter(exercise=exercise).select_related("wanted_role")
        ),
    }


def exercises_for(user):
    """The exercises a trainer drives, or every one for a course admin."""
    exercises = Exercise.objects.select_related("version__scenario").prefetch_related("syndicates")
    if not is_course_admin(user):
        exercises = exercises.filter(trainer=user)
    return exercises


def syndicate_of(session: Session) -> Syndicate | None:
    return Syndicate.objects.filter(session=session).select_related("exercise").first()
