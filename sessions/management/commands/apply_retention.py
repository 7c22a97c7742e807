"""Pseudonymise participants' names in sessions past the retention period.

    python manage.py apply_retention             # SIMTRAIN_RETENTION_DAYS (default 365)
    python manage.py apply_retention --dry-run   # list them only
    python manage.py apply_retention --days 30

Safe to run nightly (cron): a session is pseudonymised once, and each one leaves an
audit entry.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from sessions.retention import apply_retention, retention_days


class Command(BaseCommand):
    help = "Replace participants' display names by pseudonyms after the retention period."

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=None,
                            help="override SIMTRAIN_RETENTION_DAYS for this run")
        parser.add_argument("--dry-run", action="store_true", help="list, change nothing")

    def handle(self, *args, days: int | None, dry_run: bool, **options):
        if days is not None and days < 0:
            raise CommandError("--days must be 0 or more")
        days = retention_days() if days is None else days
        done = apply_retention(now=timezone.now(), days=days, dry_run=dry_run,
                               actor="apply_retention")
        verb = "would pseudonymise" if dry_run else "pseudonymised"
        for session in done:
            self.stdout.write(f"{verb} session {session.pk} « {session.title} » "
                              f"(ended {session.closed:%Y-%m-%d})")
        self.stdout.write(f"{len(done)} session(s) {verb} (retention {days} days)")
