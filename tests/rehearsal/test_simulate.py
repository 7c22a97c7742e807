"""`manage.py simulate_session`: bots on every seat of a real server, and the report.

The command starts Daphne against the test database, so these tests commit their rows
(`transaction=True`). The fast ones run a short scenario at the top speed; the shipped
scenario runs at the speed trainers use for rehearsals (×60, about two minutes).
"""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

from rehearsal.bot import Screen
from rehearsal.report import participant_report
from sessions.audience import Perspective
from sessions.engine import due
from sessions.models import Event, Session
from tests.drills import drill

pytestmark = pytest.mark.django_db(transaction=True)

SHIPPED = Path(settings.BASE_DIR) / "fixtures" / "scenarios" / "nigerian-minors"

SMALL = drill(
    slug="sim-small", title="Répétition courte", duration="8m",
    before=[
        "{id: appel, kind: call, to: [police], title: Appel, at: 1m}",
        "{id: joy-entre, kind: cue, to: [joy], title: Entrer, at: 1m30s,"
        " cue: {say: \"J'ai 19 ans\"}}",
        "{id: suite, kind: message, to: [parquet], title: Suite,"
        " after: {inject: appel, delay: 1m}}",
    ],
    decision_at="3m", branches=("oui", "none"), after=[], end="7m",
)


@pytest.fixture(autouse=True)
def _fresh_timed_cache():
    # Rolled-back tests may have cached another version under a reused id.
    due.forget_versions()
    yield
    due.forget_versions()


def simulate(*args: str) -> dict:
    out, err = StringIO(), StringIO()
    try:
        call_command("simulate_session", *args, "--json", stdout=out, stderr=err)
    except CommandError as failure:
        pytest.fail(f"{failure}\n{out.getvalue()}\n{err.getvalue()}")
    return json.loads(out.getvalue())


def assert_clean(report: dict) -> None:
    assert report["ok"], report["failures"]
    assert report["log_contiguous"]
    for p in report["participants"]:
        assert p["leaked"] == [], p
        assert p["gaps"] == [], p
        assert p["duplicates_shown"] == 0, p
        assert p["mismatched"] == [] and p["out_of_order"] == 0, p
        assert p["refused_close"] is None, p
        assert p["expected"] <= p["received"], p
    assert report["injects"]["fired_more_than_once"] == {}
    assert report["injects"]["firing_mismatches"] == []
    assert report["errors"]["server_error"] == 0
    assert report["errors"]["unexpected"] == {}
    session = Session.objects.get(pk=report["session_id"])  # the replay can open it
    assert session.state == Session.State.ENDED
    assert Event.objects.filter(session=session).count() == report["events"]


def test_rehearsal_of_the_hand_built_scenario(live_version):
    report = simulate(
        live_version.scenario.slug, "--speed", "240", "--seed", "3", "--drop-every", "1.5"
    )
    assert_clean(report)
    assert report["seed"] == 3 and report["speed"] == 240
    roles = {p["role"] for p in report["participants"]}
    assert roles == {"", "police", "parquet", "joy", "obs"}
    never = {x["inject"] for x in report["injects"]["never_fired"]}
    assert not {"t0", "call", "followup", "dec", "cue1", "late-phase"} & never
    trainer = report["participants"][0]
    assert trainer["kind"] == "trainer" and trainer["expected"] == trainer["cutoff"]


def test_rehearsal_of_a_scenario_file_imports_it_once(tmp_path):
    source = tmp_path / "small.yaml"
    source.write_text(SMALL)
    first = simulate(str(source), "--speed", "240", "--seed", "8", "--drop-every", "2")
    assert_clean(first)
    assert first["scenario"] == "sim-small" and first["version"] == 1
    never = {x["inject"] for x in first["injects"]["never_fired"]}
    assert not {"ouverture", "appel", "joy-entre", "suite", "garde", "fin"} & never
    by_role = {}
    for p in first["participants"]:
        by_role.setdefault(p["role"], []).append(p)
    assert len(by_role["police"]) == 2  # one bot per seat
    # The same file again is the same version (an identical re-import makes none).
    second = simulate(str(source), "--speed", "240", "--seed", "8", "--drop-every", "0")
    assert_clean(second)
    assert second["version"] == 1 and second["session_id"] != first["session_id"]


def test_text_report_and_exit_status(live_version):
    out = StringIO()
    call_command(
        "simulate_session",
        live_version.scenario.slug,
        "--speed",
        "240",
        "--seed",
        "1",
        stdout=out,
        stderr=StringIO(),
    )
    text = out.getvalue()
    assert "participant" in text and "leaked" in text and "OK:" in text


def test_unknown_scenario_is_a_usage_error():
    with pytest.raises(CommandError) as err:
        call_command("simulate_session", "no-such-scenario", stdout=StringIO(), stderr=StringIO())
    assert err.value.returncode == 2


# --- reproducibility and the report, without a server -------------------------------------


def test_the_same_seed_gives_every_bot_the_same_plan(live_version):
    from rehearsal.bot import Behaviour, Bot, derive_rng
    from rehearsal.plan import scenario_plan
    from rehearsal.runner import create_session, simulator_user

    session = create_session(version=live_version, user=simulator_user())
    plan = scenario_plan(session)
    assert [s.kind for s in plan.specs] == ["trainer", "trainee", "trainee", "actor", "observer"]

    def plans(seed: int) -> list:
        return [
            [
                (a.at_ms, a.what)
                for a in Bot(
                    spec,
                    base_url="http://127.0.0.1:1",
                    session_id=1,
                    code="X",
                    rng=derive_rng(seed, spec.name),
                    behaviour=Behaviour(horizon_ms=plan.horizon_ms),
                ).plan
            ]
            for spec in plan.specs
        ]

    assert plans(5) == plans(5)
    assert plans(5) != plans(6)
    assert any(plans(5))  # bots do something


def fake_bot(screens: list[Screen], kinds: dict[int, str] | None = None):
    received = {seq for s in screens for seq in s.shown}
    return SimpleNamespace(
        spec=SimpleNamespace(name="bot", kind="trainee", role="police", seat_id=None),
        screens=screens,
        received=received,
        kinds=kinds or {},
        connects=1,
        hellos=0,
        commands={},
        errors={},
        refused=None,
        cursor=screens[-1].cursor,
    )


def fake_events(audiences: dict[int, list[str]]):
    return {
        seq: SimpleNamespace(seq=seq, kind="inject.fired", audience=aud)
        for seq, aud in audiences.items()
    }


def screen(shown: list[int], cursor: int, final: bool = False) -> Screen:
    s = Screen(number=1, cursor=cursor, final=final)
    for seq in shown:
        s.shown[seq] += 1
        s.order.append(seq)
    return s


def test_report_finds_leaks_gaps_duplicates_and_disorder():
    police = Perspective(kind="seat", role_ident="police", seat_id=1)
    events = fake_events(
        {1: ["*"], 2: ["role:parquet"], 3: ["role:police"], 4: ["*"], 5: ["role:police"]}
    )
    clean = participant_report(
        fake_bot([screen([1, 3, 4, 5], 5, final=True)]), events, police, cutoff=5
    )
    assert (clean.leaked, clean.gaps, clean.duplicates_shown, clean.out_of_order) == ([], [], 0, 0)
    bad = participant_report(
        fake_bot([screen([1, 2, 4], 4), screen([4, 3, 5, 5], 5, final=True)]),
        events,
        police,
        cutoff=5,
    )
    assert bad.leaked == [2]
    assert bad.gaps == [1, 3]  # 3 missing from the first screen, 1 from the second
    assert bad.duplicates_shown == 1
    assert bad.out_of_order == 2
    short = participant_report(fake_bot([screen([1, 3], 3, final=True)]), events, police, cutoff=5)
    assert short.gaps == [4, 5]  # owed by the cutoff, never shown


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_rehearsal_of_the_shipped_scenario():
    report = simulate(str(SHIPPED), "--speed", "60", "--seed", "11")
    assert_clean(report)
    assert report["scenario"] == "nigerian-minors"
    assert not report["capped"]
    assert len(report["participants"]) >= 15  # the trainer and every seat
    assert report["injects"]["fired"] > 50
    assert report["timings"]["total"] < 170
