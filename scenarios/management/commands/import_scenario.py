"""Import scenario files, workbooks, folders or zips into the library (all, or none)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from scenarios.format import ScenarioInvalid
from scenarios.services import scenario_import_many


class Command(BaseCommand):
    help = (
        "Import scenarios (a .yaml/.yml file, an .xlsx workbook, a folder holding "
        "scenario.yaml or scenario.xlsx, or a .zip of one). "
        "Every path is checked first; if any is invalid, nothing is imported."
    )

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+", metavar="PATH")
        parser.add_argument("--check", action="store_true", help="validate only; write nothing")

    def handle(self, *args, paths: list[str], check: bool, **options):
        try:
            results = scenario_import_many(sources=paths, check_only=check)
        except ScenarioInvalid as invalid:
            for diagnostic in invalid.diagnostics:
                self.stderr.write(str(diagnostic))
            count = len(invalid.errors)
            raise CommandError(
                f"{count} error{'s' if count != 1 else ''}; nothing was imported",
                returncode=1,
            ) from None
        for result in results:
            for warning in result.warnings:
                self.stderr.write(str(warning))
            if check:
                state = "identical to" if result.unchanged else "would be"
                self.stdout.write(f"{result.slug}: valid ({state} v{result.number})")
            else:
                unchanged = " (unchanged)" if result.unchanged else ""
                self.stdout.write(f"{result.slug} v{result.number}{unchanged}")
