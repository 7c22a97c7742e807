"""A live session and its event log.

The session *is* its event log (`Event`): every screen, the reconnect catch-up, the
replay and the report are projections of it. `Session` holds the clock (as data) and
the `last_seq` counter that keeps `seq` contiguous; the other tables here are
projections the engine keeps in the same transaction as the events they summarise, so
that its checks (has this inject fired? is this decision answered?) are single indexed
lookups. Only `sessions.engine` writes any of them.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from scenarios.models import Action, Inject, Role, ScenarioVersion
from sessions.codes import CODE_ALPHABET, CODE_LENGTH, new_secret, new_session_code
from sessions.waiting import WaitingEntry
from simtrain.fields import TextSafeJSONField


class Session(models.Model):
    class State(models.TextChoices):
        LOBBY = "lobby", _("Accueil")
        RUNNING = "running", _("En cours")
        PAUSED = "paused", _("En pause")
        ENDED = "ended", _("Terminée")

    class JoinMode(models.TextChoices):
        OPEN = "open", _("Places libres")
        APPROVAL = "approval", _("Validation par le formateur")

    version = models.ForeignKey(ScenarioVersion, on_delete=models.PROTECT, related_name="sessions")
    trainer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="led_sessions"
    )
    title = models.CharField(_("titre"), max_length=300)
    cohort = models.CharField(_("promotion"), max_length=200, blank=True)
    code = models.CharField(max_length=CODE_LENGTH, unique=True, default=new_session_code)
    join_mode = models.CharField(max_length=10, choices=JoinMode.choices, default=JoinMode.OPEN)
    state = models.CharField(max_length=10, choices=State.choices, default=State.LOBBY)

    # The exercise clock, as data: clock(now) = anchor_clock_ms + (now - anchor_at) * speed
    # while running, anchor_clock_ms otherwise. Every start/pause/resume/speed/jump
    # re-anchors it, so nothing sleeps and a restart loses nothing.
    speed = models.FloatField(default=1.0)
    anchor_clock_ms = models.BigIntegerField(default=0)
    anchor_at = models.DateTimeField(null=True, blank=True)

    last_seq = models.PositiveBigIntegerField(default=0)
    # Bumped by each sanctioned rewrite of past events (pseudonymisation, text repair):
    # what any process cached of the history (rendered replay regions) keys on it.
    log_revision = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("session")
        verbose_name_plural = _("sessions")
        indexes = [models.Index(fields=["state"])]

    def __str__(self) -> str:
        return f"{self.title} ({self.code})"

    def clock_ms(self, now) -> int:
        if self.state != self.State.RUNNING or self.anchor_at is None:
            return self.anchor_clock_ms
        elapsed = (now - self.anchor_at).total_seconds() * 1000.0
        return self.anchor_clock_ms + max(0, int(elapsed * self.speed))

    def clock_payload(self) -> dict:
        """The clock's state as every clock event carries it and every screen runs it."""
        return {
            "state": self.state,
            "speed": self.speed,
            "anchor_clock_ms": self.anchor_clock_ms,
            "anchor_at": self.anchor_at.isoformat() if self.anchor_at else None,
        }


class Seat(models.Model):
    """One place for one person in one role. Who holds it is a pass key, not an account."""

    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="seats")
    role = models.ForeignKey(Role, on_delete=models.PROTECT, related_name="+")
    number = models.PositiveIntegerField()  # 1..role.seats
    # Actor and observer seats are taken only through this link (never with the code).
    invite_token = models.CharField(max_length=64, unique=True, default=new_secret)
    holder_name = models.CharField(max_length=100, blank=True)
    # The pass key in the holder's signed cookie. Freeing or reassigning the seat
    # replaces it, which ends the old holder's access at once.
    holder_key = models.CharField(max_length=64, blank=True, db_index=True)
    held_since = models.DateTimeField(null=True, blank=True)
    # The seq of the event that gave the seat to its holder: what was addressed to the
    # seat before belongs to a previous holder (see audience.Perspective.since_seq).
    held_from_seq = models.PositiveBigIntegerField(default=0)
    # The hot-wash's "has answered" marker: a flag updated in place on the seat, so it
    # records no order of arrival and no row to join to an answer (`HotwashAnswer`).
    hotwash_answered = models.BooleanField(default=False)

    class Meta:
        ordering = ["session", "role__order", "number"]
        constraints = [
            models.UniqueConstraint(fields=["session", "role", "number"], name="unique_seat"),
        ]

    def __str__(self) -> str:
        return f"{self.role.ident} #{self.number}"

    @property
    def is_held(self) -> bool:
        return bool(self.holder_key)

    @property
    def label(self) -> str:
        return self.role.title if self.role.seats == 1 else f"{self.role.title} {self.number}"


class LobbyEntry(WaitingEntry):
    """A trainee who entered the code and waits for the trainer (approval mode)."""

    class State(models.TextChoices):
        WAITING = "waiting", _("En attente")
        SEATED = "seated", _("Placé")
        DISMISSED = "dismissed", _("Refusé")

    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="lobby")
    state = models.CharField(max_length=10, choices=State.choices, default=State.WAITING)

    class Meta:
        ordering = ["session", "created_at"]


class Event(models.Model):
    """One thing that happened in a session. Appended by the engine, never updated."""

    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="events")
    seq = models.PositiveBigIntegerField()
    kind = models.CharField(max_length=40)
    # Who may see it: "*" (every seat), "role:<ident>", "seat:<id>"; empty = the trainer
    # only. The trainer sees everything; observers see everything a role may see.
    audience = models.JSONField(default=list)
    actor = models.CharField(max_length=80)  # "system", "trainer:<user id>", "seat:<id>"
    clock_ms = models.BigIntegerField()
    created_at = models.DateTimeField()
    payload = TextSafeJSONField(default=dict)

    class Meta:
        ordering = ["session", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["session", "seq"], name="unique_event_seq"),
        ]
        indexes = [
            # The replay turns an exercise time into a seq bound ("the longest prefix of
            # the log at or before T"): covering, so it never touches the rows.
            models.Index(fields=["session", "clock_ms", "seq"], name="event_session_clock"),
            # Markers, reports and exports pick events by kind.
            models.Index(fields=["session", "kind"], name="event_session_kind"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.kind}"


class InjectFiring(models.Model):
    """At most one per (session, inject): the unique constraint is the claim."""

    class Outcome(models.TextChoices):
        FIRED = "fired", _("Déclenché")
        SKIPPED = "skipped", _("Ignoré")

    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="firings")
    inject = models.ForeignKey(Inject, on_delete=models.PROTECT, related_name="+")
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    clock_ms = models.BigIntegerField()
    due_ms = models.BigIntegerField(null=True, blank=True)
    late = models.BooleanField(default=False)
    seq = models.PositiveBigIntegerField()
    # A fired decision with a deadline: set once the deadline has been dealt with.
    deadline_ms = models.BigIntegerField(null=True, blank=True)
    deadline_done = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["session", "inject"], name="inject_fires_once"),
        ]

    def __str__(self) -> str:
        return f"{self.inject_id} {self.outcome} at {self.clock_ms} ms"


class DecisionAnswer(models.Model):
    """A role's answer to a decision. One active answer per role; reopening retires it.

    When the deadline passes, every role without an answer gets an `expired` row (no
    option): the decision is closed for it until the trainer reopens it.
    """

    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="answers")
    inject = models.ForeignKey(Inject, on_delete=models.PROTECT, related_name="+")
    role = models.ForeignKey(Role, on_delete=models.PROTECT, related_name="+")
    seat = models.ForeignKey(Seat, null=True, on_delete=models.SET_NULL, related_name="+")
    option = models.CharField(max_length=64, blank=True)
    rationale = models.TextField(blank=True)
    clock_ms = models.BigIntegerField()
    seq = models.PositiveBigIntegerField()
    active = models.BooleanField(default=True)
    expired = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["session", "inject", "role"],
                condition=Q(active=True),
                name="one_active_answer_per_role",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.inject_id}/{self.role_id}: {self.option or '-'}"


class ActionTaken(models.Model):
    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="actions_taken")
    action = models.ForeignKey(Action, on_delete=models.PROTECT, related_name="+")
    role = models.ForeignKey(Role, on_delete=models.PROTECT, related_name="+")
    seat = models.ForeignKey(Seat, null=True, on_delete=models.SET_NULL, related_name="+")
    clock_ms = models.BigIntegerField()
    seq = models.PositiveBigIntegerField()

    def __str__(self) -> str:
        return f"{self.action_id} by {self.role_id} at {self.clock_ms} ms"


# --- Replay, archive and audit (after-action review) ----------------------------------


class ReplaySnapshot(models.Model):
    """A projected screen state, cached so that a replay seeks without refolding the log.

    One row per (session, perspective, seq), every `sessions.replay.SNAPSHOT_EVERY`
    events, built lazily the first time a replay passes that point. The log is
    append-only, so a snapshot never goes stale; the sanctioned rewrites of events
    (pseudonymisation, `engine.session_pseudonymise`; text repair, `sessions.repair`)
    delete the session's snapshots.
    `format` names the shape of the pickled state: rows of another format are ignored.
    """

    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="+")
    perspective = models.CharField(max_length=120)  # Perspective.key
    seq = models.PositiveBigIntegerField()
    format = models.CharField(max_length=32)
    state = models.BinaryField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["session", "perspective", "format", "seq"], name="unique_replay_snapshot"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.session_id} {self.perspective} @{self.seq}"


class AuditEntry(models.Model):
    """Who did what to which session outside the exercise itself (delete, export, …).

    Changes of who holds a seat (assign, reassign, free, refuse at the lobby) too.

    The target is named, not referenced: the record outlives what it is about (a
    deleted session keeps its line here).
    """

    class Action(models.TextChoices):
        SESSION_DELETED = "session.deleted", _("Session supprimée")
        SESSION_EXPORTED = "session.exported", _("Session exportée")
        SESSION_IMPORTED = "session.imported", _("Session importée")
        SESSION_PSEUDONYMISED = "session.pseudonymised", _("Session pseudonymisée")
        SESSION_TEXT_REPAIRED = "session.text_repaired", _("Texte invalide réparé")
        LOBBY_CLEARED = "lobby.cleared", _("Salle d’attente vidée")
        SEAT_ASSIGNED = "seat.assigned", _("Place attribuée")
        SEAT_REASSIGNED = "seat.reassigned", _("Place réattribuée")
        SEAT_FREED = "seat.freed", _("Place libérée")
        LOBBY_DISMISSED = "lobby.dismissed", _("Participant refusé en salle d’attente")

    at = models.DateTimeField(_("date"), default=timezone.now, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+", verbose_name=_("utilisateur"),
    )
    # Kept as text too: the record must still say who once the account is gone.
    actor = models.CharField(_("auteur"), max_length=150)
    action = models.CharField(_("action"), max_length=40, choices=Action.choices)
    target_type = models.CharField(_("type de cible"), max_length=40)
    target_id = models.CharField(_("identifiant de la cible"), max_length=64)
    target_label = models.CharField(_("cible"), max_length=300, blank=True)
    details = TextSafeJSONField(_("détails"), default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-pk"]
        verbose_name = _("entrée du journal d’audit")
        verbose_name_plural = _("journal d’audit")
        indexes = [models.Index(fields=["target_type", "target_id", "action"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor} {self.action} {self.target_label}"

    def summary(self) -> str:
        """Seat lines in one phrase: « police n° 1 : Chloé → Nina »."""
        d = self.details or {}
        if "seat" not in d and "entry" not in d:
            return ""
        where = f"{d.get('role', '')} n° {d.get('number', '')}" if "seat" in d else ""
        if self.action in (self.Action.SEAT_ASSIGNED, self.Action.SEAT_REASSIGNED):
            return f"{where} : {d.get('previous') or '—'} → {d.get('holder', '')}"
        if self.action == self.Action.SEAT_FREED:
            return f"{where} : {d.get('previous', '')} → —"
        if self.action == self.Action.LOBBY_DISMISSED:
            return f"{d.get('name', '')} ({d.get('wanted_role') or '—'})"
        return where


class ImportedSession(models.Model):
    """Where an imported session came from; its fingerprint refuses a second import."""

    session = models.OneToOneField(Session, on_delete=models.CASCADE, related_name="origin")
    fingerprint = models.CharField(max_length=64, db_index=True)
    source_name = models.CharField(max_length=300, blank=True)
    imported_at = models.DateTimeField(auto_now_add=True)
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )

    def __str__(self) -> str:
        return f"{self.session_id} ← {self.source_name or self.fingerprint[:12]}"


class HotwashAnswer(models.Model):
    """One participant's hot-wash answer, anonymous by construction.

    No link to a seat, a person or an order of arrival: no foreign key but the session,
    no timestamp, a random UUID key, and no event in the (ordered) log. After each new
    answer `engine.hotwash_answer` rewrites the session's answers with fresh keys in a
    random order, so neither the key nor the physical row order (SQLite's rowid,
    PostgreSQL's ctid) follows arrival. Who has answered is `Seat.hotwash_answered`,
    which cannot be joined to any of these rows. Read only aggregated (`sessions.report.
    hotwash`), once at least three people answered.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="+")
    worked = models.TextField(blank=True)
    not_worked = models.TextField(blank=True)
    free_text = models.TextField(blank=True)
    confidence = models.JSONField(default=dict)  # objective ident -> 1..5

    def __str__(self) -> str:
        return f"hot-wash answer ({self.session_id})"


class ImprovementItem(models.Model):
    """A lesson learned: a finding of a session's report turned into something to do,
    attached to the scenario (it outlives the session, and its versions)."""

    class Status(models.TextChoices):
        OPEN = "open", _("À faire")
        DOING = "doing", _("En cours")
        DONE = "done", _("Fait")
        DROPPED = "dropped", _("Abandonné")

    scenario = models.ForeignKey(
        "scenarios.Scenario", on_delete=models.CASCADE, related_name="improvements"
    )
    # Where the finding came from; the item stays if that session is deleted.
    session = models.ForeignKey(
        Session, null=True, blank=True, on_delete=models.SET_NULL, related_name="improvements"
    )
    what = models.CharField(_("quoi"), max_length=500)
    concerns = models.CharField(_("concerne"), max_length=200, blank=True)
    owner = models.CharField(_("responsable"), max_length=150, blank=True)
    due = models.DateField(_("échéance"), null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["due", "created_at"]

    def __str__(self) -> str:
        return self.what[:60]

    @property
    def is_open(self) -> bool:
        return self.status in (self.Status.OPEN, self.Status.DOING)


class WorkerLease(models.Model):
    """A server process that holds live sockets, alive while its hub renews this row.

    A worker killed with SIGKILL never says goodbye to its sockets; the scheduler sweeps
    a lease older than `sessions.presence.GRACE_S` and records `presence.left` for the
    sockets it held (`engine.presence_sweep`).
    """

    worker = models.CharField(max_length=120, primary_key=True)  # host:pid:random
    heartbeat_at = models.DateTimeField()

    def __str__(self) -> str:
        return self.worker


class LiveSocket(models.Model):
    """One open seat socket, recorded with its `presence.connected`, deleted with its
    `presence.left` (same transactions): what a dead worker's sweep must close."""

    id = models.CharField(max_length=32, primary_key=True)  # chosen by the consumer
    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="+")
    seat = models.ForeignKey(Seat, on_delete=models.CASCADE, related_name="+")
    worker = models.CharField(max_length=120, db_index=True)
    # The holder it was opened for: a seat freed since is not the same presence.
    held_from_seq = models.PositiveBigIntegerField()
    opened_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.seat_id}@{self.worker}"


# An exercise of several syndicates (teams) on one scenario version: sessions.exercises.
from sessions.exercises.models import Exercise, ExerciseEntry, Syndicate  # noqa: E402

__all__ = [
    "CODE_ALPHABET", "CODE_LENGTH", "ActionTaken", "AuditEntry", "DecisionAnswer", "Event",
    "Exercise", "ExerciseEntry", "HotwashAnswer", "ImportedSession", "ImprovementItem",
    "InjectFiring", "LiveSocket", "LobbyEntry", "ReplaySnapshot", "Seat", "Session", "Syndicate",
    "WorkerLease", "new_secret",
    "new_session_code",
]
