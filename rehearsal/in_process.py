"""A session driven through the engine alone, at random but reproducibly.

For the replay benchmark and the review tests: a log that looks like a real exercise
(injects on time, decisions answered or let expire, role-to-role messages, inbox items
opened, private and trainer notes, actions, cues played, people coming and going,
observers rating objectives) without a server or sockets. Every event is appended by
the engine's public commands; the wall clock is the caller's (`advance(seconds)`), so
tests can pin it and a benchmark can run hours of exercise in seconds.

`simulate_session` (rehearsal) rehearses the real thing over HTTP and
WebSocket; this is the quick, in-process cousin.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

from scenarios.models import Objective, Role
from sessions import engine
from sessions.audience import Perspective, contacts_of
from sessions.models import Event, Seat, Session

# Relative weights of what happens at each step.
WEIGHTS = {
    "message": 30,
    "presence": 14,
    "open": 16,
    "private_note": 6,
    "trainer_note": 3,
    "action": 7,
    "decide": 10,
    "cue": 6,
    "rate": 2,
    "safety": 0.15,
    "pause": 0.3,
}


@dataclass
class _SeatPlay:
    principal: engine.SeatPrincipal
    seat: Seat
    perspective: Perspective
    contacts: list[str]
    actions: list[tuple[str, bool]]
    connected: bool = False
    unread: list[int] = field(default_factory=list)


@dataclass
class Rehearsal:
    session: Session
    boss: engine.TrainerPrincipal
    seats: list[_SeatPlay]
    rng: random.Random
    advance: Callable[[float], None]
    objectives: list[str]
    weights: dict[str, float] = field(default_factory=lambda: dict(WEIGHTS))
    seen_seq: int = 0
    decisions: dict[str, tuple[list[str], list[str], bool]] = field(default_factory=dict)
    answered: set[tuple[str, str]] = field(default_factory=set)
    cues: list[tuple[str, str]] = field(default_factory=list)  # (inject, actor role)
    acted: set[tuple[str, str]] = field(default_factory=set)  # once-actions taken

    @property
    def last_seq(self) -> int:
        return Session.objects.values_list("last_seq", flat=True).get(pk=self.session.pk)

    def _absorb(self) -> None:
        """Learn what the engine fired since last time: items, decisions, cues."""
        for event in Event.objects.filter(
            session=self.session, seq__gt=self.seen_seq, kind="inject.fired"
        ).order_by("seq"):
            p = event.payload
            for play in self.seats:
                if play.perspective.kind == "seat" and play.perspective.sees_event(event):
                    play.unread.append(event.seq)
            if p.get("kind") == "decision":
                options = [o["id"] for o in p.get("options") or []]
                self.decisions[p["inject"]] = (p.get("roles", []), options,
                                               bool(p.get("free_text")))
            elif p.get("kind") == "cue":
                self.cues += [(p["inject"], role) for role in p.get("roles", [])]
        self.seen_seq = self.last_seq

    def _call(self, fn, **kwargs) -> bool:
        try:
            fn(session_id=self.session.pk, **kwargs)
        except engine.EngineError:
            return False  # a refusal is part of life (deadline passed, seat busy…)
        return True

    def step(self) -> None:
        rng = self.rng
        self.advance(rng.uniform(0.05, 0.7))
        engine.scheduler_tick(session_id=self.session.pk)
        self._absorb()
        what = rng.choices(list(self.weights), weights=list(self.weights.values()))[0]
        getattr(self, f"_{what}")()

    # --- what people do -----------------------------------------------------------------

    def _pick(self, kind: str = "seat") -> _SeatPlay | None:
        pool = [s for s in self.seats if s.perspective.kind == kind]
        return self.rng.choice(pool) if pool else None

    def _message(self) -> None:
        play = self.rng.choice([s for s in self.seats if s.contacts] or [None])
        if play is None:
            return
        to = self.rng.choice(play.contacts)
        words = self.rng.randint(3, 30)
        text = " ".join(self.rng.choice(VOCABULARY) for _ in range(words)).capitalize() + "."
        self._call(engine.message_send, principal=play.principal, to_role=to, text=text)

    def _presence(self) -> None:
        play = self.rng.choice(self.seats)
        play.connected = not play.connected
        self._call(engine.presence_set, principal=play.principal, connected=play.connected)

    def _open(self) -> None:
        pool = [s for s in self.seats if s.unread]
        if pool:
            play = self.rng.choice(pool)
            item = play.unread.pop(self.rng.randrange(len(play.unread)))
            self._call(engine.item_open, principal=play.principal, item=item)

    def _private_note(self) -> None:
        play = self._pick()
        if play:
            self._call(engine.note_private, principal=play.principal,
                       text=self.rng.choice(NOTES))

    def _trainer_note(self) -> None:
        self._call(engine.note_add, principal=self.boss, text=self.rng.choice(NOTES))

    def _action(self) -> None:
        pool = [s for s in self.seats if s.actions]
        if not pool:
            return
        play = self.rng.choice(pool)
        ident, once = self.rng.choice(play.actions)
        key = (ident, play.seat.role.ident)
        if once and key in self.acted:
            return
        if self._call(engine.action_take, principal=play.principal, action_ident=ident):
            self.acted.add(key)

    def _decide(self) -> None:
        pending = [
            (inject, role)
            for inject, (roles, _o, _f) in self.decisions.items()
            for role in roles
            if (inject, role) not in self.answered
        ]
        if not pending:
            return
        inject, role = self.rng.choice(pending)
        play = next((s for s in self.seats if s.seat.role.ident == role), None)
        if play is None:
            self.answered.add((inject, role))
            return
        _roles, options, free = self.decisions[inject]
        option = self.rng.choice(options) if options else ""
        rationale = self.rng.choice(NOTES) if (free or self.rng.random() < 0.5) else ""
        self._call(engine.decision_answer, principal=play.principal, inject_ident=inject,
                   option=option, rationale=rationale or ("" if option else "Réponse libre."))
        self.answered.add((inject, role))

    def _cue(self) -> None:
        if not self.cues:
            return
        inject, role = self.cues.pop(0)
        play = next((s for s in self.seats if s.seat.role.ident == role), None)
        if play:
            self._call(engine.cue_acknowledge, principal=play.principal, inject_ident=inject)

    def _rate(self) -> None:
        if not self.objectives:
            return
        play = self._pick("observer")
        principal = play.principal if play and self.rng.random() < 0.7 else self.boss
        self._call(engine.objective_rate, principal=principal,
                   objective_ident=self.rng.choice(self.objectives),
                   level=self.rng.randint(1, 4), comment=self.rng.choice(NOTES))

    def _safety(self) -> None:
        play = self.rng.choice(self.seats)
        self._call(engine.safety_stop, principal=play.principal, note="Besoin d'une pause.")

    def _pause(self) -> None:
        if self._call(engine.session_pause, principal=self.boss):
            self.advance(self.rng.uniform(5, 60))  # wall time passes; the clock does not
            self._call(engine.note_add, principal=self.boss, text="Point d'étape en pause.")
            self._call(engine.session_resume, principal=self.boss)


def rehearse(
    *,
    version,
    trainer,
    advance: Callable[[float], None],
    events: int,
    seed: int = 1,
    title: str = "Répétition",
    end: bool = True,
    weights: dict[str, float] | None = None,
) -> Session:
    """A session of the version played until its log holds about `events` events.

    `weights`: how often each kind of step happens (default `WEIGHTS`).
    """
    play = rehearsal_start(version=version, trainer=trainer, advance=advance, seed=seed,
                           title=title, weights=weights)
    while play.last_seq < events - (1 if end else 0):
        play.step()
    if end:
        engine.session_end(session_id=play.session.pk, principal=play.boss)
    play.session.refresh_from_db()
    return play.session


def rehearsal_start(
    *,
    version,
    trainer,
    advance: Callable[[float], None],
    seed: int = 1,
    title: str = "Répétition",
    weights: dict[str, float] | None = None,
) -> Rehearsal:
    """A rehearsal session of the version, every seat taken, started; `step()` plays it."""
    rng = random.Random(seed)
    session = engine.session_create(version=version, trainer=trainer, title=title,
                                    cohort=f"Promotion {2020 + seed % 7}", rehearsal=True)
    boss = engine.TrainerPrincipal(user_id=trainer.pk, name=trainer.get_full_name()
                                   or trainer.get_username())
    plays = []
    for n, seat in enumerate(Seat.objects.filter(session=session).select_related("role")
                             .order_by("role__order", "number"), start=1):
        key = f"rehearsal-{session.pk}-{seat.pk}"
        engine.seat_claim(session_id=session.pk, seat_id=seat.pk,
                          name=f"{rng.choice(FIRST_NAMES)} {n}", pass_key=key)
        seat.refresh_from_db()
        role = seat.role
        plays.append(_SeatPlay(
            principal=engine.SeatPrincipal(seat_id=seat.pk, pass_key=key),
            seat=seat,
            perspective=Perspective.for_seat(seat),
            contacts=[r.ident for r in contacts_of(role)]
            if role.kind != Role.Kind.OBSERVER else [],
            actions=[(a.ident, a.once) for a in role.actions.order_by("order")]
            if role.kind == Role.Kind.TRAINEE else [],
        ))
    play = Rehearsal(
        session=session, boss=boss, seats=plays, rng=rng, advance=advance,
        objectives=list(Objective.objects.filter(version=version)
                        .values_list("ident", flat=True)),
        weights=dict(weights or WEIGHTS),
    )
    engine.session_start(session_id=session.pk, principal=boss)
    return play


FIRST_NAMES = ["Camille", "Nadia", "Julien", "Awa", "Karim", "Sophie", "Thomas", "Inès",
               "Lucas", "Mélanie", "Yanis", "Claire", "Omar", "Léa", "Hugo", "Fatou"]
VOCABULARY = ["audition", "mineure", "parquet", "foyer", "interprète", "OPP", "réseau",
              "signalement", "examen", "garde", "vue", "protection", "enquête", "urgence",
              "juge", "avocat", "administrateur", "ad", "hoc", "Joy", "Precious", "Mama",
              "dette", "serment", "accueil", "sécurisé", "demain", "ce", "soir", "appel",
              "je", "vous", "transmets", "les", "éléments", "merci", "de", "confirmer"]
NOTES = ["Bonne coordination police–parquet.", "Question sur l'âge posée devant Precious.",
         "Interprète demandé tardivement.", "Très bon réflexe de mise à l'abri.",
         "À reprendre au débriefing : la présomption de minorité.",
         "Échange clair et rapide.", "Hésitation sur l'examen osseux."]
