"""The scenario library: a Scenario (stable slug) has immutable ScenarioVersions.

A version is stored relationally where the live engine queries it (roles, phases,
actions, requests, countdowns, injects and their triggers, objectives); free-form bits
that the engine only displays (a cue's lines, an actor's character sheet, decision
options) are JSON. Ids from the file (`ident`) are unique within their version.

The law keys are stored as normalised JSON the engine reads without the file (each
shape is documented where it is evaluated, with pure functions):

- `ScenarioVersion.fiction`, the story's calendar — `scenarios.fiction.Fiction`:
  `{"starts": "2026-03-15T22:40:00", "jumps": [{"at_s": 1800, "to": "…"}]}`;
- conditions (`Inject.condition`, `Countdown.starts` / `stops` / `extends[].when`) and
  measures (`Objective.measure_spec`) — `scenarios.conditions`;
- `Inject.when`, every `when` form flattened by `scenarios.triggers.causes`.

The columns of the first trigger forms (`at_s`, `after_*`, `when_decision` +
`when_option`, `when_action`) are kept as they were: an inject whose `when` is a plain
`{decision, option}` or `{action}` has `trigger` decision or action and those columns
(and `when` too); one with `any`, a `delay`, a request or a countdown has `trigger`
when, and only `when`.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from scenarios.fiction import Fiction
from scenarios.triggers import Cause, causes


class ImmutableError(Exception):
    """A scenario version is a historical record: sessions replay against it."""


class ImmutableModel(models.Model):
    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ImmutableError(f"{type(self).__name__} rows are never edited once created")
        super().save(*args, **kwargs)


class Scenario(models.Model):
    slug = models.SlugField(_("identifiant"), max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # The preview of a draft (`scenarios.authoring.draft_preview`): its versions are for
    # the author to look at and rehearse; never in the library, never live.
    preview = models.BooleanField(default=False)

    class Meta:
        ordering = ["slug"]
        verbose_name = _("scénario")
        verbose_name_plural = _("scénarios")

    def __str__(self) -> str:
        return self.slug

    @property
    def latest(self) -> ScenarioVersion | None:
        return self.versions.order_by("-number").first()


class ScenarioVersion(ImmutableModel):
    class SafetyStop(models.TextChoices):
        """What a safety stop does (the file's `safety.stop`)."""

        HOLD = "hold", _("Suspendre l’exercice")
        ALERT = "alert", _("Alerter le formateur")

    scenario = models.ForeignKey(Scenario, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField(_("version"))
    format = models.CharField(max_length=40)
    title = models.CharField(_("titre"), max_length=300)
    language = models.CharField(_("langue"), max_length=35)
    author_version = models.PositiveIntegerField(null=True, blank=True)
    summary = models.TextField(blank=True)
    duration_s = models.PositiveIntegerField(null=True, blank=True)
    authors = models.JSONField(default=list)
    tags = models.JSONField(default=list)
    # sha256 of the canonical export: an identical re-import makes no new version.
    content_hash = models.CharField(max_length=64)
    source_name = models.CharField(max_length=300, blank=True)
    warnings = models.JSONField(default=list)
    safety_stop = models.CharField(
        _("arrêt de sécurité"),
        max_length=5,
        choices=SafetyStop.choices,
        default=SafetyStop.HOLD,
    )
    # The story's calendar, as `scenarios.fiction.Fiction.from_stored` reads it; None:
    # the scenario has no `fiction`, story time is the exercise clock.
    fiction = models.JSONField(null=True, blank=True)
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    imported_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["scenario", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["scenario", "number"], name="unique_version_number")
        ]
        verbose_name = _("version de scénario")
        verbose_name_plural = _("versions de scénario")

    def __str__(self) -> str:
        return f"{self.scenario.slug} v{self.number}"

    @property
    def story(self) -> Fiction:
        """The story's calendar (story time is the clock when the file has no fiction)."""
        return Fiction.from_stored(self.fiction)


class Role(ImmutableModel):
    class Kind(models.TextChoices):
        TRAINEE = "trainee", _("Stagiaire")
        ACTOR = "actor", _("Comédien")
        OBSERVER = "observer", _("Observateur")

    class Profession(models.TextChoices):
        POLICE = "police", _("Police / gendarmerie")
        PROSECUTOR = "prosecutor", _("Parquet")
        JUDGE = "judge", _("Juge")
        LAWYER = "lawyer", _("Avocat")
        SOCIAL_WORKER = "social_worker", _("Travailleur social")
        INTERPRETER = "interpreter", _("Interprète")
        MEDICAL = "medical", _("Médical")
        OTHER = "other", _("Autre")

    version = models.ForeignKey(ScenarioVersion, on_delete=models.CASCADE, related_name="roles")
    ident = models.CharField(max_length=64)
    order = models.PositiveIntegerField()
    title = models.CharField(max_length=300)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    profession = models.CharField(max_length=20, choices=Profession.choices, blank=True)
    seats = models.PositiveIntegerField(default=1)
    briefing = models.TextField(blank=True)
    # {age, origin, languages, backstory, secrets, demeanour, boundaries}; actors only.
    character = models.JSONField(null=True, blank=True)
    # False: the file gave no `contacts`, so the role may message every trainee role.
    contacts_explicit = models.BooleanField(default=False)
    contacts = models.ManyToManyField("self", symmetrical=False, related_name="+", blank=True)

    class Meta:
        ordering = ["version", "order"]
        constraints = [
            models.UniqueConstraint(fields=["version", "ident"], name="unique_role_ident")
        ]

    def __str__(self) -> str:
        return f"{self.ident} ({self.title})"


class Phase(ImmutableModel):
    version = models.ForeignKey(ScenarioVersion, on_delete=models.CASCADE, related_name="phases")
    ident = models.CharField(max_length=64)
    order = models.PositiveIntegerField()
    title = models.CharField(max_length=300)
    description = models.TextField(blank=True)
    starts_s = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["version", "order"]
        constraints = [
            models.UniqueConstraint(fields=["version", "ident"], name="unique_phase_ident")
        ]

    def __str__(self) -> str:
        return self.ident


class Action(ImmutableModel):
    version = models.ForeignKey(ScenarioVersion, on_delete=models.CASCADE, related_name="actions")
    ident = models.CharField(max_length=64)
    order = models.PositiveIntegerField()
    label = models.CharField(max_length=300)
    description = models.TextField(blank=True)
    once = models.BooleanField(default=True)
    roles = models.ManyToManyField(Role, related_name="actions")

    class Meta:
        ordering = ["version", "order"]
        constraints = [
            models.UniqueConstraint(fields=["version", "ident"], name="unique_action_ident")
        ]

    def __str__(self) -> str:
        return self.ident


class Request(ImmutableModel):
    """An act that needs someone's authorisation: sent by a `senders` role, decided by
    the `decider` role (the file's `from` and `to`)."""

    version = models.ForeignKey(ScenarioVersion, on_delete=models.CASCADE, related_name="requests")
    ident = models.CharField(max_length=64)
    order = models.PositiveIntegerField()
    label = models.CharField(max_length=300)
    description = models.TextField(blank=True)
    senders = models.ManyToManyField(Role, related_name="sendable_requests")
    decider = models.ForeignKey(Role, on_delete=models.CASCADE, related_name="decided_requests")
    deadline_s = models.PositiveIntegerField(null=True, blank=True)  # clock time after sending
    once = models.BooleanField(default=True)

    class Meta:
        ordering = ["version", "order"]
        constraints = [
            models.UniqueConstraint(fields=["version", "ident"], name="unique_request_ident")
        ]

    def __str__(self) -> str:
        return self.ident


class Countdown(ImmutableModel):
    """A statutory time limit, counted in story time (`scenarios.fiction`) from the first
    moment `starts` holds. Conditions are normalised JSON (`scenarios.conditions`)."""

    version = models.ForeignKey(
        ScenarioVersion, on_delete=models.CASCADE, related_name="countdowns"
    )
    ident = models.CharField(max_length=64)
    order = models.PositiveIntegerField()
    title = models.CharField(max_length=300)
    description = models.TextField(blank=True)
    roles = models.ManyToManyField(Role, related_name="countdowns", blank=True)  # who sees it
    limit_s = models.PositiveIntegerField()
    starts = models.JSONField()
    stops = models.JSONField(null=True, blank=True)
    extends = models.JSONField(default=list)  # [{"when": CONDITION, "by_s": N}], each once
    warn_s = models.JSONField(default=list)  # [N, …] before expiry, longest first

    class Meta:
        ordering = ["version", "order"]
        constraints = [
            models.UniqueConstraint(fields=["version", "ident"], name="unique_countdown_ident")
        ]

    def __str__(self) -> str:
        return self.ident


class Inject(ImmutableModel):
    class Kind(models.TextChoices):
        MESSAGE = "message", _("Message")
        DOCUMENT = "document", _("Document")
        CALL = "call", _("Appel")
        SCENE = "scene", _("Scène")
        CUE = "cue", _("Consigne comédien")
        DECISION = "decision", _("Décision")
        BROADCAST = "broadcast", _("Annonce générale")

    class Trigger(models.TextChoices):
        AT = "at", _("À l'horloge")
        AFTER = "after", _("Après un inject")
        DECISION = "decision", _("Sur une décision")
        ACTION = "action", _("Sur une action")
        MANUAL = "manual", _("Manuel")
        # `any`, a `delay`, a request or a countdown: read `Inject.when`.
        WHEN = "when", _("Sur un événement")

    # Special values of `when.option`.
    OPTION_ANY = "any"
    OPTION_NONE = "none"

    version = models.ForeignKey(ScenarioVersion, on_delete=models.CASCADE, related_name="injects")
    ident = models.CharField(max_length=64)
    order = models.PositiveIntegerField()
    kind = models.CharField(max_length=10, choices=Kind.choices)
    phase = models.ForeignKey(
        Phase, null=True, blank=True, on_delete=models.CASCADE, related_name="injects"
    )
    title = models.CharField(max_length=300)
    body = models.TextField(blank=True)
    sender = models.CharField(max_length=300, blank=True)  # the file's `from`
    # `to: all` is kept as such (it is not the same file as the expanded list), and the
    # resolved recipients are stored too, so the engine never has to expand it.
    to_all = models.BooleanField(default=False)
    to_given = models.BooleanField(default=True)  # False: a broadcast without `to`
    recipients = models.ManyToManyField(Role, related_name="injects")

    trigger = models.CharField(max_length=10, choices=Trigger.choices, db_index=True)
    manual_explicit = models.BooleanField(default=False)  # the file said `manual: true`
    at_s = models.PositiveIntegerField(null=True, blank=True)
    after_inject = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="followers"
    )
    after_delay_s = models.PositiveIntegerField(null=True, blank=True)
    when_decision = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="branches"
    )
    when_option = models.CharField(max_length=64, blank=True)
    when_action = models.ForeignKey(
        Action, null=True, blank=True, on_delete=models.CASCADE, related_name="triggered_injects"
    )
    # Every `when` form, normalised (`scenarios.triggers`); None without `when`.
    when = models.JSONField(null=True, blank=True)
    # The file's `if`, a normalised condition (`scenarios.conditions`); None without.
    condition = models.JSONField(null=True, blank=True)
    reply = models.BooleanField(default=False)  # also to the role whose act triggered it
    repeat = models.BooleanField(default=False)  # once per taking of its `when.action`
    # Flagged by the author (`key_fact: true`): followed by the debrief's knowledge matrix.
    key_fact = models.BooleanField(default=False)

    cue = models.JSONField(null=True, blank=True)  # {say, do, emotion, if: {situation: reaction}}
    options = models.JSONField(null=True, blank=True)  # [{id, label}]
    free_text = models.BooleanField(default=False)
    deadline_s = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["version", "order"]
        constraints = [
            models.UniqueConstraint(fields=["version", "ident"], name="unique_inject_ident")
        ]
        indexes = [models.Index(fields=["version", "trigger", "at_s"])]

    def __str__(self) -> str:
        return self.ident

    @property
    def is_public(self) -> bool:
        """A broadcast to all (or without `to`) reaches every seat and the room display.

        Anything else reaches its resolved recipients (`to: all` on a decision means the
        trainee roles only). The library's "what X receives" and the live engine's
        audience both follow this rule.
        """
        return self.kind == self.Kind.BROADCAST and (self.to_all or not self.to_given)

    @property
    def option_ids(self) -> list[str]:
        return [option["id"] for option in self.options or []]

    @property
    def causes(self) -> list[Cause]:
        """What sets off its `when`, flattened (`any` and delays); [] without one."""
        return causes(self.when) if self.when is not None else []


class Blob(models.Model):
    """Attachment content, stored in the database and addressed by its hash.

    In the database, an import is one transaction: a refused bundle leaves no file
    behind, and a version stays self-contained for replay and export.
    """

    sha256 = models.CharField(max_length=64, primary_key=True)
    size = models.PositiveBigIntegerField()
    content_type = models.CharField(max_length=100)
    data = models.BinaryField()

    def __str__(self) -> str:
        return f"{self.sha256[:12]} ({self.content_type}, {self.size} bytes)"


class Attachment(ImmutableModel):
    inject = models.ForeignKey(Inject, on_delete=models.CASCADE, related_name="attachments")
    order = models.PositiveIntegerField()
    path = models.CharField(max_length=500)  # relative to scenario.yaml, as in the file
    title = models.CharField(max_length=300, blank=True)
    blob = models.ForeignKey(Blob, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["inject", "order"]

    def __str__(self) -> str:
        return self.path

    @property
    def display_title(self) -> str:
        return self.title or self.path.rsplit("/", 1)[-1]


class Objective(ImmutableModel):
    class Measure(models.TextChoices):
        NONE = "", _("Évalué par les formateurs")
        DECISION = "decision", _("Décision")
        ACTION = "action", _("Action")
        MESSAGE = "message", _("Échange entre rôles")
        REQUEST = "request", _("Demande d’autorisation")
        COUNTDOWN = "countdown", _("Délai légal")
        COMBINED = "combined", _("Mesure composée")  # all, any, not, before

    version = models.ForeignKey(
        ScenarioVersion, on_delete=models.CASCADE, related_name="objectives"
    )
    ident = models.CharField(max_length=64)
    order = models.PositiveIntegerField()
    title = models.CharField(max_length=300)
    description = models.TextField(blank=True)
    roles = models.ManyToManyField(Role, related_name="objectives", blank=True)
    measure = models.CharField(max_length=10, choices=Measure.choices, blank=True)
    measure_decision = models.ForeignKey(
        Inject, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    measure_option = models.CharField(max_length=64, blank=True)
    measure_action = models.ForeignKey(
        Action, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    measure_from = models.ForeignKey(
        Role, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    measure_to = models.ForeignKey(
        Role, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    within_s = models.PositiveIntegerField(null=True, blank=True)
    # Every measure, normalised (`scenarios.conditions.Timeline` scores it); the
    # columns above hold the three first forms as they always did.
    measure_spec = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["version", "order"]
        constraints = [
            models.UniqueConstraint(fields=["version", "ident"], name="unique_objective_ident")
        ]

    def __str__(self) -> str:
        return self.ident


# --- authoring in the browser ----------------------------------------------------------


class Draft(models.Model):
    """A scenario being written in the editor: private to its author until submitted.

    `document` is the plain data a scenario file holds (what `scenarios.format`
    validates); `revision` goes up by one at every save, and a save that names an older
    revision is refused (two people on one draft never overwrite each other silently).
    Submitting stores the document as a new version awaiting review (`VersionReview`).
    """

    class State(models.TextChoices):
        EDITING = "editing", _("En rédaction")
        SUBMITTED = "submitted", _("En relecture")
        PUBLISHED = "published", _("Publié")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    slug = models.SlugField(_("identifiant"), max_length=64)
    base_version = models.ForeignKey(
        ScenarioVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="scenario_drafts"
    )
    document = models.JSONField()
    revision = models.PositiveIntegerField(default=1)
    state = models.CharField(max_length=10, choices=State.choices, default=State.EDITING)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at"]
        verbose_name = _("brouillon de scénario")
        verbose_name_plural = _("brouillons de scénario")

    def __str__(self) -> str:
        return f"{self.slug} (draft {self.pk})"

    @property
    def title(self) -> str:
        value = self.document.get("title") if isinstance(self.document, dict) else None
        return value if isinstance(value, str) and value else self.slug


class DraftFile(models.Model):
    """An attachment uploaded to a draft, at the path the document names it by."""

    draft = models.ForeignKey(Draft, on_delete=models.CASCADE, related_name="files")
    path = models.CharField(max_length=500)
    blob = models.ForeignKey(Blob, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["path"]
        constraints = [
            models.UniqueConstraint(fields=["draft", "path"], name="unique_draft_file_path")
        ]

    def __str__(self) -> str:
        return self.path


class VersionReview(models.Model):
    """The second trainer's review of a version submitted from the editor.

    A version without one was imported from a file by a trainer and may run at once; a
    submitted version runs live only once approved. Decided reviews are never edited.
    """

    class State(models.TextChoices):
        PENDING = "pending", _("À relire")
        APPROVED = "approved", _("Approuvée")
        RETURNED = "returned", _("Renvoyée à l’auteur")

    version = models.OneToOneField(ScenarioVersion, on_delete=models.CASCADE, related_name="review")
    draft = models.ForeignKey(Draft, on_delete=models.CASCADE, related_name="reviews")
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    submitted_at = models.DateTimeField(auto_now_add=True)
    note = models.TextField(blank=True)  # the author's word to the reviewer
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    comment = models.TextField(blank=True)  # the reviewer's, required to send back

    class Meta:
        ordering = ["-submitted_at"]
        verbose_name = _("relecture de version")
        verbose_name_plural = _("relectures de version")

    def __str__(self) -> str:
        return f"{self.version} ({self.state})"


def version_is_approved(version: ScenarioVersion) -> bool:
    """May this version start a live session? (Imported, or approved on review.)"""
    if version.scenario.preview:
        return False
    try:
        return version.review.state == VersionReview.State.APPROVED
    except VersionReview.DoesNotExist:
        return True
