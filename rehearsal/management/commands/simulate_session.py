"""Rehearse a scenario headless: bots take every seat of a session on a real server.

    python manage.py simulate_session nigerian-minors --speed 60 --seed 7
    python manage.py simulate_session fixtures/scenarios/nigerian-minors --json
    python manage.py simulate_session nigerian-minors --chaos disconnects,kill-server
    DATABASE_URL=postgres://… python manage.py simulate_session nigerian-minors \
        --chaos disconnects,redis-restart,kill-worker        # the scale-out shape
    python manage.py simulate_session nigerian-minors --syndicates 3   # 3 teams at once

With `--syndicates N`, an exercise of N teams (each a full session, bots on every seat)
runs on one server, its clock driven from the exercise's one control room; the report
is per syndicate and across them (`syndicates`, `cross_syndicate_leaks`): exit status 1
too if a screen of one team showed an event of another.

Exit status 1 if any screen showed an event not meant for it (leak), missed one (gap)
or showed one twice, if an inject fired twice (or a timed inject due by the end did not
fire exactly once), if a bot got a server error, or if a resync after a fault never
completed. With `--chaos`, the report adds resync times per fault (p50/p99).
"""

from __future__ import annotations

import secrets
import signal
from functools import partial
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from rehearsal.chaos import FAULTS, ChaosPlan
from rehearsal.exercise import simulate_exercise
from rehearsal.runner import SimulationConfig, simulate, simulator_user
from rehearsal.server import ServerError
from scenarios.format import ScenarioInvalid
from scenarios.models import Scenario
from scenarios.services import scenario_import
from sessions.engine import MAX_SPEED, MIN_SPEED
from sessions.exercises.models import MAX_SYNDICATES, MIN_SYNDICATES


def resolve_version(target: str, *, user, stderr=None):
    """PATH: import it (an identical re-import returns the existing version); SLUG: latest."""
    path = Path(target)
    if path.exists():
        try:
            result = scenario_import(source=path, user=user)
        except ScenarioInvalid as invalid:
            if stderr is not None:
                for diagnostic in invalid.diagnostics:
                    stderr.write(str(diagnostic))
            raise CommandError(
                f"{target}: the scenario is invalid; nothing was simulated", returncode=2
            ) from None
        return result.version
    scenario = Scenario.objects.filter(slug=target).first()
    version = scenario.latest if scenario is not None else None
    if version is None:
        raise CommandError(
            f"no scenario {target!r}: give a slug from the library or the path of a "
            "scenario file, folder or zip",
            returncode=2,
        )
    return version


class Command(BaseCommand):
    help = (
        "Rehearse a scenario: start a real server, let bots take every seat over HTTP and "
        "WebSocket at random (reproducibly with --seed), run the clock fast, and report "
        "per participant what it was owed and what it was shown."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "target",
            metavar="SLUG|PATH",
            help="a scenario slug (its latest version) or a file/folder/zip",
        )
        parser.add_argument(
            "--speed",
            type=float,
            default=60.0,
            help=f"clock speed, {MIN_SPEED:g} to {MAX_SPEED:g} (default %(default)s)",
        )
        parser.add_argument(
            "--seed",
            type=int,
            default=None,
            help="seed for the bots (default: random, printed): the same seed gives every "
            "bot the same plan (what it does, when on the exercise clock); its reactions "
            "follow the frames as they arrive",
        )
        parser.add_argument("--json", action="store_true", help="print the report as JSON")
        parser.add_argument(
            "--port",
            type=int,
            default=0,
            help="port for the server on 127.0.0.1 (default: a free one)",
        )
        parser.add_argument(
            "--drop-every",
            type=float,
            default=15.0,
            metavar="SECONDS",
            help="mean real seconds between a bot's socket drops; 0: never (default %(default)s)",
        )
        parser.add_argument(
            "--safety-stops", action="store_true", help="let a few bots raise a safety stop"
        )
        parser.add_argument(
            "--chaos",
            default=None,
            metavar="FAULTS",
            help="faults to inject, comma-separated: "
            + ", ".join(FAULTS)
            + " (redis-restart and kill-worker run the scale-out shape: 2 workers, Redis, "
            "a scheduler, on PostgreSQL); without --chaos the bots only drop their sockets "
            "every --drop-every seconds",
        )
        parser.add_argument(
            "--down",
            type=float,
            default=3.0,
            metavar="SECONDS",
            help="how long a killed server / a stopped Redis stays down (default %(default)s)",
        )
        parser.add_argument(
            "--syndicates",
            type=int,
            default=None,
            metavar="N",
            help=f"rehearse an exercise of N teams ({MIN_SYNDICATES} to {MAX_SYNDICATES}) at "
            "once, driven from its one control room; reports per team and cross-team leaks",
        )
        parser.add_argument(
            "--timeout",
            type=float,
            default=None,
            metavar="SECONDS",
            help="wall-clock cap for the exercise (default: from its length)",
        )

    def handle(
        self,
        *args,
        target: str,
        speed: float,
        seed: int | None,
        json: bool,
        port: int,
        drop_every: float,
        safety_stops: bool,
        timeout: float | None,
        chaos: str | None = None,
        down: float = 3.0,
        syndicates: int | None = None,
        **options,
    ):
        if not MIN_SPEED <= speed <= MAX_SPEED:
            raise CommandError(
                f"--speed must be between {MIN_SPEED:g} and {MAX_SPEED:g}", returncode=2
            )
        if syndicates is not None:
            if not MIN_SYNDICATES <= syndicates <= MAX_SYNDICATES:
                raise CommandError(
                    f"--syndicates must be between {MIN_SYNDICATES} and {MAX_SYNDICATES}",
                    returncode=2,
                )
            if chaos is not None:
                raise CommandError("--chaos is for a single session", returncode=2)
        plan = None
        if chaos is not None:
            try:
                plan = ChaosPlan.parse(chaos, server_down_s=down, redis_down_s=down)
            except ValueError as err:
                raise CommandError(f"--chaos: {err}", returncode=2) from None
            if plan.scaleout and port:
                raise CommandError("--port is for the embedded shape", returncode=2)
        if seed is None:
            seed = secrets.randbelow(2**31)
        verbosity = options.get("verbosity", 1)

        def progress(message: str) -> None:
            if verbosity >= 1:
                self.stderr.write(f"[simulate] {message}")

        # Ctrl-C, and SIGTERM like it, unwind through the bots and stop the server on the
        # way out (SIGINT too when the shell started us with it ignored, in background).
        handlers = {signal.SIGTERM: _raise_interrupt, signal.SIGINT: signal.default_int_handler}
        previous = {sig: signal.getsignal(sig) for sig in handlers}
        if _in_main_thread():
            for sig, handler in handlers.items():
                signal.signal(sig, handler)
        try:
            version = resolve_version(target, user=simulator_user(), stderr=self.stderr)
            progress(f"{version.scenario.slug} v{version.number}, seed {seed}, speed ×{speed:g}")
            run = simulate if syndicates is None else partial(simulate_exercise,
                                                              syndicates=syndicates)
            report = run(
                version=version,
                config=SimulationConfig(
                    speed=speed,
                    seed=seed,
                    port=port or None,
                    drop_every_s=drop_every,
                    safety_stops=safety_stops,
                    wall_timeout_s=timeout,
                    chaos=plan,
                ),
                progress=progress,
            )
        except ServerError as err:
            raise CommandError(f"the server did not start: {err}", returncode=2) from None
        except KeyboardInterrupt:
            raise CommandError("interrupted; the server was stopped", returncode=130) from None
        finally:
            if _in_main_thread():
                for sig, handler in previous.items():
                    signal.signal(sig, handler)
        self.stdout.write(report.to_json() if json else report.format_text())
        if not report.ok:
            raise CommandError(
                f"simulation failed ({len(report.failures)} problem(s)); session "
                f"{report.session_id} keeps the log",
                returncode=1,
            )


def _in_main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")
