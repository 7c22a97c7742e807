"""Chaos, with nothing lost (scale-out shape): a Redis restart and the loss of a worker.

`simulate_session --chaos disconnects,redis-restart,kill-worker` starts its own private
Redis, two Daphne workers (`SIMTRAIN_SCHEDULER=external`) and one `run_scheduler`, on
the PostgreSQL test database. Bots are spread over both workers and drop their own
sockets at random; at 6:00 on the exercise clock Redis is stopped and started again
(empty) 3 s later; at 12:00 the first worker is SIGKILLed for good and its clients —
the trainer among them — move to the other. Every participant must end with exactly
its audience's events, in order, and every timed inject due must have fired once.
"""

from __future__ import annotations

import pytest

from tests.rehearsal.test_chaos import (
    CHAOS_SCENARIO,
    assert_nothing_lost,
    assert_resynced,
    run_chaos,
)

pytestmark = [
    pytest.mark.scaleout,
    pytest.mark.django_db(transaction=True),
    pytest.mark.timeout(240),
]


def test_a_redis_restart_and_a_dead_worker_lose_nothing(tmp_path):
    source = tmp_path / "chaos.yaml"
    source.write_text(CHAOS_SCENARIO)
    report = run_chaos(source, "disconnects,redis-restart,kill-worker")
    assert report["shape"] == "scaleout"
    assert_nothing_lost(report)

    redis, worker = report["faults"]
    assert redis["kind"] == "redis-restart" and redis["at_clock_ms"] == 6 * 60_000
    assert redis["down_s"] >= 3
    assert worker["kind"] == "kill-worker" and worker["at_clock_ms"] == 12 * 60_000
    assert worker["down_s"] is None and worker["detail"].startswith("http://127.0.0.1:")
    # Redis: every socket stayed open and caught up through the periodic check.
    assert_resynced(report, "redis-restart", everyone=False)
    # Its clients (spread round-robin: about half) lost their sockets and moved to the
    # other worker. The report counts a client that was on it when it died and never
    # resynced as unresolved, which fails the run.
    assert assert_resynced(report, "kill-worker", everyone=False)["participants"]
    assert_resynced(report, "disconnect", everyone=False)
    print({k: (v["resync_p50"], v["resync_p99"]) for k, v in report["resync"].items()})
