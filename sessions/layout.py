"""What a session's screens know of its fixed layout, loaded once and kept.

A session's scenario version is immutable, and so are its seats once laid out at
creation: the screens' `Plan` of a version (its roles, injects, contacts, in order)
and the session's seat list are loaded once per process and cached here, so folding
an event into a screen (`projections.apply`) never queries the database.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache

from scenarios.models import Role, ScenarioVersion
from sessions.audience import contacts_of
from sessions.models import Seat


@dataclass(frozen=True)
class PlanInject:
    ident: str
    order: int
    kind: str
    title: str
    phase: str
    roles: tuple[str, ...]
    trigger: str
    at_ms: int | None
    after: str | None
    after_ms: int
    when_decision: str | None
    when_option: str
    when_action: str | None
    # For decisions: their options ((id, label), …) and deadline, so the trainer's
    # timeline can say what a conditional inject waits for in words.
    options: tuple = ()
    deadline_ms: int | None = None


@dataclass(frozen=True)
class Plan:
    version_id: int
    roles: dict[str, Role]
    phases: tuple  # (ident, title, starts_ms | None)
    actions: dict[str, tuple[str, tuple[str, ...], bool]]  # ident -> (label, roles, once)
    injects: tuple[PlanInject, ...]
    contacts: dict[str, tuple[str, ...]]
    # The story's calendar (`ScenarioVersion.fiction`), None without: see sessions/story.py.
    fiction: dict | None = None
    safety_stop: str = "hold"

    def role_title(self, ident: str) -> str:
        role = self.roles.get(ident)
        return role.title if role else ident

    def actions_for(self, role_ident: str) -> list[tuple[str, str, bool]]:
        return [
            (ident, label, once)
            for ident, (label, roles, once) in self.actions.items()
            if role_ident in roles
        ]

    def role_short(self, ident: str) -> str:
        """A role's title cut before its first qualifier, for crowded screens."""
        return short_title(self.role_title(ident))

    def inject(self, ident: str) -> PlanInject | None:
        return next((i for i in self.injects if i.ident == ident), None)

    def phase_title(self, ident: str) -> str:
        return next((title for pid, title, _ms in self.phases if pid == ident), ident)

    def action_label(self, ident: str) -> str:
        action = self.actions.get(ident)
        return action[0] if action else ident

    def cue_plan(self, role_ident: str) -> list[PlanInject]:
        """This actor's cues in script order (timed ones by time, then the others)."""
        cues = [i for i in self.injects if i.kind == "cue" and role_ident in i.roles]
        return sorted(cues, key=lambda i: (i.at_ms is None, i.at_ms or 0, i.order))


def short_title(title: str) -> str:
    """"Enquêtrice, brigade de protection des mineurs (BPM)…" → "Enquêtrice"."""
    cut = len(title)
    for separator in (" — ", ", ", " (", " - "):
        at = title.find(separator)
        if 0 < at < cut:
            cut = at
    return title[:cut]


@lru_cache(maxsize=64)
def plan_for(version_id: int) -> Plan:
    version = ScenarioVersion.objects.get(pk=version_id)
    roles = {role.ident: role for role in version.roles.order_by("order")}
    injects = []
    for inject in (
        version.injects.select_related("phase", "after_inject", "when_decision", "when_action")
        .prefetch_related("recipients")
        .order_by("order")
    ):
        injects.append(
            PlanInject(
                ident=inject.ident,
                order=inject.order,
                kind=inject.kind,
                title=inject.title,
                phase=inject.phase.ident if inject.phase else "",
                roles=tuple(sorted(r.ident for r in inject.recipients.all())),
                trigger=inject.trigger,
                at_ms=inject.at_s * 1000 if inject.at_s is not None else None,
                after=inject.after_inject.ident if inject.after_inject else None,
                after_ms=(inject.after_delay_s or 0) * 1000,
                when_decision=inject.when_decision.ident if inject.when_decision else None,
                when_option=inject.when_option,
                when_action=inject.when_action.ident if inject.when_action else None,
                options=tuple(
                    (o.get("id", ""), o.get("label", o.get("id", ""))) for o in inject.options or []
                ),
                deadline_ms=inject.deadline_s * 1000 if inject.deadline_s is not None else None,
            )
        )
    return Plan(
        version_id=version_id,
        roles=roles,
        phases=tuple(
            (p.ident, p.title, p.starts_s * 1000 if p.starts_s is not None else None)
            for p in version.phases.order_by("order")
        ),
        actions={
            a.ident: (a.label, tuple(r.ident for r in a.roles.all()), a.once)
            for a in version.actions.prefetch_related("roles").order_by("order")
        },
        injects=tuple(injects),
        contacts={
            ident: tuple(r.ident for r in contacts_of(role)) for ident, role in roles.items()
        },
        fiction=version.fiction,
        safety_stop=version.safety_stop,
    )


@lru_cache(maxsize=64)
def timeline_order(version_id: int) -> tuple[str, ...]:
    """Inject idents in the order the trainer expects them: by planned time.

    `at` injects by their time; `after` ones by their parent's plus the delay;
    conditional ones right after what they wait for (else their phase's start). The
    order is fixed for a version, so rows never jump around while the session runs.
    """
    plan = plan_for(version_id)
    by_ident = {i.ident: i for i in plan.injects}
    phase_start = {pid: ms for pid, _title, ms in plan.phases}
    bounds: dict[str, float] = {}

    def bound(inject: PlanInject, seen: frozenset = frozenset()) -> float:
        if inject.ident in bounds:
            return bounds[inject.ident]
        if inject.ident in seen:
            return float("inf")
        seen = seen | {inject.ident}
        value = float("inf")
        if inject.at_ms is not None:
            value = inject.at_ms
        elif inject.after and inject.after in by_ident:
            value = bound(by_ident[inject.after], seen) + inject.after_ms
        elif inject.when_decision and inject.when_decision in by_ident:
            decision = by_ident[inject.when_decision]
            value = bound(decision, seen) + (decision.deadline_ms or 0) + 1
        if value == float("inf") and phase_start.get(inject.phase) is not None:
            value = phase_start[inject.phase]
        bounds[inject.ident] = value
        return value

    return tuple(
        i.ident for i in sorted(plan.injects, key=lambda i: (bound(i), i.order))
    )


_SEATS: OrderedDict[int, tuple[tuple[int, str, int], ...]] = OrderedDict()
_SEATS_KEPT = 4096


def session_seats(session_id: int) -> tuple[tuple[int, str, int], ...]:
    """Every seat of a session as (seat id, role ident, number). Laid out once at
    creation and never changed, so the roster can list free seats no event names.

    Loaded in a worker thread (the consumer warms it when a socket opens); in the event
    loop, where no query may run, an unknown session gives () and the roster falls
    back to the seats its events named.
    """
    seats = _SEATS.get(session_id)
    if seats is not None:
        return seats
    try:
        asyncio.get_running_loop()
        return ()
    except RuntimeError:
        pass
    seats = tuple(
        Seat.objects.filter(session_id=session_id)
        .order_by("role__order", "number")
        .values_list("pk", "role__ident", "number")
    )
    if seats:
        _SEATS[session_id] = seats
        while len(_SEATS) > _SEATS_KEPT:
            _SEATS.popitem(last=False)
    return seats


def forget_caches() -> None:
    """For tests, whose rolled-back databases reuse ids."""
    plan_for.cache_clear()
    timeline_order.cache_clear()
    _SEATS.clear()

