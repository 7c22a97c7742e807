"""The syndicates benchmark: an exercise of 5 teams × 15 seats driven from one control room.

    python -m bench.syndicates             # 5 syndicates × 15 seats: what `make bench` runs
    python -m bench.syndicates --smoke     # 2 syndicates × 3 seats, a few events

Embedded shape (one Daphne, SQLite), as bench/fanout.py's single-session cases, so the
numbers stand next to them (bench/results/embedded.json: 1x10, 1x100). One exercise
(`sessions.exercises`) of S sessions, every seat of each taken by a socket of the
clients process; the driver is the trainer's exercise control room over HTTP:

- it starts every team with one `start` to all (one engine command per session);
- `steady`: a broadcast to all teams at a fixed rate, `burst`: bursts of back-to-back
  broadcasts; each is one POST to /exercises/<id>/command/, which the server turns into
  S engine commands, one per session;
- meanwhile it polls the side-by-side overview (/exercises/<id>/overview/) as the open
  control room does (htmx, every 3 s).

Measured: now − `data-stamp-ms` on every screen (as fanout), reach, the round trip of a
command to all teams (`command_ms`) and of the overview (`overview_ms`). Results go to
bench/results/syndicates.json, with the single-session cases beside them when present.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from bench import fanout
from bench.fanout import ClientsProcess, percentile, summarize
from bench.fixtures import ROLES, django_setup
from bench.servers import CLIENT_CPU, PY, RESULTS, ROOT, Servers, machine, pin
from rehearsal.browser import Browser


@dataclass(frozen=True)
class ExerciseCase:
    syndicates: int
    clients: int  # per syndicate
    steady_rate: float  # broadcasts to all teams per second
    steady_s: float
    bursts: int = 3
    burst_size: int = 5
    burst_gap_s: float = 2.5
    poll_s: float = 3.0  # the control room's overview poll

    @property
    def name(self) -> str:
        return f"exercise-{self.syndicates}x{self.clients}"


CASE = ExerciseCase(5, 15, steady_rate=1.0, steady_s=10)
SMOKE = ExerciseCase(2, 3, steady_rate=4.0, steady_s=1, bursts=1, burst_size=2,
                     burst_gap_s=0.5, poll_s=0.5)
COMPARED = ("1x10", "1x100", "50x10")  # bench/fanout.py's cases, from embedded.json


def build(case: ExerciseCase) -> dict:
    """The exercise with every seat taken, and the trainer's login (through the ORM)."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.test import Client

    from scenarios.models import Role, Scenario, ScenarioVersion
    from sessions import engine
    from sessions.access import pass_cookie_name, sign_pass
    from sessions.exercises import services
    from sessions.models import Seat
    from simtrain.permissions import TRAINER_GROUP, ensure_groups

    ensure_groups()
    user, _ = get_user_model().objects.get_or_create(username="bench-trainer")
    user.groups.add(Group.objects.get(name=TRAINER_GROUP))
    client = Client()
    client.force_login(user)
    scenario, _ = Scenario.objects.get_or_create(slug="bench-syndicates")
    number = ScenarioVersion.objects.filter(scenario=scenario).count() + 1
    version = ScenarioVersion.objects.create(
        scenario=scenario, number=number, format="simtrain.scenario/1",
        title="Bench syndicates", language="fr", content_hash=f"s{number:063x}")
    per_role = math.ceil(case.clients / len(ROLES))
    for order, ident in enumerate(ROLES):
        Role.objects.create(version=version, ident=ident, order=order, title=ident.title(),
                            kind=Role.Kind.TRAINEE, profession=ident, seats=per_role)
    exercise = services.exercise_create(version=version, trainer=user, title=case.name,
                                        syndicates=case.syndicates)
    seats = []
    for team in services.syndicates_of(exercise):
        sid = team.session_id
        for n, seat in enumerate(Seat.objects.filter(session_id=sid)
                                 .order_by("number", "role__order")[: case.clients]):
            key = f"bench-{sid}-{n}"
            engine.seat_claim(session_id=sid, seat_id=seat.pk, name=f"P{n}", pass_key=key)
            seats.append((sid, f"{pass_cookie_name(sid)}={sign_pass(sid, key)}"))
    return {"exercise": exercise.pk, "sessions": [t.session_id for t in
                                                   services.syndicates_of(exercise)],
            "seats": seats, "cookie": client.cookies["sessionid"].value}


def fired_per_session(session_ids: list[int], phase: str) -> int:
    from sessions.models import Event

    return Event.objects.filter(session_id__in=session_ids, kind="inject.fired",
                                payload__title__startswith=f"bench:{phase}:").count()


class ControlRoom:
    """The trainer's browser on the exercise control room (blocking; run in threads)."""

    def __init__(self, base_url: str, cookie: str, exercise_id: int):
        from django.conf import settings

        self.browser = Browser(base_url, timeout=60)
        self.browser.set_cookie(settings.SESSION_COOKIE_NAME, cookie)
        self.path = f"/exercises/{exercise_id}/"
        self.command_ms: list[float] = []
        self.overview_ms: list[float] = []
        self.refused = 0

    def open(self) -> None:
        if self.browser.get(self.path).status != 200:
            raise RuntimeError("the exercise control room did not open")

    def command(self, command: str, **args) -> None:
        started = time.monotonic()
        response = self.browser.post(f"{self.path}command/", {"command": command,
                                                              "syndicate": "all", **args})
        if command == "broadcast":
            self.command_ms.append((time.monotonic() - started) * 1000)
        if response.status != 200:
            raise RuntimeError(f"{command}: HTTP {response.status}")
        self.refused += response.text.count('data-ok="0"')

    def poll(self) -> None:
        started = time.monotonic()
        if self.browser.get(f"{self.path}overview/").status == 200:
            self.overview_ms.append((time.monotonic() - started) * 1000)


async def _poller(room: ControlRoom, every: float, stop: asyncio.Event) -> None:
    while not stop.is_set():
        await asyncio.to_thread(room.poll)
        try:
            await asyncio.wait_for(stop.wait(), every)
        except TimeoutError:
            pass


async def _drive(room: ControlRoom, case: ExerciseCase, phase: str) -> None:
    started = time.monotonic()
    if phase == "steady":
        for k in range(max(1, int(case.steady_s * case.steady_rate))):
            delay = started + k / case.steady_rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            await asyncio.to_thread(room.command, "broadcast", title=f"bench:steady:{k}",
                                    body=fanout.BODY)
        return
    number = 0
    for b in range(case.bursts):
        delay = started + b * case.burst_gap_s - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        for _ in range(case.burst_size):
            await asyncio.to_thread(room.command, "broadcast", title=f"bench:burst:{number}",
                                    body=fanout.BODY)
            number += 1


def _ms(values: list[float]) -> dict:
    ordered = sorted(values)
    return {"n": len(ordered), "p50_ms": round(percentile(ordered, 50), 1),
            "p99_ms": round(percentile(ordered, 99), 1)}


async def run_case(base_url: str, case: ExerciseCase, log) -> dict:
    from asgiref.sync import sync_to_async

    fixture = await sync_to_async(build)(case)
    ws_base = base_url.replace("http://", "ws://")
    clients = [{"url": f"{ws_base}/ws/sessions/{sid}/", "cookie": cookie}
               for sid, cookie in fixture["seats"]]
    proc = ClientsProcess(case.name, clients, base_url)
    room = ControlRoom(base_url, fixture["cookie"], fixture["exercise"])
    result: dict = {"case": case.name, "syndicates": case.syndicates,
                    "clients": case.clients, "phases": {}}
    stop = asyncio.Event()
    try:
        result["connect"] = await proc.start()
        await asyncio.to_thread(room.open)
        await asyncio.to_thread(room.command, "start")
        poller = asyncio.ensure_future(_poller(room, case.poll_s, stop))
        await asyncio.sleep(1.5)  # presence events settle
        for phase in ("steady", "burst"):
            before = await proc.ask("count")
            started = time.monotonic()
            await _drive(room, case, phase)
            fired = await sync_to_async(fired_per_session)(fixture["sessions"], phase)
            got = await proc.wait_for(before + fired * case.clients, timeout=15)
            result["phases"][phase] = {"fired": fired,
                                       "duration_s": round(time.monotonic() - started, 2),
                                       "received_at_end": got - before}
            log(f"  {case.name} {phase}: {got - before}/{fired * case.clients}")
        stop.set()
        await poller
        await asyncio.to_thread(room.command, "end")
        raw = await proc.stop()
    finally:
        stop.set()
        proc.kill()
    for phase in ("steady", "burst"):
        fired = result["phases"][phase]["fired"]
        received = sum(c["received"].get(phase, 0) for c in raw["per_client"])
        result["phases"][phase].update(
            summarize(raw["latencies"].get(phase, []), received, fired * case.clients))
    result["command_ms"] = _ms(room.command_ms)
    result["overview_ms"] = _ms(room.overview_ms)
    result["refused"] = room.refused
    return result


def compared(results_dir: Path) -> dict:
    """The single-session cases of the last fan-out run, for the same phases."""
    path = results_dir / "embedded.json"
    if not path.exists():
        return {}
    cases = {c["case"]: c for c in json.loads(path.read_text()).get("cases", [])}
    return {name: {phase: {k: cases[name]["phases"][phase].get(k)
                           for k in ("p50_ms", "p99_ms", "reach")}
                   for phase in ("steady", "burst")}
            for name in COMPARED if name in cases}


def log(message: str) -> None:
    print(message, flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="2 syndicates × 3 seats")
    parser.add_argument("--out", default=str(RESULTS))
    parser.add_argument("--run", action="store_true", help=argparse.SUPPRESS)  # the child
    args = parser.parse_args()
    out_dir = Path(args.out).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    fanout.TMP = out_dir / "tmp"  # the clients' specs and results
    case = SMOKE if args.smoke else CASE
    if args.run:
        if hasattr(os, "sched_setaffinity") and pin(CLIENT_CPU):
            os.sched_setaffinity(0, {int(CLIENT_CPU)})
        django_setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0, interactive=False)
        servers = Servers("embedded")
        base_url = servers.start()
        try:
            result = asyncio.run(run_case(base_url, case, log))
        finally:
            servers.stop()
        # Beside the single-session cases of the same run when there is one (compare
        # ratios within one run: the machine is shared), else of the last fan-out run.
        here = out_dir if (out_dir / "embedded.json").exists() else RESULTS
        result["single_session_cases"] = compared(here)
        result["machine"] = machine()
        (out_dir / "syndicates.json").write_text(json.dumps(result, indent=1))
        return 0
    fanout.TMP.mkdir(parents=True, exist_ok=True)
    db = fanout.TMP / "syndicates.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DJANGO_DEBUG": "0",
           "DATABASE_URL": f"sqlite:///{db}"}
    env.pop("REDIS_URL", None)
    command = [PY, "-m", "bench.syndicates", "--run", "--out", str(out_dir)]
    if args.smoke:
        command.append("--smoke")
    subprocess.run(command, cwd=ROOT, env=env, check=True)
    log(f"== results in {out_dir / 'syndicates.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
