"""Presence after a dead worker: leases, the sweep, and what the roster then shows."""

from __future__ import annotations

from datetime import timedelta

import pytest

from sessions import engine, events, presence, scheduler, selectors
from sessions.audience import Perspective
from sessions.models import Event, LiveSocket, Seat, WorkerLease
from sessions.projections import project_session
from tests.sessions.conftest import seat_up

pytestmark = pytest.mark.django_db

DEAD, ALIVE = "host:1:dead", "host:2:alive"


def connect(session, principal, socket_id, worker):
    engine.presence_set(
        session_id=session.pk,
        principal=principal,
        connected=True,
        socket_id=socket_id,
        worker=worker,
    )


def close(session, principal, socket_id):
    engine.presence_set(
        session_id=session.pk, principal=principal, connected=False, socket_id=socket_id
    )


def screens(session) -> tuple[dict[int, str], dict[int, str]]:
    """The presence of each seat on the trainer's live screen and in the selectors."""
    rows = project_session(session, Perspective.trainer()).roster_rows()
    live = {row.seat_id: row.presence for row in rows}
    listed = {row.seat.pk: row.presence for row in selectors.roster(session=session)["seats"]}
    return live, listed


def lefts(session) -> list[Event]:
    return list(Event.objects.filter(session=session, kind="presence.left").order_by("seq"))


def test_the_sockets_of_a_worker_past_its_grace_are_recorded_as_left(session, wall):
    police = seat_up(session, "police")
    connect(session, police, "s1", DEAD)
    live, listed = screens(session)
    assert live[police.seat_id] == "connected" and listed[police.seat_id] == "connected"
    wall.advance(presence.GRACE_S - 1)
    assert presence.sweep() == 0  # still within its grace
    wall.advance(2)
    assert presence.sweep() == 1
    (left,) = lefts(session)
    assert left.payload["reason"] == "worker-lost" and left.payload["seat"] == police.seat_id
    assert left.actor == "system" and left.audience == []
    live, listed = screens(session)
    assert live[police.seat_id] == "gone" and listed[police.seat_id] == "gone"
    assert not LiveSocket.objects.exists() and not WorkerLease.objects.exists()
    assert presence.sweep() == 0  # once


def test_a_seat_still_connected_through_another_worker_stays_connected(session, wall):
    police = seat_up(session, "police")
    connect(session, police, "on-dead", DEAD)
    connect(session, police, "on-alive", ALIVE)
    wall.advance(presence.GRACE_S + 1)
    presence.renew(ALIVE)
    assert presence.sweep() == 1
    live, listed = screens(session)
    assert live[police.seat_id] == "connected" and listed[police.seat_id] == "connected"
    assert list(LiveSocket.objects.values_list("pk", flat=True)) == ["on-alive"]
    assert list(WorkerLease.objects.values_list("pk", flat=True)) == [ALIVE]


def test_a_renewed_lease_keeps_its_sockets(session, wall):
    police = seat_up(session, "police")
    connect(session, police, "s1", ALIVE)
    for _ in range(5):
        wall.advance(presence.HEARTBEAT_S)
        assert presence.renew(ALIVE) == {"s1"}  # its one socket, still recorded
        assert presence.sweep() == 0
    assert screens(session)[1][police.seat_id] == "connected"


def test_a_clean_close_records_one_departure_and_none_after_a_sweep(session, wall):
    police, parquet = seat_up(session, "police"), seat_up(session, "parquet")
    connect(session, police, "p1", ALIVE)
    close(session, police, "p1")
    assert [e.payload["reason"] for e in lefts(session)] == ["closed"]
    assert not LiveSocket.objects.filter(pk="p1").exists()
    connect(session, parquet, "q1", DEAD)
    wall.advance(presence.GRACE_S + 1)
    presence.sweep()
    close(session, parquet, "q1")  # the dead worker's socket said goodbye after all
    assert [e.payload["reason"] for e in lefts(session)] == ["closed", "worker-lost"]
    assert screens(session)[0][parquet.seat_id] == "gone"


def test_connecting_the_same_socket_twice_counts_once(session, wall):
    police = seat_up(session, "police")
    connect(session, police, "s1", ALIVE)
    connect(session, police, "s1", ALIVE)  # a reannounce while the row still stands
    assert Event.objects.filter(session=session, kind="presence.connected").count() == 1
    close(session, police, "s1")
    live, listed = screens(session)
    assert live[police.seat_id] == "gone" and listed[police.seat_id] == "gone"


def test_a_stalled_worker_whose_lease_was_swept_records_its_sockets_again(session, wall):
    police = seat_up(session, "police")
    connect(session, police, "s1", ALIVE)
    wall.advance(presence.GRACE_S + 1)
    presence.sweep()
    assert presence.renew(ALIVE) == set()  # the hub serves s1: it records it again
    connect(session, police, "s1", ALIVE)
    assert screens(session)[0][police.seat_id] == "connected"
    assert screens(session)[1][police.seat_id] == "connected"


def test_a_seat_freed_since_gets_no_departure_for_its_old_holder(session, boss, wall):
    police = seat_up(session, "police")
    connect(session, police, "s1", DEAD)
    engine.seat_free(session_id=session.pk, principal=boss, seat_id=police.seat_id)
    newcomer = seat_up(session, "police", name="Nouvelle")
    assert newcomer.seat_id == police.seat_id
    connect(session, newcomer, "s2", ALIVE)
    wall.advance(presence.GRACE_S + 1)
    presence.renew(ALIVE)
    assert presence.sweep() == 1  # the old holder's row goes, without an event
    assert lefts(session) == []
    assert screens(session)[0][police.seat_id] == "connected"


def test_the_scheduler_sweeps_at_its_pace(session, wall, monkeypatch):
    police = seat_up(session, "police")
    connect(session, police, "s1", DEAD)
    wall.advance(presence.GRACE_S + 1)
    monkeypatch.setattr(presence, "_last_sweep", 0.0)
    scheduler.tick_all()
    assert len(lefts(session)) == 1
    connect(session, seat_up(session, "parquet"), "s2", DEAD)
    wall.advance(presence.GRACE_S + 1)
    scheduler.tick_all()  # within SWEEP_EVERY_S of the last sweep: not yet
    assert len(lefts(session)) == 1


def test_older_departures_without_a_reason_stay_readable(session):
    seat = Seat.objects.select_related("role").filter(session=session).first()
    payload = {"seat": seat.pk, "role": seat.role.ident, "number": 1, "name": ""}
    events.check("presence.left", payload)  # no reason: still a valid payload
    with pytest.raises(events.UnknownEventKind):
        events.check("presence.left", {**payload, "why": "x"})


def test_worker_ids_name_the_host_and_process():
    host, pid, token = presence.WORKER_ID.rsplit(":", 2)
    assert host and int(pid) > 0 and len(token) == 8
    assert presence.new_socket_id() != presence.new_socket_id()


def test_a_lease_past_the_grace_is_dropped_even_without_sockets(db, wall):
    presence.renew(DEAD)
    wall.advance(presence.GRACE_S + 1)
    presence.renew(ALIVE)
    presence.sweep()
    assert list(WorkerLease.objects.values_list("pk", flat=True)) == [ALIVE]
    assert wall.now - WorkerLease.objects.get().heartbeat_at < timedelta(seconds=1)


def test_the_trainers_feed_says_a_connection_was_lost(session, wall):
    from django.utils import translation

    from sessions.render import render_feed_item

    police = seat_up(session, "police", name="Chloé")
    connect(session, police, "s1", DEAD)
    close(session, police, "s1")
    connect(session, police, "s2", DEAD)
    wall.advance(presence.GRACE_S + 1)
    presence.sweep()
    closed, lost = lefts(session)
    with translation.override("fr"):
        assert "s’est déconnecté·e" in render_feed_item(closed, Perspective.trainer())
        assert "connexion perdue" in render_feed_item(lost, Perspective.trainer())
    with translation.override("en"):
        assert "connection lost (server stopped)" in render_feed_item(lost, Perspective.trainer())
