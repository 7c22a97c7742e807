"""The fan-out benchmark: how long from an inject's stamp to every screen, and at what reach.

    python -m bench.fanout                  # everything: what `make bench` runs (< 10 min)
    python -m bench.fanout --shapes embedded --cases 1x100
    python -m bench.fanout --smoke          # embedded, 1 session × 3 clients, a few events
    python -m bench.fanout --shapes embedded --cases "" --out /tmp/x   # capacity alone

Shapes (docs/performance.md):
  embedded  one Daphne (embedded scheduler), in-memory channel layer, SQLite (WAL);
  scaleout  two Daphne workers behind nginx, Redis channel layer, PostgreSQL, one
            scheduler process;
  baseline  bench/baseline.py: a bare `websockets` broadcast server, same payload size.

Cases: S sessions × C clients; each runs a `steady` phase (injects at a fixed rate) and
a `burst` phase (bursts of back-to-back injects, every session at once). A trainer
socket per session fires them with the real `inject.adhoc` command; every client is a
seated participant whose role receives them (authenticated with a forged-but-valid
pass cookie). Each client records, per event, now − `data-stamp-ms` (the event's
`created_at`, stamped in the engine's transaction). Reach = received ÷ expected, where
expected = the bench injects in the session's log × its clients.

Servers are pinned to CPU 0, clients and this driver to CPU 1 (`taskset`,
`sched_setaffinity`). Results go to bench/results/<shape>.json and are summed up by
bench/report.py into docs/performance.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from bench import cpu
from bench.fixtures import ROLES, build, django_setup, end_sessions, expected_per_session
from bench.servers import (
    CLIENT_CPU,
    PY,
    RESULTS,
    ROOT,
    SERVER_CPU,
    TMP,
    Servers,
    machine,
    pin,
    raise_nofile,
    shape_environment,
)

BODY = (
    "Appel du commissariat de Nantes : une mineure de 15 ans, sans papiers, a été "
    "trouvée dans un appartement du quartier Bellevue. Elle dit s'appeler Joy. "
    "Précisez les premières mesures et qui doit être avisé."
)


@dataclass(frozen=True)
class Case:
    sessions: int
    clients: int  # per session
    steady_rate: float  # injects per second, per session
    steady_s: float
    bursts: int = 3
    burst_size: int = 10
    burst_gap_s: float = 2.5

    @property
    def name(self) -> str:
        return f"{self.sessions}x{self.clients}"


CASES = {
    "1x10": Case(1, 10, steady_rate=2.0, steady_s=10),
    "1x100": Case(1, 100, steady_rate=2.0, steady_s=10),
    "1x500": Case(1, 500, steady_rate=2.0, steady_s=10),
    "50x10": Case(50, 10, steady_rate=0.5, steady_s=10),
}
DEFAULT_CASES = ",".join(CASES)
CASES["4x125"] = Case(4, 125, steady_rate=1.0, steady_s=10, burst_size=4)  # the cost model's check
SMOKE = Case(1, 3, steady_rate=5.0, steady_s=1, bursts=1, burst_size=3, burst_gap_s=0.5)
CAPACITY = {"sessions": 50, "clients": 100}  # 5,000 idle sockets on one worker


def percentile(sorted_values: list[float], p: float) -> float:
    if not sorted_values:
        return float("nan")
    k = max(0, min(len(sorted_values) - 1, math.ceil(p / 100 * len(sorted_values)) - 1))
    return sorted_values[k]


def summarize(latencies: list[float], received: int, expected: int) -> dict:
    values = sorted(latencies)
    return {
        "events": len(values),
        "p50_ms": round(percentile(values, 50), 1),
        "p95_ms": round(percentile(values, 95), 1),
        "p99_ms": round(percentile(values, 99), 1),
        "max_ms": round(values[-1], 1) if values else float("nan"),
        "received": received,
        "expected": expected,
        "reach": round(received / expected, 4) if expected else 0.0,
    }


# --- Clients process -------------------------------------------------------------------


class ClientsProcess:
    """bench/clients.py in a subprocess on the clients' CPU, driven over stdin/stdout."""

    def __init__(self, name: str, clients: list[dict], origin: str):
        TMP.mkdir(parents=True, exist_ok=True)
        self.spec_path = TMP / f"{name}.spec.json"
        self.out_path = TMP / f"{name}.clients.json"
        self.spec_path.write_text(
            json.dumps({"origin": origin, "clients": clients, "out": str(self.out_path)})
        )
        self.process: subprocess.Popen | None = None

    async def start(self, timeout: float = 180) -> dict:
        env = {**os.environ, "BENCH_CPU": CLIENT_CPU, "PYTHONPATH": str(ROOT)}
        self.process = await asyncio.create_subprocess_exec(
            PY,
            "-m",
            "bench.clients",
            str(self.spec_path),
            cwd=ROOT,
            env=env,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        line = await asyncio.wait_for(self.process.stdout.readline(), timeout)
        parts = line.decode().split()
        if not parts or parts[0] != "ready":
            raise RuntimeError(f"clients did not start: {line!r}")
        return {"connected": int(parts[1]), "failed": int(parts[2]), "connect_s": float(parts[3])}

    async def ask(self, command: str) -> int:
        self.process.stdin.write(f"{command}\n".encode())
        await self.process.stdin.drain()
        line = await asyncio.wait_for(self.process.stdout.readline(), 30)
        return int(line.decode().split()[1])

    async def wait_for(self, total: int, timeout: float) -> int:
        """Poll the received count until `total` or `timeout` (bounded)."""
        deadline = time.monotonic() + timeout
        count = await self.ask("count")
        while count < total and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
            count = await self.ask("count")
        return count

    async def stop(self) -> dict:
        self.process.stdin.write(b"stop\n")
        await self.process.stdin.drain()
        await asyncio.wait_for(self.process.stdout.readline(), 120)  # "done"
        await asyncio.wait_for(self.process.wait(), 30)
        return json.loads(self.out_path.read_text())

    def kill(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.kill()


# --- The trainer side: fires injects over real sockets ------------------------------------


class Trainer:
    """One trainer socket per session, firing `inject.adhoc` as the console does."""

    def __init__(self, url: str, cookie: str, origin: str):
        self.url, self.cookie, self.origin = url, cookie, origin
        self.ws = None
        self.errors: list[str] = []
        self.reader: asyncio.Task | None = None
        self.pongs = asyncio.Queue()

    async def connect(self) -> None:
        import websockets

        headers = {"Cookie": self.cookie} if self.cookie else None
        self.ws = await websockets.connect(
            self.url,
            origin=self.origin,
            additional_headers=headers,
            max_size=None,
            ping_interval=None,
            open_timeout=60,
            compression=None,
        )
        self.reader = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        error = re.compile(r"^<!--error:([a-z-]+)-->")
        try:
            async for text in self.ws:
                if text == "<!--pong-->":
                    self.pongs.put_nowait(True)
                elif isinstance(text, str) and (m := error.match(text)):
                    self.errors.append(m.group(1))
        except Exception:
            pass

    async def fire(self, phase: str, number: int) -> None:
        await self.ws.send(
            json.dumps(
                {
                    "cmd": "inject.adhoc",
                    "roles": list(ROLES),
                    "kind": "message",
                    "title": f"bench:{phase}:{number}",
                    "body": BODY,
                    "from": "Commissariat",
                }
            )
        )

    async def sync(self, timeout: float = 120) -> None:
        """Wait until the server has handled every command sent so far (they run in order).

        A ping refused by the rate limit gets no pong: ask again, a bounded number of times.
        """
        deadline = time.monotonic() + timeout
        while True:
            await self.ws.send(json.dumps({"cmd": "ping"}))
            try:
                await asyncio.wait_for(self.pongs.get(), 5)
                return
            except TimeoutError:
                if time.monotonic() > deadline:
                    raise

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self.reader is not None:
            self.reader.cancel()


async def drive(trainers: list[Trainer], case: Case, phase: str) -> None:
    """Fire the phase's injects: steady (staggered across sessions) or bursts."""
    started = time.monotonic()
    if phase == "steady":
        interval = 1.0 / case.steady_rate
        count = max(1, int(case.steady_s * case.steady_rate))
        schedule = sorted(
            (k * interval + j * interval / len(trainers), j, k)
            for j in range(len(trainers))
            for k in range(count)
        )
        for at, j, k in schedule:
            delay = started + at - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            await trainers[j].fire(phase, k)
    else:
        number = 0
        for b in range(case.bursts):
            delay = started + b * case.burst_gap_s - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            for _ in range(case.burst_size):
                await asyncio.gather(*(t.fire(phase, number) for t in trainers))
                number += 1


async def run_case(base_url: str, case: Case, shape: str, log, probe=None) -> dict:
    from asgiref.sync import sync_to_async

    ws_base = base_url.replace("http://", "ws://")
    fixture = await sync_to_async(build)(case, title=f"{shape} {case.name}")
    # Sessions interleaved, so each connection wave touches every session.
    clients = [
        {"url": f"{ws_base}/ws/sessions/{sid}/", "cookie": cookies[n]}
        for n in range(case.clients)
        for sid, cookies in zip(fixture.sessions, fixture.seats, strict=True)
    ]
    proc = ClientsProcess(f"{shape}-{case.name}", clients, base_url)
    trainers = [
        Trainer(f"{ws_base}/ws/sessions/{sid}/", cookie, base_url)
        for sid, cookie in zip(fixture.sessions, fixture.trainer_cookies, strict=True)
    ]
    result: dict = {
        "case": case.name,
        "sessions": case.sessions,
        "clients": case.clients,
        "phases": {},
        "load": os.getloadavg(),
    }
    log(f"  {shape} {case.name}: load {result['load']}")
    probe = probe or cpu.Probe({})
    try:
        result["connect"] = await proc.start()
        for trainer in trainers:
            await trainer.connect()
        await asyncio.sleep(1.5)  # presence events settle
        result["idle_cpu_per_s"] = await probe.idle_per_s(3)
        for phase in ("steady", "burst"):
            before = await proc.ask("count")
            cpu_before = probe.snapshot()
            started = time.monotonic()
            await drive(trainers, case, phase)
            await asyncio.gather(*(t.sync() for t in trainers))
            fired = await sync_to_async(expected_per_session)(fixture.sessions, phase)
            expected = sum(fired.values()) * case.clients
            got = await proc.wait_for(before + expected, timeout=15)
            result["phases"][phase] = {
                "fired": sum(fired.values()),
                "duration_s": round(time.monotonic() - started, 2),
                "received_at_end": got - before,
                "cpu": probe.delta(cpu_before, probe.snapshot()),
            }
            log(f"  {shape} {case.name} {phase}: {got - before}/{expected}")
        result["open_at_end"] = await proc.ask("open")
        raw = await proc.stop()
    finally:
        for trainer in trainers:
            await trainer.close()
        proc.kill()
        await sync_to_async(end_sessions)(fixture)
    result["connect"]["retries"] = raw.get("connect_retries", 0)
    result["trainer_errors"] = sorted({e for t in trainers for e in t.errors})
    result["bytes_per_frame"] = round(raw["bytes"] / raw["frames"]) if raw["frames"] else 0
    for phase in ("steady", "burst"):
        fired = result["phases"][phase]["fired"]
        received = sum(c["received"].get(phase, 0) for c in raw["per_client"])
        result["phases"][phase].update(
            summarize(raw["latencies"].get(phase, []), received, fired * case.clients)
        )
        result["phases"][phase]["cost"] = cpu.phase_cost(
            result["phases"][phase], result["idle_cpu_per_s"]
        )
    return result


async def run_capacity(servers: Servers, base_url: str, log) -> dict:
    """Idle authenticated sockets held by one worker, and resident memory per socket."""
    from asgiref.sync import sync_to_async

    sessions, per_session = CAPACITY["sessions"], CAPACITY["clients"]
    case = Case(sessions, per_session, steady_rate=1, steady_s=1, bursts=1, burst_size=1)
    fixture = await sync_to_async(build)(case, title="capacity")
    ws_base = base_url.replace("http://", "ws://")
    # Warm the worker up (first connection loads code, templates, the plan) before measuring.
    warm = ClientsProcess(
        "capacity-warm",
        [{"url": f"{ws_base}/ws/sessions/{fixture.sessions[0]}/", "cookie": fixture.seats[0][0]}],
        base_url,
    )
    await warm.start()
    await warm.stop()
    await asyncio.sleep(1)
    rss_before = servers.rss_kib()[0]
    clients = [
        {"url": f"{ws_base}/ws/sessions/{sid}/", "cookie": cookie}
        for sid, cookies in zip(fixture.sessions, fixture.seats, strict=True)
        for cookie in cookies
    ]
    proc = ClientsProcess("capacity", clients, base_url)
    trainers = [
        Trainer(f"{ws_base}/ws/sessions/{sid}/", cookie, base_url)
        for sid, cookie in zip(fixture.sessions, fixture.trainer_cookies, strict=True)
    ]
    try:
        connect = await proc.start(timeout=300)
        await asyncio.sleep(5)  # idle
        rss_after = servers.rss_kib()[0]
        open_idle = await proc.ask("open")
        for trainer in trainers:
            await trainer.connect()
        # Paced as when one login fired for every session (its command bucket; the server
        # takes tokens when it handles a command): kept, so runs compare with earlier ones.
        from sessions.consumers import RATE_CAPACITY, RATE_PER_S

        chunk = RATE_CAPACITY // 2
        for start in range(0, len(trainers), chunk):
            if start:
                await asyncio.sleep(chunk / RATE_PER_S + 1)
            await asyncio.gather(*(t.fire("capacity", 0) for t in trainers[start:][:chunk]))
        got = await proc.wait_for(len(clients), timeout=60)
        raw = await proc.stop()
    finally:
        for trainer in trainers:
            await trainer.close()
        proc.kill()
        await sync_to_async(end_sessions)(fixture)
    n = len(clients)
    result = {
        "sockets": n,
        "connected": connect["connected"],
        "connect_s": connect["connect_s"],
        "open_after_idle": open_idle,
        "rss_before_kib": rss_before,
        "rss_after_kib": rss_after,
        "kib_per_socket": round((rss_after - rss_before) / max(1, connect["connected"]), 1),
        "one_event_to_all": summarize(raw["latencies"].get("capacity", []), got, n),
        "ulimit_nofile": __import__("resource").getrlimit(__import__("resource").RLIMIT_NOFILE),
        "load_after": os.getloadavg(),
        "trainer_errors": sorted({e for t in trainers for e in t.errors}),
    }
    log(f"  capacity: {open_idle}/{n} open, {result['kib_per_socket']} KiB/socket")
    return result


def run_shape(shape: str, cases: list[Case], capacity: bool, log) -> dict:
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    # Daphne inherits this process's limit: one descriptor per socket, plus a margin.
    raise_nofile(CAPACITY["sessions"] * (CAPACITY["clients"] + 1) + 200 if capacity else 1024)
    out = {"shape": shape, "cases": [], "started": time.time()}

    async def run_all(base_url):
        for case in cases:
            out["cases"].append(await run_case(base_url, case, shape, log, probe))

    if cases:  # `--cases ""` runs the capacity case alone
        servers = Servers(shape)
        base_url = servers.start()
        probe = cpu.probe_for(servers)
        out["worker_cpus"] = [w.cpu for w in servers.workers]
        try:
            asyncio.run(run_all(base_url))
        finally:
            servers.stop()
        out["cost_fit"] = {p: cpu.fit_cases(out["cases"], p) for p in ("steady", "burst")}
    if capacity:  # on a fresh worker: memory freed by earlier cases would hide growth
        fresh = Servers(shape)
        fresh_url = fresh.start()
        try:
            out["capacity"] = asyncio.run(run_capacity(fresh, fresh_url, log))
        finally:
            fresh.stop()
    out["duration_s"] = round(time.time() - out["started"], 1)
    return out


# --- The baseline (no Django) ---------------------------------------------------------------


async def run_baseline(cases: list[Case], payload_bytes: dict[str, int], log) -> dict:
    import socket

    out = {"shape": "baseline", "cases": [], "started": time.time()}
    for case in cases:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        size = payload_bytes.get(case.name, 4000)
        server = subprocess.Popen(
            [*pin(SERVER_CPU), PY, "-m", "bench.baseline", str(port), str(size)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        try:
            server.stdout.readline()  # "baseline listening …"
            base = f"ws://127.0.0.1:{port}"
            clients = [
                {"url": f"{base}/ws/sessions/{s}/"}
                for s in range(case.sessions)
                for _ in range(case.clients)
            ]
            proc = ClientsProcess(f"baseline-{case.name}", clients, f"http://127.0.0.1:{port}")
            trainers = [
                Trainer(f"{base}/ws/sessions/{s}/?role=trainer", "", f"http://127.0.0.1:{port}")
                for s in range(case.sessions)
            ]
            result = {
                "case": case.name,
                "sessions": case.sessions,
                "clients": case.clients,
                "payload_bytes": size,
                "phases": {},
            }
            try:
                result["connect"] = await proc.start()
                for trainer in trainers:
                    await trainer.connect()
                await asyncio.sleep(0.5)
                fired = {}
                for phase in ("steady", "burst"):
                    before = await proc.ask("count")
                    await drive(trainers, case, phase)
                    fired[phase] = (
                        int(case.steady_s * case.steady_rate)
                        if phase == "steady"
                        else case.bursts * case.burst_size
                    ) * case.sessions
                    got = await proc.wait_for(before + fired[phase] * case.clients, timeout=15)
                    log(
                        f"  baseline {case.name} {phase}: {got - before}/"
                        f"{fired[phase] * case.clients}"
                    )
                raw = await proc.stop()
            finally:
                for trainer in trainers:
                    await trainer.close()
                proc.kill()
            result["bytes_per_frame"] = round(raw["bytes"] / raw["frames"]) if raw["frames"] else 0
            for phase in ("steady", "burst"):
                received = sum(c["received"].get(phase, 0) for c in raw["per_client"])
                result["phases"][phase] = {
                    "fired": fired[phase],
                    **summarize(
                        raw["latencies"].get(phase, []), received, fired[phase] * case.clients
                    ),
                }
            out["cases"].append(result)
        finally:
            server.terminate()
            server.wait(timeout=10)
    out["duration_s"] = round(time.time() - out["started"], 1)
    return out


# --- Orchestration ---------------------------------------------------------------------------


def log(message: str) -> None:
    print(message, flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shapes", default="embedded,scaleout,baseline")
    parser.add_argument("--cases", default=DEFAULT_CASES)
    parser.add_argument("--no-capacity", action="store_true")
    parser.add_argument(
        "--smoke", action="store_true", help="embedded shape, 1 session × 3 clients, a few events"
    )
    parser.add_argument("--out", default=str(RESULTS))
    parser.add_argument("--worker-cpus", help='e.g. "0,1": a worker per core (BENCH_WORKER_CPUS)')
    parser.add_argument("--run-shape", help=argparse.SUPPRESS)  # internal: in a child
    args = parser.parse_args()
    out_dir = Path(args.out).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    global TMP  # specs, client results, logs and databases of this run
    TMP = out_dir / "tmp"
    if args.worker_cpus:  # read by bench.servers in the shape's child
        os.environ["BENCH_WORKER_CPUS"] = args.worker_cpus
    cases = [SMOKE] if args.smoke else [CASES[c] for c in args.cases.split(",") if c]

    if args.run_shape:  # the child: Django configured for this shape's database
        if hasattr(os, "sched_setaffinity") and pin(CLIENT_CPU):
            os.sched_setaffinity(0, {int(CLIENT_CPU)})
        django_setup()
        capacity = not args.no_capacity and not args.smoke and args.run_shape == "embedded"
        result = run_shape(args.run_shape, cases, capacity, log)
        result["machine"] = machine()
        (out_dir / f"{args.run_shape}.json").write_text(json.dumps(result, indent=1))
        return 0

    shapes = ["embedded"] if args.smoke else args.shapes.split(",")
    started = time.monotonic()
    for shape in shapes:
        log(f"== {shape}")
        if shape == "baseline":
            sizes = {}
            embedded = out_dir / "embedded.json"
            if embedded.exists():
                sizes = {
                    c["case"]: c["bytes_per_frame"]
                    for c in json.loads(embedded.read_text())["cases"]
                }
            result = asyncio.run(run_baseline(cases, sizes, log))
            result["machine"] = machine()
            (out_dir / "baseline.json").write_text(json.dumps(result, indent=1))
            continue
        env = shape_environment(shape)
        try:
            command = [
                PY,
                "-m",
                "bench.fanout",
                "--run-shape",
                shape,
                "--cases",
                ",".join(c.name for c in cases),
                "--out",
                str(out_dir),
            ]
            if args.smoke:
                command.append("--smoke")
            if args.no_capacity:
                command.append("--no-capacity")
            subprocess.run(command, cwd=ROOT, env=env, check=True)
        finally:
            if shape == "scaleout":
                subprocess.run(["scripts/redis.sh", "stop", "6391"], cwd=ROOT, check=False)
    log(f"== done in {time.monotonic() - started:.0f}s; results in {out_dir}")
    if not args.smoke:
        from bench import report

        # Only a run into bench/results (the default) is the one docs/performance.md cites.
        report.main(out_dir, write=out_dir == RESULTS.resolve())
    return 0


if __name__ == "__main__":
    sys.exit(main())
