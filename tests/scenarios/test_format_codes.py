"""The diagnostic codes are a contract: each is documented, each has a test."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from scenarios.format import CODES, Diagnostic, ScenarioInvalid, Severity, check_scenario

HERE = Path(__file__).parent
GUIDE = HERE.parents[1] / "docs" / "scenario-format.md"


def documented() -> dict[str, str]:
    rows = re.findall(r"^\| `([a-z0-9-]+)` \| (error|warning) \|", GUIDE.read_text(), re.M)
    return dict(rows)


def test_every_code_is_documented_with_its_severity():
    assert documented() == {code: severity for code, (severity, _meaning) in CODES.items()}


def test_every_code_is_asserted_by_a_test():
    sources = "".join(
        path.read_text()
        for pattern in ("test_format_*.py", "test_services.py", "test_commands.py")
        for path in HERE.glob(pattern)
        if path.name != Path(__file__).name
    )
    untested = [code for code in CODES if f'"{code}"' not in sources and f"[{code}]" not in sources]
    assert untested == []


def test_diagnostic_format():
    diagnostic = Diagnostic.of(
        "unknown-role",
        "inject 'call-ase' sends to unknown role 'asso' (known: police)",
        file="nigerian-minors.yaml",
        line=42,
        col=7,
    )
    assert str(diagnostic) == (
        "nigerian-minors.yaml:42:7: error: inject 'call-ase' sends to unknown role 'asso' "
        "(known: police) [unknown-role]"
    )
    assert str(Diagnostic.of("bad-zip", "not a zip", file="x.zip")) == (
        "x.zip: error: not a zip [bad-zip]"
    )
    assert str(
        Diagnostic.of("empty-phase", "phase 'p' has no inject", file="s.yaml", line=3, col=9)
    ) == ("s.yaml:3:9: warning: phase 'p' has no inject [empty-phase]")


def test_undeclared_codes_are_refused():
    with pytest.raises(ValueError, match="undeclared"):
        Diagnostic(Severity.ERROR, "made-up", "x")


def test_scenario_invalid_needs_an_error():
    warning = Diagnostic.of("empty-phase", "x", file="a")
    with pytest.raises(ValueError):
        ScenarioInvalid([warning])
    error = Diagnostic.of("bad-zip", "x", file="a")
    invalid = ScenarioInvalid([warning, error])
    assert invalid.errors == [error] and invalid.warnings == [warning]
    assert str(invalid) == "a: error: x [bad-zip]"


def test_the_guides_first_example_imports_cleanly():
    example = re.search(r"```yaml\n(format: simtrain.scenario/1\n.*?)```", GUIDE.read_text(), re.S)
    checked = check_scenario(("guide.yaml", example.group(1).encode()))
    assert checked.warnings == []


def test_every_whole_scenario_in_the_guide_imports_cleanly():
    examples = re.findall(
        r"```yaml\n(format: simtrain.scenario/1\n.*?)```", GUIDE.read_text(), re.S
    )
    assert len(examples) >= 2
    for example in examples:
        assert check_scenario(("guide.yaml", example.encode())).warnings == []
