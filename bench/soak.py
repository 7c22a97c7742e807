"""The soak: a two-hour exercise at speed with 100 screens, watched for slow leaks.

    python -m bench.soak                    # what `make soak` (and `make bench`) runs
    python -m bench.soak --speed 60 --hours 2 --screens 100 --every 2

One embedded worker (bench/servers.py), a fresh SQLite database, one running session
whose scenario has a timed inject every 30 s of exercise clock over two hours, sped up
(×60: two minutes of wall time); 100 seated participants connected through
bench/clients.py. Every few seconds it samples:

- the resident memory (`VmRSS`) of every process: the worker (which runs the embedded
  scheduler too), the clients, this driver;
- the queues: the *lag* (injects fired × screens − frames the screens received: every
  frame somewhere between the engine and a screen, hub and socket buffers included),
  the scheduler's *backlog* (timed injects due by the session clock and not yet fired),
  and the bytes waiting in the kernel's socket queues towards the screens;

and, at the end, the scheduler's *lateness* from the log: for each `inject.fired`,
(event clock − its `due_ms`) ÷ speed, in wall seconds.

Pass: after the warm-up (the first 10 % of the run), every process's memory is flat
within 10 % (median of the last quarter vs median of the first quarter); no queue grows
(last-quarter median within its bound of the first quarter's, and the final value within
the bound); the scheduler never more than 1 s late. Results: bench/results/soak.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from pathlib import Path

from bench.fanout import BODY, Case, ClientsProcess, summarize
from bench.fixtures import build as build_fanout
from bench.fixtures import end_sessions
from bench.servers import CLIENT_CPU, RESULTS, TMP, Servers, machine, pin, raise_nofile, rss_kib

WARMUP = 0.10  # of the run: first connections, caches, the tail of the log
FLAT_WITHIN = 0.10
MAX_LATE_S = 1.0
INJECT_EVERY_S = 30  # exercise clock
SOCKET_BYTES_BOUND = 256 * 1024


# --- The pure part: what "flat", "growing" and "late" mean (tests/bench/test_soak.py) --------


def after_warmup(samples: list[dict], warmup: float = WARMUP) -> list[dict]:
    if not samples:
        return []
    start, end = samples[0]["t"], samples[-1]["t"]
    return [s for s in samples if s["t"] >= start + warmup * (end - start)]


def quarters(values: list[float]) -> tuple[float, float]:
    """Medians of the first and the last quarter (at least one value each)."""
    if not values:
        raise ValueError("no samples")
    q = max(1, len(values) // 4)
    return statistics.median(values[:q]), statistics.median(values[-q:])


def flatness(values: list[float]) -> dict:
    first, last = quarters(values)
    change = (last - first) / first if first else 0.0
    return {
        "first_kib": round(first),
        "last_kib": round(last),
        "change": round(change, 4),
        "flat": abs(change) <= FLAT_WITHIN,
    }


def growth(values: list[float], bound: float) -> dict:
    first, last = quarters(values)
    final = values[-1]
    return {
        "first_median": first,
        "last_median": last,
        "max": max(values),
        "final": final,
        "bound": bound,
        "growing": last > first + bound or final > bound,
    }


def lateness_s(fired: list[tuple[int, int]], speed: float) -> list[float]:
    """(clock_ms it fired at, due_ms) → how late, in wall seconds (early counts as 0)."""
    return [max(0.0, (clock - due) / speed / 1000) for clock, due in fired]


# --- The run ------------------------------------------------------------------------------


def socket_queue_bytes(port: int) -> int:
    """Bytes queued in the kernel: sent by the server and not yet acked, or not yet read."""
    total = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local, remote, queues = fields[1], fields[2], fields[4]
            tx, rx = (int(x, 16) for x in queues.split(":"))
            if int(local.rsplit(":", 1)[1], 16) == port:
                total += tx  # the server's side: not yet taken by a screen
            elif int(remote.rsplit(":", 1)[1], 16) == port:
                total += rx  # a screen's side: arrived, not yet read
    return total


def build(screens: int, hours: float) -> tuple:
    """A scenario with a timed inject every 30 s over `hours`, and a started session."""
    from scenarios.models import Inject, Role, ScenarioVersion

    times = range(INJECT_EVERY_S, int(hours * 3600) + 1, INJECT_EVERY_S)
    if not times:
        raise SystemExit(f"--hours {hours}: shorter than one inject ({INJECT_EVERY_S} s)")
    case = Case(1, screens, steady_rate=1, steady_s=1)
    fixture = build_fanout(case, title="soak")
    version = ScenarioVersion.objects.latest("pk")  # the one build_fanout just made
    roles = list(Role.objects.filter(version=version))
    for n, at_s in enumerate(times):
        inject = Inject.objects.create(
            version=version,
            ident=f"soak-{n}",
            order=n,
            kind=Inject.Kind.MESSAGE,
            title=f"bench:soak:{n}",
            body=BODY,
            sender="Commissariat",
            trigger=Inject.Trigger.AT,
            at_s=at_s,
        )
        inject.recipients.set(roles)
    return fixture, len(times)


def set_speed(session_id: int, speed: float) -> None:
    from django.contrib.auth import get_user_model

    from sessions import engine

    user = get_user_model().objects.get(username="bench-trainer")
    principal = engine.TrainerPrincipal(user_id=user.pk, name="Bench")
    engine.clock_set_speed(session_id=session_id, principal=principal, speed=speed)


def log_state(session_id: int, injects: int) -> dict:
    """Clock now, timed injects due and not fired, and the (clock, due) of those fired.

    The clock runs on past the last of the `injects`: only those can be due."""
    from django.utils import timezone

    from sessions.models import Event, Session

    session = Session.objects.get(pk=session_id)
    now_ms = session.clock_ms(timezone.now())
    fired = [
        (e.clock_ms, int(e.payload["due_ms"]))
        for e in Event.objects.filter(session_id=session_id, kind="inject.fired")
        if str(e.payload.get("title", "")).startswith("bench:soak:")
        and e.payload.get("due_ms") is not None
    ]
    due = min(now_ms // 1000 // INJECT_EVERY_S, injects)
    return {"clock_ms": now_ms, "fired": fired, "backlog": max(0, due - len(fired))}


async def soak(args) -> dict:
    from asgiref.sync import sync_to_async

    fixture, injects = await sync_to_async(build)(args.screens, args.hours)
    sid = fixture.sessions[0]
    servers = Servers("embedded")
    base_url = servers.start()
    ws = base_url.replace("http://", "ws://")
    clients = [{"url": f"{ws}/ws/sessions/{sid}/", "cookie": c} for c in fixture.seats[0]]
    proc = ClientsProcess("soak", clients, base_url)
    samples: list[dict] = []
    try:
        connect = await proc.start()
        await sync_to_async(set_speed)(sid, args.speed)
        started = time.monotonic()
        wall_s = args.hours * 3600 / args.speed
        while True:
            state = await sync_to_async(log_state)(sid, injects)
            received = await proc.ask("count")
            samples.append(
                {
                    "t": round(time.monotonic() - started, 2),
                    "clock_s": state["clock_ms"] // 1000,
                    "rss_kib": {
                        "worker": servers.rss_kib()[0],
                        "clients": rss_kib(proc.process.pid),
                        "driver": rss_kib(os.getpid()),
                    },
                    "lag_frames": len(state["fired"]) * args.screens - received,
                    "backlog": state["backlog"],
                    "socket_bytes": socket_queue_bytes(servers.port),
                }
            )
            if len(state["fired"]) >= injects or time.monotonic() - started > wall_s + 60:
                break
            await asyncio.sleep(args.every)
        await asyncio.sleep(args.every)  # the last frames drain: the final lag
        final = await sync_to_async(log_state)(sid, injects)
        received = await proc.ask("count")
        samples[-1]["lag_frames"] = len(final["fired"]) * args.screens - received
        samples[-1]["socket_bytes"] = socket_queue_bytes(servers.port)
        open_at_end = await proc.ask("open")
        raw = await proc.stop()
    finally:
        proc.kill()
        servers.stop()
        await sync_to_async(end_sessions)(fixture)
    late = lateness_s(final["fired"], args.speed)
    steady = after_warmup(samples)
    processes = list(samples[0]["rss_kib"])
    return {
        "speed": args.speed,
        "clock_hours": args.hours,
        "screens": args.screens,
        "connected": connect["connected"],
        "open_at_end": open_at_end,
        "injects": injects,
        "fired": len(final["fired"]),
        "wall_s": round(samples[-1]["t"], 1),
        "samples": samples,
        "memory": {
            p: {
                "start_kib": samples[0]["rss_kib"][p],
                "end_kib": samples[-1]["rss_kib"][p],
                **flatness([s["rss_kib"][p] for s in steady]),
            }
            for p in processes
        },
        "queues": {
            # One inject to every screen may be on its way at a sample …
            "lag_frames": growth([s["lag_frames"] for s in steady], bound=args.screens),
            # … and one due since the scheduler's last tick (0.25 s: 15 s of clock at ×60).
            "backlog": growth([s["backlog"] for s in steady], bound=1),
            "socket_bytes": growth([s["socket_bytes"] for s in steady], SOCKET_BYTES_BOUND),
        },
        "lateness_s": {
            "max": round(max(late), 3) if late else None,
            "p99": round(sorted(late)[int(0.99 * (len(late) - 1))], 3) if late else None,
        },
        "delivery": summarize(
            raw["latencies"].get("soak", []),
            sum(c["received"].get("soak", 0) for c in raw["per_client"]),
            len(final["fired"]) * args.screens,
        ),
    }


def verdict(result: dict) -> dict:
    late = result["lateness_s"]["max"]
    return {
        "memory_flat": all(m["flat"] for m in result["memory"].values()),
        "queues_bounded": not any(q["growing"] for q in result["queues"].values()),
        "scheduler_on_time": late is not None and late <= MAX_LATE_S,
        "all_fired": result["fired"] == result["injects"],
    }


def table(result: dict) -> str:
    lines = [
        "| process | RSS start | RSS end | first ¼ median | last ¼ median | change | flat |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for name, m in result["memory"].items():
        lines.append(
            f"| {name} | {m['start_kib'] / 1024:.1f} MiB | {m['end_kib'] / 1024:.1f} MiB "
            f"| {m['first_kib'] / 1024:.1f} MiB | {m['last_kib'] / 1024:.1f} MiB "
            f"| {m['change'] * 100:+.1f} % | {'yes' if m['flat'] else 'no'} |"
        )
    lines += ["", "| queue | first ¼ median | last ¼ median | max | final | bound | growing |"]
    lines.append("|---|---:|---:|---:|---:|---:|---|")
    for name, q in result["queues"].items():
        lines.append(
            f"| {name} | {q['first_median']:g} | {q['last_median']:g} | {q['max']:g} "
            f"| {q['final']:g} | {q['bound']:g} | {'yes' if q['growing'] else 'no'} |"
        )
    d, late = result["delivery"], result["lateness_s"]
    lines += [
        "",
        f"Scheduler lateness: max {late['max']} s, p99 {late['p99']} s (target ≤ {MAX_LATE_S} s). "
        f"Injects fired {result['fired']}/{result['injects']}; delivery to screens "
        f"p50 {d['p50_ms']} ms, p99 {d['p99_ms']} ms, reach {d['reach'] * 100:.2f} %; "
        f"{result['open_at_end']}/{result['connected']} sockets open at the end.",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--speed", type=float, default=60.0)
    parser.add_argument("--hours", type=float, default=2.0, help="of exercise clock")
    parser.add_argument("--screens", type=int, default=100)
    parser.add_argument("--every", type=float, default=2.0, help="seconds between samples")
    parser.add_argument("--out", default=str(RESULTS))
    args = parser.parse_args()
    out_dir = Path(args.out).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    TMP.mkdir(parents=True, exist_ok=True)
    db = TMP / "soak.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    # The worker (started from here) inherits this database, and the descriptor limit.
    os.environ.update({"DATABASE_URL": f"sqlite:///{db}", "DJANGO_DEBUG": "0"})
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "simtrain.settings")
    raise_nofile(args.screens + 200)
    if pin(CLIENT_CPU):
        os.sched_setaffinity(0, {int(CLIENT_CPU)})
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)
    load_before = os.getloadavg()
    result = asyncio.run(soak(args))
    result["machine"] = {**machine(), "load_before": load_before, "load_after": os.getloadavg()}
    result["verdict"] = verdict(result)
    (out_dir / "soak.json").write_text(json.dumps(result, indent=1))
    print(table(result))
    print(
        "verdict:", ", ".join(f"{k} {'yes' if v else 'NO'}" for k, v in result["verdict"].items())
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
