"""Replay benchmark: open a replay and seek in a session of 20,000 events.

    .venv/bin/python bench/replay_bench.py              # 20,000 events, seed 7
    .venv/bin/python bench/replay_bench.py --events 5000 --seeks 50 --json

It plays the shipped scenario (fixtures/scenarios/nigerian-minors) through the engine
(`rehearsal.in_process`) into its own SQLite file under var/ (a few minutes, once: later
runs reuse it, `--rebuild` makes a new one), then times
real requests through Django (the test client, a logged-in trainer):

- open: GET /sessions/<id>/replay/ (markers, perspectives, the screen at T=0), warm
  (snapshots built) — and once cold, before any snapshot exists;
- open at T: the page opened on a random moment;
- seek: the frame endpoint at a random moment and a random perspective (the control
  room and three seats), with the rendered-region cache emptied before each one, so
  every region is rendered: the worst case; and the replay engine alone (the state
  at T, without rendering);
- scrub: successive seeks while the browser holds the previous screen (it sends its
  region versions; only regions that changed are rendered);
- play 16×: consecutive frames 4 s of exercise apart, as replay.js fetches them;
- first seek: to the end of the log with no snapshot yet (snapshots are built lazily,
  once per perspective).

Targets: open < 300 ms, seek < 100 ms (median and p95 are printed). Exit status 1 if
the warm open or the seek misses its target at the median. The threads and notes regions
show their last `projections.SHOWN` entries (the rest on demand), which the trainer's
seek depends on most; the figures are wall-clock, so the load of the machine is printed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.standalone import latency_stats, load_per_cpu, setup_django, timed

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "fixtures" / "scenarios" / "nigerian-minors"

# The mix of a long course day with 19 people on tablets and laptops: many reconnects
# and opened items, a steady flow of messages and notes, observers rating as they go.
MIX = {
    "message": 13,
    "presence": 30,
    "open": 18,
    "private_note": 9,
    "trainer_note": 3,
    "action": 6,
    "decide": 10,
    "cue": 6,
    "rate": 3,
    "safety": 0.15,
    "pause": 0.3,
}
TARGET_OPEN_MS, TARGET_SEEK_MS = 300.0, 100.0


def _code_hash() -> str:
    """Names the built session by its mix. A log is data that every later version of the
    code must replay (last year's sessions), so a session built by older code stays a fair
    test; `--rebuild` makes a fresh one."""
    return hashlib.sha256(repr(sorted(MIX.items())).encode()).hexdigest()[:10]


def _build(events: int, seed: int):
    import django.utils.timezone as tz
    from django.contrib.auth import get_user_model

    from rehearsal.in_process import rehearse
    from scenarios.services import scenario_import
    from simtrain.permissions import TRAINER_GROUP, ensure_groups

    version = scenario_import(source=SCENARIO).version
    ensure_groups()
    user, _ = get_user_model().objects.get_or_create(
        username="bench", defaults={"first_name": "Banc", "last_name": "D'essai"}
    )
    from django.contrib.auth.models import Group

    user.groups.add(Group.objects.get(name=TRAINER_GROUP))
    wall = [datetime(2026, 3, 2, 9, 0, tzinfo=UTC)]
    real_now = tz.now
    tz.now = lambda: wall[0]

    def advance(seconds: float) -> None:
        wall[0] += timedelta(seconds=seconds)

    try:
        return rehearse(
            version=version,
            trainer=user,
            advance=advance,
            events=events,
            seed=seed,
            title="Banc d'essai de la relecture",
            weights=MIX,
        )
    finally:
        tz.now = real_now


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--seeks", type=int, default=100)
    parser.add_argument("--rebuild", action="store_true", help="build a new session")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()

    (ROOT / "var").mkdir(exist_ok=True)
    db = ROOT / "var" / f"replay-bench-{args.events}-{args.seed}-{_code_hash()}.sqlite3"
    if args.rebuild:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
    setup_django(db)

    from collections import Counter

    from django.contrib.auth import get_user_model
    from django.core.cache import cache
    from django.test import Client
    from django.urls import reverse

    from sessions import projections as P
    from sessions import replay
    from sessions.models import Event, ReplaySnapshot, Session

    session = Session.objects.filter(last_seq__gte=args.events).order_by("-pk").first()
    build_s = None
    if session is None:
        print(
            f"building a session of {args.events} events (once; kept in {db.name})…",
            file=sys.stderr,
        )
        start = time.perf_counter()
        session = _build(args.events, args.seed)
        build_s = round(time.perf_counter() - start, 1)
    client = Client()
    client.force_login(get_user_model().objects.get(username="bench"))
    load_before = load_per_cpu()
    rng = random.Random(args.seed)
    end_ms = replay.clock_end(session)
    views = [v.token for v in replay.viewpoints(session)]
    sample_views = ["trainer"] + rng.sample(
        [v for v in views if v != "trainer"], k=min(3, len(views) - 1)
    )
    page = reverse("sessions:replay", args=[session.pk])
    frame_url = reverse("sessions:replay_frame", args=[session.pk])

    def get(url: str, **params) -> float:
        ms, response = timed(lambda: client.get(url, params))
        assert response.status_code == 200, (url, params, response.status_code)
        return ms

    # Cold: no snapshot at all, empty caches.
    ReplaySnapshot.objects.filter(session=session).delete()
    cache.clear()
    cold_open = get(page)
    first_seek = {v: get(frame_url, t=end_ms, **{"as": v}) for v in sample_views}
    # Warm the snapshots everywhere (what earlier visits leave behind).
    for v in views:
        replay.replayed_at(session, replay.viewpoint(session, v).perspective, session.last_seq)

    open_warm = [get(page) for _ in range(20)]
    open_at = [
        get(page, t=rng.randint(0, end_ms), **{"as": rng.choice(sample_views)}) for _ in range(20)
    ]
    seeks, seeks_by_view = [], {v: [] for v in sample_views}
    for _ in range(args.seeks):
        view = rng.choice(sample_views)
        cache.clear()  # every region rendered: the worst case
        ms = get(frame_url, t=rng.randint(0, end_ms), **{"as": view})
        seeks.append(ms)
        seeks_by_view[view].append(ms)

    # The replay engine alone (T → seq, nearest snapshot, fold), without rendering.
    states = []
    for _ in range(args.seeks):
        view = replay.viewpoint(session, rng.choice(sample_views))
        ms, _state = timed(
            lambda v=view: replay.replayed_at(
                session, v.perspective, replay.seq_at(session, rng.randint(0, end_ms))
            )
        )
        states.append(ms)

    def have_of(view: str, t: int) -> str:
        frame = replay.frame_at(session, replay.viewpoint(session, view), t_ms=t)
        return ",".join(f"{n}:{v}" for n, v, _h in frame.region_versions)

    scrubs = []
    for _ in range(max(20, args.seeks // 2)):
        view = rng.choice(sample_views)
        t = rng.randint(0, end_ms)
        have = have_of(view, t)
        step = rng.randint(-120_000, 120_000)  # dragging the scrubber by up to 2 minutes
        scrubs.append(get(frame_url, t=max(0, min(end_ms, t + step)), have=have, **{"as": view}))
    plays = []
    for view in sample_views:
        t = rng.randint(0, max(0, end_ms - 200_000))
        have = have_of(view, t)
        for _ in range(25):
            t += 4_000  # 16× at 4 fetches a second
            plays.append(get(frame_url, t=t, have=have, quiet=1, **{"as": view}))
            have = have_of(view, t)

    kinds = Counter(Event.objects.filter(session=session).values_list("kind", flat=True))
    result = {
        "events": session.last_seq,
        "exercise_length": end_ms // 1000,
        "composition": dict(kinds.most_common()),
        "build_s": build_s,
        "snapshots_every": replay.SNAPSHOT_EVERY,
        "open_cold_ms": round(cold_open, 1),
        "first_seek_to_end_cold_ms": {v: round(ms, 1) for v, ms in first_seek.items()},
        "open": latency_stats(open_warm),
        "open_at_random_t": latency_stats(open_at),
        "seek": latency_stats(seeks),
        "seek_by_view": {v: latency_stats(ms) for v, ms in seeks_by_view.items() if ms},
        "state_at_t": latency_stats(states),
        "scrub": latency_stats(scrubs),
        "play_16x": latency_stats(plays),
        "targets_ms": {"open": TARGET_OPEN_MS, "seek": TARGET_SEEK_MS},
        # Wall-clock figures: a busy machine inflates them (load per CPU, 1 min).
        "load_per_cpu": {"before": load_before, "after": load_per_cpu()},
        "shown_per_list": P.SHOWN,
    }
    if args.events == 20_000 and args.seed == 7:  # the case docs/performance.md cites
        (ROOT / "bench" / "results" / "replay.json").write_text(
            json.dumps(result, indent=1, ensure_ascii=False) + "\n")
    if args.json:
        print(json.dumps(result, indent=2, ensure_ascii=False))
    else:
        print(
            f"replay benchmark — {result['events']} events, exercise "
            f"{end_ms // 3_600_000}h{(end_ms // 60_000) % 60:02d}, snapshots every "
            f"{replay.SNAPSHOT_EVERY} events"
        )
        print("  composition: " + ", ".join(f"{k} {n}" for k, n in kinds.most_common(8)))
        print(f"  lists capped to their last {P.SHOWN} entries; load per CPU "
              f"{load_before} before, {result['load_per_cpu']['after']} after")
        print(f"  open, cold (no snapshot yet)     {cold_open:8.1f} ms")
        for v, ms in first_seek.items():
            print(f"  first seek to the end, {v:<10}{ms:8.1f} ms  (builds the snapshots)")
        for label, key in (
            ("open", "open"),
            ("open at a random T", "open_at_random_t"),
            ("seek (no render cache)", "seek"),
            ("  of which state at T", "state_at_t"),
            ("scrub (±2 min)", "scrub"),
            ("play 16×", "play_16x"),
        ):
            s = result[key]
            print(f"  {label:<32} median {s['median_ms']:7.1f} ms   p95 {s['p95_ms']:7.1f} ms")
        for v, s in result["seek_by_view"].items():
            print(
                f"    seek as {v:<22} median {s['median_ms']:7.1f} ms   p95 {s['p95_ms']:7.1f} ms"
            )
    ok = (
        result["open"]["median_ms"] < TARGET_OPEN_MS
        and result["seek"]["median_ms"] < TARGET_SEEK_MS
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
