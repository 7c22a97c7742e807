"""Dependencies with known CVEs below a version: declared, locked and installed above it.

Daphne < 4.2.2 and Twisted < 24.7 have published vulnerabilities (Twisted:
CVE-2024-41671, CVE-2024-41810). pyproject.toml must forbid them, requirements.lock
must pin above them, and the environment running the tests must have them.
"""

from __future__ import annotations

import importlib.metadata
import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]

# distribution -> the first version without the known CVEs
FLOORS = {
    "daphne": Version("4.2.2"),
    "twisted": Version("24.7"),
}
# Releases below the floor that the declared range must refuse.
VULNERABLE = {
    "daphne": ["4.2.1", "4.2.0", "4.1.2", "4.0.0", "3.0.2"],
    "twisted": ["24.3.0", "23.10.0", "22.10.0"],
}


def _declared() -> dict[str, Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    requirements = (Requirement(line) for line in project["dependencies"])
    return {canonicalize_name(r.name): r for r in requirements}


def _locked() -> dict[str, Version]:
    pins = {}
    for line in (ROOT / "requirements.lock").read_text(encoding="utf-8").splitlines():
        found = re.match(r"^([A-Za-z0-9_.\-]+)==([^\s;#]+)", line.strip())
        if found:
            pins[canonicalize_name(found[1])] = Version(found[2])
    return pins


@pytest.mark.parametrize("name", sorted(FLOORS))
def test_pyproject_declares_the_floor(name):
    declared = _declared()
    assert name in declared, f"{name} is not a direct dependency in pyproject.toml"
    spec = declared[name].specifier
    lower_bounds = [Version(s.version) for s in spec if s.operator in (">=", ">", "~=", "==")]
    assert lower_bounds and max(lower_bounds) >= FLOORS[name], (
        f"pyproject.toml allows {name} below {FLOORS[name]}: {spec or 'no bound'}"
    )
    # Whatever the operators, no vulnerable release is admitted.
    for version in VULNERABLE[name]:
        assert not spec.contains(version, prereleases=True), f"{name} {spec} admits {version}"


@pytest.mark.parametrize("name", sorted(FLOORS))
def test_lock_pins_above_the_floor(name):
    locked = _locked()
    assert name in locked, f"{name} is not pinned in requirements.lock"
    assert locked[name] >= FLOORS[name], f"requirements.lock pins {name}=={locked[name]}"


@pytest.mark.parametrize("name", sorted(FLOORS))
def test_installed_version_is_above_the_floor(name):
    installed = Version(importlib.metadata.version(name))
    assert installed >= FLOORS[name], f"{name} {installed} is installed"
