"""Creating an exercise, driving its syndicates one engine command each, placing trainees."""

from __future__ import annotations

import pytest

from sessions import engine
from sessions.exercises import services
from sessions.exercises.models import Exercise, ExerciseEntry, Syndicate
from sessions.models import Event, LobbyEntry, Seat, Session
from tests.sessions.conftest import seat_up


def test_an_exercise_is_n_full_sessions_with_their_own_codes(exercise, live_version):
    teams = services.syndicates_of(exercise)
    assert [t.number for t in teams] == [1, 2, 3]
    sessions = [t.session for t in teams]
    assert len({s.code for s in sessions} | {exercise.code}) == 4
    for s in sessions:
        assert s.version == live_version and s.trainer == exercise.trainer
        assert Seat.objects.filter(session=s).count() == sum(
            r.seats for r in live_version.roles.all())
        assert Event.objects.filter(session=s, kind="session.created").count() == 1
    assert sessions[1].title == "Promo — Équipe 2"


@pytest.mark.parametrize("count", [0, 1, 9])
def test_a_bad_count_creates_nothing(live_version, trainer, count):
    with pytest.raises(services.ExerciseError) as err:
        services.exercise_create(version=live_version, trainer=trainer, title="X",
                                 syndicates=count)
    assert err.value.code == "bad-count"
    assert not Exercise.objects.exists() and not Session.objects.exists()


def test_a_session_refused_midway_rolls_the_whole_exercise_back(live_version, trainer):
    with pytest.raises(services.ExerciseError) as err:
        services.exercise_create(version=live_version, trainer=trainer, title="\x00",
                                 syndicates=2)
    assert err.value.code == "bad-text"
    assert not Exercise.objects.exists() and not Session.objects.exists()


def test_assign_placement_puts_every_team_in_approval_mode(live_version, trainer):
    ex = services.exercise_create(version=live_version, trainer=trainer, title="A",
                                  syndicates=2, placement="assign")
    assert {t.session.join_mode for t in services.syndicates_of(ex)} == {"approval"}


def test_a_command_to_all_is_one_engine_command_per_session(exercise, boss):
    outcomes = services.exercise_command(exercise=exercise, principal=boss, command="start",
                                         args={})
    assert [o.ok for o in outcomes] == [True, True, True]
    for team in services.syndicates_of(exercise):
        assert Event.objects.filter(session=team.session, kind="clock.started").count() == 1


def test_refusals_are_reported_per_syndicate_and_do_not_stop_the_others(exercise, boss, wall):
    first = services.syndicates_of(exercise)[0]
    engine.session_start(session_id=first.session_id, principal=boss)
    outcomes = services.exercise_command(exercise=exercise, principal=boss, command="start",
                                         args={})
    assert [(o.syndicate.number, o.ok, o.code) for o in outcomes] == [
        (1, False, "already-started"), (2, True, ""), (3, True, "")]
    wall.advance(5)
    outcomes = services.exercise_command(exercise=exercise, principal=boss, command="speed",
                                         args={"speed": "1000"})
    assert {o.code for o in outcomes} == {"bad-speed"}


def test_one_syndicate_only(exercise, boss):
    services.exercise_command(exercise=exercise, principal=boss, command="start", args={})
    outcomes = services.exercise_command(exercise=exercise, principal=boss, command="fire",
                                         args={"inject": "manual"}, only=2)
    assert [o.syndicate.number for o in outcomes] == [2]
    fired = {t.number: Event.objects.filter(session=t.session, kind="inject.fired",
                                            payload__inject="manual").count()
             for t in services.syndicates_of(exercise)}
    assert fired == {1: 0, 2: 1, 3: 0}


def test_broadcast_and_jump_reach_every_session(exercise, boss):
    services.exercise_command(exercise=exercise, principal=boss, command="start", args={})
    outcomes = services.exercise_command(exercise=exercise, principal=boss,
                                         command="broadcast", args={"title": "Pause café"})
    assert all(o.ok for o in outcomes)
    outcomes = services.exercise_command(exercise=exercise, principal=boss, command="jump",
                                         args={"phase": "p2"})
    assert all(o.ok for o in outcomes)
    for team in services.syndicates_of(exercise):
        kinds = list(Event.objects.filter(session=team.session).values_list("kind", flat=True))
        assert "clock.jumped" in kinds


def test_unknown_command_or_team_is_refused(exercise, boss):
    with pytest.raises(services.ExerciseError):
        services.exercise_command(exercise=exercise, principal=boss, command="rm", args={})
    with pytest.raises(services.ExerciseError):
        services.exercise_command(exercise=exercise, principal=boss, command="start", args={},
                                  only=7)
    assert not Event.objects.filter(kind="clock.started").exists()


def test_a_seat_principal_is_refused_by_each_engine_command(exercise):
    team = services.syndicates_of(exercise)[0]
    seat = seat_up(team.session, "police")
    outcomes = services.exercise_command(exercise=exercise, principal=seat, command="start",
                                         args={})
    assert {o.code for o in outcomes} == {"forbidden"}


def test_balance_spreads_each_profession_across_teams(balanced):
    seats = [services.place_balanced(exercise=balanced, role_ident="police", name=f"P{n}",
                                     pass_key=f"k{n}") for n in range(2)]
    assert sorted(s.session.syndicate.number for s in seats) == [1, 2]
    parquet = services.place_balanced(exercise=balanced, role_ident="parquet", name="Q",
                                      pass_key="kq")
    assert parquet.role.ident == "parquet"
    # No free police seat left anywhere (one per team in the live scenario).
    with pytest.raises(services.ExerciseError) as err:
        services.place_balanced(exercise=balanced, role_ident="police", name="P3",
                                pass_key="k3")
    assert err.value.code == "no-seat"


def test_balance_refuses_a_non_trainee_role(balanced):
    with pytest.raises(services.ExerciseError):
        services.place_balanced(exercise=balanced, role_ident="joy", name="J", pass_key="kj")
    assert not Seat.objects.exclude(holder_key="").exists()


def test_assign_sends_a_waiting_trainee_into_a_team_lobby(live_version, trainer, boss):
    ex = services.exercise_create(version=live_version, trainer=trainer, title="A",
                                  syndicates=2, placement="assign")
    entry = services.entry_wait(exercise=ex, name="Nina", pass_key="kn", role_ident="police")
    assert services.syndicate_for_pass(ex, "kn") is None
    lobby = services.entry_send(exercise=ex, principal=boss, entry_id=entry.pk, number=2)
    team = services.syndicate_for_pass(ex, "kn")
    assert team.number == 2 and lobby.session_id == team.session_id
    assert not ExerciseEntry.objects.exists()  # the name now lives in the session only
    assert LobbyEntry.objects.get(session=team.session).name == "Nina"


def test_delete_and_pseudonymise_a_syndicate_leave_the_others(exercise, boss, trainer):
    teams = services.syndicates_of(exercise)
    seat_up(teams[0].session, "police", name="Chloé Martin")
    assert engine.session_pseudonymise(session_id=teams[0].session_id) == 1
    assert Seat.objects.get(session=teams[0].session, role__ident="police").holder_name \
        .startswith("Participant")
    engine.session_delete(session_id=teams[1].session_id, user=trainer,
                          confirm_title=teams[1].session.title)
    assert [t.number for t in services.syndicates_of(exercise)] == [1, 3]
    assert not Syndicate.objects.filter(session_id=teams[1].session_id).exists()


def test_ending_every_team_forgets_who_still_waited(live_version, trainer, boss):
    ex = services.exercise_create(version=live_version, trainer=trainer, title="A",
                                  syndicates=2, placement="assign")
    services.entry_wait(exercise=ex, name="Karim", pass_key="kk")
    services.exercise_command(exercise=ex, principal=boss, command="end", args={}, only=1)
    assert ExerciseEntry.objects.filter(exercise=ex).count() == 1  # team 2 still runs
    services.exercise_command(exercise=ex, principal=boss, command="end", args={})
    assert not ExerciseEntry.objects.filter(exercise=ex).exists()
