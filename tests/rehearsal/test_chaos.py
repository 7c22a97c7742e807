"""Chaos, with nothing lost (embedded shape): `simulate_session --chaos disconnects,kill-server`.

A real Daphne process with the embedded scheduler; bots on every seat drop their own
sockets at random (seeded) and reconnect by seq; mid-run the server is SIGKILLed, stays
down a few seconds (the exercise clock keeps running) and restarts on the same port.
Every participant must end with exactly its audience's events, in order; every timed
inject due by the end must have fired exactly once (those due while the server was
down: late, once); every resync must complete, and its time is reported.

The scale-out faults (Redis restart, loss of a worker) are in tests/scaleout/test_chaos.py.
"""

from __future__ import annotations

import json
from collections import Counter
from io import StringIO
from types import SimpleNamespace

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from rehearsal.bot import Outage
from rehearsal.chaos import (
    ChaosPlan,
    Fault,
    caught_up_at,
    percentile,
    resync_samples,
    summarise,
)
from rehearsal.report import timed_check
from scenarios.models import Inject
from sessions import engine
from sessions.audience import Perspective
from sessions.models import Event, InjectFiring, Seat, Session
from tests.drills import drill
from tests.factories import InjectFactory, ScenarioVersionFactory

# A 20-minute exercise with something timed every minute, a decision with a deadline and
# its branches, `after` followers, a cue and a manual inject. At ×60 it lasts 20 s; the
# server dies at 8:00 on the exercise clock and what falls due while it is down (9:00,
# 10:00, … ) fires late, once.
CHAOS_SCENARIO = drill(
    slug="chaos-drill", title="Exercice de chaos", duration="20m",
    before=[
        "{id: m1, kind: call, to: [police], title: Appel 1, at: 1m}",
        "{id: m2, kind: message, to: [parquet], title: Message 2, at: 2m}",
        "{id: m3, kind: cue, to: [joy], title: Entrer, at: 3m, cue: {say: \"J'ai 19 ans\"}}",
        "{id: m4, kind: message, to: [police, parquet], title: Message 4, at: 4m}",
    ],
    decision_at="5m", branches=("oui", "non", "none"),
    after=[
        "{id: m6, kind: document, to: [parquet], title: Document 6, at: 6m}",
        "{id: m7, kind: message, to: [police], title: Message 7, at: 7m}",
        "{id: m8, kind: call, to: [parquet], title: Appel 8, at: 8m}",
        "{id: suite8, kind: message, to: [police], title: Suite 8,"
        " after: {inject: m8, delay: 1m30s}}",
        "{id: m9, kind: message, to: [police, parquet], title: Message 9, at: 9m}",
        "{id: m10, kind: cue, to: [joy], title: Pleurer, at: 10m, cue: {say: \"Je veux partir\"}}",
        "{id: m11, kind: message, to: [parquet], title: Message 11, at: 11m}",
        "{id: m12, kind: broadcast, title: Point de situation, at: 12m}",
        "{id: suite12, kind: message, to: [parquet], title: Suite 12,"
        " after: {inject: m12, delay: 2m}}",
        "{id: m13, kind: message, to: [police], title: Message 13, at: 13m}",
        "{id: m14, kind: message, to: [parquet], title: Message 14, at: 14m}",
        "{id: m15, kind: call, to: [police], title: Appel 15, at: 15m}",
        "{id: m16, kind: message, to: [police, parquet], title: Message 16, at: 16m}",
        "{id: m17, kind: document, to: [police], title: Document 17, at: 17m}",
        "{id: m18, kind: message, to: [parquet], title: Message 18, at: 18m}",
    ],
    end="20m",
)

pytestmark = pytest.mark.django_db(transaction=True)


def run_chaos(source, faults: str, *, speed="60", seed="21", drop_every="2.5") -> dict:
    out, err = StringIO(), StringIO()
    try:
        call_command(
            "simulate_session",
            str(source),
            "--speed",
            speed,
            "--seed",
            seed,
            "--drop-every",
            drop_every,
            "--chaos",
            faults,
            "--down",
            "3",
            "--json",
            stdout=out,
            stderr=err,
        )
    except CommandError as failure:
        pytest.fail(f"{failure}\n{out.getvalue()}\n{err.getvalue()}")
    report = json.loads(out.getvalue())
    print(err.getvalue())  # the progress lines, for a failing run's output
    return report


def assert_nothing_lost(report: dict) -> None:
    """Every screen holds exactly its audience's events, in order; every timed inject due
    fired once. Checked by the report against the log, and again here from the database."""
    assert report["ok"], report["failures"]
    assert report["log_contiguous"] and not report["capped"]
    session = Session.objects.get(pk=report["session_id"])
    assert session.state == Session.State.ENDED
    events = {e.seq: e for e in Event.objects.filter(session=session)}
    assert sorted(events) == list(range(1, len(events) + 1)) == list(range(1, report["events"] + 1))
    for p in report["participants"]:
        assert p["leaked"] == [] and p["gaps"] == [], p
        assert p["duplicates_shown"] == 0 and p["out_of_order"] == 0, p
        assert p["mismatched"] == [] and p["refused_close"] is None, p
        assert p["final_screen_exact"] and p["reached_cutoff"], p
        # No more, no fewer: what it was shown is what its audience is owed.
        perspective = (
            Perspective.trainer()
            if p["seat"] is None
            else Perspective.for_seat(Seat.objects.select_related("role").get(pk=p["seat"]))
        )
        owed = [s for s in sorted(events) if s <= p["cutoff"] and perspective.sees_event(events[s])]
        assert p["expected"] == len(owed) <= p["received"], p
    # Timed injects: each due one has exactly one firing and one event.
    firings = Counter(
        InjectFiring.objects.filter(session=session).values_list("inject__ident", flat=True)
    )
    fired_events = Counter(
        e.payload.get("inject")
        for e in events.values()
        if e.kind in ("inject.fired", "inject.skipped") and not e.payload.get("adhoc")
    )
    assert all(n == 1 for n in firings.values()), firings
    assert firings == fired_events
    timed = Inject.objects.filter(
        version=session.version, trigger__in=[Inject.Trigger.AT, Inject.Trigger.AFTER]
    ).values_list("ident", flat=True)
    assert report["injects"]["timed_due"] >= sum(1 for i in timed if i in firings) > 0
    assert report["injects"]["timed_not_once"] == []
    assert report["injects"]["deadlines_missed"] == []
    assert report["injects"]["fired_more_than_once"] == {}
    assert report["injects"]["firing_mismatches"] == []
    assert report["errors"]["server_error"] == 0 and report["errors"]["unexpected"] == {}


def assert_resynced(report: dict, kind: str, *, everyone: bool) -> dict:
    stats = report["resync"][kind]
    assert stats["count"] > 0 and stats["unresolved"] == 0, stats
    assert stats["resync_p50"] is not None and stats["resync_p99"] >= stats["resync_p50"]
    assert stats["recovery_p99"] >= stats["recovery_p50"] >= 0
    if everyone:
        assert set(stats["participants"]) == {p["name"] for p in report["participants"]}
    return stats


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_disconnects_and_a_server_sigkill_lose_nothing(tmp_path):
    source = tmp_path / "chaos.yaml"
    source.write_text(CHAOS_SCENARIO)
    report = run_chaos(source, "disconnects,kill-server")
    assert report["chaos"] == ["disconnects", "kill-server"] and report["shape"] == "embedded"
    assert_nothing_lost(report)

    [fault] = report["faults"]
    assert fault["kind"] == "kill-server" and fault["at_clock_ms"] == 8 * 60_000
    assert fault["down_s"] >= 3
    # What fell due while the server was down fired late, once (m9 at least: due 9:00,
    # a minute after the kill, while the clock ran 3 exercise minutes with no server).
    late = {x["inject"] for x in report["injects"]["late"]}
    assert "m9" in late, report["injects"]["late"]
    assert all(x["clock_ms"] >= x["due_ms"] for x in report["injects"]["late"])
    # Every participant lost its socket to the kill and caught up; most also dropped
    # their own now and then.
    assert_resynced(report, "kill-server", everyone=True)
    assert_resynced(report, "disconnect", everyone=False)
    assert all(p["reconnects"] >= 1 for p in report["participants"])
    text = StringIO()
    print(
        "resync:",
        {k: (v["resync_p50"], v["resync_p99"]) for k, v in report["resync"].items()},
        file=text,
    )
    print(text.getvalue())


# --- the measurements and checks themselves, without a server ------------------------------


def test_caught_up_is_the_first_moment_the_cursor_reaches_the_target():
    timeline = [(1.0, 1, 5), (2.0, 1, 7), (5.0, 1, 9), (6.0, 2, 12)]
    assert caught_up_at(timeline, 3.0, 7) == 3.0  # already held when the line came back
    assert caught_up_at(timeline, 3.0, 9) == 5.0
    assert caught_up_at(timeline, 3.0, 10) == 6.0  # on the reloaded screen
    assert caught_up_at(timeline, 3.0, 13) is None  # never: unresolved
    assert caught_up_at([], 1.0, 0) == 1.0
    assert percentile([3, 1, 2, 4], 50) == 2 and percentile([3, 1, 2, 4], 99) == 4
    assert percentile([], 50) is None


def _event(seq: int, wall: float, audience=("*",)):
    from datetime import UTC, datetime

    created = datetime.fromtimestamp(wall, tz=UTC)
    return SimpleNamespace(seq=seq, created_at=created, audience=list(audience))


def test_resync_samples_attribute_outages_and_fail_when_never_caught_up():
    events = {n: _event(n, 100.0 + n) for n in range(1, 11)}
    kill = Fault(kind="kill-server", at_clock_ms=0, started=50.0, started_wall=150.0)
    kill.repaired, kill.repaired_wall = 53.0, 153.0
    redis = Fault(kind="redis-restart", at_clock_ms=0, started=70.0, started_wall=170.0)
    redis.repaired, redis.repaired_wall = 72.0, 172.0
    bot = SimpleNamespace(
        name="b",
        outages=[
            # Its own drop at 10 s, back at 11 s (seq 3 in the log by then: wall 111 → 10).
            Outage(cause="disconnect", dropped=10.0, reopened=11.0, reopened_wall=105.5),
            # The kill: the socket lost at 50.01, back at 53.5 when seqs up to 9 existed.
            Outage(cause="lost", dropped=50.01, reopened=53.5, reopened_wall=109.2),
            # Lost at the end, never back.
            Outage(cause="lost", dropped=90.0),
        ],
        timeline=[(1.0, 1, 3), (11.2, 1, 5), (53.6, 1, 8), (54.0, 1, 9), (71.0, 1, 10)],
    )
    samples = resync_samples([bot], [kill, redis], events, {"b": list(range(1, 11))})
    by_kind = {s.kind: s for s in samples if s.caught is not None}
    assert by_kind["disconnect"].target == 5 and by_kind["disconnect"].resync_s == pytest.approx(
        0.2
    )
    assert by_kind["kill-server"].start == 50.0 and by_kind["kill-server"].target == 9
    assert by_kind["kill-server"].resync_s == pytest.approx(0.5)
    assert by_kind["kill-server"].recovery_s == pytest.approx(4.0)
    # Redis: the socket stayed open; everything up to seq 10 (wall 110 < 172) held at 71.
    assert by_kind["redis-restart"].recovery_s == pytest.approx(1.0)
    assert by_kind["redis-restart"].resync_s == 0.0
    stats = summarise(samples)
    assert stats["unexplained"].unresolved == 1  # the outage that never ended
    assert stats["kill-server"].unresolved == 0


def test_chaos_plan_parsing():
    plan = ChaosPlan.parse("disconnects, kill-server")
    assert plan.disconnects and not plan.scaleout
    assert plan.schedule(600_000) == [(240_000, "kill-server")]
    assert ChaosPlan.parse("redis-restart,kill-worker").scaleout
    with pytest.raises(ValueError):
        ChaosPlan.parse("kill-server,kill-worker")
    with pytest.raises(ValueError):
        ChaosPlan.parse("meteor")


def test_the_timed_check_finds_an_inject_that_never_fired(trainer):
    version = ScenarioVersionFactory()
    InjectFactory(version=version, ident="early", order=0, trigger=Inject.Trigger.AT, at_s=60)
    InjectFactory(version=version, ident="later", order=1, trigger=Inject.Trigger.AT, at_s=6000)
    session = engine.session_create(version=version, trainer=trainer, title="Contrôle")
    Session.objects.filter(pk=session.pk).update(anchor_clock_ms=120_000)
    session.refresh_from_db()
    due, wrong, deadlines = timed_check(session, [], {})
    assert (due, wrong, deadlines) == (1, ["early"], [])


def test_a_chaos_option_that_does_not_exist_is_a_usage_error():
    with pytest.raises(CommandError) as err:
        call_command(
            "simulate_session", "x", "--chaos", "meteor", stdout=StringIO(), stderr=StringIO()
        )
    assert err.value.returncode == 2
