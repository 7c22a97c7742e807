"""Who knew what when: delivered, opened, passed on by a message; the gaps."""

from __future__ import annotations

from django.urls import reverse

from scenarios.models import Inject
from sessions import engine, report
from sessions.layout import plan_for
from sessions.replay import log_events
from sessions.report.knowledge import GAP_MS, knowledge


def test_direct_opened_relayed_and_never(session, boss, seated, wall):
    Inject.objects.filter(version=session.version, ident="call").update(key_fact=True)
    sid = session.pk
    engine.session_start(session_id=sid, principal=boss)
    wall.advance(61)
    engine.scheduler_tick(session_id=sid)  # call → police (a key fact)
    call = session.events.get(kind="inject.fired", payload__inject="call")
    wall.advance(10)
    engine.item_open(session_id=sid, principal=seated["police"], item=call.seq)
    plan = plan_for(session.version_id)
    found = knowledge(log_events(sid), plan, {"call"})
    assert [f for f, _t in found.facts] == ["call"]
    assert found.cell("police", "call").how == "direct"
    assert found.cell("police", "call").at_ms == 71_000
    assert found.cell("parquet", "call") is None
    wall.advance(5)
    engine.message_send(session_id=sid, principal=seated["police"], to_role="parquet", text="Vu")
    found = knowledge(log_events(sid), plan, {"call"})
    relayed = found.cell("parquet", "call")
    assert (relayed.how, relayed.via, relayed.at_ms) == ("relayed", "police", 76_000)


def test_a_decision_without_a_fact_held_elsewhere_for_20_minutes_is_a_gap(
    session, boss, seated, wall
):
    sid = session.pk
    engine.session_start(session_id=sid, principal=boss)
    wall.advance(61)
    engine.scheduler_tick(session_id=sid)  # call → police
    wall.advance(GAP_MS / 1000)
    engine.scheduler_tick(session_id=sid)  # dec → parquet (and the rest)
    engine.decision_answer(
        session_id=sid, principal=seated["parquet"], inject_ident="dec", option="opp", rationale=""
    )
    plan = plan_for(session.version_id)
    found = knowledge(log_events(sid), plan, {"call"})
    assert [(g.role, g.fact, g.holder) for g in found.gaps] == [("parquet", "call", "police")]
    data = report.build(session)
    assert 'data-role="parquet" data-fact="call" data-how="never"' in data.knowledge_svg


def test_without_flags_documents_calls_and_messages_are_followed(session, boss, wall):
    engine.session_start(session_id=session.pk, principal=boss)
    wall.advance(61)
    engine.scheduler_tick(session_id=session.pk)
    found = knowledge(log_events(session.pk), plan_for(session.version_id), set())
    assert "call" in {f for f, _t in found.facts} and "t0" not in {f for f, _t in found.facts}


def test_report_and_replay_draw_the_matrix(trainer_client, session, boss, wall):
    engine.session_start(session_id=session.pk, principal=boss)
    wall.advance(61)
    engine.scheduler_tick(session_id=session.pk)
    session.refresh_from_db()
    for name, query in (("sessions:report", ""), ("sessions:replay", f"?seq={session.last_seq}")):
        page = trainer_client.get(reverse(name, args=[session.pk]) + query).content.decode()
        assert "chart--knowledge" in page and "knowledge-matrix" in page, name
