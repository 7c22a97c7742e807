"""Seats and the lobby: claiming, freeing, assigning, and what a new holder sees."""

from __future__ import annotations

import pytest

from sessions import engine
from sessions.audience import Perspective
from sessions.models import AuditEntry, LobbyEntry, Seat
from sessions.projections import project_session
from tests.sessions.conftest import seat_up
from tests.sessions.engine.helpers import kinds, start


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


def test_a_claim_with_a_fresh_pass_still_knows_the_browsers_old_one(session):
    """Views mint a new pass per claim and name the browser's current one `previous_pass`:
    one person, one seat; the holder may re-take their own seat under the new pass."""
    held = seat_up(session, "police")
    parquet = Seat.objects.get(session=session, role__ident="parquet")
    with pytest.raises(engine.EngineError) as err:
        engine.seat_claim(session_id=session.pk, seat_id=parquet.pk, name="X",
                          pass_key="fresh-1", previous_pass=held.pass_key)
    assert err.value.code == "already-seated"
    engine.seat_claim(session_id=session.pk, seat_id=held.seat_id, name="Chloé",
                      pass_key="fresh-2", previous_pass=held.pass_key)
    assert Seat.objects.get(pk=held.seat_id).holder_key == "fresh-2"
    assert kinds(session).count("seat.taken") == 2


def test_rejoining_the_lobby_moves_the_entry_to_the_new_pass(session):
    first = engine.lobby_join(session_id=session.pk, name="Chloé", pass_key="k1")
    again = engine.lobby_join(session_id=session.pk, name="Chloé B.", pass_key="k2",
                              previous_pass="k1", wanted_role="parquet")
    assert again.pk == first.pk
    again.refresh_from_db()
    assert (again.pass_key, again.name, again.wanted_role.ident) == ("k2", "Chloé B.", "parquet")


def test_the_trainer_clears_the_lobby_at_once(session, boss):
    for n in range(5):
        engine.lobby_join(session_id=session.pk, name=f"Bot {n}", pass_key=f"k{n}")
    assert engine.lobby_clear(session_id=session.pk, principal=boss) == 5
    assert not LobbyEntry.objects.filter(session=session, state="waiting").exists()
    assert kinds(session).count("lobby.dismissed") == 5
    assert project_session(session, Perspective.trainer()).lobby == {}
    line = AuditEntry.objects.get(action=AuditEntry.Action.LOBBY_CLEARED)
    assert line.details["names"] == [f"Bot {n}" for n in range(5)]
    with pytest.raises(engine.EngineError) as err:
        engine.lobby_clear(session_id=session.pk, principal=boss)
    assert err.value.code == "lobby-empty"


def test_only_the_trainer_clears_the_lobby(session, seated):
    engine.lobby_join(session_id=session.pk, name="Bot", pass_key="kx")
    with pytest.raises(engine.EngineError) as err:
        engine.lobby_clear(session_id=session.pk, principal=seated["police"])
    assert err.value.code == "forbidden"
