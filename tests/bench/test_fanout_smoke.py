"""The fan-out benchmark's harness works end to end on a tiny case (not the benchmark).

Embedded shape, one session × 3 clients, a few steady and burst injects, in a
subprocess (`python -m bench.fanout --smoke`): real Daphne, real sockets, real stamps.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

from django.conf import settings


def test_the_harness_measures_a_tiny_case(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "bench.fanout", "--smoke", "--out", str(tmp_path)],
        cwd=Path(settings.BASE_DIR),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    result = json.loads((tmp_path / "embedded.json").read_text())
    (case,) = result["cases"]
    assert case["case"] == "1x3" and case["connect"]["connected"] == 3, case
    assert case["trainer_errors"] == [], case
    for phase in ("steady", "burst"):
        measured = case["phases"][phase]
        assert measured["fired"] > 0
        assert measured["reach"] == 1.0, case
        assert measured["events"] == measured["expected"] == measured["fired"] * 3, case
        assert 0 <= measured["p50_ms"] <= measured["p99_ms"] <= measured["max_ms"]
        assert not math.isnan(measured["p99_ms"]) and measured["max_ms"] < 10_000
    assert case["bytes_per_frame"] > 0
