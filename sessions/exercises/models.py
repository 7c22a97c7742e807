"""An exercise of several syndicates. Sessions are named by string: no import of sessions.models.

Deleting a syndicate's session deletes its `Syndicate` row (cascade) and leaves the
exercise and the other syndicates as they are. The exercise itself holds no personal
data (title, cohort); an `ExerciseEntry` (a name waiting for a team) is deleted the
moment its trainee is placed, the name then living in that session's lobby entry and
seat, which pseudonymisation and deletion of the session already cover.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from scenarios.models import ScenarioVersion
from sessions.codes import CODE_LENGTH, new_session_code
from sessions.waiting import WaitingEntry

MIN_SYNDICATES, MAX_SYNDICATES = 2, 8


class Exercise(models.Model):
    class Placement(models.TextChoices):
        # Each syndicate's own code (and its own join mode).
        CODES = "codes", _("Un code par équipe")
        # One code for everyone: the platform spreads each profession across the teams.
        BALANCE = "balance", _("Un seul code, équipes équilibrées par profession")
        # One code for everyone: trainees wait, the trainer sends each one to a team.
        ASSIGN = "assign", _("Un seul code, le formateur répartit")

    version = models.ForeignKey(ScenarioVersion, on_delete=models.PROTECT, related_name="+")
    trainer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="led_exercises"
    )
    title = models.CharField(_("titre"), max_length=300)
    cohort = models.CharField(_("promotion"), max_length=200, blank=True)
    # The one exercise code (placements balance and assign); unique among exercises,
    # and minted so as not to be any session's code (services.exercise_create).
    code = models.CharField(max_length=CODE_LENGTH, unique=True, default=new_session_code)
    placement = models.CharField(max_length=10, choices=Placement.choices, default=Placement.CODES)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("exercice en équipes")
        verbose_name_plural = _("exercices en équipes")

    def __str__(self) -> str:
        return f"{self.title} ({self.code})"

    @property
    def one_code(self) -> bool:
        return self.placement != self.Placement.CODES


class Syndicate(models.Model):
    """One team of an exercise: a whole session of its own."""

    exercise = models.ForeignKey(Exercise, on_delete=models.CASCADE, related_name="syndicates")
    session = models.OneToOneField(
        "live.Session", on_delete=models.CASCADE, related_name="syndicate"
    )
    number = models.PositiveIntegerField()  # 1..N, as the room calls the teams

    class Meta:
        ordering = ["exercise", "number"]
        constraints = [
            models.UniqueConstraint(fields=["exercise", "number"], name="unique_syndicate"),
        ]

    def __str__(self) -> str:
        return f"{self.exercise_id} #{self.number}"

    @property
    def label(self) -> str:
        return _("Équipe %(n)d") % {"n": self.number}


class ExerciseEntry(WaitingEntry):
    """A trainee who came in with the exercise code and waits to be sent to a team (assign)."""

    class State(models.TextChoices):
        WAITING = "waiting", _("En attente")

    exercise = models.ForeignKey(Exercise, on_delete=models.CASCADE, related_name="entries")
    state = models.CharField(max_length=10, choices=State.choices, default=State.WAITING)

    class Meta:
        ordering = ["exercise", "created_at"]
