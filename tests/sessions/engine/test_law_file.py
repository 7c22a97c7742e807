"""The law example file (tests/scenarios/data/law.yaml), imported and played: its
`if`, `any`, `delay`, `reply` and `repeat` injects as the importer stores them."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import translation

from scenarios.services import scenario_import
from sessions import engine, exports
from sessions.models import Event, Session
from tests.scenarios.format_helpers import DATA
from tests.sessions.conftest import seat_up
from tests.sessions.engine.helpers import start, tick


@pytest.fixture
def law_session(db, trainer, wall):
    version = scenario_import(source=DATA / "law.yaml").version
    session = engine.session_create(version=version, trainer=trainer, title="Loi")
    seats = {ident: seat_up(session, ident) for ident in ("police", "parquet", "avocat")}
    return session, seats


def _fired(session, ident):
    return list(
        Event.objects.filter(session=session, kind="inject.fired", payload__inject=ident).order_by(
            "seq"
        )
    )


def _withheld(session):
    return set(
        Event.objects.filter(session=session, kind="inject.withheld").values_list(
            "payload__inject", flat=True
        )
    )


def test_the_law_file_plays_its_new_trigger_forms(law_session, boss, wall):
    session, seats = law_session
    start(session, boss)
    police = seats["police"]
    for _ in range(3):
        engine.action_take(session_id=session.pk, principal=police, action_ident="auditionner")
    proces = _fired(session, "pv-audition")
    assert len(proces) == 3 and all(e.audience == ["role:police"] for e in proces)
    engine.action_take(session_id=session.pk, principal=police, action_ident="aviser-avocat")
    wall.advance(59)
    tick(session)
    assert _fired(session, "avocat-arrive") == []
    wall.advance(1)
    tick(session)
    [arrive] = _fired(session, "avocat-arrive")
    assert arrive.clock_ms == 60_000 and arrive.actor == "system"
    wall.advance(240)
    tick(session)  # 5 min: the decision
    engine.decision_answer(
        session_id=session.pk,
        principal=seats["parquet"],
        inject_ident="statut",
        option="garde-a-vue",
    )
    assert "joy-se-confie" in _withheld(session)  # no countdown runs: its `if` fails
    wall.advance(60)
    tick(session)
    [alerte] = _fired(session, "alerte")
    assert alerte.clock_ms == 360_000 and alerte.payload["cause"] == "decision"
    wall.advance(3600)
    tick(session)
    assert len(_fired(session, "alerte")) == 1 and len(_fired(session, "pv-audition")) == 3
    assert _fired(session, "joy-se-confie") == []


def test_an_if_on_a_missed_deadline_withholds_its_branch(law_session, boss, wall):
    session, seats = law_session
    start(session, boss)
    engine.action_take(
        session_id=session.pk, principal=seats["police"], action_ident="aviser-avocat"
    )
    wall.advance(5 * 60)
    tick(session)  # the decision at 5 min, unanswered by 15 min
    wall.advance(10 * 60)
    tick(session)
    assert "relance" in _withheld(session) and _fired(session, "relance") == []
    assert Session.objects.get(pk=session.pk).version.safety_stop == "alert"


def test_the_pack_and_the_control_room_show_story_time(law_session, trainer_client, boss, wall):
    session, seats = law_session
    with translation.override("fr"):
        pack = trainer_client.get(reverse("sessions:pack", args=[session.pk])).content.decode()
        start(session, boss)
        control = trainer_client.get(reverse("sessions:control", args=[session.pk]))
    assert "dim. 15 mars 2026, 22:41" in pack  # the message at 1 min, in story time
    assert "data-story=" in control.content.decode()
    assert "dim. 15 mars 2026, 22:40" in control.content.decode()


def test_a_session_with_repeats_and_withheld_injects_restores_from_its_export(
    law_session, boss, wall, trainer
):
    session, seats = law_session
    start(session, boss)
    for _ in range(2):
        engine.action_take(
            session_id=session.pk, principal=seats["police"], action_ident="auditionner"
        )
    wall.advance(5 * 60)
    tick(session)
    engine.decision_answer(
        session_id=session.pk,
        principal=seats["parquet"],
        inject_ident="statut",
        option="victime",
    )
    engine.session_end(session_id=session.pk, principal=boss)
    session.refresh_from_db()
    first = exports.dumps(exports.export_session(session))
    copy = exports.import_session(exports.loads(first), user=trainer, allow_copy=True)
    assert exports.dumps(exports.export_session(copy)) == first
    assert len(_fired(copy, "pv-audition")) == 2 and "joy-se-confie" in _withheld(copy)


def test_a_skipped_delayed_inject_never_fires(law_session, boss, wall):
    session, seats = law_session
    start(session, boss)
    engine.inject_skip(session_id=session.pk, principal=boss, inject_ident="avocat-arrive")
    engine.action_take(
        session_id=session.pk, principal=seats["police"], action_ident="aviser-avocat"
    )
    wall.advance(120)
    assert tick(session) >= 0
    assert _fired(session, "avocat-arrive") == []
