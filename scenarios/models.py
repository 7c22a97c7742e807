"""The scenario library: a Scenario (stable slug) has immutable ScenarioVersions.

A version is stored relationally where the live engine queries it (roles, phases,
actions, injects and their triggers, objectives); free-form bits that the engine only
displays (a cue's lines, an actor's character sheet, decision options) are JSON.
Ids from the file (`ident`) are unique within their version.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


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

    class Meta:
        ordering = ["version", "order"]
        constraints = [
            models.UniqueConstraint(fields=["version", "ident"], name="unique_objective_ident")
        ]

    def __str__(self) -> str:
        return self.ident
