"""Screens as projections of the event log.

`ScreenState` is what one perspective (trainer, observer, a seat) knows after a prefix
of the log; `apply(state, event)` folds one more event in and says which screen
regions changed. The live consumer keeps one state per connection and pushes the
changed regions; the full pages and the replay build the same state from the log and
render the same region partials. So a pushed fragment equals the region rendered
fresh, and a replay at T equals the live screen at T, by construction (and by test).

Only events the perspective may see are ever folded in: `project()` filters with
`Perspective.sees`, and `apply()` must only be given visible events.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

from scenarios.models import Inject, Role, ScenarioVersion
from sessions.audience import Perspective
from sessions.models import Event

# Regions of the screens (ids in the page, partial names in templates/sessions/regions.html).
CLOCK = "clock"
FEED = "feed"
INBOX = "inbox"
DECISIONS = "decisions"
ACTIONS = "actions"
THREADS = "threads"
CUES = "cues"
NOTES = "notes"
TIMELINE = "timeline"
ROSTER = "roster"
BOARD = "board"
ALERTS = "alerts"
BROADCASTS = "broadcasts"

INBOX_KINDS = {"message", "document", "call", "scene", "broadcast"}


# --- The scenario side, loaded once per version (versions are immutable) ------------------


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


@dataclass(frozen=True)
class Plan:
    version_id: int
    roles: dict[str, Role]
    phases: tuple  # (ident, title, starts_ms | None)
    actions: dict[str, tuple[str, tuple[str, ...], bool]]  # ident -> (label, roles, once)
    injects: tuple[PlanInject, ...]
    contacts: dict[str, tuple[str, ...]]

    def role_title(self, ident: str) -> str:
        role = self.roles.get(ident)
        return role.title if role else ident

    def actions_for(self, role_ident: str) -> list[tuple[str, str, bool]]:
        return [
            (ident, label, once)
            for ident, (label, roles, once) in self.actions.items()
            if role_ident in roles
        ]

    def cue_plan(self, role_ident: str) -> list[PlanInject]:
        """This actor's cues in script order (timed ones by time, then the others)."""
        cues = [i for i in self.injects if i.kind == "cue" and role_ident in i.roles]
        return sorted(cues, key=lambda i: (i.at_ms is None, i.at_ms or 0, i.order))


@lru_cache(maxsize=64)
def plan_for(version_id: int) -> Plan:
    from sessions.engine import contacts_of

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
    )


# --- The state ------------------------------------------------------------------------------


@dataclass
class Answer:
    role: str
    option: str
    label: str
    rationale: str
    name: str
    clock_ms: int
    expired: bool = False


@dataclass
class DecisionCard:
    inject: str
    seq: int
    title: str
    body: str
    sender: str
    options: list
    free_text: bool
    fired_ms: int
    deadline_ms: int | None
    roles: list
    answers: dict = field(default_factory=dict)  # role ident -> Answer


@dataclass
class CueCard:
    inject: str
    seq: int
    title: str
    body: str
    cue: dict
    fired_ms: int
    done_ms: int | None = None
    done_by: str = ""


@dataclass
class Message:
    seq: int
    clock_ms: int
    from_role: str
    to_role: str
    name: str
    text: str
    by_trainer: bool


@dataclass
class ScreenState:
    perspective: Perspective
    plan: Plan
    session_id: int = 0
    last_seq: int = 0
    clock: dict = field(
        default_factory=lambda: {"state": "lobby", "speed": 1.0, "anchor_clock_ms": 0,
                                 "anchor_at": None}
    )
    phase: str = ""
    feed: list[Event] = field(default_factory=list)
    inbox: list[Event] = field(default_factory=list)  # newest last
    opened: set[int] = field(default_factory=set)  # seqs of inbox items opened
    decisions: dict[str, DecisionCard] = field(default_factory=dict)
    actions_taken: dict[str, list] = field(default_factory=dict)  # ident -> [(ms, name, role)]
    threads: dict[str, list[Message]] = field(default_factory=dict)
    cues: dict[str, CueCard] = field(default_factory=dict)
    notes: list[Event] = field(default_factory=list)
    firings: dict[str, dict] = field(default_factory=dict)  # ident -> {state, clock_ms, late}
    seats: dict[int, dict] = field(default_factory=dict)  # trainer roster
    lobby: dict[int, dict] = field(default_factory=dict)
    alerts: list[Event] = field(default_factory=list)
    broadcasts: list[Event] = field(default_factory=list)

    @property
    def role(self) -> str:
        return self.perspective.role_ident

    @property
    def is_trainer(self) -> bool:
        return self.perspective.kind == "trainer"

    # Views of the state the templates use -------------------------------------------------

    def inbox_newest_first(self) -> list[Event]:
        return list(reversed(self.inbox))

    def unread(self) -> int:
        return sum(1 for e in self.inbox if e.seq not in self.opened)

    def pending_decisions(self) -> list[DecisionCard]:
        return [d for d in self.decisions.values() if self.role not in d.answers]

    def answered_decisions(self) -> list[DecisionCard]:
        return [d for d in self.decisions.values() if self.role in d.answers]

    def current_cue(self) -> CueCard | None:
        """The most recent cue not yet played; else the last one (shown as done)."""
        open_cues = [c for c in self.cues.values() if c.done_ms is None]
        if open_cues:
            return max(open_cues, key=lambda c: c.seq)
        return max(self.cues.values(), key=lambda c: c.seq) if self.cues else None

    def next_cue(self):
        """The next cue of this actor's script that has not been shown yet."""
        for planned in self.plan.cue_plan(self.role):
            if planned.ident not in self.cues:
                return planned
        return None

    def plan_actions(self) -> list[tuple[str, str, bool]]:
        return self.plan.actions_for(self.role)

    def contacts(self) -> list[str]:
        return list(self.plan.contacts.get(self.role, ()))

    def thread_with(self, other: str) -> list[Message]:
        from sessions.engine import thread_key

        return self.threads.get(thread_key(self.role, other), [])


def new_state(perspective: Perspective, version_id: int, session_id: int = 0) -> ScreenState:
    return ScreenState(perspective=perspective, plan=plan_for(version_id), session_id=session_id)


# --- Folding events in ------------------------------------------------------------------------

_CLOCK_KINDS = {
    "clock.started", "clock.paused", "clock.resumed", "clock.speed", "clock.jumped",
    "session.ended",
}


def apply(state: ScreenState, event: Event) -> set[str]:
    """Fold one visible event into the state; return the regions it changed."""
    state.last_seq = event.seq
    state.feed.append(event)
    changed = {FEED}
    p = event.payload
    kind = event.kind
    if kind in _CLOCK_KINDS:
        state.clock = {k: p.get(k) for k in ("state", "speed", "anchor_clock_ms", "anchor_at")}
        if kind == "clock.jumped":
            state.phase = p.get("phase", "")
        changed |= {CLOCK, TIMELINE}
    elif kind == "inject.fired":
        changed |= _inject_fired(state, event)
    elif kind == "inject.skipped":
        state.firings[p["inject"]] = {"state": "skipped", "clock_ms": event.clock_ms,
                                      "late": False}
        changed.add(TIMELINE)
    elif kind == "decision.answered":
        card = state.decisions.get(p["inject"])
        if card is not None:
            card.answers[p["role"]] = Answer(
                role=p["role"], option=p.get("option", ""), label=p.get("label", ""),
                rationale=p.get("rationale", ""), name=p.get("name", ""),
                clock_ms=event.clock_ms,
            )
        changed |= {DECISIONS, BOARD}
    elif kind == "decision.expired":
        card = state.decisions.get(p["inject"])
        if card is not None:
            for role in p.get("roles", []):
                card.answers[role] = Answer(role=role, option="", label="", rationale="",
                                            name="", clock_ms=event.clock_ms, expired=True)
        changed |= {DECISIONS, BOARD}
    elif kind == "decision.reopened":
        card = state.decisions.get(p["inject"])
        if card is not None:
            card.answers.pop(p["role"], None)
        changed |= {DECISIONS, BOARD}
    elif kind == "action.taken":
        state.actions_taken.setdefault(p["action"], []).append(
            (event.clock_ms, p.get("name", ""), p.get("role", ""))
        )
        changed.add(ACTIONS)
    elif kind == "message.sent":
        state.threads.setdefault(p["thread"], []).append(
            Message(seq=event.seq, clock_ms=event.clock_ms, from_role=p.get("from_role", ""),
                    to_role=p.get("to_role", ""), name=p.get("name", ""), text=p["text"],
                    by_trainer=bool(p.get("by_trainer")))
        )
        changed.add(THREADS)
    elif kind == "cue.acknowledged":
        card = state.cues.get(p["inject"])
        if card is not None:
            card.done_ms, card.done_by = event.clock_ms, p.get("name", "")
        changed.add(CUES)
    elif kind == "item.opened":
        state.opened.add(int(p["item"]))
        changed.add(INBOX)
    elif kind in ("note.added", "note.private"):
        state.notes.append(event)
        changed.add(NOTES)
    elif kind == "safety.stop":
        state.alerts.append(event)
        changed.add(ALERTS)
    elif kind in ("seat.taken", "seat.assigned", "seat.freed", "presence.connected",
                  "presence.left"):
        _roster(state, event)
        changed.add(ROSTER)
    elif kind in ("lobby.waiting", "lobby.dismissed"):
        if kind == "lobby.waiting":
            state.lobby[p["entry"]] = {"name": p.get("name", ""), "role": p.get("role", "")}
        else:
            state.lobby.pop(p["entry"], None)
        changed.add(ROSTER)
    return changed


def _inject_fired(state: ScreenState, event: Event) -> set[str]:
    p = event.payload
    changed: set[str] = set()
    if not p.get("adhoc"):
        state.firings[p["inject"]] = {"state": "fired", "clock_ms": event.clock_ms,
                                      "late": bool(p.get("late"))}
        changed.add(TIMELINE)
    kind = p.get("kind")
    if kind == Inject.Kind.DECISION:
        deadline = p.get("deadline_s")
        state.decisions[p["inject"]] = DecisionCard(
            inject=p["inject"], seq=event.seq, title=p["title"], body=p.get("body", ""),
            sender=p.get("from", ""), options=p.get("options") or [],
            free_text=bool(p.get("free_text")), fired_ms=event.clock_ms,
            deadline_ms=event.clock_ms + deadline * 1000 if deadline is not None else None,
            roles=p.get("roles", []),
        )
        changed |= {DECISIONS, BOARD}
    elif kind == Inject.Kind.CUE:
        state.cues[p["inject"]] = CueCard(
            inject=p["inject"], seq=event.seq, title=p["title"], body=p.get("body", ""),
            cue=p.get("cue") or {}, fired_ms=event.clock_ms,
        )
        changed.add(CUES)
    if kind in INBOX_KINDS:
        state.inbox.append(event)
        changed.add(INBOX)
    if kind == Inject.Kind.BROADCAST and "*" in event.audience:
        state.broadcasts.append(event)
        changed.add(BROADCASTS)
    return changed


def _roster(state: ScreenState, event: Event) -> None:
    p = event.payload
    seat = state.seats.setdefault(
        p["seat"], {"role": p.get("role", ""), "number": p.get("number", 1), "name": "",
                    "connections": 0, "since_ms": None, "since": None}
    )
    if event.kind in ("seat.taken", "seat.assigned"):
        seat.update(name=p.get("name", ""), connections=0)
    elif event.kind == "seat.freed":
        seat.update(name="", connections=0)
    elif event.kind == "presence.connected":
        seat["connections"] += 1
    else:
        seat["connections"] = max(0, seat["connections"] - 1)
    seat["since_ms"], seat["since"] = event.clock_ms, event.created_at


def project(
    events: Iterable[Event], perspective: Perspective, version_id: int, session_id: int = 0
) -> ScreenState:
    """The state of one perspective after the given events (filtered by audience here)."""
    state = new_state(perspective, version_id, session_id)
    for event in events:
        if perspective.sees(event.audience):
            apply(state, event)
        else:
            state.last_seq = event.seq
    return state


def project_session(session, perspective: Perspective, *, upto_seq: int | None = None,
                    upto_clock_ms: int | None = None) -> ScreenState:
    events = Event.objects.filter(session=session).order_by("seq")
    if upto_seq is not None:
        events = events.filter(seq__lte=upto_seq)
    if upto_clock_ms is not None:
        events = events.filter(clock_ms__lte=upto_clock_ms)
    return project(
        events.iterator(chunk_size=2000), perspective, session.version_id, session.pk
    )
