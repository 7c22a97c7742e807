"""The diff of stored versions, and of a draft against the version it started from.

`scenarios.diff` compares plain documents; this reads them from the database (the
canonical dict of a version and its attachment files) so views and the editor share
one way of doing it.
"""

from __future__ import annotations

from typing import Any

from scenarios.diff import ScenarioDiff, diff_documents
from scenarios.format import canonical_dict
from scenarios.format.document import check_document
from scenarios.models import ScenarioVersion
from scenarios.services import scenario_document


def version_content(version: ScenarioVersion) -> tuple[dict[str, Any], dict[str, bytes]]:
    """(canonical dict, attachment files) of a stored version."""
    doc, files = scenario_document(version=version)
    return canonical_dict(doc), files


def diff_versions(old_version: ScenarioVersion, new_version: ScenarioVersion) -> ScenarioDiff:
    """What changes from `old_version` to `new_version` (any two, in either order)."""
    old, old_files = version_content(old_version)
    if new_version.pk == old_version.pk:
        return diff_documents(old, old, old_files, old_files)
    new, new_files = version_content(new_version)
    return diff_documents(old, new, old_files, new_files)


def diff_draft(
    version: ScenarioVersion | None, document: dict[str, Any], files: dict[str, bytes]
) -> ScenarioDiff:
    """What a draft's `document` (+ its `files`) changes from `version` (None: a new
    scenario, so everything is added).

    A draft that passes the import's validator is compared in canonical form (`to:
    police` and `to: [police]`, `600` and `10m` are the same); one with errors as it is.
    """
    check = check_document(document, files)
    if check.checked is not None:
        document = canonical_dict(check.checked.doc)
    if version is None:
        return diff_documents({}, document, {}, files)
    old, old_files = version_content(version)
    return diff_documents(old, document, old_files, files)
