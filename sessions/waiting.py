"""A trainee who entered a code and waits to be placed: a session's lobby, an exercise's.

Abstract, so each keeps its own table and states; in a module of its own, so that
`sessions.exercises.models` needs no import of `sessions.models`.
"""

from __future__ import annotations

from django.db import models

from scenarios.models import Role


class WaitingEntry(models.Model):
    name = models.CharField(max_length=100)
    pass_key = models.CharField(max_length=64, db_index=True)
    wanted_role = models.ForeignKey(
        Role, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.name} ({self.get_state_display()})"
