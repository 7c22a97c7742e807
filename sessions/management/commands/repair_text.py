"""Repair stored text that is not valid Unicode (lone surrogates, NUL).

    python manage.py repair_text             # repair, one audit line per session
    python manage.py repair_text --dry-run   # list what would change

A value stored before frames were checked ("hello \\ud800" in a message) made screens
and exports fail; reading now repairs it in memory, and this repairs the rows: each
lone surrogate becomes U+FFFD, each NUL is dropped (sessions/repair.py).
"""

from __future__ import annotations

from django.core.management.base import BaseCommand

from sessions.repair import find, repair_all


class Command(BaseCommand):
    help = "Replace lone surrogates and NUL characters stored in events and the audit trail."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="list, change nothing")

    def handle(self, *args, dry_run: bool, **options):
        found = find()
        for session_id, rows in sorted(found.events.items()):
            seqs = ", ".join(str(seq) for seq, _ in sorted(rows.values(), key=lambda r: r[0]))
            self.stdout.write(f"session {session_id}: events {seqs}")
        if found.audit:
            self.stdout.write(f"audit trail: entries {', '.join(map(str, sorted(found.audit)))}")
        if not dry_run:
            repair_all(found, actor="repair_text")
        verb = "would repair" if dry_run else "repaired"
        self.stdout.write(f"{found.total} row(s) {verb}")
