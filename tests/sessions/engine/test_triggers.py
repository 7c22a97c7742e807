"""New inject keys: `if` (withheld), `when: {any}`, `delay`, `reply`, `repeat`."""

from __future__ import annotations

import pytest

from scenarios.models import Action, Inject, Role
from sessions import engine
from sessions.engine import due
from sessions.models import Event
from tests.factories import InjectFactory
from tests.sessions.engine.helpers import fired, start, tick

W = Inject.Trigger.WHEN


def _role(version, ident):
    return Role.objects.get(version=version, ident=ident)


def _fired_events(session, ident):
    return list(
        Event.objects.filter(session=session, kind="inject.fired", payload__inject=ident).order_by(
            "seq"
        )
    )


def _withheld(session):
    return list(
        Event.objects.filter(session=session, kind="inject.withheld").values_list(
            "payload__inject", flat=True
        )
    )


@pytest.fixture
def law(live_version):
    """The live scenario plus injects using the new keys."""
    v = live_version
    police, parquet = _role(v, "police"), _role(v, "parquet")
    note = Action.objects.get(version=v, ident="note")
    T = Inject.Trigger  # noqa: N806
    # `if` on a time trigger: only if the interpreter was called by then.
    InjectFactory(
        version=v,
        ident="if-interp",
        order=20,
        trigger=T.AT,
        at_s=90,
        recipients=[police],
        condition={"action": "interprete"},
    )
    # `any`: the first of an answer `gav` and the interpreter.
    InjectFactory(
        version=v,
        ident="first-of",
        order=21,
        trigger=W,
        recipients=[parquet],
        when={"any": [{"decision": "dec", "option": "gav"}, {"action": "interprete"}]},
    )
    # a delayed cause, 5 min of clock time after any answer.
    InjectFactory(
        version=v,
        ident="later",
        order=22,
        trigger=W,
        recipients=[police],
        when={"decision": "dec", "option": "any", "delay_s": 300},
    )
    # reply to whoever answered, no `to`.
    InjectFactory(
        version=v,
        ident="ack",
        order=23,
        trigger=T.DECISION,
        when_decision=Inject.objects.get(version=v, ident="dec"),
        when_option="any",
        when={"decision": "dec", "option": "any"},
        reply=True,
        to_given=False,
    )
    # repeat on the repeatable action, plain and delayed.
    InjectFactory(
        version=v,
        ident="each-note",
        order=24,
        trigger=T.ACTION,
        when_action=note,
        when={"action": "note"},
        repeat=True,
        recipients=[parquet],
    )
    InjectFactory(
        version=v,
        ident="each-note-later",
        order=25,
        trigger=W,
        repeat=True,
        when={"action": "note", "delay_s": 60},
        recipients=[parquet],
        reply=True,
    )
    # `if` on a cause: only if the decision was not answered gav.
    InjectFactory(
        version=v,
        ident="if-not-gav",
        order=26,
        trigger=W,
        recipients=[police],
        when={"action": "interprete"},
        condition={"not": {"decision": "dec", "option": "gav"}},
    )
    return v


@pytest.fixture
def lawful(law, trainer, wall):
    return engine.session_create(version=law, trainer=trainer, title="Loi")


@pytest.fixture
def seats(lawful):
    from tests.sessions.conftest import seat_up

    return {ident: seat_up(lawful, ident) for ident in ("police", "parquet")}


def _answer(session, seats, option="gav"):
    return engine.decision_answer(
        session_id=session.pk, principal=seats["parquet"], inject_ident="dec", option=option
    )


def test_an_if_that_does_not_hold_withholds_the_inject_for_good(lawful, boss, seats, wall):
    start(lawful, boss)
    wall.advance(90)
    tick(lawful)
    assert _withheld(lawful) == ["if-interp"] and "if-interp" not in fired(lawful)
    engine.action_take(
        session_id=lawful.pk, principal=seats["police"], action_ident="interprete"
    )  # it would hold now: too late
    wall.advance(600)
    tick(lawful)
    assert "if-interp" not in fired(lawful) and _withheld(lawful) == ["if-interp"]
    event = engine.inject_fire(session_id=lawful.pk, principal=boss, inject_ident="if-interp")
    assert event.actor.startswith("trainer:") and "if-interp" in fired(lawful)


def test_an_if_that_holds_lets_it_fire_as_the_system(lawful, boss, seats, wall):
    start(lawful, boss)
    engine.action_take(session_id=lawful.pk, principal=seats["police"], action_ident="interprete")
    wall.advance(90)
    tick(lawful)
    [event] = _fired_events(lawful, "if-interp")
    assert event.actor == "system" and event.payload["cause"] == "at"
    assert _withheld(lawful) == []


def test_an_if_on_a_cause_is_checked_when_the_cause_comes(lawful, boss, seats, wall):
    start(lawful, boss)
    wall.advance(120)
    tick(lawful)
    _answer(lawful, seats, "gav")
    engine.action_take(session_id=lawful.pk, principal=seats["police"], action_ident="interprete")
    assert "if-not-gav" in _withheld(lawful) and "if-not-gav" not in fired(lawful)


def test_any_fires_on_the_first_of_its_forms_once(lawful, boss, seats, wall):
    start(lawful, boss)
    engine.action_take(session_id=lawful.pk, principal=seats["police"], action_ident="interprete")
    [event] = _fired_events(lawful, "first-of")
    assert event.actor == "system" and event.payload["cause"] == "action"
    wall.advance(120)
    tick(lawful)
    _answer(lawful, seats, "gav")
    assert len(_fired_events(lawful, "first-of")) == 1


def test_a_delay_counts_clock_time_and_freezes_with_the_clock(lawful, boss, seats, wall):
    start(lawful, boss)
    wall.advance(120)
    tick(lawful)
    _answer(lawful, seats, "opp")  # at clock 120 s: due at 420 s
    wall.advance(200)
    tick(lawful)
    engine.session_pause(session_id=lawful.pk, principal=boss)
    wall.advance(3600)
    tick(lawful)
    assert "later" not in fired(lawful)
    engine.session_resume(session_id=lawful.pk, principal=boss)
    wall.advance(99)
    tick(lawful)
    assert "later" not in fired(lawful)
    wall.advance(1)
    tick(lawful)
    [event] = _fired_events(lawful, "later")
    assert (event.clock_ms, event.payload["due_ms"], event.actor) == (420_000, 420_000, "system")
    assert not event.payload["late"]
    wall.advance(600)
    tick(lawful)
    assert len(_fired_events(lawful, "later")) == 1


def test_reply_reaches_the_role_whose_act_set_it_off(lawful, boss, seats, wall):
    start(lawful, boss)
    wall.advance(120)
    tick(lawful)
    _answer(lawful, seats, "opp")
    [event] = _fired_events(lawful, "ack")
    assert event.audience == ["role:parquet"] and event.payload["roles"] == ["parquet"]


def test_repeat_fires_exactly_once_per_taking(lawful, boss, seats, wall):
    start(lawful, boss)
    for who in ("police", "parquet", "police"):
        engine.action_take(session_id=lawful.pk, principal=seats[who], action_ident="note")
        wall.advance(10)
    tick(lawful)
    assert len(_fired_events(lawful, "each-note")) == 3
    assert fired(lawful)["each-note"].outcome == "fired"  # the projection keeps the first
    wall.advance(35)  # takings at 0, 10, 20 s: the delayed ones are due at 60, 70, 80 s
    tick(lawful)
    assert len(_fired_events(lawful, "each-note-later")) == 1
    wall.advance(30)
    tick(lawful)
    delayed = _fired_events(lawful, "each-note-later")
    assert [e.payload["due_ms"] for e in delayed] == [60_000, 70_000, 80_000]
    assert [e.audience for e in delayed] == [
        ["role:parquet", "role:police"],
        ["role:parquet"],
        ["role:parquet", "role:police"],
    ]
    wall.advance(600)
    tick(lawful)
    assert len(_fired_events(lawful, "each-note-later")) == 3
    assert all(e.actor == "system" for e in delayed)


def test_a_once_action_fires_its_plain_inject_once(lawful, boss, seats, wall):
    start(lawful, boss)
    engine.action_take(session_id=lawful.pk, principal=seats["police"], action_ident="interprete")
    assert len(_fired_events(lawful, "on-interp")) == 1


def test_an_old_style_scenario_logs_nothing_new(session, boss, seated, wall):
    start(session, boss)
    wall.advance(200)
    tick(session)
    assert not Event.objects.filter(session=session, kind="inject.withheld").exists()
    # Nothing of the new keys to look up on each tick for such a version.
    assert (
        not due._has_conditions(session.version_id) and due.when_injects(session.version_id) == ()
    )


def test_a_law_version_is_known_to_have_conditions_and_whens(lawful):
    assert due._has_conditions(lawful.version_id)
    assert {spec.ident for spec in due.when_injects(lawful.version_id)} >= {"first-of", "later"}


def test_a_skipped_delayed_repeat_inject_stops_without_looping(lawful, boss, seats, wall):
    start(lawful, boss)
    engine.inject_skip(session_id=lawful.pk, principal=boss, inject_ident="each-note-later")
    for _ in range(2):
        engine.action_take(session_id=lawful.pk, principal=seats["police"], action_ident="note")
    wall.advance(120)
    tick(lawful)  # returns: a skipped repeat is never due again
    assert _fired_events(lawful, "each-note-later") == []
    assert fired(lawful)["each-note-later"].outcome == "skipped"
