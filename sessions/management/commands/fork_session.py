"""Restart a session from one of its moments: a new session whose log holds the
original's scenario events up to that seq (sessions/engine/fork.py).

    python manage.py fork_session 12 --at-seq 340
    python manage.py fork_session 12 --at-seq 340 --title "Groupe B, reprise"

Prints the new session's id. The new session belongs to the original's trainer, its
seats are free and its clock is paused at that moment.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from sessions import engine
from sessions.models import Session


class Command(BaseCommand):
    help = "Create a new session replaying SESSION up to --at-seq, then paused (prints its id)."

    def add_arguments(self, parser):
        parser.add_argument("session", type=int, help="the original session's id")
        parser.add_argument("--at-seq", type=int, required=True, help="the last event to keep")
        parser.add_argument("--title", default="", help="the new session's title")

    def handle(self, *args, session: int, at_seq: int, title: str, **options):
        original = Session.objects.filter(pk=session).first()
        if original is None:
            raise CommandError(f"no session {session}")
        principal = engine.TrainerPrincipal(user_id=original.trainer_id)
        try:
            fork = engine.session_fork(
                session_id=session, principal=principal, at_seq=at_seq, title=title
            )
        except engine.EngineError as err:
            raise CommandError(f"{err.code}: {err.message}") from None
        self.stdout.write(str(fork.pk))
