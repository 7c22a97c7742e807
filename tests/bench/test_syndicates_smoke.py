"""The syndicates benchmark's harness works end to end on a tiny case (not the benchmark).

Embedded shape, an exercise of 2 syndicates × 3 seats driven from its control room, a few
broadcasts to all teams, in a subprocess (`python -m bench.syndicates --smoke`).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from django.conf import settings


def test_the_harness_measures_a_tiny_exercise(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "bench.syndicates", "--smoke", "--out", str(tmp_path)],
        cwd=Path(settings.BASE_DIR), capture_output=True, text=True, timeout=180,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    result = json.loads((tmp_path / "syndicates.json").read_text())
    assert result["case"] == "exercise-2x3" and result["connect"]["connected"] == 6, result
    assert result["refused"] == 0
    for phase in ("steady", "burst"):
        measured = result["phases"][phase]
        assert measured["fired"] > 0 and measured["fired"] % 2 == 0  # one per team
        assert measured["reach"] == 1.0, result
        assert measured["events"] == measured["expected"] == measured["fired"] * 3, result
        assert 0 <= measured["p50_ms"] <= measured["p99_ms"] <= measured["max_ms"]
    assert result["command_ms"]["n"] > 0 and result["overview_ms"]["n"] > 0
