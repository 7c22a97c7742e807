"""Requests in the engine: sent with a reason by a sender role, decided once per sending
by the deciding role, or run out (`none`) by the scheduler; refusals change nothing."""

from __future__ import annotations

import pytest

from sessions import engine
from sessions.engine import MAX_REASON
from sessions.models import Event
from tests.sessions.conftest import seat_up
from tests.sessions.engine.helpers import fired, kinds, last_seq, start, tick

pytestmark = pytest.mark.django_db


@pytest.fixture
def boss(trainer):
    return engine.TrainerPrincipal(user_id=trainer.pk, name="Formatrice")


@pytest.fixture
def cast(law_session, boss):
    seats = {ident: seat_up(law_session, ident) for ident in ("police", "parquet", "obs")}
    start(law_session, boss)
    return seats


def send(session, principal, ident="prolongation", reason="Aveux partiels"):
    return engine.request_send(
        session_id=session.pk, principal=principal, request_ident=ident, reason=reason
    )


def decide(session, principal, outcome="approved", reason="Motivé", ident="prolongation"):
    return engine.request_decide(
        session_id=session.pk,
        principal=principal,
        request_ident=ident,
        outcome=outcome,
        reason=reason,
    )


def test_a_request_is_sent_then_decided_with_both_reasons(law_session, cast, wall):
    wall.advance(30)
    sent = send(law_session, cast["police"])
    assert sent.kind == "request.sent"
    assert sent.audience == ["role:parquet", "role:police"]
    assert sent.payload["reason"] == "Aveux partiels"
    assert sent.payload["role"] == "police" and sent.clock_ms == 30_000
    wall.advance(10)
    decided = decide(law_session, cast["parquet"], outcome="rejected", reason="Pas d'éléments")
    assert decided.payload == {
        "request": "prolongation",
        "label": "Demander la prolongation",
        "outcome": "rejected",
        "reason": "Pas d'éléments",
        "sent_seq": sent.seq,
        "sender_role": "police",
        **{k: decided.payload[k] for k in ("seat", "number", "name")},
        "role": "parquet",
    }
    assert "accord" not in fired(law_session)


def test_approval_triggers_its_inject(law_session, cast):
    send(law_session, cast["police"])
    decide(law_session, cast["parquet"])
    assert fired(law_session)["accord"].outcome == "fired"


def test_unanswered_by_the_deadline_the_scheduler_decides_none(law_session, cast, wall):
    sent = send(law_session, cast["police"])
    wall.advance(119)
    tick(law_session)
    assert "request.decided" not in kinds(law_session)
    wall.advance(1)
    tick(law_session)
    decided = Event.objects.get(session=law_session, kind="request.decided")
    assert decided.payload["outcome"] == "none" and decided.actor == "system"
    assert decided.payload["sent_seq"] == sent.seq and decided.clock_ms == 120_000
    assert fired(law_session)["sans-reponse"].clock_ms == 120_000
    with pytest.raises(engine.EngineError) as refused:
        decide(law_session, cast["parquet"])
    assert refused.value.code == "not-pending"


def test_a_request_that_may_be_sent_again_is_decided_once_per_sending(law_session, cast):
    first = send(law_session, cast["police"])
    with pytest.raises(engine.EngineError) as refused:
        send(law_session, cast["police"])
    assert refused.value.code == "request-pending"
    decide(law_session, cast["parquet"], outcome="rejected")
    second = send(law_session, cast["police"])
    decided = decide(law_session, cast["parquet"])
    assert decided.payload["sent_seq"] == second.seq != first.seq


def test_a_once_request_is_sent_once(law_session, cast):
    send(law_session, cast["police"], ident="perquisition")
    decide(law_session, cast["parquet"], ident="perquisition", outcome="rejected")
    with pytest.raises(engine.EngineError) as refused:
        send(law_session, cast["police"], ident="perquisition")
    assert refused.value.code == "already-sent"


@pytest.mark.parametrize(
    ("who", "ident", "code"),
    [
        ("parquet", "prolongation", "unknown-request"),  # the decider may not send it
        ("obs", "prolongation", "unknown-request"),
        ("police", "nope", "unknown-request"),
    ],
)
def test_forged_sendings_are_refused_and_change_nothing(law_session, cast, who, ident, code):
    before = last_seq(law_session)
    with pytest.raises(engine.EngineError) as refused:
        send(law_session, cast[who], ident=ident)
    assert refused.value.code == code
    assert last_seq(law_session) == before


@pytest.mark.parametrize(
    ("who", "outcome", "reason", "code"),
    [
        ("police", "approved", "ok", "unknown-request"),  # a sender may not decide
        ("parquet", "maybe", "ok", "bad-outcome"),
        ("parquet", "none", "ok", "bad-outcome"),  # only the deadline says none
        ("parquet", "approved", "", "empty"),
        ("parquet", "approved", "x" * (MAX_REASON + 1), "too-long"),
    ],
)
def test_forged_decisions_are_refused_and_change_nothing(
    law_session, cast, who, outcome, reason, code
):
    send(law_session, cast["police"])
    before = last_seq(law_session)
    with pytest.raises(engine.EngineError) as refused:
        decide(law_session, cast[who], outcome=outcome, reason=reason)
    assert refused.value.code == code
    assert last_seq(law_session) == before


def test_deciding_nothing_pending_and_deciding_twice_are_refused(law_session, cast):
    with pytest.raises(engine.EngineError) as refused:
        decide(law_session, cast["parquet"])
    assert refused.value.code == "not-pending"
    send(law_session, cast["police"])
    decide(law_session, cast["parquet"])
    before = last_seq(law_session)
    with pytest.raises(engine.EngineError) as refused:
        decide(law_session, cast["parquet"], outcome="rejected")
    assert refused.value.code == "not-pending"
    assert last_seq(law_session) == before


def test_a_reason_is_required_to_send_and_requests_wait_for_the_clock(law_session, boss):
    police = seat_up(law_session, "police")
    with pytest.raises(engine.EngineError) as refused:
        send(law_session, police)
    assert refused.value.code == "session-lobby"
    start(law_session, boss)
    with pytest.raises(engine.EngineError) as refused:
        send(law_session, police, reason="   ")
    assert refused.value.code == "empty"
    with pytest.raises(engine.EngineError) as refused:
        engine.request_send(
            session_id=law_session.pk, principal=boss, request_ident="prolongation", reason="x"
        )
    assert refused.value.code == "forbidden"
