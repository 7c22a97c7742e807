"""Export a session's full log as JSON (re-importable with import_session).

    python manage.py export_session 12 -o promo-2026.json
"""

from __future__ import annotations

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from sessions.audit import audit_record
from sessions.exports import dumps, export_session
from sessions.models import AuditEntry, Session


class Command(BaseCommand):
    help = "Export a session (its log, seats and scenario version) as a JSON file."

    def add_arguments(self, parser):
        parser.add_argument("session_id", type=int)
        parser.add_argument("-o", "--output", metavar="FILE",
                            help="where to write (default: standard output)")

    def handle(self, *args, session_id: int, output: str | None, **options):
        session = Session.objects.select_related("version__scenario").filter(pk=session_id).first()
        if session is None:
            raise CommandError(f"no session {session_id}")
        text = dumps(export_session(session))
        if output:
            Path(output).write_text(text, encoding="utf-8")
            self.stderr.write(f"session {session.pk} « {session.title} » → {output} "
                              f"({session.last_seq} events)")
        else:
            sys.stdout.write(text)
        audit_record(user=None, actor="cli", action=AuditEntry.Action.SESSION_EXPORTED,
                     session=session, details={"format": "json", "file": output or "-"})
