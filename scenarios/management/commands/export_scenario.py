"""Export a scenario version in the canonical format: to stdout, a .yaml, a .zip or a
folder, or as a spreadsheet workbook (.xlsx, or a .zip or folder holding scenario.xlsx)."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from scenarios.format.xlsx import (
    WORKBOOK_FILE,
    WorkbookUnfit,
    exported_workbook,
    exported_workbook_zip,
)
from scenarios.models import Scenario, ScenarioVersion
from scenarios.services import scenario_export


class Command(BaseCommand):
    help = (
        "Export a scenario version (default: the latest) as canonical YAML on stdout, or "
        "with -o to FILE.yaml, FILE.zip or FOLDER/ (needed when it has attachments), or as "
        "a workbook to FILE.xlsx (--xlsx with FILE.zip or FOLDER/: scenario.xlsx and the "
        "attachments)."
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
        parser.add_argument(
            "--xlsx",
            action="store_true",
            help=f"with -o FILE.zip or FOLDER/: {WORKBOOK_FILE} rather than scenario.yaml",
        )

    def handle(
        self,
        *args,
        slug: str,
        number: int | None,
        output: str | None,
        xlsx: bool = False,
        **options,
    ):
        version = self._version(slug, number)
        exported = scenario_export(version=version)
        label = f"{slug} v{version.number}"
        target = Path(output) if output is not None else None
        if xlsx or (target is not None and target.suffix.lower() == ".xlsx"):
            try:
                self._write_workbook(exported, label, output)
            except WorkbookUnfit as unfit:
                raise CommandError(
                    f"{label} cannot be written as a workbook: {unfit}", returncode=1
                ) from None
            self.stdout.write(f"{label} written to {output}")
            return
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

    def _write_workbook(self, exported, label: str, output: str | None) -> None:
        """FILE.xlsx alone, or a zip or folder holding scenario.xlsx and the files."""
        if output is None:
            raise CommandError(
                "a workbook is not text: give -o FILE.xlsx, -o FILE.zip or -o FOLDER/",
                returncode=1,
            )
        target = Path(output)
        if output.endswith(("/", "\\")) or target.is_dir():
            target.mkdir(parents=True, exist_ok=True)
            (target / WORKBOOK_FILE).write_bytes(exported_workbook(exported))
            for name, data in exported.files.items():
                path = target / name
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(data)
        elif target.suffix.lower() == ".zip":
            target.write_bytes(exported_workbook_zip(exported))
        elif target.suffix.lower() == ".xlsx":
            if exported.files:
                raise CommandError(
                    f"{label} has {len(exported.files)} attachment file(s): export it with "
                    "--xlsx -o FILE.zip or --xlsx -o FOLDER/",
                    returncode=1,
                )
            target.write_bytes(exported_workbook(exported))
        else:
            raise CommandError(
                f"cannot tell how to write '{output}' as a workbook: give FILE.xlsx, "
                "FILE.zip or FOLDER/",
                returncode=1,
            )

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
