"""What a rehearsal needs to know about a scenario version before it starts.

Who sits where (one bot per seat), what each role may do (actions, contacts), which
injects only the trainer can fire, and how long the exercise clock has to run: the
last timed item (`horizon`) and a worst case for everything that hangs off it
(`latest`), which bounds the run.
"""

from __future__ import annotations

from dataclasses import dataclass

from rehearsal.bot import ACTOR, OBSERVER, TRAINEE, TRAINER, BotSpec
from scenarios.models import Inject, Role, ScenarioVersion
from sessions.audience import contacts_of
from sessions.models import Seat, Session
from sessions.protocol import COMMANDS

DEFAULT_HORIZON_MS = 10 * 60_000  # a scenario with no timed inject still runs a while
ANSWER_MARGIN_MS = 10 * 60_000  # a decision without a deadline: branches come soon after


@dataclass(frozen=True)
class ScenarioPlan:
    specs: tuple[BotSpec, ...]  # the trainer first, then one per seat
    horizon_ms: int  # the last `at` (or the planned duration)
    latest_ms: int  # worst case for the last time-triggered thing

    @property
    def trainer(self) -> BotSpec:
        return self.specs[0]

    @property
    def seats(self) -> tuple[BotSpec, ...]:
        return self.specs[1:]


def _worst_case_ms(version: ScenarioVersion, horizon_ms: int) -> int:
    """When the last time-triggered item could fall due, at worst (triggers form no cycle)."""
    injects = {i.pk: i for i in Inject.objects.filter(version=version)}
    memo: dict[int, int] = {}

    def due(inject: Inject, depth: int = 0) -> int:
        if inject.pk in memo:
            return memo[inject.pk]
        if depth > len(injects):  # a cycle the validator should have refused
            return horizon_ms
        if inject.trigger == Inject.Trigger.AT:
            value = (inject.at_s or 0) * 1000
        elif inject.trigger == Inject.Trigger.AFTER and inject.after_inject_id in injects:
            value = (
                due(injects[inject.after_inject_id], depth + 1) + (inject.after_delay_s or 0) * 1000
            )
        elif inject.trigger == Inject.Trigger.DECISION and inject.when_decision_id in injects:
            decision = injects[inject.when_decision_id]
            wait = (decision.deadline_s or 0) * 1000 if decision.deadline_s else ANSWER_MARGIN_MS
            value = due(decision, depth + 1) + wait
        else:  # action, manual: the bots and the trainer act before the horizon
            value = horizon_ms
        memo[inject.pk] = value
        return value

    worst = horizon_ms
    for inject in injects.values():
        end = due(inject)
        if inject.kind == Inject.Kind.DECISION and inject.deadline_s:
            end += inject.deadline_s * 1000
        worst = max(worst, end)
    # A countdown runs its limit and extensions in story time, which never runs slower
    # than the clock; a request waits its deadline. Both start by the horizon at worst.
    for countdown in version.countdowns.all():
        longest = countdown.limit_s + sum(int(e["by_s"]) for e in countdown.extends)
        worst = max(worst, horizon_ms + longest * 1000)
    for request in version.requests.exclude(deadline_s=None):
        worst = max(worst, horizon_ms + request.deadline_s * 1000)
    return worst


def scenario_plan(session: Session) -> ScenarioPlan:
    version = session.version
    at_times = [
        s * 1000
        for s in Inject.objects.filter(version=version, trigger=Inject.Trigger.AT).values_list(
            "at_s", flat=True
        )
        if s is not None
    ]
    horizon_ms = max(at_times, default=0) or (version.duration_s or 0) * 1000
    horizon_ms = horizon_ms or DEFAULT_HORIZON_MS
    roles = list(version.roles.order_by("order"))
    trainee_roles = tuple(r.ident for r in roles if r.kind == Role.Kind.TRAINEE)
    commands = frozenset(COMMANDS)
    objectives = tuple(version.objectives.order_by("order").values_list("ident", flat=True))
    trainer = BotSpec(
        name="Formateur (simulation)",
        kind=TRAINER,
        commands=commands,
        objectives=objectives,
        manual_injects=tuple(
            Inject.objects.filter(version=version, trigger=Inject.Trigger.MANUAL)
            .order_by("order")
            .values_list("ident", flat=True)
        ),
        trainee_roles=trainee_roles,
        all_roles=tuple(r.ident for r in roles if r.kind != Role.Kind.OBSERVER),
    )
    kinds = {Role.Kind.TRAINEE: TRAINEE, Role.Kind.ACTOR: ACTOR, Role.Kind.OBSERVER: OBSERVER}
    specs = [trainer]
    for seat in (
        Seat.objects.filter(session=session)
        .select_related("role")
        .order_by("role__order", "number")
    ):
        role = seat.role
        specs.append(
            BotSpec(
                name=f"Bot {role.ident} {seat.number}",
                kind=kinds[role.kind],
                role=role.ident,
                seat_id=seat.pk,
                invite_token=seat.invite_token,
                actions=tuple((a.ident, a.once) for a in role.actions.order_by("order"))
                if role.kind == Role.Kind.TRAINEE
                else (),
                contacts=tuple(r.ident for r in contacts_of(role))
                if role.kind != Role.Kind.OBSERVER
                else (),
                commands=commands,
                objectives=objectives if role.kind == Role.Kind.OBSERVER else (),
                requests=tuple(role.sendable_requests.order_by("order").values_list(
                    "ident", flat=True)) if role.kind == Role.Kind.TRAINEE else (),
                decides=tuple(role.decided_requests.order_by("order").values_list(
                    "ident", flat=True)) if role.kind == Role.Kind.TRAINEE else (),
            )
        )
    return ScenarioPlan(
        specs=tuple(specs),
        horizon_ms=horizon_ms,
        latest_ms=_worst_case_ms(version, horizon_ms),
    )
