"""Export a scenario version in the canonical format: to stdout, a .yaml, a .zip or a folder."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from scenarios.models import Scenario, ScenarioVersion
from scenarios.services import scenario_export


class Command(BaseCommand):
    help = (
        "Export a scenario version (default: the latest) as canonical YAML on stdout, or "
        "with -o to FILE.yaml, FILE.zip or FOLDER/ (needed when it has attachments)."
    )

    def create_parser(self, prog_name, subcommand, **kwargs):
        # `--version N` picks a scenario version here; Django's own `--version` (which
        # prints Django's version) gives way to it.
        kwargs.setdefault("conflict_handler", "resolve")
        return super().create_parser(prog_name, subcommand, **kwargs)

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument(
            "--version", type=int, dest="number", metavar="N", help="default: the latest"
        )
        parser.add_argument("-o", "--output", metavar="FILE")

    def handle(self, *args, slug: str, number: int | None, output: str | None, **options):
        version = self._version(slug, number)
        exported = scenario_export(version=version)
        label = f"{slug} v{version.number}"
        needs_bundle = (
            f"{label} has {len(exported.files)} attachment file(s): export it with "
            "-o FILE.zip or -o FOLDER/"
        )
        if output is None:
            if exported.files:
                raise CommandError(needs_bundle, returncode=1)
            self.stdout.write(exported.yaml, ending="")
            return
        target = Path(output)
        if output.endswith(("/", "\\")) or target.is_dir():
            exported.write_folder(target)
        elif target.suffix.lower() == ".zip":
            exported.write_zip(target)
        elif target.suffix.lower() in (".yaml", ".yml"):
            if exported.files:
                raise CommandError(needs_bundle, returncode=1)
            exported.write_yaml(target)
        else:
            raise CommandError(
                f"cannot tell how to write '{output}': give FILE.yaml, FILE.zip or FOLDER/",
                returncode=1,
            )
        self.stdout.write(f"{label} written to {output}")

    def _version(self, slug: str, number: int | None) -> ScenarioVersion:
        scenario = Scenario.objects.filter(slug=slug).first()
        if scenario is None:
            known = ", ".join(Scenario.objects.values_list("slug", flat=True)) or "none"
            raise CommandError(f"no scenario '{slug}' (known: {known})", returncode=1)
        versions = scenario.versions.order_by("-number")
        version = versions.filter(number=number).first() if number else versions.first()
        if version is None:
            numbers = ", ".join(f"v{n}" for n in sorted(versions.values_list("number", flat=True)))
            raise CommandError(
                f"scenario '{slug}' has no version {number} (versions: {numbers or 'none'})",
                returncode=1,
            )
        return version
