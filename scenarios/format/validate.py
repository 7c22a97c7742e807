"""Validation of a loaded scenario: its shape (pydantic) and its meaning.

Everything wrong is reported at once, compiler style, each problem at the line and
column of the key or value concerned. Only two things stop early: a file that is not
YAML at all (the loader) and a `format` this platform does not read (nothing else can
be judged against the wrong rules).

The steps, each its own module: `diagnose` turns pydantic's errors into the format's
messages; `namespaces` gathers the items that could be read, so that a malformed item
does not hide the others' mistakes; `check_items`, `check_law` and `trigger_graph`
check what the parts say of one another. Warnings are only worked out for a document
whose shape is entirely valid.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import ValidationError

from scenarios.format.bundle import Bundle
from scenarios.format.check_items import ItemChecks
from scenarios.format.content import CONTENT_CHECKS, content_mismatch
from scenarios.format.diagnose import report_schema_errors, show
from scenarios.format.errors import Diagnostic, Reporter
from scenarios.format.loader import LoadedYaml
from scenarios.format.namespaces import build_namespaces
from scenarios.format.schema import FORMAT, SUPPORTED_FORMATS, Scenario
from scenarios.format.trigger_graph import GraphChecks


@dataclass
class Validated:
    doc: Scenario
    files: dict[str, bytes]  # attachment path -> content, for every attachment named
    warnings: list[Diagnostic] = field(default_factory=list)


class Checker(ItemChecks, GraphChecks):
    """Every check of a scenario's meaning."""


def validate(loaded: LoadedYaml, bundle: Bundle | None) -> Validated:
    """Check a loaded document entirely. Raises ScenarioInvalid with every error found
    (and the warnings, when they could be worked out); returns the document and its
    attachment files otherwise."""
    reporter = Reporter(loaded.name)
    reporter.diagnostics.extend(loaded.diagnostics)
    data = loaded.data
    if not isinstance(data, dict):
        got = "an empty file" if data is None else show(data)
        reporter.add(
            "bad-type",
            f"a scenario is a YAML mapping that starts with 'format: {FORMAT}'; got {got}",
            (1, 1),
        )
        raise reporter.fail()
    if "format" not in data:
        reporter.add(
            "missing-key", f"'format' is required: start the file with 'format: {FORMAT}'", (1, 1)
        )
        raise reporter.fail()
    if data["format"] not in SUPPORTED_FORMATS:
        reporter.add(
            "unsupported-format",
            f"format {show(data['format'])} is not supported; "
            f"supported: {', '.join(SUPPORTED_FORMATS)}",
            loaded.at(("format",)),
        )
        raise reporter.fail()

    doc: Scenario | None = None
    try:
        doc = Scenario.model_validate(data)
    except ValidationError as exc:
        report_schema_errors(exc, loaded, reporter)

    checker = Checker(loaded, reporter, build_namespaces(data, doc), bundle)
    checker.check_duplicates()
    checker.check_roles()
    checker.check_actions()
    checker.check_requests()
    checker.check_countdowns()
    checker.check_fiction()
    checker.check_injects()
    checker.check_cycles()
    checker.check_objectives()
    if doc is not None:
        checker.warn(doc)
        checker.warn_never_happens(doc)

    if reporter.has_errors:
        raise reporter.fail()
    return Validated(doc=doc, files=checker.files, warnings=list(reporter.diagnostics))


__all__ = ["CONTENT_CHECKS", "Checker", "Validated", "content_mismatch", "validate"]
