"""The law keys' mistakes, one file each in data/law-mistakes/: every diagnostic they
give is marked on its line with `# expect: CODE`, and nothing else is reported."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from scenarios.format import CODES, ScenarioInvalid, Severity, check_scenario
from tests.scenarios.format_helpers import DATA, diagnose

MISTAKES = DATA / "law-mistakes"
EXPECT = re.compile(r"#\s*expect:\s*([a-z-]+)")
FILES = sorted(MISTAKES.glob("*.yaml"))

# The codes added with the law keys.
LAW_CODES = {
    "unknown-request",
    "unknown-countdown",
    "request-to-non-trainee",
    "request-from-empty",
    "repeat-without-repeatable-action",
    "reply-without-act",
    "jumps-out-of-order",
    "request-without-trainee",
    "countdown-never-starts",
    "if-never-holds",
}


def expected(text: str) -> list[tuple[int, str]]:
    return sorted(
        (number, code)
        for number, line in enumerate(text.splitlines(), start=1)
        for code in EXPECT.findall(line)
    )


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_each_mistake_is_reported_on_its_line(path: Path):
    text = path.read_text(encoding="utf-8")
    assert expected(text), f"{path.name} marks no expected diagnostic"
    found = sorted((d.line, d.code) for d in diagnose(text, path.name))
    assert found == expected(text), "\n".join(str(d) for d in diagnose(text, path.name))


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_a_file_with_errors_is_refused_and_one_with_warnings_imports(path: Path):
    codes = {code for _line, code in expected(path.read_text(encoding="utf-8"))}
    if any(CODES[code][0] == Severity.ERROR for code in codes):
        with pytest.raises(ScenarioInvalid):
            check_scenario(path)
    else:
        assert {w.code for w in check_scenario(path).warnings} == codes


def test_every_law_code_has_its_file():
    covered = {code for path in FILES for _line, code in expected(path.read_text())}
    assert LAW_CODES <= covered
    assert LAW_CODES <= set(CODES)
