"""Properties of the engine under random command sequences (hypothesis, stateful).

A state machine drives one session through random commands — clock (start, pause,
resume, speed, jump, wall time passing, scheduler ticks), injects (fire, skip, ad hoc),
participants (answer, act, message, cue, safety stop), the trainer (reopen, free and
re-seat, notes, end) — and "reconnects": a client of one perspective reads the events
after its cursor, sometimes rewinding, sometimes reading only part of them, and keeps
them by the client's dedupe rule. After every step:

- seq is contiguous from 1 and equals the session's last_seq;
- every event's audience lets exactly the right screens see it, by an oracle written
  from the event's meaning (who received the inject, whose role acted, which thread)
  rather than from `Perspective.sees` itself: no leak, no gap;
- each client holds exactly its audience's events up to its cursor, in order, once;
- no scenario inject has more than one `inject.fired`, and every InjectFiring matches
  exactly one event (and every scenario `inject.fired` one firing);
- after a scheduler tick nothing due is left unfired.
"""

from __future__ import annotations

from unittest import mock

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from scenarios.models import Inject, Objective, Role
from sessions import engine
from sessions.audience import EVERYONE, Perspective
from sessions.engine import due
from sessions.models import Event, InjectFiring, Seat, Session
from tests.factories import (
    ActionFactory,
    InjectFactory,
    PhaseFactory,
    RoleFactory,
    ScenarioVersionFactory,
    UserFactory,
)
from tests.sessions.conftest import WallClock

pytestmark = pytest.mark.django_db

TRAINER_ONLY = {
    "session.created",
    "seat.taken",
    "seat.freed",
    "seat.assigned",
    "lobby.waiting",
    "lobby.dismissed",
    "presence.connected",
    "presence.left",
    "inject.skipped",
    "note.added",
    "debrief.added",
}
PUBLIC = {
    "clock.started",
    "clock.paused",
    "clock.resumed",
    "clock.speed",
    "clock.jumped",
    "session.ended",
}
ROLE_OF_ACTOR = {"decision.answered", "action.taken", "cue.acknowledged"}
# Addressed to one seat (a trainer's rating has no seat: the trainer's alone).
SEAT_ONLY = {"safety.stop", "item.opened", "note.private", "objective.rated"}

ROLES = ["police", "parquet", "joy", "obs"]
DECISIONS = ["dec", "dec2"]
INJECTS = [
    "t0",
    "call",
    "followup",
    "dec",
    "on-opp",
    "on-any",
    "on-none",
    "on-interp",
    "cue1",
    "manual",
    "follow-manual",
    "dec2",
    "late-phase",
    "nope",
]


def build_version():
    """police ×2 seats + parquet (trainees), joy (actor), obs (observer); every trigger."""
    v = ScenarioVersionFactory()
    police = RoleFactory(version=v, ident="police", order=0, seats=2)
    parquet = RoleFactory(version=v, ident="parquet", order=1, profession="prosecutor")
    joy = RoleFactory(version=v, ident="joy", order=2, kind=Role.Kind.ACTOR, profession="")
    obs = RoleFactory(version=v, ident="obs", order=3, kind=Role.Kind.OBSERVER, profession="")
    p1 = PhaseFactory(version=v, ident="p1", order=0, starts_s=0)
    p2 = PhaseFactory(version=v, ident="p2", order=1, starts_s=600)
    interp = ActionFactory(version=v, ident="interprete", order=0, roles=[police])
    ActionFactory(version=v, ident="note", order=1, roles=[police, parquet], once=False)
    T = Inject.Trigger  # noqa: N806
    InjectFactory(
        version=v,
        ident="t0",
        order=0,
        trigger=T.AT,
        at_s=0,
        phase=p1,
        kind="broadcast",
        to_all=True,
        recipients=[police, parquet, joy, obs],
    )
    call = InjectFactory(
        version=v, ident="call", order=1, trigger=T.AT, at_s=60, kind="call", recipients=[police]
    )
    InjectFactory(
        version=v,
        ident="followup",
        order=2,
        trigger=T.AFTER,
        after_inject=call,
        after_delay_s=30,
        recipients=[parquet],
    )
    dec = InjectFactory(
        version=v,
        ident="dec",
        order=3,
        trigger=T.AT,
        at_s=120,
        kind="decision",
        recipients=[parquet],
        deadline_s=60,
        options=[{"id": "opp", "label": "OPP"}, {"id": "gav", "label": "GAV"}],
    )
    InjectFactory(
        version=v,
        ident="on-opp",
        order=4,
        trigger=T.DECISION,
        when_decision=dec,
        when_option="opp",
        recipients=[police],
    )
    InjectFactory(
        version=v,
        ident="on-any",
        order=5,
        trigger=T.DECISION,
        when_decision=dec,
        when_option="any",
        recipients=[police],
    )
    InjectFactory(
        version=v,
        ident="on-none",
        order=6,
        trigger=T.DECISION,
        when_decision=dec,
        when_option="none",
        recipients=[police, parquet],
    )
    InjectFactory(
        version=v,
        ident="on-interp",
        order=7,
        trigger=T.ACTION,
        when_action=interp,
        recipients=[police],
    )
    InjectFactory(
        version=v,
        ident="cue1",
        order=8,
        trigger=T.AT,
        at_s=30,
        kind="cue",
        recipients=[joy],
        cue={"say": "J'ai 19 ans"},
    )
    manual = InjectFactory(version=v, ident="manual", order=9, recipients=[police])
    InjectFactory(
        version=v,
        ident="follow-manual",
        order=10,
        trigger=T.AFTER,
        after_inject=manual,
        after_delay_s=20,
        recipients=[joy],
    )
    InjectFactory(
        version=v,
        ident="dec2",
        order=11,
        kind="decision",
        free_text=True,
        recipients=[police, parquet],
        options=[{"id": "a", "label": "A"}, {"id": "b", "label": "B"}],
    )
    InjectFactory(
        version=v,
        ident="late-phase",
        order=12,
        trigger=T.AT,
        at_s=600,
        phase=p2,
        recipients=[police],
    )
    Objective.objects.create(version=v, ident="protect", order=0, title="Protéger")
    return v


class Client:
    """One screen: the events it holds and its cursor (live.js `lastSeq`)."""

    def __init__(self, perspective: Perspective):
        self.perspective = perspective
        self.cursor = 0
        self.shown: list[int] = []


class EngineMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        due.forget_versions()  # versions of rolled-back examples reuse ids
        self.wall = WallClock()
        self.patch = mock.patch("django.utils.timezone.now", self.wall)
        self.patch.start()
        self.version = build_version()
        user = UserFactory()
        self.boss = engine.TrainerPrincipal(user_id=user.pk, name="Formatrice")
        self.session = engine.session_create(version=self.version, trainer=user, title="P")
        self.sid = self.session.pk
        self.seats = list(
            Seat.objects.filter(session=self.session)
            .select_related("role")
            .order_by("role__order", "number")
        )
        self.keys: dict[int, str] = {}
        self.generation = 0
        for seat in self.seats:
            self._claim(seat)
        self.recipients = {
            i.ident: {r.ident for r in i.recipients.all()}
            for i in Inject.objects.filter(version=self.version).prefetch_related("recipients")
        }
        self.broadcasts = set(
            Inject.objects.filter(version=self.version, kind="broadcast", to_all=True).values_list(
                "ident", flat=True
            )
        )
        self.clients = [Client(Perspective.trainer())] + [
            Client(Perspective.for_seat(seat)) for seat in self.seats
        ]
        self.steps = 0
        self.frees = 0

    def teardown(self):
        self.patch.stop()
        due.forget_versions()

    # --- helpers --------------------------------------------------------------------------

    def _claim(self, seat: Seat) -> None:
        self.generation += 1
        key = f"key-{seat.pk}-{self.generation}"
        engine.seat_claim(
            session_id=self.sid, seat_id=seat.pk, name=f"{seat.role.ident}", pass_key=key
        )
        self.keys[seat.pk] = key

    def _principal(self, index: int) -> engine.SeatPrincipal:
        seat = self.seats[index % len(self.seats)]
        return engine.SeatPrincipal(seat_id=seat.pk, pass_key=self.keys.get(seat.pk, "gone"))

    def _do(self, service, **kwargs):
        try:
            return service(session_id=self.sid, **kwargs)
        except engine.EngineError:
            return None  # a refusal changes nothing; the invariants check that too

    def _state(self) -> Session:
        return Session.objects.get(pk=self.sid)

    # --- the clock ------------------------------------------------------------------------

    @initialize(
        started=st.sampled_from([True, True, True, False]),
        warmup=st.sampled_from([0, 50, 125, 125, 650]),
        dec2=st.booleans(),
    )
    def maybe_start(self, started, warmup, dec2):
        """Most examples start at once, some well into the exercise: the lobby and the
        first minute have little to explore."""
        if started:
            self._do(engine.session_start, principal=self.boss)
            self.wall.advance(warmup)
            self.tick()
            if dec2:
                self._do(engine.inject_fire, principal=self.boss, inject_ident="dec2")

    @rule(
        seconds=st.sampled_from([0.5, 1, 5, 20, 31, 45, 61, 90, 200, 700]),
        tick=st.sampled_from([True, True, False]),
    )
    def time_passes(self, seconds, tick):
        """Wall time passes; usually the scheduler notices."""
        self.wall.advance(seconds)
        if tick:
            self.tick()

    def tick(self):
        engine.scheduler_tick(session_id=self.sid)
        session = self._state()
        if session.state == Session.State.RUNNING:
            assert due.next_due(session, session.clock_ms(self.wall.now)) is None

    @rule(
        what=st.sampled_from(
            [
                "tick",
                "tick",
                "start",
                "pause",
                "pause",
                "resume",
                "resume",
                "speed",
                "speed",
                "jump",
                "end",
            ]
        ),
        speed=st.sampled_from([0.5, 1, 2, 10, 60, 240, 1000]),
        phase=st.sampled_from(["p1", "p2", "nope"]),
    )
    def clock(self, what, speed, phase):
        p = self.boss
        if what == "tick":
            self.tick()
        elif what == "start":
            self._do(engine.session_start, principal=p)
        elif what == "pause":
            self._do(engine.session_pause, principal=p)
        elif what == "resume":
            self._do(engine.session_resume, principal=p)
        elif what == "speed":
            self._do(engine.clock_set_speed, principal=p, speed=speed)
        elif what == "jump":
            self._do(engine.clock_jump_to_phase, principal=p, phase_ident=phase)
        elif self.steps >= 20:  # ending early would waste the example
            self._do(engine.session_end, principal=p)

    # --- the trainer ------------------------------------------------------------------------

    @rule(
        what=st.sampled_from(
            [
                "fire",
                "fire",
                "fire",
                "skip",
                "adhoc",
                "reopen",
                "reopen",
                "thread",
                "note",
                "rate",
                "debrief",
            ]
        ),
        ident=st.sampled_from(INJECTS),
        decision=st.sampled_from(DECISIONS),
        roles=st.lists(st.sampled_from(ROLES), max_size=2),
        kind=st.sampled_from(["message", "broadcast", "scene", "cue"]),
        frm=st.sampled_from(ROLES + [""]),
        to=st.sampled_from(ROLES),
    )
    def trainer(self, what, ident, decision, roles, kind, frm, to):
        p = self.boss
        if what == "fire":
            self._do(engine.inject_fire, principal=p, inject_ident=ident)
        elif what == "skip":
            self._do(engine.inject_skip, principal=p, inject_ident=ident)
        elif what == "adhoc":
            self._do(engine.inject_adhoc, principal=p, roles=roles, title="Ad hoc", kind=kind)
        elif what == "reopen":
            self._do(engine.decision_reopen, principal=p, inject_ident=decision, role_ident=to)
        elif what == "thread":
            self._do(engine.message_send, principal=p, to_role=to, text="Relais", from_role=frm)
        elif what == "note":
            self._do(engine.note_add, principal=p, text="Note")
        elif what == "rate" and hasattr(engine, "objective_rate"):
            self._do(engine.objective_rate, principal=p, objective_ident="protect", level=3)
        elif what == "debrief" and hasattr(engine, "debrief_add"):
            self._do(engine.debrief_add, principal=p, kind="plus", text="Bien")

    @rule(index=st.integers(0, 4), free=st.sampled_from([True, False, False]))
    def seats(self, index, free):
        """The trainer frees a seat (now and then), or someone takes a free one."""
        seat = self.seats[index]
        if free and self.frees < 2:
            self.frees += 1
            self._do(engine.seat_free, principal=self.boss, seat_id=seat.pk)
            if not Seat.objects.get(pk=seat.pk).holder_key:
                self.keys.pop(seat.pk, None)
        elif seat.pk not in self.keys:
            try:
                self._claim(seat)
            except engine.EngineError:
                pass

    # --- participants -----------------------------------------------------------------------

    @rule(
        index=st.integers(0, 4),
        what=st.sampled_from(
            [
                "answer",
                "answer",
                "answer",
                "act",
                "act",
                "message",
                "message",
                "cue",
                "safety",
                "open",
                "private",
                "rate",
            ]
        ),
        pick=st.integers(0, 7),
        option=st.sampled_from(["opp", "gav", "opp", "a", "b", "a", "", "zz"]),
        rationale=st.sampled_from(["", "Parce que"]),
        action=st.sampled_from(["interprete", "note", "zz"]),
        to=st.sampled_from(ROLES),
        cue=st.sampled_from(["cue1", "follow-manual", "call"]),
    )
    def participant(self, index, what, pick, option, rationale, action, to, cue):
        p = self._principal(index)
        if what == "answer":
            # Mostly a decision this seat has in front of it, now and then any.
            role = self.seats[index].role.ident
            open_ = [
                d
                for d in DECISIONS
                if role in self.recipients[d]
                and InjectFiring.objects.filter(
                    session_id=self.sid, inject__ident=d, outcome="fired"
                ).exists()
            ]
            decision = open_[pick % len(open_)] if open_ and pick < 6 else DECISIONS[pick % 2]
            self._do(
                engine.decision_answer,
                principal=p,
                inject_ident=decision,
                option=option,
                rationale=rationale,
            )
        elif what == "act":
            self._do(engine.action_take, principal=p, action_ident=action)
        elif what == "message":
            self._do(engine.message_send, principal=p, to_role=to, text="Message")
        elif what == "cue":
            self._do(engine.cue_acknowledge, principal=p, inject_ident=cue)
        elif what == "open" and hasattr(engine, "item_open"):
            fired = list(
                Event.objects.filter(session_id=self.sid, kind="inject.fired").values_list(
                    "seq", flat=True
                )
            )
            if fired:
                self._do(engine.item_open, principal=p, item=fired[pick % len(fired)])
        elif what == "private" and hasattr(engine, "note_private"):
            self._do(engine.note_private, principal=p, text="Pour moi")
        elif what == "rate" and hasattr(engine, "objective_rate"):
            self._do(engine.objective_rate, principal=p, objective_ident="protect", level=pick)
        else:
            self._do(engine.safety_stop, principal=p, note="Stop")

    # --- reading ------------------------------------------------------------------------------

    @rule(
        client=st.integers(0, 5),
        rewind=st.sampled_from([0, 0, 1, 3, 50]),
        limit=st.sampled_from([None, None, 1, 2, 5]),
    )
    def reconnect(self, client, rewind, limit):
        """Read the events after the cursor as this perspective; keep them like live.js."""
        c = self.clients[client]
        after = max(0, c.cursor - rewind)
        events = Event.objects.filter(session_id=self.sid, seq__gt=after).order_by("seq")
        frames = [e.seq for e in events if c.perspective.sees_event(e)]
        for seq in frames[:limit] if limit else frames:
            if seq <= c.cursor:
                continue  # already on screen
            c.cursor = seq
            c.shown.append(seq)

    # --- invariants -----------------------------------------------------------------------------

    def _oracle(self, perspective: Perspective, event: Event) -> bool:
        """Who may see `event`, from what it means (not from its audience)."""
        if perspective.kind == "trainer":
            return True
        kind, payload = event.kind, event.payload
        if kind in TRAINER_ONLY:
            return False
        if kind in PUBLIC:
            return True
        if kind in SEAT_ONLY:
            return perspective.seat_id == payload.get("seat")
        observer = perspective.kind == "observer"
        if kind == "inject.fired":
            if payload.get("adhoc"):
                roles = set(payload.get("roles") or [])
                return (
                    payload.get("kind") == "broadcast"
                    or observer
                    or (perspective.role_ident in roles)
                )
            ident = payload["inject"]
            if ident in self.broadcasts:
                return True
            return observer or perspective.role_ident in self.recipients[ident]
        if kind in ROLE_OF_ACTOR:
            return observer or perspective.role_ident == payload["role"]
        if kind == "decision.reopened":
            return observer or perspective.role_ident == payload["role"]
        if kind == "decision.expired":
            return observer or perspective.role_ident in payload["roles"]
        if kind == "message.sent":
            ends = {payload["from_role"], payload["to_role"]} - {""}
            return observer or perspective.role_ident in ends
        raise AssertionError(f"no oracle for {kind}: add it here")

    @invariant()
    def log_is_contiguous(self):
        self.steps += 1
        seqs = list(
            Event.objects.filter(session_id=self.sid).order_by("seq").values_list("seq", flat=True)
        )
        assert seqs == list(range(1, len(seqs) + 1))
        assert self._state().last_seq == len(seqs)

    @invariant()
    def audiences_are_exactly_right(self):
        for event in Event.objects.filter(session_id=self.sid):
            for c in self.clients:
                expected = self._oracle(c.perspective, event)
                assert c.perspective.sees_event(event) == expected, (
                    event.seq,
                    event.kind,
                    event.audience,
                    c.perspective,
                )
            if EVERYONE in event.audience:
                assert event.kind in PUBLIC or event.kind == "inject.fired", event.kind

    @invariant()
    def clients_hold_exactly_their_audience(self):
        events = list(Event.objects.filter(session_id=self.sid).order_by("seq"))
        for c in self.clients:
            owed = [e.seq for e in events if e.seq <= c.cursor and c.perspective.sees_event(e)]
            assert c.shown == owed, (c.perspective, c.shown, owed)

    @invariant()
    def injects_fire_at_most_once_and_firings_match_events(self):
        events = {
            e.seq: e
            for e in Event.objects.filter(
                session_id=self.sid, kind__in=["inject.fired", "inject.skipped"]
            )
        }
        scripted = [
            e for e in events.values() if e.kind == "inject.fired" and not e.payload.get("adhoc")
        ]
        idents = [e.payload["inject"] for e in scripted]
        assert len(idents) == len(set(idents)), idents
        firings = list(InjectFiring.objects.filter(session_id=self.sid).select_related("inject"))
        assert len({f.inject_id for f in firings}) == len(firings)
        by_seq = {}
        for f in firings:
            event = events.get(f.seq)
            kind = "inject.fired" if f.outcome == InjectFiring.Outcome.FIRED else "inject.skipped"
            assert event is not None and event.kind == kind, (f.inject.ident, f.seq)
            assert event.payload["inject"] == f.inject.ident
            by_seq[f.seq] = f
        for e in scripted:
            assert e.seq in by_seq and by_seq[e.seq].outcome == InjectFiring.Outcome.FIRED


def test_engine_invariants_hold_under_random_commands():
    run_state_machine_as_test(
        EngineMachine,
        settings=settings(
            max_examples=35,
            stateful_step_count=40,
            derandomize=True,
            database=None,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
