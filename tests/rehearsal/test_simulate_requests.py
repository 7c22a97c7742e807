"""Rehearsal bots send requests, decide them (approve, reject, or let the deadline
pass), and the report checks the law's invariants: a countdown expires once and never
after it stopped; a request is decided once per sending."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from io import StringIO

import pytest
from django.core.management import call_command

from rehearsal.report import limits_check
from sessions.engine import due
from sessions.models import Event

LAW_SHORT = """\
format: simtrain.scenario/1
slug: sim-law
title: Répétition des délais
language: fr
duration: 6m
roles:
  - {id: police, title: Police, kind: trainee, profession: police, seats: 2}
  - {id: parquet, title: Parquet, kind: trainee, profession: prosecutor}
actions:
  - {id: lever-gav, roles: [police], label: Lever la garde à vue}
requests:
  - {id: prolongation, label: Prolonger, from: [police], to: parquet, deadline: 1m,
     once: false}
  - {id: perquisition, label: Perquisitionner, from: [police], to: parquet}
countdowns:
  - id: gav
    title: Garde à vue
    roles: [police, parquet]
    limit: 3m
    starts: {inject: placement}
    stops: {action: lever-gav}
    extends:
      - {when: {request: prolongation, outcome: approved}, by: 2m}
    warn: [1m]
injects:
  - {id: placement, kind: message, to: [police], title: Placement, at: 10s}
  - {id: accord, kind: message, to: [police], title: Accord,
     when: {request: prolongation, outcome: approved}}
  - {id: fin, kind: broadcast, title: Fin, at: 4m}
"""


@pytest.fixture(autouse=True)
def _fresh_caches():
    due.forget_versions()
    yield
    due.forget_versions()


@pytest.mark.django_db(transaction=True)
def test_bots_send_and_decide_requests_and_the_law_holds(tmp_path):
    source = tmp_path / "law.yaml"
    source.write_text(LAW_SHORT)
    out, err = StringIO(), StringIO()
    call_command(
        "simulate_session",
        str(source),
        "--speed",
        "240",
        "--seed",
        "5",
        "--drop-every",
        "2",
        "--json",
        stdout=out,
        stderr=err,
    )
    report = json.loads(out.getvalue())
    assert report["ok"], report["failures"]
    law = report["law"]
    assert law["countdowns_started"] == 1
    assert law["requests_sent"] >= 1 and law["requests_decided"] >= 1
    assert law["countdowns_expired_twice"] == [] and law["countdowns_after_their_end"] == []
    assert law["requests_decided_twice"] == [] and law["decisions_without_their_sending"] == []
    assert report["errors"]["unexpected"] == {}
    kinds = set(
        Event.objects.filter(session_id=report["session_id"]).values_list("kind", flat=True)
    )
    assert {"request.sent", "request.decided", "countdown.started"} <= kinds


class E:
    def __init__(self, seq, kind, **payload):
        self.seq, self.kind, self.payload = seq, kind, payload
        self.created_at = datetime(2026, 1, 1, tzinfo=UTC)


def test_the_limits_check_finds_each_broken_invariant():
    events = {
        e.seq: e
        for e in [
            E(1, "countdown.started", countdown="c"),
            E(2, "countdown.stopped", countdown="c"),
            E(3, "countdown.expired", countdown="c"),
            E(4, "request.sent", request="r"),
            E(5, "request.decided", request="r", outcome="approved", sent_seq=4),
            E(6, "request.decided", request="r", outcome="rejected", sent_seq=4),
            E(7, "request.decided", request="r", outcome="none", sent_seq=99),
        ]
    }
    found = limits_check(events)
    assert found["countdowns_after_their_end"] == [
        "c: countdown.expired after countdown.stopped (#3)"
    ]
    assert found["requests_decided_twice"] == [4]
    assert found["decisions_without_their_sending"] == [7]
    clean = limits_check({k: v for k, v in events.items() if k in (1, 2, 4, 5)})
    assert all(v == [] for v in clean.values() if isinstance(v, list))
