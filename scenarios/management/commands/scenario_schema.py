"""Print or write the JSON Schema of the scenario format (docs/scenario.schema.json)."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand

from scenarios.format.schema import json_schema_text


class Command(BaseCommand):
    help = (
        "Print the JSON Schema of simtrain.scenario/1, or write it with -o "
        "(python manage.py scenario_schema -o docs/scenario.schema.json)."
    )

    requires_system_checks = []  # pure Python: it needs neither the database nor the URLs

    def add_arguments(self, parser):
        parser.add_argument("-o", "--output", metavar="FILE")

    def handle(self, *args, output: str | None, **options):
        text = json_schema_text()
        if output is None:
            self.stdout.write(text, ending="")
            return
        Path(output).write_text(text, encoding="utf-8")
        self.stdout.write(f"JSON Schema written to {output}")
