"""Checking a scenario held as data (a draft in the browser editor), field by field.

The editor keeps the document as the plain data a YAML file holds. Rather than a second
validator, the data is written as canonical YAML and read back through the very loader
and validator an import uses; each diagnostic's (line, column) is then mapped back to
the data path it points at (`("injects", 3, "when", "decision")`), so the editor can
show it beside its field. What imports refuse, a draft is refused; nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from scenarios.format import CheckedScenario
from scenarios.format.bundle import MemoryBundle
from scenarios.format.errors import Diagnostic, ScenarioInvalid, Severity
from scenarios.format.export import SCENARIO_FILE, dump_yaml, export_document
from scenarios.format.loader import DataPath, LoadedYaml, load_yaml
from scenarios.format.validate import validate


@dataclass(frozen=True)
class FieldDiagnostic:
    """One problem of a draft, at the data path of the field it is about."""

    severity: Severity
    code: str
    message: str
    path: DataPath

    @property
    def is_error(self) -> bool:
        return self.severity == Severity.ERROR

    @property
    def anchor(self) -> str:
        """The editor's id for the field at `path` (`f-injects-3-when-decision`)."""
        return field_anchor(self.path)


def field_anchor(path: DataPath) -> str:
    return "f-" + "-".join(str(part) for part in path) if path else "f-root"


@dataclass(frozen=True)
class DocumentCheck:
    diagnostics: list[FieldDiagnostic]
    checked: CheckedScenario | None  # None: the document has errors

    @property
    def errors(self) -> list[FieldDiagnostic]:
        return [d for d in self.diagnostics if d.is_error]

    @property
    def warnings(self) -> list[FieldDiagnostic]:
        return [d for d in self.diagnostics if not d.is_error]

    @property
    def ok(self) -> bool:
        return self.checked is not None


def _path_finder(loaded: LoadedYaml):
    """(line, col) → the data path written there.

    A value's own position wins over a key's: a missing key is reported where its
    mapping starts, which is also where the mapping's first key is written.
    """
    values: dict[tuple[int, int], DataPath] = {}
    keys: dict[tuple[int, int], DataPath] = {}
    by_line: dict[int, DataPath] = {}
    for table, found in ((loaded.values, values), (loaded.keys, keys)):
        for path, (line, col) in table.items():
            if len(path) >= len(found.get((line, col), ())):
                found[(line, col)] = path
            if line not in by_line or len(path) < len(by_line[line]):
                by_line[line] = path

    def find(line: int | None, col: int | None) -> DataPath:
        if line is None:
            return ()
        at = (line, col or 0)
        return values.get(at) or keys.get(at) or by_line.get(line, ())

    return find


def check_document(data: Any, files: dict[str, bytes], *, name: str = SCENARIO_FILE):
    """Validate `data` (+ its attachment files) exactly as an import would."""
    text = dump_yaml(data if isinstance(data, dict) else {}).encode()
    bundle = MemoryBundle(files=files, name=name, source_name=name, yaml=text)
    loaded: LoadedYaml | None = None
    try:
        loaded = load_yaml(text, name=name)
        validated = validate(loaded, bundle)
    except ScenarioInvalid as invalid:
        return DocumentCheck(_located(invalid.diagnostics, loaded), None)
    checked = CheckedScenario(
        doc=validated.doc,
        exported=export_document(validated.doc, validated.files),
        warnings=validated.warnings,
        source_name=name,
    )
    return DocumentCheck(_located(validated.warnings, loaded), checked)


def _located(diagnostics: list[Diagnostic], loaded: LoadedYaml | None) -> list[FieldDiagnostic]:
    find = _path_finder(loaded) if loaded is not None else (lambda line, col: ())
    return [
        FieldDiagnostic(d.severity, d.code, d.message, find(d.line, d.col))
        for d in sorted(diagnostics, key=lambda d: d.sort_key)
    ]
