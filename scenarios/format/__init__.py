"""The scenario file format, `simtrain.scenario/1`: read, check, write.

Pure Python, no database: `check_scenario(source)` reads a YAML file, a workbook, a
folder or a zip (on disk or uploaded), validates it entirely and returns the document
with its canonical export; `scenarios.services` stores it. The steps, each its own module:

    bundle    source → YAML bytes (or a workbook) + attachment files, within the limits
    loader    YAML bytes → data, YAML 1.2 core schema, no aliases/tags, positions
    xlsx      workbook bytes ⇄ the same data, each value's position a sheet's cell
    schema    the format as pydantic models (values: their value types; law: story
              time, countdowns, requests, conditions, safety), and its JSON Schema
    validate  shape and meaning of the data → the document, or every error
              (diagnose, namespaces, checker, check_items, check_law, trigger_graph)
    export    the document → canonical YAML, folder, zip
    stored    the law keys as the normalised JSON a version stores, and back
"""

from __future__ import annotations

from dataclasses import dataclass

from scenarios.format.bundle import MAX_BUNDLE_BYTES, Source, open_bundle
from scenarios.format.errors import CODES, Diagnostic, ScenarioInvalid, Severity
from scenarios.format.export import ExportedScenario, canonical_dict, export_document
from scenarios.format.loader import MAX_YAML_BYTES, load_yaml
from scenarios.format.schema import FORMAT, SUPPORTED_FORMATS, Scenario, json_schema
from scenarios.format.validate import validate
from scenarios.format.xlsx import read_workbook


@dataclass(frozen=True)
class CheckedScenario:
    """A scenario that passed every check, ready to be stored."""

    doc: Scenario
    exported: ExportedScenario  # canonical YAML and the attachment files
    warnings: list[Diagnostic]
    source_name: str  # the file, folder or zip name it came from

    @property
    def slug(self) -> str:
        return self.doc.slug

    @property
    def files(self) -> dict[str, bytes]:
        return self.exported.files

    @property
    def content_hash(self) -> str:
        return self.exported.content_hash


def check_scenario(source: Source) -> CheckedScenario:
    """Read and validate a scenario. Raises ScenarioInvalid with every error found."""
    bundle = open_bundle(source)
    if bundle.workbook is not None:
        loaded = read_workbook(bundle.workbook, name=bundle.name)
    else:
        loaded = load_yaml(bundle.yaml, name=bundle.name)
    validated = validate(loaded, bundle)
    return CheckedScenario(
        doc=validated.doc,
        exported=export_document(validated.doc, validated.files),
        warnings=validated.warnings,
        source_name=bundle.source_name,
    )


__all__ = [
    "CODES",
    "FORMAT",
    "MAX_BUNDLE_BYTES",
    "MAX_YAML_BYTES",
    "SUPPORTED_FORMATS",
    "CheckedScenario",
    "Diagnostic",
    "ExportedScenario",
    "Scenario",
    "ScenarioInvalid",
    "Severity",
    "Source",
    "canonical_dict",
    "check_scenario",
    "json_schema",
]
