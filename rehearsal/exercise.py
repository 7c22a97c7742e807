"""A rehearsal of an exercise of several syndicates, driven from its one control room.

    report = simulate_exercise(version=v, config=SimulationConfig(speed=60), syndicates=3)

One server, one exercise (`sessions.exercises`) of N sessions, one `Coordinator` per
syndicate with a bot on every seat of it (each team's trainees join with their own
team's code). The clock is driven for all teams at once from the exercise control room
(`/exercises/<id>/command/`, over HTTP, as a trainer clicks it): start, speed, end — one
engine command per session; what any team refused is reported. Each syndicate is then
checked as a single rehearsal is (`rehearsal.report`), and across them:

- cross-syndicate leaks: an event shown to a bot of one team that is not an event of
  its own team's log but is one of another team's. Seqs are per session, so an event
  is told by (seq, kind, the `data-stamp-ms` of its feed line): a frame of team B on a
  screen of team A either has no event at that seq in A's log or one of another kind or
  instant, and matches B's event at that seq.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings

from rehearsal.browser import Browser
from rehearsal.plan import scenario_plan
from rehearsal.report import Report, build_report
from rehearsal.runner import (
    Coordinator,
    SimulationConfig,
    _close_db,
    _db,
    login_cookie,
    simulator_user,
)
from rehearsal.stack import EmbeddedStack
from sessions.exercises import services
from sessions.models import Event

OUTCOME = re.compile(r'data-outcome="(\d+)" data-ok="([01])"')


def stamp_of(event: Event) -> str:
    """What the feed line's `data-stamp-ms` says of an event (date:'U' + date:'u'[:3])."""
    at = event.created_at
    return f"{int(at.timestamp())}{at.microsecond:06d}"[:-3]


@dataclass
class ExerciseReport:
    exercise_id: int
    code: str
    seed: int
    speed: float
    port: int
    syndicates: list[Report]
    numbers: list[int]
    cross_leaks: dict[int, list[dict]]  # team number -> what of other teams it was shown
    verified: dict[int, int] = field(default_factory=dict)  # team -> lines told its own
    commands: list[dict] = field(default_factory=list)  # per command: who refused it
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def cross_syndicate_leaks(self) -> int:
        return sum(len(v) for v in self.cross_leaks.values())

    @property
    def failures(self) -> list[str]:
        found = []
        for number, report in zip(self.numbers, self.syndicates, strict=True):
            found += [f"team {number}: {problem}" for problem in report.failures]
        for number, leaks in self.cross_leaks.items():
            if leaks:
                found.append(f"team {number}: {len(leaks)} event(s) of other teams shown")
        for command in self.commands:
            if command["refused"]:
                found.append(f"{command['command']} refused by teams {command['refused']}")
        return found

    @property
    def ok(self) -> bool:
        return not self.failures

    @property
    def session_id(self) -> int:  # what the command prints when the run fails
        return self.syndicates[0].session_id if self.syndicates else 0

    def to_dict(self) -> dict:
        teams = []
        for number, report in zip(self.numbers, self.syndicates, strict=True):
            teams.append({"number": number, **report.to_dict(),
                          "cross_syndicate_leaks": self.cross_leaks.get(number, []),
                          "own_lines_verified": self.verified.get(number, 0)})
        return {
            "exercise_id": self.exercise_id, "code": self.code, "seed": self.seed,
            "speed": self.speed, "port": self.port, "timings": self.timings,
            "commands": self.commands, "syndicates": teams,
            "cross_syndicate_leaks": self.cross_syndicate_leaks,
            "ok": self.ok, "failures": self.failures,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False)

    def format_text(self) -> str:
        lines = [f"simulate_session — exercise {self.exercise_id}, {len(self.syndicates)} "
                 f"syndicates, seed {self.seed}, speed ×{self.speed:g}, port {self.port}"]
        for number, report in zip(self.numbers, self.syndicates, strict=True):
            lines.append(f"\n=== team {number} ===")
            lines.append(report.format_text())
        lines.append(f"\ncross-syndicate leaks: {self.cross_syndicate_leaks}")
        for command in self.commands:
            lines.append(f"{command['command']}: refused by {command['refused'] or 'none'}")
        lines.append("OK" if self.ok else "FAILED:\n  " + "\n  ".join(self.failures))
        return "\n".join(lines)


def verified(bots, own: dict[int, Event]) -> int:
    """Feed lines shown whose seq, kind and instant are exactly an event of the team's own
    log: that the check tells events apart at all (it is > 0 in any real run)."""
    return sum(1 for bot in bots for seq, stamp in bot.stamps.items()
               if seq in own and own[seq].kind == bot.kinds.get(seq)
               and stamp_of(own[seq]) == stamp)


def cross_leaks(bots_by_team: dict[int, list], logs: dict[int, dict[int, Event]]) -> dict:
    """Per team: events of another team's log its bots were shown (see the module doc)."""
    found: dict[int, list[dict]] = {}
    for number, bots in bots_by_team.items():
        own = logs[number]
        leaks = []
        for bot in bots:
            for seq in sorted(bot.received):
                kind, stamp = bot.kinds.get(seq), bot.stamps.get(seq)
                mine = own.get(seq)
                if mine is not None and mine.kind == kind and (
                        not stamp or stamp_of(mine) == stamp):
                    continue
                for other, log in logs.items():
                    theirs = log.get(seq)
                    if other != number and theirs is not None and theirs.kind == kind and (
                            stamp and stamp_of(theirs) == stamp):
                        leaks.append({"participant": bot.name, "seq": seq, "kind": kind,
                                      "from_team": other})
        found[number] = leaks
    return found


class ExerciseCoordinator:
    """Runs every syndicate's coordinator in one loop; the clock from the exercise's room."""

    def __init__(self, *, exercise, coordinators: list[Coordinator], base_url: str,
                 trainer_cookie: str, config: SimulationConfig, progress):
        self.exercise = exercise
        self.coordinators = coordinators
        self.config = config
        self.progress = progress
        self.browser = Browser(base_url)
        self.browser.set_cookie(settings.SESSION_COOKIE_NAME, trainer_cookie)
        self.commands: list[dict] = []
        self.timings: dict[str, float] = {}

    def _command_blocking(self, command: str, **args) -> dict:
        path = f"/exercises/{self.exercise.pk}/"
        if not self.browser.cookie("csrftoken"):
            self.browser.get(path)
        response = self.browser.post(f"{path}command/", {"command": command,
                                                         "syndicate": "all", **args})
        if response.status >= 400:
            raise RuntimeError(f"the exercise command {command} got HTTP {response.status}")
        outcomes = OUTCOME.findall(response.text)
        refused = sorted(int(n) for n, ok in outcomes if ok == "0")
        result = {"command": command, "teams": len(outcomes), "refused": refused}
        self.commands.append(result)
        return result

    async def command(self, command: str, **args) -> dict:
        return await asyncio.to_thread(self._command_blocking, command, **args)

    async def run(self) -> None:
        try:
            await self._run()
        finally:
            for coordinator in self.coordinators:
                for bot in coordinator.bots:
                    with contextlib.suppress(Exception):
                        await bot.close()
            await _db(_close_db)()

    async def _run(self) -> None:
        t0 = time.monotonic()
        await asyncio.gather(*(c.connect() for c in self.coordinators))
        self.timings["join"] = time.monotonic() - t0
        t1 = time.monotonic()
        await self.command("start")
        await self.command("speed", speed=f"{self.config.speed:g}")
        await asyncio.gather(*(c.started() for c in self.coordinators))
        await asyncio.gather(*(c._play(t1) for c in self.coordinators))
        self.timings["exercise"] = time.monotonic() - t1
        t2 = time.monotonic()
        for coordinator in self.coordinators:
            coordinator.timings["exercise"] = self.timings["exercise"]
            coordinator.stop_acting()
        await self.command("end")
        await asyncio.gather(*(c.wind_up(t2) for c in self.coordinators))
        self.timings["finish"] = time.monotonic() - t2
        self.timings["total"] = time.monotonic() - t0


def simulate_exercise(*, version, config: SimulationConfig, syndicates: int,
                      progress: Callable[[str], None] | None = None) -> ExerciseReport:
    """Rehearse `version` as an exercise of `syndicates` teams on one real server."""
    progress = progress or (lambda message: None)
    user = simulator_user()
    exercise = services.exercise_create(version=version, trainer=user, syndicates=syndicates,
                                        title=config.title or "Répétition en équipes",
                                        cohort="simulation")
    teams = services.syndicates_of(exercise)
    cookie, logout = login_cookie(user)
    stack = EmbeddedStack(port=config.port)
    try:
        stack.start()
        progress(f"exercise {exercise.pk}: {len(teams)} syndicates; {stack.describe()}")
        coordinators = [
            Coordinator(session=team.session, plan=scenario_plan(team.session), stack=stack,
                        config=config, trainer_cookie=cookie,
                        progress=lambda m, n=team.number: progress(f"team {n}: {m}"))
            for team in teams
        ]
        run = ExerciseCoordinator(exercise=exercise, coordinators=coordinators,
                                  base_url=stack.urls[0], trainer_cookie=cookie, config=config,
                                  progress=progress)
        asyncio.run(run.run())
    except Exception as err:
        err.add_note(stack.log_tail())
        raise
    finally:
        stack.close()
        logout()
    reports = [
        build_report(session_id=team.session_id, bots=c.bots, seed=config.seed,
                     speed=config.speed, port=stack.port, timings=c.timings, capped=c.capped,
                     stopped=c.stopped,
                     shape=stack.shape, t0=c.t0)
        for team, c in zip(teams, coordinators, strict=True)
    ]
    logs = {team.number: {e.seq: e for e in Event.objects.filter(session_id=team.session_id)}
            for team in teams}
    leaks = cross_leaks({t.number: c.bots for t, c in zip(teams, coordinators, strict=True)},
                        logs)
    return ExerciseReport(exercise_id=exercise.pk, code=exercise.code, seed=config.seed,
                          speed=config.speed, port=stack.port, syndicates=reports,
                          numbers=[t.number for t in teams], cross_leaks=leaks,
                          verified={t.number: verified(c.bots, logs[t.number])
                                    for t, c in zip(teams, coordinators, strict=True)},
                          commands=run.commands,
                          timings={k: round(v, 2) for k, v in run.timings.items()})
