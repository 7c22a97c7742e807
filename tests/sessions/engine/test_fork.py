"""Restart from any moment: the fork's log begins with the original's scenario events,
so its replay at the fork equals the original's replay there."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command
from django.utils import translation

from sessions import engine, replay
from sessions.models import ActionTaken, DecisionAnswer, InjectFiring, Seat, Session
from tests.sessions.review_helpers import add_objective, canonical, play_script

# The trainer's roster names seats by their ids (links, forms): the fork's are others.
NOT_COPIED = {"roster"}


@pytest.fixture
def played(session, boss, seated, wall):
    add_objective(session.version)
    checkpoints = []
    play_script(
        session,
        boss,
        seated,
        wall,
        moment=lambda: checkpoints.append(Session.objects.get(pk=session.pk).last_seq),
    )
    session.refresh_from_db()
    return session, checkpoints


def regions(session, token, seq):
    view = replay.viewpoint(session, token)
    with translation.override("fr"):
        frame = replay.frame_at(session, view, seq=seq)
    return {n: canonical(html) for n, html in frame.regions.items() if n not in NOT_COPIED}


def _same_seat(original, fork, role):
    seat = Seat.objects.get(session=original, role__ident=role)
    return seat, Seat.objects.get(session=fork, role=seat.role, number=seat.number)


@pytest.mark.parametrize("checkpoint", [1, 2, 3])
def test_the_fork_replays_like_the_original_at_that_moment(played, boss, checkpoint):
    original, checkpoints = played
    at = checkpoints[checkpoint]
    fork = engine.session_fork(session_id=original.pk, principal=boss, at_seq=at)
    assert fork.version_id == original.version_id and fork.state == Session.State.PAUSED
    assert fork.clock_ms(None) == replay.clock_at_seq(original, at)
    for role in ("police", "parquet", "joy", "obs"):
        old, new = _same_seat(original, fork, role)
        mine = regions(original, f"seat:{old.pk}", at)
        theirs = regions(fork, f"seat:{new.pk}", fork.last_seq)
        for name in mine:
            # Names and seat ids appear in regions; the copy keeps the names.
            assert theirs[name] == mine[name].replace(f"seat:{old.pk}", f"seat:{new.pk}"), (
                role,
                name,
            )
    # At seq N the fork's log is the original's: the trainer's screen is the same too;
    # after it come the fork's own events (seats freed, clock paused).
    assert regions(fork, "trainer", at) == regions(original, "trainer", at)
    assert fork.events.get(seq=fork.last_seq).kind == "clock.paused"


def test_the_forks_log_is_the_originals_prefix_event_for_event(played, boss):
    original, checkpoints = played
    at = checkpoints[3]
    fork = engine.session_fork(session_id=original.pk, principal=boss, at_seq=at)
    seats = {
        f"seat:{old.pk}": f"seat:{new.pk}"
        for role in ("police", "parquet", "joy", "obs")
        for old, new in [_same_seat(original, fork, role)]
    }
    ids = {int(k[5:]): int(v[5:]) for k, v in seats.items()}

    def row(e, mapping):
        payload = dict(e.payload)
        if isinstance(payload.get("seat"), int):
            payload["seat"] = mapping.get(payload["seat"], payload["seat"])
        return (
            e.seq,
            e.kind,
            e.clock_ms,
            [seats.get(t, t) if mapping else t for t in e.audience],
            seats.get(e.actor, e.actor) if mapping else e.actor,
            payload,
        )

    mine = [row(e, ids) for e in original.events.filter(seq__gt=1, seq__lte=at).order_by("seq")]
    theirs = [row(e, {}) for e in fork.events.filter(seq__gt=1, seq__lte=at).order_by("seq")]
    assert theirs == mine
    tail = list(fork.events.filter(seq__gt=at).values_list("kind", flat=True))
    assert tail[0] == "session.forked" and tail[-1] == "clock.paused"
    assert set(tail[1:-1]) == {"seat.freed"} and len(tail[1:-1]) == 4  # every seat re-assigned
    for model in (InjectFiring, DecisionAnswer, ActionTaken):
        assert (
            model.objects.filter(session=fork).count()
            == model.objects.filter(session=original, seq__lte=at).count()
        ), model
    assert not Seat.objects.filter(session=fork).exclude(holder_key="").exists()


def test_a_fork_after_the_end_starts_from_the_last_event_before_it(played, boss):
    original, _ = played
    fork = engine.session_fork(session_id=original.pk, principal=boss, at_seq=original.last_seq)
    ended = original.events.get(kind="session.ended").seq
    assert fork.events.get(kind="session.forked").payload["from_seq"] == ended - 1
    assert not fork.events.filter(kind="session.ended").exists()


def test_play_goes_on_live_in_the_fork(played, boss, wall):
    original, checkpoints = played
    fork = engine.session_fork(session_id=original.pk, principal=boss, at_seq=checkpoints[1])
    from tests.sessions.conftest import seat_up

    police = seat_up(fork, "police")
    engine.session_resume(session_id=fork.pk, principal=boss)
    wall.advance(61)
    engine.scheduler_tick(session_id=fork.pk)  # dec and followup fall due as in the original
    fired = set(fork.events.filter(kind="inject.fired").values_list("payload__inject", flat=True))
    assert {"t0", "cue1", "call", "dec", "followup"} <= fired
    with pytest.raises(engine.EngineError) as err:  # already taken before the fork: once only
        engine.action_take(session_id=fork.pk, principal=police, action_ident="interprete")
    assert err.value.code in {"already-done", "already-taken"}


@pytest.mark.parametrize(("at", "code"), [(0, "bad-seq"), (10_000, "bad-seq"), (1, "not-started")])
def test_bad_fork_points_are_refused_and_create_nothing(played, boss, at, code):
    original, _ = played
    before = Session.objects.count()
    with pytest.raises(engine.EngineError) as err:
        engine.session_fork(session_id=original.pk, principal=boss, at_seq=at)
    assert err.value.code == code and Session.objects.count() == before


def test_fork_session_command_prints_the_new_id(played):
    original, checkpoints = played
    out = io.StringIO()
    call_command("fork_session", str(original.pk), "--at-seq", str(checkpoints[2]), stdout=out)
    fork = Session.objects.get(pk=int(out.getvalue().strip()))
    assert fork.events.filter(kind="session.forked", payload__from_seq=checkpoints[2]).exists()
    with pytest.raises(CommandError):
        call_command("fork_session", str(original.pk), "--at-seq", "0", stdout=io.StringIO())


def test_restart_from_here_on_the_replay_opens_the_new_control_room(trainer_client, played):
    from django.urls import reverse

    original, checkpoints = played
    page = trainer_client.get(reverse("sessions:replay", args=[original.pk])).content.decode()
    assert reverse("sessions:fork", args=[original.pk]) in page
    answer = trainer_client.post(
        reverse("sessions:fork", args=[original.pk]), {"at_seq": str(checkpoints[2])}
    )
    fork = Session.objects.exclude(pk=original.pk).get()
    assert answer.status_code == 302 and answer.url == reverse("sessions:control", args=[fork.pk])
    bad = trainer_client.post(reverse("sessions:fork", args=[original.pk]), {"at_seq": "x"})
    assert bad.url == reverse("sessions:replay", args=[original.pk])
    assert Session.objects.count() == 2
