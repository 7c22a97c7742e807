"""CPU accounting for the fan-out benchmark: what each server-side process kind spends.

Latency on a shared 2-core box is noise; CPU seconds are not. Before and after each phase
the bench reads, from /proc alone, utime + stime (+ cutime + cstime: children that have
exited and been reaped, e.g. PostgreSQL backends under CONN_MAX_AGE=0) of every process
in each kind's tree — a Daphne worker, the scheduler, nginx, redis-server, the
PostgreSQL postmaster and its backends — and derives the µs of CPU per event per socket
(events delivered = frames × sockets) and the per-inject cost, which `fit` splits
across cases into a fixed part and a per-socket part: cost = a + b × sockets.

The pure functions (`parse_stat`, `tree_ticks`, `derive`, `fit`, `fit_cases`) take text
and numbers, so tests/bench/test_cpu.py checks them without a server.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
PG_PIDFILES = ("/var/lib/postgresql/15/main/postmaster.pid", "/var/run/postgresql/15-main.pid")


@dataclass(frozen=True)
class Stat:
    pid: int
    comm: str
    ppid: int
    ticks: int  # utime + stime + cutime + cstime


def parse_stat(text: str) -> Stat:
    """One /proc/<pid>/stat line. The command may hold spaces and ')': split on the last ')'."""
    head, _, tail = text.strip().rpartition(")")
    pid, _, comm = head.partition(" (")
    fields = tail.split()
    # tail starts at field 3 (state): ppid is field 4, utime..cstime are fields 14-17.
    ppid = int(fields[1])
    utime, stime, cutime, cstime = (int(f) for f in fields[11:15])
    return Stat(int(pid), comm, ppid, utime + stime + cutime + cstime)


def proc_table(root: Path = Path("/proc")) -> dict[int, Stat]:
    table = {}
    for entry in root.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            table[int(entry.name)] = parse_stat((entry / "stat").read_text())
        except (OSError, ValueError, IndexError):
            continue  # gone between the listing and the read
    return table


def tree_ticks(table: dict[int, Stat], roots: list[int]) -> int:
    """Ticks of the roots and every live descendant (reaped ones are in their parent's c*time)."""
    children: dict[int, list[int]] = {}
    for stat in table.values():
        children.setdefault(stat.ppid, []).append(stat.pid)
    seen, stack, total = set(), [r for r in roots if r in table], 0
    while stack:
        pid = stack.pop()
        if pid in seen:
            continue
        seen.add(pid)
        total += table[pid].ticks
        stack.extend(children.get(pid, []))
    return total


def pids_by_cmdline(needle: str, root: Path = Path("/proc")) -> list[int]:
    """Processes whose command line starts with `needle` (redis-server sets its title)."""
    found = []
    for entry in root.iterdir():
        if entry.name.isdigit():
            try:
                cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if cmd.startswith(needle):
                found.append(int(entry.name))
    return found


def postmaster_pid() -> list[int]:
    for path in PG_PIDFILES:
        try:
            return [int(Path(path).read_text().split()[0])]
        except (OSError, ValueError, IndexError):
            continue
    return []


class Probe:
    """Reads CPU seconds per process kind; `kinds` maps a kind to a function giving its roots."""

    def __init__(self, kinds: dict[str, Callable[[], list[int]]]):
        self.kinds = kinds

    def snapshot(self) -> dict[str, float]:
        table = proc_table()
        return {kind: tree_ticks(table, roots()) / TICKS for kind, roots in self.kinds.items()}

    async def idle_per_s(self, seconds: float = 3.0) -> dict[str, float]:
        """CPU per second per kind while nothing is fired (the hub's periodic checks, pings)."""
        before = self.snapshot()
        await asyncio.sleep(seconds)
        return {k: round(v / seconds, 4) for k, v in self.delta(before, self.snapshot()).items()}

    @staticmethod
    def delta(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
        return {k: round(after[k] - before.get(k, 0.0), 3) for k in after}


def probe_for(servers) -> Probe:
    """The kinds of a running `bench.servers.Servers`: each worker, and for scale-out the rest."""
    kinds: dict[str, Callable[[], list[int]]] = {}
    for n, worker in enumerate(servers.workers):
        kinds[f"worker{n}"] = lambda w=worker: [w.process.pid]
    if servers.shape != "embedded":
        scheduler, nginx = servers.others[0], servers.others[1]
        kinds["scheduler"] = lambda: [scheduler.pid]
        kinds["nginx"] = lambda: [nginx.pid]
        kinds["redis"] = lambda: pids_by_cmdline("redis-server 127.0.0.1:6391")
        # The whole cluster: its auxiliary processes (WAL writer, checkpointer) serve us too.
        kinds["postgres"] = postmaster_pid
    return Probe(kinds)


def derive(
    cpu: dict[str, float],
    *,
    duration_s: float,
    idle_per_s: dict[str, float],
    received: int,
    fired: int,
) -> dict:
    """Per kind: CPU seconds net of idle, µs per event per socket, and µs per inject."""
    out = {}
    for kind, seconds in cpu.items():
        net = max(0.0, seconds - idle_per_s.get(kind, 0.0) * duration_s)
        out[kind] = {
            "cpu_s": round(seconds, 3),
            "net_cpu_s": round(net, 3),
            "us_per_event_socket": round(net / received * 1e6, 1) if received else None,
            "us_per_inject": round(net / fired * 1e6, 1) if fired else None,
        }
    return out


def phase_cost(phase: dict, idle_per_s: dict[str, float]) -> dict:
    """`derive` for one phase of a fanout result (needs its cpu, duration, received, fired)."""
    return derive(
        phase["cpu"],
        duration_s=phase["duration_s"],
        idle_per_s=idle_per_s,
        received=phase["received"],
        fired=phase["fired"],
    )


def fit(points: list[tuple[float, float]]) -> dict:
    """Least squares y = a + b·x; with one distinct x, no fit."""
    n = len(points)
    xs = {x for x, _ in points}
    if n < 2 or len(xs) < 2:
        return {"a": None, "b": None, "points": n}
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    sxx = sum((x - mx) ** 2 for x, _ in points)
    b = sum((x - mx) * (y - my) for x, y in points) / sxx
    a = my - b * mx
    residual = max(abs(y - (a + b * x)) for x, y in points)
    return {"a": round(a, 1), "b": round(b, 2), "points": n, "max_residual": round(residual, 1)}


def fit_cases(cases: list[dict], phase: str = "steady") -> dict:
    """Per kind: µs per inject = a (fixed) + b × sockets the inject reaches (clients/session)."""
    points: dict[str, list[tuple[float, float]]] = {}
    for case in cases:
        derived = case["phases"].get(phase, {}).get("cost", {})
        for kind, cost in derived.items():
            if cost["us_per_inject"] is not None:
                points.setdefault(kind, []).append((case["clients"], cost["us_per_inject"]))
    return {kind: fit(pts) for kind, pts in points.items()}


def predict(fits: dict, *, clients: int, fired: int) -> dict[str, float]:
    """CPU seconds per kind the fit predicts for `fired` injects reaching `clients` each."""
    return {
        kind: round(fired * (f["a"] + f["b"] * clients) / 1e6, 3)
        for kind, f in fits.items()
        if f["a"] is not None
    }


def compare(fit_result: dict, check: dict, cases: list[str] | None = None) -> list[str]:
    """Markdown rows: the check's measured CPU (net of idle) per kind against the fit's."""
    chosen = [c for c in fit_result["cases"] if not cases or c["case"] in cases]
    rows = ["| case | phase | kind | predicted CPU s | measured CPU s | measured ÷ predicted |"]
    rows.append("|---|---|---|---:|---:|---:|")
    for case in check["cases"]:
        for name, phase in case["phases"].items():
            fits = fit_cases(chosen, name)
            predicted = predict(fits, clients=case["clients"], fired=phase["fired"])
            measured = {k: c["net_cpu_s"] for k, c in phase["cost"].items()}
            predicted["workers"] = sum(v for k, v in predicted.items() if k.startswith("worker"))
            measured["workers"] = sum(v for k, v in measured.items() if k.startswith("worker"))
            for kind, p in predicted.items():
                m = measured.get(kind, 0.0)
                ratio = f"{m / p:.2f}" if p > 0 else "—"
                rows.append(f"| {case['case']} | {name} | {kind} | {p:.3f} | {m:.3f} | {ratio} |")
    return rows


def table(result: dict) -> list[str]:
    """Markdown rows: per case, phase and kind, the CPU and its cost per event per socket."""
    rows = [
        "| case | phase | injects | events (× sockets) | kind | CPU s | net of idle | "
        "µs / event / socket | µs / inject |",
        "|---|---|---:|---:|---|---:|---:|---:|---:|",
    ]
    for case in result["cases"]:
        for name, phase in case["phases"].items():
            for kind, cost in phase.get("cost", {}).items():
                rows.append(
                    f"| {case['case']} | {name} | {phase['fired']} | {phase['received']} | "
                    f"{kind} | {cost['cpu_s']} | {cost['net_cpu_s']} | "
                    f"{cost['us_per_event_socket']} | {cost['us_per_inject']} |"
                )
    return rows


def main(argv: list[str]) -> int:
    """`python -m bench.cpu RESULT.json…` prints the tables; `--check FIT.json CHECK.json
    [CASES]` compares a check run with the fit of FIT.json's cases (all, or CASES)."""
    import json

    if argv[:1] == ["--check"]:
        fit_result, check = (json.loads(Path(p).read_text()) for p in argv[1:3])
        cases = argv[3].split(",") if len(argv) > 3 else None
        print("\n".join(compare(fit_result, check, cases)))
        return 0

    for path in argv:
        result = json.loads(Path(path).read_text())
        print(f"## {path}: {result['shape']}, workers on CPUs {result.get('worker_cpus')}")
        for case in result["cases"]:
            print(f"{case['case']}: load {case.get('load')}, idle/s {case.get('idle_cpu_per_s')}")
        print("\n".join(table(result)))
        for phase, fits in result.get("cost_fit", {}).items():
            print(f"fit {phase} (µs per inject = a + b × sockets): {json.dumps(fits)}")
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main(sys.argv[1:]))
