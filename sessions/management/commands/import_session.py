"""Import a session exported with export_session (all or nothing).

    python manage.py import_session promo-2026.json
    python manage.py import_session promo-2026.json --trainer alice
    python manage.py import_session promo-2026.json --copy      # import the same file again

Exit status 1 with every problem listed if the file cannot be imported; nothing is
written then.
"""

from __future__ import annotations

from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from sessions.exports import SessionImportError, import_session, loads


class Command(BaseCommand):
    help = "Import a session from an export_session JSON file, with its scenario version."

    def add_arguments(self, parser):
        parser.add_argument("file", metavar="FILE.json")
        parser.add_argument("--trainer", metavar="USERNAME",
                            help="the trainer who holds it here, if the file's trainer has "
                                 "no account on this installation")
        parser.add_argument("--copy", action="store_true",
                            help="import a file that was already imported, as a new session")

    def handle(self, *args, file: str, trainer: str | None, copy: bool, **options):
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"{file}: no such file")
        lead = None
        if trainer:
            lead = get_user_model().objects.filter(username=trainer).first()
            if lead is None:
                raise CommandError(f"--trainer: no account named {trainer!r}")
        try:
            session = import_session(loads(path.read_bytes()), trainer=lead,
                                     source_name=path.name, allow_copy=copy)
        except SessionImportError as err:
            for error in err.errors:
                self.stderr.write(f"error: {error}")
            raise CommandError(f"{file}: not imported ({len(err.errors)} problem(s)); "
                               "nothing was written") from None
        self.stdout.write(f"imported as session {session.pk} « {session.title} » "
                          f"({session.last_seq} events, scenario "
                          f"{session.version.scenario.slug} v{session.version.number})")
