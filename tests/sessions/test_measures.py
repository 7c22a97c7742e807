"""The law's measures in the after-action review (requests, countdowns, all/any/not/
before), scored from a session's log; their words; the CSV export's summaries."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from sessions import engine, exports, measures, report
from sessions.replay import LogEvent, log_events
from tests.sessions.conftest import seat_up
from tests.sessions.engine.helpers import start, tick

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


def event(seq, kind, at_s, **payload):
    return LogEvent(
        seq=seq,
        kind=kind,
        audience=[],
        actor="system",
        clock_ms=int(at_s * 1000),
        created_at=T0,
        payload=payload,
    )


def test_occurrences_read_the_log_as_conditions_do():
    log = [
        event(1, "inject.fired", 0, inject="a"),
        event(2, "inject.fired", 1, inject="adhoc-1", adhoc=True),
        event(3, "decision.expired", 2, inject="d", roles=["x"]),
        event(4, "request.sent", 3, request="r", role="police"),
        event(5, "request.decided", 4, request="r", outcome="approved", sent_seq=4),
        event(6, "request.decided", 5, request="r", outcome="rejected", sent_seq=4),  # twice
        event(7, "countdown.started", 6, countdown="c"),
        event(8, "countdown.stopped", 7, countdown="c"),
        event(9, "countdown.expired", 8, countdown="c"),  # never after a stop
        event(10, "message.sent", 9, from_role="", to_role="police", by_trainer=True),
    ]
    found = [(o.clock_ms // 1000, o.kind, o.ident, o.value) for o in measures.occurrences(log)]
    assert found == [
        (0, "inject", "a", ""),
        (2, "decision", "d", "none"),
        (3, "request", "r", "sent"),
        (4, "request", "r", "approved"),
        (6, "countdown", "c", "running"),
        (7, "countdown", "c", "stopped"),
    ]


def test_measures_score_met_late_and_never():
    log = [
        event(1, "request.sent", 60, request="r"),
        event(2, "request.decided", 400, request="r", outcome="approved", sent_seq=1),
    ]
    assert measures.score({"request": "r", "outcome": "approved"}, log) == (True, "met", 400_000)
    assert measures.score({"request": "r", "outcome": "approved", "within_s": 300}, log) == (
        False,
        "late",
        400_000,
    )
    assert measures.score({"request": "r", "outcome": "rejected"}, log) == (False, "never", None)
    assert measures.score({"not": {"request": "r", "outcome": "rejected"}}, log)[0]


def play(law_session, boss, wall, *, approve: bool, lift_at_s: float | None):
    police, parquet = seat_up(law_session, "police"), seat_up(law_session, "parquet")
    start(law_session, boss)
    wall.advance(60)
    tick(law_session)
    wall.advance(60)
    engine.request_send(
        session_id=law_session.pk, principal=police, request_ident="prolongation", reason="Aveux"
    )
    wall.advance(60)
    if approve:
        engine.request_decide(
            session_id=law_session.pk,
            principal=parquet,
            request_ident="prolongation",
            outcome="approved",
            reason="Oui",
        )
    if lift_at_s is not None:
        wall.advance(lift_at_s - 180)
        engine.action_take(session_id=law_session.pk, principal=police, action_ident="lever-gav")
    wall.advance(4 * 24 * 3600)  # past every expiry
    tick(law_session)
    engine.session_end(session_id=law_session.pk, principal=boss)


def scores(session) -> dict[str, tuple[bool, str]]:
    return {o.ident: (o.score.met, o.score.status) for o in report.build(session).objectives}


@pytest.fixture
def boss(trainer):
    return engine.TrainerPrincipal(user_id=trainer.pk, name="Formatrice")


def test_a_session_that_keeps_the_law_meets_its_objectives(law_session, boss, wall):
    play(law_session, boss, wall, approve=True, lift_at_s=240)
    assert scores(law_session) == {
        "tenue": (True, "met"),
        "accord": (True, "met"),
        "ordre": (True, "met"),
    }


def test_a_session_that_lets_the_limit_run_out_misses_them(law_session, boss, wall):
    play(law_session, boss, wall, approve=False, lift_at_s=None)
    assert scores(law_session) == {
        "tenue": (False, "never"),
        "accord": (False, "never"),
        "ordre": (True, "met"),  # sent, and never lifted before it
    }
    kinds = [e.kind for e in log_events(law_session.pk)]
    assert kinds.count("countdown.expired") == 1
    assert "request.decided" in kinds  # the deadline answered `none`


def test_the_measures_are_said_in_words(law_session):
    texts = {o.ident: o.measure for o in report.build(law_session).objectives}
    assert texts == {
        "tenue": "délai « Garde à vue » tenu",
        "accord": "demande « Demander la prolongation » accordée dans les 5m de l’exercice",
        "ordre": "demande « Demander la prolongation » envoyée avant acte « Lever la garde à vue »",
    }


def test_the_csv_export_summarises_requests_and_countdowns(law_session, boss, wall):
    play(law_session, boss, wall, approve=True, lift_at_s=240)
    rows = exports.events_csv(law_session).splitlines()
    assert any(";request.sent;" in r and "Demander la prolongation : Aveux" in r for r in rows)
    assert any(";request.decided;" in r and "→ approved Oui" in r for r in rows)
    assert any(";countdown.stopped;" in r for r in rows)


def test_the_review_says_what_became_of_each_countdown_and_request(
    law_session, boss, wall, trainer_client
):
    play(law_session, boss, wall, approve=True, lift_at_s=240)
    review = report.build(law_session).law
    ((definition, run),) = review.countdowns
    assert definition.ident == "gav" and run.state == "stopped" and run.extra_ms == 86_400_000
    (prolongation, sendings), (perquisition, never) = review.requests
    assert [s.outcome for s in sendings] == ["approved"] and never == []
    page = trainer_client.get(f"/sessions/{law_session.pk}/report/").content.decode()
    assert 'data-countdown="gav" data-state="stopped"' in page
    assert "« Aveux » →" in page and "Jamais demandée." in page


def test_the_review_pdf_and_exports_of_a_law_session(law_session, boss, wall, trainer_client):
    play(law_session, boss, wall, approve=False, lift_at_s=None)
    pdf = trainer_client.get(f"/sessions/{law_session.pk}/report.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    data = json.loads(trainer_client.get(f"/sessions/{law_session.pk}/export.json").content)
    assert {"countdown.expired", "request.decided"} <= {e["kind"] for e in data["events"]}
