"""bench/results/*.json → the tables of docs/performance.md.

`python -m bench.report` prints them; `make bench` (through bench.fanout) also writes
them between the `<!-- bench:begin -->` and `<!-- bench:end -->` markers of the doc.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "performance.md"
BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"
SHAPES = ("embedded", "scaleout", "baseline")


def load(results: Path) -> dict[str, dict]:
    found = {}
    for shape in SHAPES:
        path = results / f"{shape}.json"
        if path.exists():
            found[shape] = json.loads(path.read_text())
    return found


def _phase(data: dict, case: str, phase: str) -> dict | None:
    for entry in data.get("cases", []):
        if entry["case"] == case:
            return entry["phases"].get(phase)
    return None


def _ms(value) -> str:
    return "—" if value is None or value != value else f"{value:.0f}"


def latency_table(found: dict[str, dict]) -> list[str]:
    lines = [
        "| shape | case | phase | p50 ms | p95 ms | p99 ms | max ms | reach | p99 ÷ baseline "
        "| bytes/frame |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    baseline = found.get("baseline", {})
    for shape in SHAPES:
        data = found.get(shape)
        if not data:
            continue
        for entry in data["cases"]:
            for phase in ("steady", "burst"):
                p = entry["phases"].get(phase)
                if not p:
                    continue
                base = _phase(baseline, entry["case"], phase)
                ratio = "—"
                if shape != "baseline" and base and base["p99_ms"] and base["p99_ms"] > 0:
                    ratio = f"{p['p99_ms'] / base['p99_ms']:.1f}×"
                lines.append(
                    f"| {shape} | {entry['case']} | {phase} | {_ms(p['p50_ms'])} "
                    f"| {_ms(p['p95_ms'])} | {_ms(p['p99_ms'])} | {_ms(p['max_ms'])} "
                    f"| {p['reach'] * 100:.1f} % | {ratio} | {entry.get('bytes_per_frame', '')} |"
                )
    return lines


def capacity_lines(found: dict[str, dict]) -> list[str]:
    cap = found.get("embedded", {}).get("capacity")
    if not cap:
        return []
    one = cap["one_event_to_all"]
    return [
        "| sockets asked | connected | open after idle | RSS before | RSS after "
        "| KiB / socket | one inject to all: p50 / p99 / reach |",
        "|---:|---:|---:|---:|---:|---:|---|",
        f"| {cap['sockets']} | {cap['connected']} | {cap['open_after_idle']} "
        f"| {cap['rss_before_kib'] / 1024:.0f} MiB | {cap['rss_after_kib'] / 1024:.0f} MiB "
        f"| {cap['kib_per_socket']} | {_ms(one['p50_ms'])} ms / {_ms(one['p99_ms'])} ms / "
        f"{one['reach'] * 100:.1f} % |",
    ]


def targets(found: dict[str, dict]) -> list[str]:
    """One row per target and shape: steady / burst, and whether both meet it."""
    lines = [
        "| target | shape | steady | burst | met |",
        "|---|---|---:|---:|---|",
    ]
    baseline = found.get("baseline", {})

    def both(shape: str, case: str, value) -> tuple[list, list[str]]:
        values, shown = [], []
        for phase in ("steady", "burst"):
            p = _phase(found.get(shape, {}), case, phase)
            v = value(p, _phase(baseline, case, phase)) if p else None
            values.append(v)
            shown.append("—" if v is None else v[1])
        return values, shown

    # Issue 18's targets: absolute p99s for the embedded shape, and ratios to the bare
    # `websockets` baseline of the same run (the machine's noise cancels out in a ratio).
    absolute = {"embedded": (("1x100", 25), ("50x10", 30)), "scaleout": ()}
    ratio_limit = {"embedded": 2.0, "scaleout": 2.5}
    for shape in ("embedded", "scaleout"):
        if shape not in found:
            continue
        for case, limit in absolute[shape]:
            values, shown = both(shape, case, lambda p, b: (p["p99_ms"], f"{p['p99_ms']:.0f} ms"))
            ok = all(v is not None and v[0] <= limit for v in values)
            lines.append(
                f"| {case} p99 ≤ {limit} ms | {shape} | {shown[0]} | {shown[1]} "
                f"| {'yes' if ok else 'no'} |"
            )

        def ratio(p, b):
            if not b or not b["p99_ms"]:
                return None
            r = p["p99_ms"] / b["p99_ms"]
            return r, f"{r:.1f}×"

        limit = ratio_limit[shape]
        values, shown = both(shape, "1x500", ratio)
        ok = all(v is not None and v[0] <= limit for v in values)
        lines.append(
            f"| 1x500 p99 ≤ {limit:g}× baseline | {shape} | {shown[0]} | {shown[1]} "
            f"| {'yes' if ok else 'no'} |"
        )
        reaches = [p["reach"] for e in found[shape]["cases"] for p in e["phases"].values()]
        low = min(reaches) if reaches else 0
        lines.append(
            f"| reach 100 % (all cases) | {shape} | min {low * 100:.2f} % | "
            f"| {'yes' if low >= 1 else 'no'} |"
        )
    cap = found.get("embedded", {}).get("capacity")
    if cap:
        lines.append(
            f"| ≥ 5,000 idle sockets / worker | embedded | {cap['open_after_idle']} "
            f"open | | {'yes' if cap['open_after_idle'] >= 5000 else 'no'} |"
        )
        lines.append(
            f"| ≤ 40 KiB / socket | embedded | {cap['kib_per_socket']} KiB | "
            f"| {'yes' if cap['kib_per_socket'] <= 40 else 'no'} |"
        )
    return lines


def render(found: dict[str, dict]) -> str:
    machine = next((d["machine"] for d in found.values() if "machine" in d), {})
    parts = [
        BEGIN,
        "",
        f"Machine: {machine.get('cpu', '?')}, {machine.get('cores', '?')} cores, "
        f"{machine.get('memory_gib', '?')} GiB, {machine.get('os', '?')}, Python "
        f"{machine.get('python', '?')}; load average before the run "
        f"{', '.join(f'{x:.2f}' for x in machine.get('load_before', []))}.",
        "Command: `make bench` (`python -m bench.fanout`); durations: "
        + ", ".join(f"{s} {d.get('duration_s', '?')} s" for s, d in found.items())
        + ".",
        "",
        "### Targets",
        "",
        *targets(found),
        "",
        "### Delivery delay (server stamp → client), per event and client",
        "",
        *latency_table(found),
        "",
    ]
    cap = capacity_lines(found)
    if cap:
        parts += ["### Idle capacity of one worker (embedded shape)", "", *cap, ""]
    parts.append(END)
    return "\n".join(parts)


def main(results: Path | None = None, write: bool = True) -> str:
    found = load(results or ROOT / "bench" / "results")
    text = render(found)
    print(text)
    if write and DOC.exists():
        doc = DOC.read_text()
        if BEGIN in doc and END in doc:
            head, rest = doc.split(BEGIN, 1)
            DOC.write_text(head + text + rest.split(END, 1)[1])
    return text


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else None)
