"""Facts read back from the log: every atom kind, from event rows alone."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from scenarios.conditions import Facts, holds
from sessions import engine
from sessions.engine import facts


def _log(*rows):
    return [
        SimpleNamespace(seq=seq, kind=kind, clock_ms=seq * 1000, payload=payload)
        for seq, (kind, payload) in enumerate(rows, start=1)
    ]


def test_every_atom_kind_is_read_from_its_event():
    happened, found = facts.read(
        _log(
            ("inject.fired", {"inject": "call"}),
            ("decision.answered", {"inject": "dec", "option": "opp", "role": "parquet"}),
            ("action.taken", {"action": "interprete", "role": "police"}),
            ("request.sent", {"request": "prolong", "role": "police"}),
            ("request.decided", {"request": "prolong", "outcome": "approved", "role": "parquet"}),
            ("countdown.started", {"countdown": "gav"}),
            ("countdown.warned", {"countdown": "gav"}),
            ("countdown.started", {"countdown": "ret"}),
            ("countdown.expired", {"countdown": "ret"}),
            ("countdown.stopped", {"countdown": "ret"}),  # expired stays expired
        )
    )
    assert found == Facts.of(
        fired=["call"],
        answers={"dec": ["opp"]},
        actions=["interprete"],
        requests={"prolong": ["sent", "approved"]},
        countdowns={"gav": "running", "ret": "expired"},
    )
    assert holds(
        {
            "all": [
                {"request": "prolong", "outcome": "any"},
                {"countdown": "gav", "state": "running"},
                {"not": {"decision": "dec", "option": "none"}},
            ]
        },
        found,
    )
    assert [(h.occurrence.kind, h.occurrence.value, h.role) for h in happened[:3]] == [
        ("inject", "", ""),
        ("decision", "opp", "parquet"),
        ("action", "", "police"),
    ]
    assert happened[1].occurrence.clock_ms == 2000 and happened[1].seq == 2


def test_a_missed_deadline_is_option_none_only_when_nobody_had_answered():
    _, missed = facts.read(_log(("decision.expired", {"inject": "dec", "roles": ["parquet"]})))
    assert holds({"decision": "dec", "option": "none"}, missed)
    assert not holds({"decision": "dec", "option": "any"}, missed)
    _, partly = facts.read(
        _log(
            ("decision.answered", {"inject": "dec", "option": "gav", "role": "police"}),
            ("decision.expired", {"inject": "dec", "roles": ["parquet"]}),
        )
    )
    assert partly.answers == {"dec": frozenset({"gav"})}


def test_a_reopened_answer_no_longer_counts():
    _, found = facts.read(
        _log(
            ("decision.answered", {"inject": "dec", "option": "gav", "role": "parquet"}),
            ("decision.reopened", {"inject": "dec", "role": "parquet"}),
            ("decision.answered", {"inject": "dec", "option": "opp", "role": "parquet"}),
        )
    )
    assert found.answers == {"dec": frozenset({"opp"})}


@pytest.mark.django_db
def test_facts_for_reads_the_session_log(session, boss, seated, wall):
    engine.session_start(session_id=session.pk, principal=boss)
    engine.action_take(session_id=session.pk, principal=seated["police"], action_ident="interprete")
    found = facts.facts_for(session)
    assert "interprete" in found.actions and "t0" in found.fired and "on-interp" in found.fired
