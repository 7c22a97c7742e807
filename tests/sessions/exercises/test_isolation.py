"""Nothing of one syndicate reaches another's screens: sockets, passes, pages."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from django.test import Client
from django.urls import reverse

from sessions import engine
from sessions.consumers import CLOSE_UNAUTHENTICATED
from sessions.exercises import services
from tests.sessions.conftest import seat_up
from tests.sessions.test_consumers import call, closed_with, connect, drain, pass_cookie

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


async def test_a_team_socket_gets_nothing_of_another_team(exercise, boss, wall):
    teams = await database_sync_to_async(services.syndicates_of)(exercise)
    one, two = teams[0].session, teams[1].session
    police_one = await database_sync_to_async(seat_up)(one, "police", "Awa")
    await call(services.exercise_command, exercise=exercise, principal=boss, command="start",
               args={})
    comm, _, _ = await connect(one.pk, pass_cookie(one.pk, police_one.pass_key))
    await drain(comm)
    # Team 2 only: an inject for police, a broadcast, a message; team 1 hears none of it.
    await call(services.exercise_command, exercise=exercise, principal=boss, command="fire",
               args={"inject": "manual"}, only=2)
    await call(services.exercise_command, exercise=exercise, principal=boss,
               command="broadcast", args={"title": "Seulement l'équipe 2"}, only=2)
    police_two = await database_sync_to_async(seat_up)(two, "police", "Nina")
    await call(engine.message_send, session_id=two.pk, principal=police_two,
               to_role="parquet", text="secret de l'équipe 2")
    assert await drain(comm) == []
    # The same to both: team 1's screen shows its own copy, from its own log.
    await call(services.exercise_command, exercise=exercise, principal=boss,
               command="broadcast", args={"title": "Pour tous"})
    frames = "".join(await drain(comm))
    assert "Pour tous" in frames and "équipe 2" not in frames and "Nina" not in frames
    await comm.disconnect()


async def test_a_pass_of_one_team_opens_no_other_team(exercise):
    teams = await database_sync_to_async(services.syndicates_of)(exercise)
    police = await database_sync_to_async(seat_up)(teams[0].session, "police", "Awa")
    other = teams[1].session_id
    comm, _, _ = await connect(other, pass_cookie(other, police.pass_key))
    assert await closed_with(comm) == CLOSE_UNAUTHENTICATED
    forged = f"{pass_cookie(teams[0].session_id, police.pass_key).split('=', 1)[1]}"
    client = Client()
    client.cookies[f"simtrain_pass_{other}"] = forged
    response = await database_sync_to_async(client.get)(
        reverse("sessions:desk", args=[other]))
    assert response.status_code == 403
