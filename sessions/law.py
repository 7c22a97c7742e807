"""Countdowns and requests of a session: their definitions and their state, from the log.

Nothing about a countdown or a request is kept outside the event log: its state is the
fold (`LawState.apply`) of the `countdown.*` and `request.*` events, and the engine, the
live screens, the replay and the report all fold the same events with this one module.
The definitions come from the scenario version (immutable, so cached per version).

Times are clock ms, except where said: a countdown's limit counts in story time
(`scenarios.fiction`), so when it runs out is `Fiction.expiry_clock_ms(started, limit)`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from scenarios.conditions import (
    COUNTDOWN,
    EXPIRED,
    REQUEST,
    RUNNING,
    SENT,
    STOPPED,
    Occurrence,
)
from scenarios.fiction import Fiction
from scenarios.models import ScenarioVersion

COUNTDOWN_KINDS = (
    "countdown.started",
    "countdown.extended",
    "countdown.warned",
    "countdown.expired",
    "countdown.stopped",
)
REQUEST_KINDS = ("request.sent", "request.decided")
KINDS = COUNTDOWN_KINDS + REQUEST_KINDS
OUTCOMES = ("approved", "rejected")  # what a decider may answer; "none" is the deadline's


# --- definitions ----------------------------------------------------------------------------


@dataclass(frozen=True)
class CountdownDef:
    ident: str
    title: str
    description: str
    roles: tuple[str, ...]
    limit_ms: int
    starts: dict
    stops: dict | None
    extends: tuple[tuple[dict, int], ...]  # (condition, by ms), each applies once
    warn_ms: tuple[int, ...]  # before expiry, longest first: the order they fall due


@dataclass(frozen=True)
class RequestDef:
    ident: str
    label: str
    description: str
    senders: tuple[str, ...]
    decider: str
    deadline_ms: int | None
    once: bool


@dataclass(frozen=True)
class Law:
    fiction: Fiction
    countdowns: tuple[CountdownDef, ...]
    requests: tuple[RequestDef, ...]

    @property
    def empty(self) -> bool:
        return not self.countdowns and not self.requests

    def countdown(self, ident: str) -> CountdownDef | None:
        return next((c for c in self.countdowns if c.ident == ident), None)

    def request(self, ident: str) -> RequestDef | None:
        return next((r for r in self.requests if r.ident == ident), None)


@lru_cache(maxsize=256)
def law_for(version_id: int) -> Law:
    """A version's countdowns and requests. Versions are immutable: never stale."""
    version = ScenarioVersion.objects.get(pk=version_id)
    countdowns = tuple(
        CountdownDef(
            ident=row.ident,
            title=row.title,
            description=row.description,
            roles=tuple(sorted(role.ident for role in row.roles.all())),
            limit_ms=row.limit_s * 1000,
            starts=row.starts,
            stops=row.stops,
            extends=tuple((ext["when"], int(ext["by_s"]) * 1000) for ext in row.extends),
            warn_ms=tuple(sorted((int(s) * 1000 for s in set(row.warn_s)), reverse=True)),
        )
        for row in version.countdowns.order_by("order").prefetch_related("roles")
    )
    requests = tuple(
        RequestDef(
            ident=row.ident,
            label=row.label,
            description=row.description,
            senders=tuple(sorted(role.ident for role in row.senders.all())),
            decider=row.decider.ident,
            deadline_ms=row.deadline_s * 1000 if row.deadline_s is not None else None,
            once=row.once,
        )
        for row in version.requests.order_by("order")
        .select_related("decider")
        .prefetch_related("senders")
    )
    return Law(fiction=version.story, countdowns=countdowns, requests=requests)


def forget() -> None:
    """Drop the per-version cache (tests reuse ids of rolled-back versions)."""
    law_for.cache_clear()


# --- state, folded from the log -------------------------------------------------------------


@dataclass
class CountdownRun:
    """A countdown that has started: `state` running, expired or stopped."""

    started_ms: int
    state: str = RUNNING
    extensions: list[int] = field(default_factory=list)  # indexes into `extends`, applied
    extra_ms: int = 0  # story time its extensions added
    warned: int = 0  # how many of its `warn` times have been given
    ended_ms: int | None = None  # when it expired or stopped

    def expires_ms(self, law: Law, definition: CountdownDef) -> int:
        return law.fiction.expiry_clock_ms(self.started_ms, definition.limit_ms + self.extra_ms)

    def left_ms(self, law: Law, definition: CountdownDef, clock_ms: int) -> int:
        if self.state == EXPIRED:
            return 0
        at = self.ended_ms if self.state == STOPPED else clock_ms
        return law.fiction.left_ms(self.started_ms, definition.limit_ms + self.extra_ms, at)

    def next_warning_ms(self, law: Law, definition: CountdownDef) -> int | None:
        if self.state != RUNNING or self.warned >= len(definition.warn_ms):
            return None
        return law.fiction.warning_clock_ms(
            self.started_ms, definition.limit_ms + self.extra_ms, definition.warn_ms[self.warned]
        )


@dataclass
class Sending:
    """One sending of a request, and its decision once made."""

    seq: int
    sent_ms: int
    role: str
    name: str
    reason: str
    outcome: str = ""  # "" while pending; approved, rejected or none
    decided_ms: int | None = None
    decided_by: str = ""
    decision_reason: str = ""

    @property
    def pending(self) -> bool:
        return not self.outcome


@dataclass
class LawState:
    """Every countdown run and request sending of a session, up to some event."""

    countdowns: dict[str, CountdownRun] = field(default_factory=dict)
    requests: dict[str, list[Sending]] = field(default_factory=dict)

    def apply(self, event) -> Occurrence | None:
        """Fold one event in (any kind; others are ignored). Returns what it means for
        conditions and triggers (`scenarios.conditions.Occurrence`), if anything."""
        kind, p, at = event.kind, event.payload, event.clock_ms
        if kind == "countdown.started":
            self.countdowns.setdefault(p["countdown"], CountdownRun(started_ms=at))
            return Occurrence(at, COUNTDOWN, p["countdown"], RUNNING)
        if kind in COUNTDOWN_KINDS:
            run = self.countdowns.get(p["countdown"])
            if run is None:
                return None
            if kind == "countdown.extended":
                run.extensions.append(int(p["extension"]))
                run.extra_ms += int(p["by_s"]) * 1000
            elif kind == "countdown.warned":
                run.warned += 1
            elif run.state == RUNNING:  # expired or stopped: it stays so
                run.state = EXPIRED if kind == "countdown.expired" else STOPPED
                run.ended_ms = at
                return Occurrence(at, COUNTDOWN, p["countdown"], run.state)
            return None
        if kind == "request.sent":
            self.requests.setdefault(p["request"], []).append(
                Sending(
                    seq=event.seq,
                    sent_ms=at,
                    role=p.get("role", ""),
                    name=p.get("name", ""),
                    reason=p.get("reason", ""),
                )
            )
            return Occurrence(at, REQUEST, p["request"], SENT)
        if kind == "request.decided":
            sending = next(
                (s for s in self.requests.get(p["request"], ()) if s.seq == p["sent_seq"]), None
            )
            if sending is None or not sending.pending:
                return None
            sending.outcome, sending.decided_ms = p["outcome"], at
            sending.decided_by, sending.decision_reason = p.get("name", ""), p.get("reason", "")
            return Occurrence(at, REQUEST, p["request"], p["outcome"])
        return None

    def pending(self, request: str) -> Sending | None:
        sendings = self.requests.get(request, ())
        return sendings[-1] if sendings and sendings[-1].pending else None

    def countdown_states(self) -> dict[str, str]:
        return {ident: run.state for ident, run in self.countdowns.items()}

    def request_outcomes(self) -> dict[str, set[str]]:
        return {
            ident: {SENT, *(s.outcome for s in sendings if s.outcome)}
            for ident, sendings in self.requests.items()
        }


def fold(events) -> LawState:
    state = LawState()
    for event in events:
        state.apply(event)
    return state
