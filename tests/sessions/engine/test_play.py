"""What participants do: decisions, actions, messages, cues, stops, items, notes."""

from __future__ import annotations

import pytest

from sessions import engine
from sessions.audience import Perspective
from sessions.models import DecisionAnswer, Event, Seat, Session
from tests.sessions.conftest import seat_up
from tests.sessions.engine.helpers import fired, start, tick


def test_decision_option_and_any_branches_fire(session, boss, seated, wall):
    start(session, boss)
    wall.advance(120)
    tick(session)
    engine.decision_answer(
        session_id=session.pk, principal=seated["parquet"], inject_ident="dec",
        option="opp", rationale="mineure présumée",
    )
    f = fired(session)
    assert {"on-opp", "on-any"} <= set(f)
    answer = DecisionAnswer.objects.get(session=session, active=True)
    assert (answer.option, answer.rationale) == ("opp", "mineure présumée")
    wall.advance(100)
    tick(session)  # past the deadline: answered, so no `none` branch
    assert "on-none" not in fired(session)


def test_decision_other_option_does_not_fire_its_sibling(session, boss, seated, wall):
    start(session, boss)
    wall.advance(120)
    tick(session)
    engine.decision_answer(
        session_id=session.pk, principal=seated["parquet"], inject_ident="dec", option="gav"
    )
    assert "on-opp" not in fired(session)
    assert "on-any" in fired(session)


def test_decision_none_fires_when_the_deadline_passes(session, boss, seated, wall):
    start(session, boss)
    wall.advance(120)
    tick(session)
    wall.advance(59)
    tick(session)
    assert "on-none" not in fired(session)
    wall.advance(1)
    tick(session)
    assert "on-none" in fired(session)
    expired = Event.objects.get(session=session, kind="decision.expired")
    assert expired.audience == ["role:parquet"]
    with pytest.raises(engine.EngineError) as err:
        engine.decision_answer(
            session_id=session.pk, principal=seated["parquet"], inject_ident="dec", option="opp"
        )
    assert err.value.code == "deadline-passed"


def test_first_answer_locks_the_decision_for_the_role(session, boss, wall):
    a = seat_up(session, "parquet", "Alice")
    # a second holder of the same role
    role = Seat.objects.get(pk=a.seat_id).role
    extra = Seat.objects.create(session=session, role=role, number=2)
    engine.seat_claim(session_id=session.pk, seat_id=extra.pk, name="Bob", pass_key="kb")
    b = engine.SeatPrincipal(seat_id=extra.pk, pass_key="kb")
    start(session, boss)
    wall.advance(120)
    tick(session)
    event = engine.decision_answer(
        session_id=session.pk, principal=a, inject_ident="dec", option="opp"
    )
    assert Perspective.for_seat(extra).sees(event.audience)  # Bob sees Alice's answer
    assert event.payload["name"] == "Alice"
    with pytest.raises(engine.EngineError) as err:
        engine.decision_answer(session_id=session.pk, principal=b, inject_ident="dec", option="gav")
    assert err.value.code == "already-answered"
    assert "Alice" in err.value.message


def test_trainer_reopens_a_decision(session, boss, seated, wall):
    start(session, boss)
    wall.advance(120)
    tick(session)
    engine.decision_answer(
        session_id=session.pk, principal=seated["parquet"], inject_ident="dec", option="gav"
    )
    engine.decision_reopen(
        session_id=session.pk, principal=boss, inject_ident="dec", role_ident="parquet"
    )
    engine.decision_answer(
        session_id=session.pk, principal=seated["parquet"], inject_ident="dec", option="opp"
    )
    answers = DecisionAnswer.objects.filter(session=session).order_by("seq")
    assert [(a.option, a.active) for a in answers] == [("gav", False), ("opp", True)]
    assert "on-opp" in fired(session)


def test_decision_refuses_unknown_option_wrong_role_and_unfired(session, boss, seated, wall):
    start(session, boss)
    with pytest.raises(engine.EngineError) as err:
        engine.decision_answer(
            session_id=session.pk, principal=seated["parquet"], inject_ident="dec", option="opp"
        )
    assert err.value.code == "unknown-inject"  # not fired yet: indistinguishable from absent
    wall.advance(120)
    tick(session)
    with pytest.raises(engine.EngineError) as err:
        engine.decision_answer(
            session_id=session.pk, principal=seated["police"], inject_ident="dec", option="opp"
        )
    assert err.value.code == "unknown-inject"
    with pytest.raises(engine.EngineError) as err:
        engine.decision_answer(
            session_id=session.pk, principal=seated["parquet"], inject_ident="dec", option="x"
        )
    assert err.value.code == "unknown-option"


def test_action_triggers_its_inject_and_follows_once(session, boss, seated):
    start(session, boss)
    engine.action_take(session_id=session.pk, principal=seated["police"], action_ident="interprete")
    assert "on-interp" in fired(session)
    with pytest.raises(engine.EngineError) as err:
        engine.action_take(
            session_id=session.pk, principal=seated["police"], action_ident="interprete"
        )
    assert err.value.code == "already-taken"
    for _ in range(2):  # once: false
        engine.action_take(session_id=session.pk, principal=seated["parquet"], action_ident="note")
    with pytest.raises(engine.EngineError) as err:
        engine.action_take(
            session_id=session.pk, principal=seated["parquet"], action_ident="interprete"
        )
    assert err.value.code == "unknown-action"


def test_messages_follow_contacts_and_threads_are_per_pair(session, boss, seated):
    start(session, boss)
    event = engine.message_send(
        session_id=session.pk, principal=seated["police"], to_role="parquet", text="Bonjour"
    )
    assert event.audience == ["role:parquet", "role:police"]
    assert event.payload["thread"] == "parquet|police"
    with pytest.raises(engine.EngineError) as err:  # an actor is not a default contact
        engine.message_send(
            session_id=session.pk, principal=seated["police"], to_role="joy", text="?"
        )
    assert err.value.code == "not-a-contact"
    with pytest.raises(engine.EngineError) as err:
        engine.message_send(
            session_id=session.pk, principal=seated["obs"], to_role="police", text="?"
        )
    assert err.value.code == "forbidden"
    by_trainer = engine.message_send(
        session_id=session.pk, principal=boss, from_role="police", to_role="parquet", text="Note"
    )
    assert by_trainer.payload["thread"] == "parquet|police"
    assert by_trainer.payload["by_trainer"] is True


def test_cue_acknowledged_once(session, boss, seated, wall):
    start(session, boss)
    wall.advance(30)
    tick(session)
    event = engine.cue_acknowledge(
        session_id=session.pk, principal=seated["joy"], inject_ident="cue1"
    )
    assert event.audience == ["role:joy"]
    with pytest.raises(engine.EngineError) as err:
        engine.cue_acknowledge(session_id=session.pk, principal=seated["joy"], inject_ident="cue1")
    assert err.value.code == "already-done"


def test_safety_stop_alerts_the_trainer_and_pauses_nothing(session, boss, seated):
    start(session, boss)
    event = engine.safety_stop(session_id=session.pk, principal=seated["joy"], note="pause")
    assert event.audience == [f"seat:{seated['joy'].seat_id}"]
    assert Perspective.trainer().sees(event.audience)
    assert not Perspective(kind="seat", role_ident="police", seat_id=-1).sees(event.audience)
    assert Session.objects.get(pk=session.pk).state == Session.State.RUNNING


def test_opening_an_item_is_recorded_once_for_the_seat(session, boss, seated, wall):
    start(session, boss)
    wall.advance(61)
    tick(session)
    call = Event.objects.get(session=session, kind="inject.fired", payload__inject="call")
    event = engine.item_open(session_id=session.pk, principal=seated["police"], item=call.seq)
    assert event.audience == [f"seat:{seated['police'].seat_id}"]
    again = engine.item_open(session_id=session.pk, principal=seated["police"], item=call.seq)
    assert again is None
    with pytest.raises(engine.EngineError) as err:  # not in parquet's world
        engine.item_open(session_id=session.pk, principal=seated["parquet"], item=call.seq)
    assert err.value.code == "unknown-item"


def test_private_notes_belong_to_the_seat(session, seated):
    event = engine.note_private(session_id=session.pk, principal=seated["police"], text="Indices")
    assert Perspective.trainer().sees(event.audience)
    obs = Seat.objects.get(pk=seated["obs"].seat_id)
    assert not Perspective.for_seat(obs).sees(event.audience)
