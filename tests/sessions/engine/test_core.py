"""The command path: seats laid out, contiguous seq, refusals that change nothing."""

from __future__ import annotations

import pytest

from sessions import engine
from sessions.audience import Perspective
from sessions.models import Event, Seat, Session
from tests.sessions.engine.helpers import kinds, last_seq, start, tick


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


def test_trainee_cannot_steer(session, seated):
    with pytest.raises(engine.EngineError) as err:
        engine.session_start(session_id=session.pk, principal=seated["police"])
    assert err.value.code == "forbidden"
