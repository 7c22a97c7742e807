"""Requests over the socket: a real frame sends and decides; forged frames (wrong role,
unknown request, decided twice, reason too long, bad outcome) get their specific error
and change nothing. And a request's reasons are pseudonymised like any written text."""

from __future__ import annotations

import json

import pytest
from channels.db import database_sync_to_async

from sessions import engine
from sessions.models import Event
from sessions.scrub import NameScrubber
from tests.sessions.conftest import seat_up
from tests.sessions.test_consumers import connect, drain, errors, pass_cookie

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


@pytest.fixture
def boss(trainer):
    return engine.TrainerPrincipal(user_id=trainer.pk, name="Formatrice")


@pytest.fixture
def cast(law_session, boss):
    seats = {ident: seat_up(law_session, ident) for ident in ("police", "parquet")}
    engine.session_start(session_id=law_session.pk, principal=boss)
    return seats


def count(session) -> int:
    return Event.objects.filter(session=session).exclude(kind__startswith="presence").count()


async def socket_of(session, principal):
    comm, _, _ = await connect(session.pk, pass_cookie(session.pk, principal.pass_key))
    await drain(comm)
    return comm


async def send(comm, **frame) -> list[str]:
    await comm.send_to(text_data=json.dumps(frame))
    return errors(await drain(comm))


SEND = {"cmd": "request.send", "request": "prolongation", "reason": "Aveux partiels"}
DECIDE = {
    "cmd": "request.decide",
    "request": "prolongation",
    "outcome": "approved",
    "reason": "Motivé",
}


async def test_a_request_sent_and_decided_over_the_socket(law_session, cast):
    police = await socket_of(law_session, cast["police"])
    parquet = await socket_of(law_session, cast["parquet"])
    assert await send(police, **SEND) == []
    frames = await drain(parquet, quiet=0.2)
    assert await send(parquet, **DECIDE) == []
    kinds = await database_sync_to_async(
        lambda: list(
            Event.objects.filter(session=law_session, kind__startswith="request.").values_list(
                "kind", "payload__outcome"
            )
        )
    )()
    assert kinds == [("request.sent", None), ("request.decided", "approved")]
    shown = "".join(await drain(police, quiet=0.3)) + "".join(frames)
    assert 'data-kind="request.decided"' in shown or 'data-state="approved"' in shown
    await police.disconnect()
    await parquet.disconnect()


@pytest.mark.parametrize(
    ("who", "frame", "code"),
    [
        ("parquet", SEND, "unknown-request"),  # the decider may not send it
        ("police", {**SEND, "request": "nope"}, "unknown-request"),
        ("police", {**SEND, "reason": "x" * 2001}, "too-long"),
        ("police", {**SEND, "reason": ""}, "missing-field"),
        ("police", DECIDE, "unknown-request"),  # a sender may not decide
        ("parquet", DECIDE, "not-pending"),  # nothing was sent
        ("parquet", {**DECIDE, "outcome": "none"}, "bad-outcome"),
        ("parquet", {**DECIDE, "outcome": ["approved"]}, "bad-field"),
    ],
)
async def test_forged_frames_get_their_error_and_change_nothing(
    law_session, cast, who, frame, code
):
    comm = await socket_of(law_session, cast[who])
    before = await database_sync_to_async(count)(law_session)
    assert await send(comm, **frame) == [code]
    assert await database_sync_to_async(count)(law_session) == before
    await comm.disconnect()


async def test_deciding_twice_is_refused(law_session, cast):
    police = await socket_of(law_session, cast["police"])
    parquet = await socket_of(law_session, cast["parquet"])
    assert await send(police, **SEND) == []
    assert await send(parquet, **DECIDE) == []
    before = await database_sync_to_async(count)(law_session)
    assert await send(parquet, **{**DECIDE, "outcome": "rejected"}) == ["not-pending"]
    assert await database_sync_to_async(count)(law_session) == before
    await police.disconnect()
    await parquet.disconnect()


async def test_reasons_are_pseudonymised_like_other_written_text():
    scrub = NameScrubber({"Nadia Diallo": "Participant 1"})
    payload = scrub.payload("request.sent", {"reason": "Nadia Diallo a entendu", "label": "x"})
    assert payload == {"reason": "Participant 1 a entendu", "label": "x"}
