"""`simulate_session --syndicates N`: an exercise of N teams rehearsed at once, and its checks."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from io import StringIO
from types import SimpleNamespace

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from rehearsal.exercise import cross_leaks, stamp_of, verified
from sessions.engine import due
from sessions.exercises.models import Exercise

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _fresh_timed_cache():
    due.forget_versions()
    yield
    due.forget_versions()


def event(seq: int, kind: str, ms: int):
    at = datetime(2026, 12, 2, 20, 0, 0, ms * 1000, tzinfo=UTC)
    return SimpleNamespace(seq=seq, kind=kind, created_at=at)


def bot(name: str, shown: dict[int, tuple[str, object]]):
    return SimpleNamespace(name=name, received=set(shown),
                           kinds={seq: kind for seq, (kind, _e) in shown.items()},
                           stamps={seq: stamp_of(e) for seq, (_k, e) in shown.items()})


def test_cross_syndicate_leaks_are_told_by_seq_kind_and_instant():
    a = {1: event(1, "clock.started", 1), 2: event(2, "inject.fired", 5)}
    b = {1: event(1, "clock.started", 2), 2: event(2, "message.sent", 7),
         3: event(3, "inject.fired", 9)}
    clean = bot("police-a", {1: ("clock.started", a[1]), 2: ("inject.fired", a[2])})
    leaky = bot("police-a2", {1: ("clock.started", b[1]), 3: ("inject.fired", b[3])})
    found = cross_leaks({1: [clean, leaky], 2: []}, {1: a, 2: b})
    assert [(x["participant"], x["seq"], x["from_team"]) for x in found[1]] == [
        ("police-a2", 1, 2), ("police-a2", 3, 2)]
    assert found[2] == []
    assert verified([clean, leaky], a) == 2


def test_a_bad_count_or_chaos_is_a_usage_error(live_version):
    for args in (["--syndicates", "1"], ["--syndicates", "2", "--chaos", "disconnects"]):
        with pytest.raises(CommandError) as err:
            call_command("simulate_session", live_version.scenario.slug, *args,
                         stdout=StringIO(), stderr=StringIO())
        assert err.value.returncode == 2
    assert not Exercise.objects.exists()


@pytest.mark.timeout(240)
def test_rehearsal_of_two_syndicates_reports_each_and_zero_cross_leaks(live_version):
    out, err = StringIO(), StringIO()
    try:
        call_command("simulate_session", live_version.scenario.slug, "--syndicates", "2",
                     "--speed", "240", "--seed", "5", "--drop-every", "2", "--json",
                     stdout=out, stderr=err)
    except CommandError as failure:
        pytest.fail(f"{failure}\n{out.getvalue()}\n{err.getvalue()[-3000:]}")
    report = json.loads(out.getvalue())
    assert report["ok"], report["failures"]
    assert report["cross_syndicate_leaks"] == 0
    assert [t["number"] for t in report["syndicates"]] == [1, 2]
    sessions = set()
    for team in report["syndicates"]:
        assert team["ok"] and team["cross_syndicate_leaks"] == []
        # The check tells events apart: most lines shown are matched to the team's own.
        assert team["own_lines_verified"] > sum(p["received"] for p in team["participants"]) / 2
        assert {p["role"] for p in team["participants"]} == {"", "police", "parquet", "joy",
                                                             "obs"}
        assert all(p["leaked"] == [] and p["gaps"] == [] for p in team["participants"])
        sessions.add(team["session_id"])
    assert len(sessions) == 2
    assert [(c["command"], c["teams"], c["refused"]) for c in report["commands"]] == [
        ("start", 2, []), ("speed", 2, []), ("end", 2, [])]
