"""Helpers for the scenario-format tests: a small valid scenario as YAML text, a way to
run it through the checks, and positions of text in it (so that tests assert exact
lines and columns without hard-coding numbers that drift when the base changes)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from scenarios.format import Diagnostic, ScenarioInvalid, check_scenario

DATA = Path(__file__).parent / "data"

# Warning-free: two trainees, an actor with a cue, an observer, a phase used, an
# action that police may take, a decision with a deadline. Injects come last so that a
# test can append more by concatenation.
BASE = """\
format: simtrain.scenario/1
slug: essai
title: Essai
language: fr
roles:
  - id: police
    title: Police
    kind: trainee
    profession: police
  - id: parquet
    title: Parquet
    kind: trainee
    profession: prosecutor
  - id: joy
    title: Joy
    kind: actor
  - id: obs
    title: Observateur
    kind: observer
phases:
  - id: p1
    title: Phase 1
actions:
  - id: interprete
    roles: [police]
    label: Demander un interprète
injects:
  - id: start
    kind: broadcast
    phase: p1
    title: Début
    at: 0
  - id: cue1
    kind: cue
    to: [joy]
    title: Joy parle
    at: 1m
  - id: dec
    kind: decision
    to: [parquet]
    title: Décider
    at: 2m
    deadline: 5m
    options:
      - {id: oui, label: Oui}
      - {id: non, label: Non}
"""


def diagnose(text: str | bytes, name: str = "t.yaml") -> list[Diagnostic]:
    """Every diagnostic for `text` uploaded as a lone file (warnings if it is valid)."""
    data = text.encode("utf-8") if isinstance(text, str) else text
    try:
        return check_scenario((name, data)).warnings
    except ScenarioInvalid as invalid:
        return invalid.diagnostics


def codes(diagnostics: list[Diagnostic]) -> list[str]:
    return [d.code for d in diagnostics]


def pos(text: str, needle: str, occurrence: int = 1) -> tuple[int, int]:
    """1-based (line, column) of the `occurrence`-th `needle` in `text`."""
    index = -1
    for _ in range(occurrence):
        index = text.index(needle, index + 1)
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1


def value_pos(text: str, entry: str, occurrence: int = 1) -> tuple[int, int]:
    """Where the value of `key: value` (given as written) starts."""
    line, col = pos(text, entry, occurrence)
    return line, col + entry.index(": ") + 2


def only(diagnostics: list[Diagnostic], code: str) -> Diagnostic:
    """The single diagnostic with `code` (fails listing all of them otherwise)."""
    found = [d for d in diagnostics if d.code == code]
    assert len(found) == 1, "\n".join(str(d) for d in diagnostics)
    return found[0]


def assert_at(diagnostic: Diagnostic, where: tuple[int, int]) -> None:
    assert (diagnostic.line, diagnostic.col) == where, str(diagnostic)


def make_zip(entries: dict[str, bytes], *, symlinks: dict[str, str] | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
        for name, target in (symlinks or {}).items():
            info = zipfile.ZipInfo(name)
            info.create_system = 3
            info.external_attr = 0o120777 << 16
            archive.writestr(info, target)
    return buffer.getvalue()


def bundle_files() -> dict[str, bytes]:
    """The attachment files that full.yaml names, by path."""
    root = DATA / "files"
    return {f"files/{p.name}": p.read_bytes() for p in sorted(root.iterdir())}
