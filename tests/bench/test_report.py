"""The targets table of docs/performance.md, from a run's results."""

from bench.report import targets


def _shape(p99: dict[str, tuple[float, float]]) -> dict:
    return {"cases": [
        {"case": case, "phases": {"steady": {"p99_ms": steady, "reach": 1.0},
                                  "burst": {"p99_ms": burst, "reach": 1.0}}}
        for case, (steady, burst) in p99.items()]}


def test_targets_are_issue_18s_absolute_and_ratio_limits():
    found = {
        "baseline": _shape({"1x500": (40, 50)}),
        "embedded": _shape({"1x100": (24, 26), "50x10": (20, 30), "1x500": (90, 90)}),
        "scaleout": _shape({"1x500": (100, 120)}),
    }
    rows = {tuple(c.strip() for c in line.split("|")[1:3]): line for line in targets(found)}
    assert rows[("1x100 p99 ≤ 25 ms", "embedded")].endswith("| no |")  # the burst's 26 ms
    assert rows[("50x10 p99 ≤ 30 ms", "embedded")].endswith("| yes |")
    ratio = rows[("1x500 p99 ≤ 2× baseline", "embedded")]
    assert "2.2×" in ratio and "1.8×" in ratio and ratio.endswith("| no |")  # steady 90 / 40
    assert rows[("1x500 p99 ≤ 2.5× baseline", "scaleout")].endswith("| yes |")
