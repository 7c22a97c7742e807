"""What the screens show of countdowns and requests: rows of one perspective's state.

The state is `ScreenState.law` (a `sessions.law.LawState` folded from the events the
perspective sees); the definitions are the version's. Rows depend only on the state,
never on the time of rendering, so a pushed region equals the region rendered fresh
and the replay at T equals the live screen at T. The browser ticks time left itself
(`live.js`, `data-countdown-to` / `data-countdown-steps`).
"""

from __future__ import annotations

from dataclasses import dataclass

from scenarios.conditions import RUNNING, STOPPED
from sessions.law import CountdownDef, Law, RequestDef, Sending, law_for


@dataclass(frozen=True)
class CountdownRow:
    definition: CountdownDef
    state: str  # "waiting" (not started), running, expired, stopped
    started_ms: int | None = None
    ended_ms: int | None = None
    expires_ms: int | None = None  # clock ms, while running
    left_ms: int | None = None  # story time left when it stopped
    steps: str = ""  # "clock:deadline,…" for the browser, while running
    urgent_ms: int = 0  # story time left under which it reads as urgent
    warned: int = 0
    extended_ms: int = 0

    @property
    def ident(self) -> str:
        return self.definition.ident


def _steps(law: Law, definition: CountdownDef, started_ms: int, limit_ms: int) -> str:
    """Per stretch of steady story time, the clock ms at which it would run out if no
    jump came: the browser picks the stretch it is in, and counts down to that."""
    fiction = law.fiction
    ends = fiction.story_ms(started_ms) + limit_ms
    starts = [0, *(jump.at_ms for jump in fiction.jumps)]
    return ",".join(f"{c}:{ends - fiction.story_ms(c) + c}" for c in starts)


def countdown_rows(state) -> list[CountdownRow]:
    """The countdowns this perspective sees: its role's (all, for the trainer)."""
    law = law_for(state.plan.version_id)
    rows = []
    for definition in law.countdowns:
        if not _sees(state, definition.roles):
            continue
        run = state.law.countdowns.get(definition.ident)
        urgent = definition.warn_ms[0] if definition.warn_ms else definition.limit_ms // 10
        if run is None:
            rows.append(CountdownRow(definition, "waiting", urgent_ms=urgent))
            continue
        limit = definition.limit_ms + run.extra_ms
        common = {
            "started_ms": run.started_ms,
            "urgent_ms": urgent,
            "warned": run.warned,
            "extended_ms": run.extra_ms,
        }
        if run.state == RUNNING:
            rows.append(
                CountdownRow(
                    definition,
                    RUNNING,
                    expires_ms=run.expires_ms(law, definition),
                    steps=_steps(law, definition, run.started_ms, limit),
                    **common,
                )
            )
        else:
            left = run.left_ms(law, definition, run.ended_ms) if run.state == STOPPED else 0
            rows.append(
                CountdownRow(definition, run.state, ended_ms=run.ended_ms, left_ms=left, **common)
            )
    return rows


@dataclass(frozen=True)
class RequestRow:
    definition: RequestDef
    sendings: tuple[Sending, ...]
    can_send: bool
    can_decide: bool
    deadline_ms: int | None  # of the pending sending, clock ms

    @property
    def ident(self) -> str:
        return self.definition.ident

    @property
    def pending(self) -> Sending | None:
        return self.sendings[-1] if self.sendings and self.sendings[-1].pending else None


def request_rows(state) -> list[RequestRow]:
    """The requests this perspective sends, decides (or, the trainer, all of them)."""
    law = law_for(state.plan.version_id)
    rows = []
    acting = state.perspective.kind == "seat"
    for definition in law.requests:
        if not _sees(state, (definition.decider, *definition.senders)):
            continue
        sendings = tuple(state.law.requests.get(definition.ident, ()))
        pending = sendings[-1] if sendings and sendings[-1].pending else None
        can_send = (
            acting
            and state.role in definition.senders
            and pending is None
            and not (definition.once and sendings)
        )
        can_decide = acting and state.role == definition.decider and pending is not None
        deadline = (
            pending.sent_ms + definition.deadline_ms
            if pending is not None and definition.deadline_ms is not None
            else None
        )
        rows.append(RequestRow(definition, sendings, can_send, can_decide, deadline))
    return rows


def _sees(state, roles) -> bool:
    if state.perspective.kind in ("trainer", "observer"):
        return True
    return state.role in roles
