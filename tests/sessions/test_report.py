"""The after-action report: scoring rules on hand-built logs, ratings and agreement,
decision timeline, who talked to whom, the SVG, the pages, and the review commands."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.urls import reverse

from scenarios.models import Action, Inject, Role
from sessions import engine, protocol, report
from sessions.access import pass_cookie_name, sign_pass
from sessions.layout import plan_for
from sessions.models import Event, Seat
from sessions.replay import LogEvent
from sessions.report import ObjectiveSpec
from tests.sessions.review_helpers import (  # noqa: F401 - fresh_caches is a fixture
    add_objective,
    fresh_caches,
    play_script,
    seat_everyone,
)

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


class Log:
    """A hand-built log: `log.add(kind, at_s, **payload)`."""

    def __init__(self):
        self.events: list[LogEvent] = []

    def add(self, event_kind: str, at_s: float, /, *, audience=(), actor="system",
            **payload) -> LogEvent:
        event = LogEvent(seq=len(self.events) + 1, kind=event_kind, audience=list(audience),
                         actor=actor, clock_ms=int(at_s * 1000), created_at=T0,
                         payload=payload)
        self.events.append(event)
        return event

    def fire_decision(self, at_s: float, inject: str = "dec", roles=("parquet",)) -> None:
        self.add("inject.fired", at_s, audience=[f"role:{r}" for r in roles], inject=inject,
                 kind="decision", title="Placement ?", roles=list(roles), deadline_s=None,
                 options=[{"id": "opp", "label": "OPP"}, {"id": "gav", "label": "GAV"}])

    def answer(self, at_s: float, option: str, role: str = "parquet", inject: str = "dec",
               name: str = "Nadia") -> None:
        self.add("decision.answered", at_s, audience=[f"role:{role}"], actor="seat:1",
                 inject=inject, title="Placement ?", option=option, label=option.upper(),
                 rationale="", role=role, name=name, seat=1, number=1)


DECISION = ObjectiveSpec(ident="o", title="OPP", measure="decision", decision="dec",
                         option="opp", within_ms=20 * 60_000)


# --- Scoring: decisions --------------------------------------------------------------------------


def test_decision_met_by_the_first_right_answer_in_the_window():
    log = Log()
    log.fire_decision(600)
    log.answer(700, "opp", name="Nadia")
    log.answer(800, "opp", role="police", name="Karim")
    score = report.score_objective(DECISION, log.events)
    assert score.met and score.status == "met"
    assert (score.at_ms, score.name, score.role) == (700_000, "Nadia", "parquet")


def test_within_counts_from_the_start_not_from_the_decision():
    log = Log()
    log.fire_decision(1100)  # fired at 18:20; the window closes at 20:00 of exercise
    log.answer(1150, "opp")
    assert report.score_objective(DECISION, log.events).met
    log = Log()
    log.fire_decision(1100)
    log.answer(1250, "opp")  # 2:30 after firing, but after minute 20
    score = report.score_objective(DECISION, log.events)
    assert not score.met and score.status == "late" and score.at_ms == 1_250_000


def test_answer_exactly_at_the_end_of_the_window_counts():
    log = Log()
    log.fire_decision(60)
    log.answer(1200, "opp")
    assert report.score_objective(DECISION, log.events).met


def test_answered_after_the_window_is_late_not_met():
    log = Log()
    log.fire_decision(60)
    log.answer(1201, "opp")
    score = report.score_objective(DECISION, log.events)
    assert (score.met, score.status) == (False, "late")


def test_never_answered_and_wrong_answers_are_not_met():
    log = Log()
    log.fire_decision(60)
    assert report.score_objective(DECISION, log.events).status == "never"
    log.answer(120, "gav")
    assert report.score_objective(DECISION, log.events).status == "never"


def test_decision_never_fired():
    score = report.score_objective(DECISION, Log().events)
    assert (score.met, score.status) == (False, "not-fired")


def test_a_reopened_answer_still_counts_at_the_time_it_was_given():
    log = Log()
    log.fire_decision(60)
    log.answer(100, "opp")
    log.add("decision.reopened", 150, inject="dec", title="Placement ?", role="parquet")
    log.answer(200, "gav")
    score = report.score_objective(DECISION, log.events)
    assert score.met and score.at_ms == 100_000 and score.reopened


def test_no_within_means_any_time():
    spec = ObjectiveSpec(ident="o", title="t", measure="decision", decision="dec", option="opp")
    log = Log()
    log.fire_decision(60)
    log.answer(5 * 3600, "opp")
    assert report.score_objective(spec, log.events).met


def test_an_adhoc_inject_with_the_same_name_is_not_the_decision():
    log = Log()
    log.add("inject.fired", 10, inject="dec", adhoc=True, kind="message", title="x", roles=[])
    assert report.score_objective(DECISION, log.events).status == "not-fired"


# --- Scoring: actions and messages ---------------------------------------------------------------

ACTION = ObjectiveSpec(ident="a", title="AAH", measure="action", action="aah",
                       within_ms=60 * 60_000)
MESSAGE = ObjectiveSpec(ident="m", title="Parquet informé", measure="message",
                        from_role="police", to_role="parquet", within_ms=25 * 60_000)


def test_action_within_late_and_never():
    log = Log()
    assert report.score_objective(ACTION, log.events).status == "never"
    log.add("action.taken", 4000, action="aah", label="AAH", role="parquet", name="Nadia")
    assert report.score_objective(ACTION, log.events).status == "late"
    log.add("action.taken", 3000, action="aah", label="AAH", role="ji", name="Hugo")
    score = report.score_objective(ACTION, log.events)
    assert score.met and score.role == "ji" and score.at_ms == 3_000_000


def test_message_needs_that_direction_within_the_window_from_a_seat():
    log = Log()
    log.add("message.sent", 60, from_role="parquet", to_role="police", text="?", name="N")
    log.add("message.sent", 70, from_role="police", to_role="parquet", text="x",
            name="Formatrice", by_trainer=True)  # the trainer writing as police
    assert report.score_objective(MESSAGE, log.events).status == "never"
    log.add("message.sent", 1600, from_role="police", to_role="parquet", text="late", name="C")
    assert report.score_objective(MESSAGE, log.events).status == "late"
    log.add("message.sent", 1400, from_role="police", to_role="parquet", text="ok", name="C")
    score = report.score_objective(MESSAGE, log.events)
    assert score.met and score.at_ms == 1_400_000 and score.name == "C"


def test_objective_without_measure_has_no_score():
    assert report.score_objective(ObjectiveSpec(ident="x", title="x"), Log().events) is None


# --- Ratings -------------------------------------------------------------------------------------


def test_each_raters_latest_rating_counts():
    log = Log()
    log.add("objective.rated", 10, actor="trainer:1", objective="o", level=2, name="F",
            rater="trainer", comment="")
    log.add("objective.rated", 20, actor="seat:9", objective="o", level=4, name="Obs",
            rater="observer", comment="très bien")
    log.add("objective.rated", 30, actor="trainer:1", objective="o", level=3, name="F",
            rater="trainer", comment="revu")
    ratings = report.latest_ratings(log.events)["o"]
    assert [(r.rater, r.level) for r in ratings] == [("trainer:1", 3), ("seat:9", 4)]


@pytest.mark.parametrize("levels, exact, adjacent, spread", [
    ([3, 3], 1.0, 1.0, 0),
    ([1, 4], 0.0, 0.0, 3),
    ([2, 3, 3], 1 / 3, 1.0, 1),
    ([4], None, None, 0),
])
def test_agreement(levels, exact, adjacent, spread):
    a = report.agreement(levels)
    assert (a.exact, a.adjacent, a.spread, a.raters) == (
        pytest.approx(exact) if exact is not None else None,
        pytest.approx(adjacent) if adjacent is not None else None, spread, len(levels))
    assert report.agreement([]) is None


# --- Decision timeline and communication ---------------------------------------------------------


def test_decision_timeline(live_version):
    plan = plan_for(live_version.pk)
    log = Log()
    log.fire_decision(120, roles=("parquet", "police"))
    log.answer(150, "opp", role="parquet")
    log.add("decision.reopened", 160, inject="dec", title="Placement ?", role="parquet")
    log.answer(200, "gav", role="parquet", name="Nadia")
    log.add("decision.expired", 180, inject="dec", title="Placement ?", roles=["police"])
    rows = report.decision_timeline(log.events, plan)
    dec = rows[0]
    assert dec.asked_ms == 120_000
    parquet = [r for r in dec.rows if r.role == "parquet"]
    assert [(r.option, r.took_ms, r.reopened_ms) for r in parquet] == [
        ("opp", 30_000, 160_000), ("gav", 80_000, None)]
    police = next(r for r in dec.rows if r.role == "police")
    assert police.state == "expired" and police.took_ms is None
    assert [r.inject for r in rows if r.asked_ms is None] == []  # live_version: one decision


def test_unfired_decisions_are_listed(live_version):
    rows = report.decision_timeline([], plan_for(live_version.pk))
    assert [(r.inject, r.asked_ms) for r in rows] == [("dec", None)]


def test_communication_matrix_first_contacts_and_silences(live_version):
    plan = plan_for(live_version.pk)
    log = Log()
    log.add("message.sent", 5, from_role="police", to_role="parquet", text="avant tout")
    log.add("inject.fired", 30, inject="t0", kind="broadcast", title="Début", roles=[])
    log.add("message.sent", 90, from_role="police", to_role="parquet", text="a")
    log.add("message.sent", 100, from_role="parquet", to_role="police", text="b")
    log.add("message.sent", 110, from_role="", to_role="police", text="c", by_trainer=True)
    comm = report.communication(log.events, plan)
    assert comm.roles == ["police", "parquet"]  # trainees; actors only if they spoke
    assert comm.count("police", "parquet") == 2 and comm.count("parquet", "police") == 1
    assert comm.first[("police", "parquet")] == 5_000
    assert comm.trainer_messages == 1 and comm.silent == [] and comm.missing == []
    pair = comm.pairs()[0]
    assert pair["first_ms"] == 5_000 and pair["after_inject_ms"] == -25_000
    assert (pair["after_ab"], pair["after_ba"]) == (-25_000, 70_000)  # each one's first word
    quiet = report.communication(log.events[1:2], plan)
    assert quiet.silent == ["police", "parquet"]
    assert quiet.missing == [("police", "parquet")]


def test_svgs_are_accessible_and_escaped(live_version):
    plan = plan_for(live_version.pk)
    log = Log()
    log.add("message.sent", 5, from_role="police", to_role="parquet", text="x")
    log.add("action.taken", 9, action="interprete", label="<script>alert(1)</script>",
            role="police")
    graph = report.comm_graph_svg(report.communication(log.events, plan), plan)
    lanes = report.swimlane_svg(report.swimlane_marks(log.events, plan), plan, 60_000)
    for svg in (graph, lanes):
        assert 'role="img"' in svg and "<title id=" in svg and "<desc id=" in svg
        assert "aria-labelledby=" in svg and "style=" not in svg and "<script" not in svg
    assert "&lt;script&gt;" in lanes


# --- The report of a played session --------------------------------------------------------------


@pytest.fixture
def measured(live_version):
    version = live_version
    dec = Inject.objects.get(version=version, ident="dec")
    add_objective(version, "obj", "Repérer la minorité", order=0)
    add_objective(version, "opp", "OPP avant 5 min", order=1, measure="decision",
                  measure_decision=dec, measure_option="opp", within_s=300)
    add_objective(version, "interp", "Interprète", order=2, measure="action",
                  measure_action=Action.objects.get(version=version, ident="interprete"))
    add_objective(version, "contact", "Police → parquet en 1 min", order=3, measure="message",
                  measure_from=Role.objects.get(version=version, ident="police"),
                  measure_to=Role.objects.get(version=version, ident="parquet"), within_s=60)
    return version


@pytest.fixture
def played(measured, session, boss, wall):
    seated = seat_everyone(session)
    play_script(session, boss, seated, wall)
    session.refresh_from_db()
    return session


def test_report_scores_the_played_session(played):
    data = report.build(played)
    scores = {o.ident: o.score for o in data.objectives}
    assert scores["obj"] is None
    assert scores["opp"].met and scores["opp"].reopened
    assert scores["interp"].met and scores["interp"].role == "police"
    assert scores["contact"].status == "late"  # police wrote to the parquet at 02:02
    assert [r.level for r in next(o for o in data.objectives if o.ident == "obj").ratings] == [3]
    assert data.debrief[0][2][0].payload["text"] == "Coordination."


def test_report_page_pdf_and_forms(trainer_client, played):
    url = reverse("sessions:report", args=[played.pk])
    page = trainer_client.get(url)
    html = page.content.decode()
    assert page.status_code == 200
    assert 'id="objective-opp"' in html and 'data-status="met"' in html
    assert 'id="comm-matrix"' in html and 'class="chart chart--swimlane"' in html
    response = trainer_client.post(reverse("sessions:report_rate", args=[played.pk]),
                                   {"objective": "obj", "level": "4", "comment": "Net."},
                                   HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and 'id="objective-obj"' in response.content.decode()
    assert "Net." in response.content.decode()
    bad = trainer_client.post(reverse("sessions:report_rate", args=[played.pk]),
                              {"objective": "obj", "level": "7"}, HTTP_HX_REQUEST="true")
    assert bad.status_code == 400
    response = trainer_client.post(reverse("sessions:report_debrief", args=[played.pk]),
                                   {"kind": "takeaway", "text": "Présumer la minorité."})
    assert response.status_code == 302
    assert "Présumer la minorité." in trainer_client.get(url).content.decode()
    pdf = trainer_client.get(reverse("sessions:report_pdf", args=[played.pk]))
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")


def test_observer_rates_from_their_seat_and_trainees_may_not(client, played):
    obs = Seat.objects.get(session=played, role__ident="obs")
    client.cookies[pass_cookie_name(played.pk)] = sign_pass(played.pk, obs.holder_key)
    url = reverse("sessions:rate", args=[played.pk])
    assert client.get(url).status_code == 200
    response = client.post(url, {"objective": "interp", "level": "2", "comment": "Tardif."})
    assert response.status_code == 302
    rated = Event.objects.filter(session=played, kind="objective.rated").last()
    assert rated.payload["level"] == 2 and rated.audience == [f"seat:{obs.pk}"]
    police = Seat.objects.get(session=played, role__ident="police")
    client.cookies[pass_cookie_name(played.pk)] = sign_pass(played.pk, police.holder_key)
    assert client.get(url).status_code == 403


# --- The engine commands -------------------------------------------------------------------------


def test_objective_rate_rules(played, boss):
    sid = played.pk
    police = Seat.objects.get(session=played, role__ident="police")
    trainee = engine.SeatPrincipal(seat_id=police.pk, pass_key=police.holder_key)
    with pytest.raises(engine.EngineError) as err:
        engine.objective_rate(session_id=sid, principal=trainee, objective_ident="obj", level=3)
    assert err.value.code == "forbidden"
    for level in (0, 5, "x"):
        with pytest.raises(engine.EngineError) as err:
            engine.objective_rate(session_id=sid, principal=boss, objective_ident="obj",
                                  level=level)
        assert err.value.code == "bad-level"
    with pytest.raises(engine.EngineError) as err:
        engine.objective_rate(session_id=sid, principal=boss, objective_ident="nope", level=3)
    assert err.value.code == "unknown-objective"
    event = engine.objective_rate(session_id=sid, principal=boss, objective_ident="obj",
                                  level=1, comment="Après coup.")  # the session has ended
    assert event.audience == [] and event.payload["rater"] == "trainer"


def test_debrief_rules(played, boss):
    police = Seat.objects.get(session=played, role__ident="police")
    with pytest.raises(engine.EngineError):
        engine.debrief_add(session_id=played.pk, principal=engine.SeatPrincipal(
            seat_id=police.pk, pass_key=police.holder_key), kind="plus", text="x")
    with pytest.raises(engine.EngineError) as err:
        engine.debrief_add(session_id=played.pk, principal=boss, kind="minus", text="x")
    assert err.value.code == "bad-kind"
    with pytest.raises(engine.EngineError) as err:
        engine.debrief_add(session_id=played.pk, principal=boss, kind="delta", text="  ")
    assert err.value.code == "empty"


def test_review_commands_are_on_the_socket():
    rate = protocol.COMMANDS["objective.rate"]
    assert rate.service is engine.objective_rate and rate.who == "any"
    assert protocol.command_kwargs(rate, {"objective": "o", "level": "3"}) == {
        "objective_ident": "o", "level": 3}
    assert protocol.COMMANDS["debrief.add"].who == "trainer"


def test_report_is_only_for_whoever_may_steer(client, played):
    for name in ("report", "report_pdf"):
        assert client.get(reverse(f"sessions:{name}", args=[played.pk])).status_code == 302


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_observers_rate_and_the_trainer_debriefs_over_the_socket(
    session, boss, live_version, trainer
):
    import json

    from channels.db import database_sync_to_async

    from tests.sessions.test_consumers import connect, drain, errors, pass_cookie, trainer_cookie

    await database_sync_to_async(add_objective)(live_version, "obj", "Repérer la minorité")
    seated = await database_sync_to_async(seat_everyone)(session)
    obs, _, _ = await connect(session.pk, pass_cookie(session.pk, seated["obs"].pass_key))
    police, _, _ = await connect(session.pk, pass_cookie(session.pk, seated["police"].pass_key))
    lead, _, _ = await connect(session.pk, await database_sync_to_async(trainer_cookie)(trainer))
    for comm in (obs, police, lead):
        await drain(comm)
    rate = {"cmd": "objective.rate", "objective": "obj", "level": "2", "comment": "Hésitant."}
    await obs.send_to(text_data=json.dumps(rate))
    await police.send_to(text_data=json.dumps(rate))
    await lead.send_to(text_data=json.dumps(
        {"cmd": "debrief.add", "kind": "delta", "text": "Parler plus tôt au parquet."}))
    assert errors(await drain(police)) == ["forbidden"]
    await drain(obs)
    await drain(lead)
    kinds = await database_sync_to_async(lambda: list(
        Event.objects.filter(session=session, kind__in=["objective.rated", "debrief.added"])
        .values_list("kind", "actor")))()
    assert sorted(kinds) == sorted([("objective.rated", f"seat:{seated['obs'].seat_id}"),
                                    ("debrief.added", f"trainer:{trainer.pk}")])
    for comm in (obs, police, lead):
        await comm.disconnect()
