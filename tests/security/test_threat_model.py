"""docs/security.md: every threat names a test, and every test it names exists."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "security.md"
REF = re.compile(r"`((?:[a-z_]+/)?test_[a-z_0-9]+\.py)(?:::(test_[a-z_0-9]+))?")


def test_every_threat_names_tests_that_exist():
    text = DOC.read_text(encoding="utf-8")
    rows = [line for line in text.splitlines() if re.match(r"\| T\d+ \|", line)]
    assert len(rows) >= 10
    for row in rows:
        refs = REF.findall(row)
        assert refs, f"threat without a test: {row[:60]}"
        for path, name in refs:
            file = ROOT / "tests" / path
            assert file.exists(), f"{path} named in docs/security.md does not exist"
            if name:
                source = file.read_text(encoding="utf-8")
                assert re.search(rf"def {name}\b", source), f"{path}::{name} does not exist"
