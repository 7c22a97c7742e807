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

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.utils.dateparse import parse_datetime

from scenarios.models import Inject, Role
from sessions import law_screen
from sessions.audience import Perspective, thread_key
from sessions.law import KINDS as LAW_KINDS
from sessions.law import LawState
from sessions.layout import Plan, PlanInject, plan_for, session_seats, short_title, timeline_order
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
CONSOLE = "console"  # the trainer's clock controls (start, pause, speed, jump)
LAW = "law"  # countdowns and requests (`sessions.law_screen`)

INBOX_KINDS = {"message", "document", "call", "scene", "broadcast"}



@dataclass(frozen=True)
class TimelineRow:
    inject: PlanInject
    # "upcoming" (known due time), "waiting" (on people), fired, late, skipped, withheld
    # (its trigger came, its `if` did not hold: it waits for the trainer's hand)
    state: str
    due_ms: int | None  # when it falls due, once that is known
    done_ms: int | None  # when it fired or was skipped
    acks: dict  # cues: role -> (ms, name)
    answers: int = 0  # decisions: roles that answered
    asked: int = 0  # decisions: roles asked
    withheld_ms: int | None = None  # when its trigger came and its `if` did not hold


@dataclass(frozen=True)
class RosterRow:
    seat_id: int
    role: Role | None
    role_ident: str
    number: int
    name: str
    presence: str  # free | connected | gone | away (held, never connected)
    since: object  # datetime of the last presence change, or None
    since_ms: int | None

    @property
    def kind(self) -> str:
        return self.role.kind if self.role else ""

    @property
    def label(self) -> str:
        if self.role is None:
            return self.role_ident
        title = short_title(self.role.title)
        return title if self.role.seats == 1 else f"{title} {self.number}"


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
    # role ident -> (clock ms, name): who played it (the trainer sees every actor's).
    acks: dict = field(default_factory=dict)


@dataclass
class Message:
    seq: int
    clock_ms: int
    from_role: str
    to_role: str
    name: str
    text: str
    by_trainer: bool

    def __reduce__(self):
        # Replay snapshots hold thousands: pickled as a tuple, they load three times faster.
        return (Message, (self.seq, self.clock_ms, self.from_role, self.to_role, self.name,
                          self.text, self.by_trainer))


# The long lists (a thread's messages, the notes) show their last SHOWN entries; the
# earlier ones load on demand ("show all": sessions.views.region_all). A course day
# writes thousands of each, and the control room lists every thread (36 in
# bench/replay_bench.py): rendered whole they took most of a replay seek and made each
# pushed threads region weigh a megabyte. 15 fill a thread's scrolling box, or the
# notes panel, about twice; the bench's trainer seek is ~67/75/80 ms (median) at 10/15/20.
SHOWN = 15


@dataclass(frozen=True)
class Shown:
    """The entries a long list shows, in display order, and what "show all" asks for.

    `hidden`: the earlier entries left out; `upto`: the seq of the newest entry, which
    names the whole list at that moment (live or replayed) for the show-all endpoint.
    """

    entries: list
    total: int
    hidden: int
    upto: int

    @classmethod
    def of(cls, entries: list, *, newest_first: bool = False, capped: bool = True):
        """`entries` oldest first; `capped` False: all of them (the show-all answer)."""
        kept = entries[-SHOWN:] if capped and len(entries) > SHOWN else entries
        upto = entries[-1].seq if entries else 0
        if newest_first:
            kept = kept[::-1]
        return cls(kept, len(entries), len(entries) - len(kept), upto)


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
    withheld: dict[str, int] = field(default_factory=dict)  # ident -> clock ms (`if` failed)
    seats: dict[int, dict] = field(default_factory=dict)  # trainer roster
    lobby: dict[int, dict] = field(default_factory=dict)
    # The last "joining by code is throttled for a network" notice (trainer only).
    join_throttled: dict | None = None
    alerts: list[Event] = field(default_factory=list)
    broadcasts: list[Event] = field(default_factory=list)
    law: LawState = field(default_factory=LawState)  # countdowns and requests seen

    @property
    def role(self) -> str:
        return self.perspective.role_ident

    @property
    def is_trainer(self) -> bool:
        return self.perspective.kind == "trainer"

    # Views of the state the templates use -------------------------------------------------

    def inbox_rows(self) -> list[tuple[Event, bool, str]]:
        """(item, unread, fingerprint), newest first: what the inbox lists.

        The fingerprint keys the per-process cache of rendered items: it changes with
        the item's content, so a session restored under a reused id cannot be shown a
        stale rendering.
        """
        return [self.inbox_row(e) for e in reversed(self.inbox)]

    def inbox_row(self, item: Event) -> tuple[Event, bool, str]:
        return item, item.seq not in self.opened, _fingerprint(item)

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

    def cue_backlog(self) -> int:
        """Cues still open besides the one on screen (played late, or skipped over)."""
        current = self.current_cue()
        return sum(1 for c in self.cues.values()
                   if c.done_ms is None and (current is None or c.seq != current.seq))

    def cue_is_older(self) -> bool:
        """The cue on screen is older than one already played: say so."""
        current = self.current_cue()
        return current is not None and any(c.seq > current.seq for c in self.cues.values())

    def next_cue(self):
        """The next cue of this actor's script that has not been shown yet."""
        for planned in self.plan.cue_plan(self.role):
            if planned.ident not in self.cues:
                return planned
        return None

    def countdown_rows(self) -> list[law_screen.CountdownRow]:
        return law_screen.countdown_rows(self)

    def request_rows(self) -> list[law_screen.RequestRow]:
        return law_screen.request_rows(self)

    def plan_actions(self) -> list[tuple[str, str, bool]]:
        return self.plan.actions_for(self.role)

    def contacts(self) -> list[str]:
        return list(self.plan.contacts.get(self.role, ()))

    # The trainer's screen -------------------------------------------------------------------

    def timeline_rows(self) -> list[TimelineRow]:
        by_ident = {i.ident: i for i in self.plan.injects}
        rows = []
        for ident in timeline_order(self.plan.version_id):
            inject = by_ident[ident]
            firing = self.firings.get(ident)
            card = self.decisions.get(ident)
            answers = sum(1 for a in card.answers.values() if not a.expired) if card else 0
            cue = self.cues.get(ident)
            acks = dict(cue.acks) if cue else {}
            if firing is not None:
                state = firing["state"]
                if state == "fired" and firing.get("late"):
                    state = "late"
                rows.append(TimelineRow(inject, state, None, firing["clock_ms"], acks, answers,
                                        len(inject.roles)))
                continue
            if ident in self.withheld:
                rows.append(TimelineRow(inject, "withheld", None, None, acks, 0,
                                        len(inject.roles), self.withheld[ident]))
                continue
            due_ms = inject.at_ms
            if due_ms is None and inject.after:
                parent = self.firings.get(inject.after)
                if parent is not None and parent["state"] == "fired":
                    due_ms = parent["clock_ms"] + inject.after_ms
            rows.append(TimelineRow(inject, "upcoming" if due_ms is not None else "waiting",
                                    due_ms, None, acks, 0, len(inject.roles)))
        return rows

    def timeline_roles(self) -> list[Role]:
        """Roles that receive something in the script (for the timeline's filter)."""
        used = {ident for i in self.plan.injects for ident in i.roles}
        return [role for ident, role in self.plan.roles.items() if ident in used]

    def roster_rows(self) -> list[RosterRow]:
        rows = []
        layout = session_seats(self.session_id) or tuple(
            (seat_id, seat.get("role", ""), seat.get("number", 1))
            for seat_id, seat in sorted(self.seats.items())
        )
        for seat_id, role_ident, number in layout:
            seen = self.seats.get(seat_id) or {}
            name = seen.get("name", "")
            if not name:
                presence = "free"
            elif seen.get("connections"):
                presence = "connected"
            elif seen.get("ever_connected"):
                presence = "gone"
            else:
                presence = "away"
            rows.append(RosterRow(
                seat_id=seat_id, role=self.plan.roles.get(role_ident), role_ident=role_ident,
                number=number, name=name, presence=presence, since=seen.get("since"),
                since_ms=seen.get("since_ms"),
            ))
        return rows

    def thread_list(self) -> list[tuple[str, str, str, list[Message]]]:
        """Every thread as (key, role a, role b, messages), most recently active first."""
        threads = []
        for key, messages in self.threads.items():
            a, _sep, b = key.partition("|")
            threads.append((key, a, b, messages))
        return sorted(threads, key=lambda t: -(t[3][-1].seq if t[3] else 0))

    def messaging_roles(self) -> list[Role]:
        return [r for r in self.plan.roles.values() if r.kind != Role.Kind.OBSERVER]

    # Capped views of the long lists (threads, notes): what the region partials show.

    def thread_rows(self) -> list[tuple[str, str, str, Shown]]:
        """`thread_list`, each thread's messages capped to the last SHOWN."""
        return [(key, a, b, Shown.of(messages)) for key, a, b, messages in self.thread_list()]

    def contact_threads(self) -> list[tuple[str, str, Shown]]:
        """A seat's threads, one per contact: (contact, thread key, capped messages)."""
        rows = []
        for other in self.contacts():
            key = thread_key(self.role, other)
            rows.append((other, key, Shown.of(self.threads.get(key, []))))
        return rows

    def shown_threads(self) -> set[str]:
        """The thread keys this screen shows (a seat: only those with its contacts)."""
        if self.is_trainer:
            return set(self.threads)
        return {key for _other, key, _shown in self.contact_threads()}

    def notes_shown(self, *, capped: bool = True) -> Shown:
        """The notes, newest first, capped to the last SHOWN (`capped` False: all)."""
        return Shown.of(self.notes, newest_first=True, capped=capped)


def _fingerprint(event) -> str:
    # What the item's rendering depends on: its place in the log, its time, its content.
    content = json.dumps([event.seq, event.clock_ms, event.payload], sort_keys=True,
                         default=str)
    return hashlib.blake2b(content.encode(), digest_size=12).hexdigest()


def new_state(perspective: Perspective, version_id: int, session_id: int = 0) -> ScreenState:
    return ScreenState(perspective=perspective, plan=plan_for(version_id), session_id=session_id)


# --- Folding events in ------------------------------------------------------------------------

_CLOCK_KINDS = {
    "clock.started", "clock.paused", "clock.resumed", "clock.speed", "clock.jumped",
    "session.ended",
}


# An answer shows on the desk, the decision board and the trainer's MSEL row (n/m answers).
_ANSWERS = {DECISIONS, BOARD, TIMELINE}


def apply(state: ScreenState, event: Event) -> set[str]:
    """Fold one visible event into the state; return the regions it changed."""
    state.last_seq = event.seq
    state.feed.append(event)
    changed = {FEED}
    p = event.payload
    kind = event.kind
    if kind in _CLOCK_KINDS:
        state.clock = {k: p.get(k) for k in ("state", "speed", "anchor_clock_ms", "anchor_at")}
        if p.get("reason"):  # a safety stop that holds the exercise
            state.clock["reason"] = p["reason"]
        if kind == "clock.jumped":
            state.phase = p.get("phase", "")
        changed |= {CLOCK, TIMELINE, CONSOLE}
    elif kind == "inject.fired":
        changed |= _inject_fired(state, event)
    elif kind == "inject.skipped" and state.is_trainer:
        state.firings[p["inject"]] = {"state": "skipped", "clock_ms": event.clock_ms,
                                      "late": False}
        changed.add(TIMELINE)
    elif kind == "inject.withheld":
        state.withheld.setdefault(p["inject"], event.clock_ms)
        changed.add(TIMELINE)
    elif kind == "decision.answered":
        card = state.decisions.get(p["inject"])
        if card is not None:
            card.answers[p["role"]] = Answer(
                role=p["role"], option=p.get("option", ""), label=p.get("label", ""),
                rationale=p.get("rationale", ""), name=p.get("name", ""),
                clock_ms=event.clock_ms,
            )
        changed |= _ANSWERS
    elif kind == "decision.expired":
        card = state.decisions.get(p["inject"])
        if card is not None:
            for role in p.get("roles", []):
                card.answers[role] = Answer(role=role, option="", label="", rationale="",
                                            name="", clock_ms=event.clock_ms, expired=True)
        changed |= _ANSWERS
    elif kind == "decision.reopened":
        card = state.decisions.get(p["inject"])
        if card is not None:
            card.answers.pop(p["role"], None)
        changed |= _ANSWERS
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
            card.acks[p.get("role", "")] = (event.clock_ms, p.get("name", ""))
        changed |= {CUES, TIMELINE}
    elif kind in LAW_KINDS:
        state.law.apply(event)
        changed.add(LAW)
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
        if kind == "seat.assigned" and p.get("entry") is not None:
            state.lobby.pop(p["entry"], None)  # seated: no longer waiting
        changed.add(ROSTER)
    elif kind in ("lobby.waiting", "lobby.dismissed"):
        if kind == "lobby.waiting":
            state.lobby[p["entry"]] = {"name": p.get("name", ""), "role": p.get("role", "")}
        else:
            state.lobby.pop(p["entry"], None)
        changed.add(ROSTER)
    elif kind == "join.throttled":
        state.join_throttled = {"failures": p.get("failures", 0),
                                "until": parse_datetime(p.get("until") or "")}
        changed.add(ROSTER)
    return changed


def _inject_fired(state: ScreenState, event: Event) -> set[str]:
    p = event.payload
    changed: set[str] = set()
    # Only the trainer's MSEL shows firings: on every seat's screen they cost ~250 bytes
    # per inject and socket (a third of a worker's growth over a two-hour soak).
    if not p.get("adhoc") and state.is_trainer:
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
        seat.update(name=p.get("name", ""), connections=0, ever_connected=False)
    elif event.kind == "seat.freed":
        seat.update(name="", connections=0, ever_connected=False)
    elif event.kind == "presence.connected":
        seat["connections"] += 1
        seat["ever_connected"] = True
    else:
        seat["connections"] = max(0, seat["connections"] - 1)
    seat["since_ms"], seat["since"] = event.clock_ms, event.created_at


def project(
    events: Iterable[Event], perspective: Perspective, version_id: int, session_id: int = 0
) -> ScreenState:
    """The state of one perspective after the given events (filtered by audience here)."""
    state = new_state(perspective, version_id, session_id)
    for event in events:
        if perspective.sees_event(event):
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
