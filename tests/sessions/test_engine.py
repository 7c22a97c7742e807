"""Engine commands and triggers, one behaviour per test, against a hand-built scenario."""

from __future__ import annotations

import pytest

from sessions import engine
from sessions.audience import Perspective
from sessions.models import DecisionAnswer, Event, InjectFiring, Seat, Session
from tests.sessions.conftest import seat_up


def kinds(session, since: int = 0) -> list[str]:
    return list(
        Event.objects.filter(session=session, seq__gt=since).values_list("kind", flat=True)
    )


def fired(session) -> dict[str, InjectFiring]:
    return {f.inject.ident: f for f in InjectFiring.objects.filter(session=session)}


def last_seq(session) -> int:
    return Event.objects.filter(session=session).order_by("-seq").first().seq


def start(session, boss):
    engine.session_start(session_id=session.pk, principal=boss)


def tick(session):
    return engine.scheduler_tick(session_id=session.pk)


def test_create_lays_out_one_seat_per_place(session):
    assert session.state == Session.State.LOBBY
    assert Seat.objects.filter(session=session).count() == 4
    assert len(session.code) == 7
    assert kinds(session) == ["session.created"]


def test_seq_is_contiguous_from_one(session, boss, seated, wall):
    start(session, boss)
    wall.advance(200)
    tick(session)
    seqs = list(Event.objects.filter(session=session).values_list("seq", flat=True))
    assert seqs == list(range(1, len(seqs) + 1))
    assert Session.objects.get(pk=session.pk).last_seq == seqs[-1]


def test_start_fires_what_is_due_at_zero(session, boss):
    start(session, boss)
    assert set(fired(session)) == {"t0"}
    event = Event.objects.get(session=session, kind="inject.fired")
    assert event.audience == ["*"]  # a broadcast to all is public
    assert event.payload["late"] is False


def test_clock_pause_stops_time_and_resume_goes_on(session, boss, wall):
    start(session, boss)
    wall.advance(50)
    engine.session_pause(session_id=session.pk, principal=boss)
    wall.advance(1000)
    tick(session)
    assert "call" not in fired(session)  # the clock stood at 50 s
    engine.session_resume(session_id=session.pk, principal=boss)
    wall.advance(10)
    tick(session)
    assert fired(session)["call"].clock_ms == 60_000


def test_speed_scales_the_clock(session, boss, wall):
    start(session, boss)
    engine.clock_set_speed(session_id=session.pk, principal=boss, speed=60)
    wall.advance(1)  # one real second is one exercise minute
    tick(session)
    assert "call" in fired(session)


def test_unsupported_speed_is_refused(session, boss):
    start(session, boss)
    with pytest.raises(engine.EngineError) as err:
        engine.clock_set_speed(session_id=session.pk, principal=boss, speed=1000)
    assert err.value.code == "bad-speed"


def test_jump_to_phase_fires_skipped_over_injects_on_time(session, boss, seated, wall):
    start(session, boss)
    engine.clock_jump_to_phase(session_id=session.pk, principal=boss, phase_ident="p2")
    f = fired(session)
    assert {"call", "dec", "late-phase"} <= set(f)
    assert not any(firing.late for firing in f.values())
    # `after` counts from when its parent actually fired: at the jump.
    assert f["call"].clock_ms == 600_000 and "followup" not in f
    wall.advance(30)
    tick(session)
    assert fired(session)["followup"].clock_ms == 630_000
    with pytest.raises(engine.EngineError) as err:
        engine.clock_jump_to_phase(session_id=session.pk, principal=boss, phase_ident="p1")
    assert err.value.code == "jump-backwards"


def test_after_trigger_counts_from_the_parent_firing(session, boss, wall):
    start(session, boss)
    wall.advance(60)
    tick(session)
    wall.advance(29)
    tick(session)
    assert "followup" not in fired(session)
    wall.advance(1)
    tick(session)
    assert fired(session)["followup"].clock_ms == 90_000


def test_skipped_parent_holds_its_followers(session, boss, wall):
    start(session, boss)
    engine.inject_skip(session_id=session.pk, principal=boss, inject_ident="call")
    wall.advance(500)
    tick(session)
    assert fired(session)["call"].outcome == "skipped"
    assert "followup" not in fired(session)


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


def test_manual_inject_waits_for_the_trainer(session, boss, wall):
    start(session, boss)
    wall.advance(5000)
    tick(session)
    assert "manual" not in fired(session)
    event = engine.inject_fire(session_id=session.pk, principal=boss, inject_ident="manual")
    assert event.audience == ["role:police"]
    with pytest.raises(engine.EngineError) as err:
        engine.inject_fire(session_id=session.pk, principal=boss, inject_ident="manual")
    assert err.value.code == "already-fired"


def test_adhoc_inject_speaks_as_a_persona(session, boss, seated):
    start(session, boss)
    event = engine.inject_adhoc(
        session_id=session.pk, principal=boss, roles=["police"], title="Appel",
        body="Je suis sa mère", kind="call", sender="Mère de Joy",
    )
    assert event.audience == ["role:police"]
    assert event.payload["from"] == "Mère de Joy"
    assert event.payload["inject"].startswith("adhoc-")


def test_adhoc_recipients_are_checked_in_one_query_and_an_unknown_one_changes_nothing(
    session, boss, seated, django_assert_max_num_queries
):
    start(session, boss)
    event = engine.inject_adhoc(session_id=session.pk, principal=boss,
                                roles=["parquet", "police", "police"], title="À deux")
    assert event.audience == ["role:parquet", "role:police"]
    last_seq = Session.objects.get(pk=session.pk).last_seq
    with pytest.raises(engine.EngineError) as err:
        engine.inject_adhoc(session_id=session.pk, principal=boss,
                            roles=["police", "douane"], title="Perdu")
    assert err.value.code == "unknown-role" and "douane" in err.value.message
    assert Session.objects.get(pk=session.pk).last_seq == last_seq
    with django_assert_max_num_queries(12) as one:
        engine.inject_adhoc(session_id=session.pk, principal=boss, roles=["police"],
                            title="À un")
    with django_assert_max_num_queries(len(one.captured_queries)):  # not one more per role
        engine.inject_adhoc(session_id=session.pk, principal=boss,
                            roles=["police", "parquet", "joy", "obs"], title="À tous")


def test_trainee_cannot_steer(session, seated):
    with pytest.raises(engine.EngineError) as err:
        engine.session_start(session_id=session.pk, principal=seated["police"])
    assert err.value.code == "forbidden"


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


def test_freed_seat_ends_the_holders_access(session, boss, seated):
    start(session, boss)
    engine.seat_free(session_id=session.pk, principal=boss, seat_id=seated["police"].seat_id)
    with pytest.raises(engine.EngineError) as err:
        engine.action_take(
            session_id=session.pk, principal=seated["police"], action_ident="interprete"
        )
    assert err.value.code == "seat-lost"


def test_freeing_a_seat_rotates_its_invitation(session, boss, seated):
    seat = Seat.objects.get(pk=seated["joy"].seat_id)
    engine.seat_free(session_id=session.pk, principal=boss, seat_id=seat.pk)
    assert Seat.objects.get(pk=seat.pk).invite_token != seat.invite_token


def test_lobby_then_assign(session, boss):
    entry = engine.lobby_join(session_id=session.pk, name="Chloé", pass_key="k1")
    seat = Seat.objects.get(session=session, role__ident="police")
    engine.seat_assign(session_id=session.pk, principal=boss, seat_id=seat.pk, entry_id=entry.pk)
    seat.refresh_from_db()
    assert (seat.holder_name, seat.holder_key) == ("Chloé", "k1")
    entry.refresh_from_db()
    assert entry.state == "seated"


def test_reassigning_a_held_seat_evicts_the_old_holder(session, boss):
    old = seat_up(session, "police", "Ancien")
    entry = engine.lobby_join(session_id=session.pk, name="Nouvelle", pass_key="k2")
    engine.seat_assign(
        session_id=session.pk, principal=boss, seat_id=old.seat_id, entry_id=entry.pk
    )
    assert "seat.freed" in kinds(session)
    with pytest.raises(engine.EngineError):
        engine.safety_stop(session_id=session.pk, principal=old)


def test_claiming_a_taken_seat_is_refused(session):
    seat_up(session, "police")
    seat = Seat.objects.get(session=session, role__ident="police")
    with pytest.raises(engine.EngineError) as err:
        engine.seat_claim(session_id=session.pk, seat_id=seat.pk, name="X", pass_key="other")
    assert err.value.code == "seat-taken"


def test_late_injects_after_downtime_fire_once_marked_late(session, boss, wall):
    start(session, boss)
    wall.advance(3600)  # the server was down for an hour
    tick(session)
    tick(session)
    f = fired(session)
    assert f["call"].late and f["dec"].late
    assert f["call"].clock_ms == 3_600_000
    assert Event.objects.filter(session=session, kind="inject.fired").count() == len(
        [x for x in f.values() if x.outcome == "fired"]
    )


def test_on_time_injects_are_not_late(session, boss, wall):
    start(session, boss)
    wall.advance(60.5)
    tick(session)
    assert fired(session)["call"].late is False


def test_ended_session_refuses_commands(session, boss, seated):
    start(session, boss)
    engine.session_end(session_id=session.pk, principal=boss)
    with pytest.raises(engine.EngineError) as err:
        engine.action_take(session_id=session.pk, principal=seated["police"], action_ident="note")
    assert err.value.code == "session-ended"
    assert tick(session) == 0


def test_every_event_has_an_audience_list(session, boss, seated, wall):
    start(session, boss)
    wall.advance(200)
    tick(session)
    engine.note_add(session_id=session.pk, principal=boss, text="Bonne réaction")
    for event in Event.objects.filter(session=session):
        assert isinstance(event.audience, list)
    note = Event.objects.get(session=session, kind="note.added")
    assert note.audience == [] and not Perspective.for_seat(
        Seat.objects.get(pk=seated["obs"].seat_id)
    ).sees(note.audience)


def test_refused_command_changes_nothing(session, boss, seated):
    start(session, boss)
    before = last_seq(session)
    with pytest.raises(engine.EngineError):
        engine.message_send(
            session_id=session.pk, principal=seated["police"], to_role="nobody", text="x"
        )
    assert last_seq(session) == before


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


def test_a_new_holder_does_not_see_what_was_addressed_to_the_previous_one(session, boss, seated):
    from sessions.projections import project_session

    start(session, boss)
    engine.note_private(session_id=session.pk, principal=seated["police"], text="secret d'avant")
    engine.safety_stop(session_id=session.pk, principal=seated["police"])
    engine.seat_free(session_id=session.pk, principal=boss, seat_id=seated["police"].seat_id)
    newcomer = seat_up(session, "police", "Nouvelle")
    engine.note_private(session_id=session.pk, principal=newcomer, text="ma note")
    seat = Seat.objects.get(pk=newcomer.seat_id)
    state = project_session(session, Perspective.for_seat(seat))
    assert [n.payload["text"] for n in state.notes] == ["ma note"]
    assert not any(e.kind == "safety.stop" for e in state.feed)
