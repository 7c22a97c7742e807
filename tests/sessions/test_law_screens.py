"""Countdowns and requests on the screens: the holders' desks, the deciding role's
card, the trainer's control room, and the replay at every moment equal to the live
fold (the same partials from the same state)."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import translation

from sessions import engine, exports, projections, replay
from sessions.models import Event
from sessions.render import SCREENS, render_region
from tests.sessions.conftest import seat_client, seat_up
from tests.sessions.engine.helpers import start, tick
from tests.sessions.review_helpers import canonical

pytestmark = pytest.mark.django_db


@pytest.fixture
def boss(trainer):
    return engine.TrainerPrincipal(user_id=trainer.pk, name="Formatrice")


@pytest.fixture
def cast(law_session, boss, wall):
    seats = {ident: seat_up(law_session, ident) for ident in ("police", "parquet", "obs")}
    start(law_session, boss)
    wall.advance(60)
    tick(law_session)  # `placement` fires, the countdown starts
    return seats


def law_region(session, token: str) -> str:
    view = replay.viewpoint(session, token)
    state = replay.state_at(session, view.perspective, session.last_seq)
    with translation.override("fr"):
        return render_region(state, projections.LAW)


def token(principal) -> str:
    return f"seat:{principal.seat_id}"


def test_the_holders_see_the_countdown_ticking_with_its_legal_basis(law_session, cast):
    law_session.refresh_from_db()
    html = law_region(law_session, token(cast["police"]))
    assert 'data-countdown="gav" data-state="running"' in html
    # Story time: until the jump at 10m, 24 h run out at clock 24h01m; after it, at 2h51m.
    assert 'data-countdown-steps="0:86460000,600000:10260000"' in html
    assert "<strong>Article 63 CPP</strong>" in html  # the description, as markdown
    assert 'data-urgent-ms="7200000"' in html  # urgent from its first warning on


def test_the_sender_sends_the_decider_decides_and_both_see_the_outcome(law_session, cast):
    law_session.refresh_from_db()
    police = law_region(law_session, token(cast["police"]))
    assert 'value="request.send"' in police and 'value="request.decide"' not in police
    assert 'value="request.send"' not in law_region(law_session, token(cast["parquet"]))
    engine.request_send(
        session_id=law_session.pk,
        principal=cast["police"],
        request_ident="prolongation",
        reason="Aveux partiels",
    )
    law_session.refresh_from_db()
    parquet = law_region(law_session, token(cast["parquet"]))
    assert 'value="request.decide"' in parquet and "Aveux partiels" in parquet
    assert 'data-request="prolongation" data-state="pending"' in parquet
    engine.request_decide(
        session_id=law_session.pk,
        principal=cast["parquet"],
        request_ident="prolongation",
        outcome="rejected",
        reason="Pas d'éléments nouveaux",
    )
    law_session.refresh_from_db()
    for who in ("police", "parquet"):
        html = law_region(law_session, token(cast[who]))
        assert 'data-request="prolongation" data-state="rejected"' in html
        assert "Pas d’éléments nouveaux" in html or "Pas d&#x27;éléments nouveaux" in html
    trainer = law_region(law_session, "trainer")
    assert 'data-state="rejected"' in trainer and 'value="request.' not in trainer


def test_a_stopped_countdown_reads_the_time_it_had_left(law_session, cast, wall):
    wall.advance(60)
    engine.action_take(
        session_id=law_session.pk, principal=cast["police"], action_ident="lever-gav"
    )
    law_session.refresh_from_db()
    html = law_region(law_session, token(cast["parquet"]))
    assert 'data-state="stopped"' in html, html[:1500]
    assert "23 h 59 min restant" in html, html[html.index("countdown__left") :][:400]


def test_a_scenario_without_the_law_keys_shows_no_such_region(session, boss):
    start(session, boss)
    session.refresh_from_db()
    html = law_region(session, "trainer")
    assert "hidden" in html.split(">")[0] and "countdown" not in html


def test_the_replay_at_every_moment_equals_the_live_fold(law_session, cast, wall, boss):
    """Each screen as the consumer keeps it (fold, re-render what changed) equals the
    replay's frame at that seq, for every perspective."""
    engine.request_send(
        session_id=law_session.pk,
        principal=cast["police"],
        request_ident="prolongation",
        reason="Aveux",
    )
    wall.advance(30)
    engine.request_decide(
        session_id=law_session.pk,
        principal=cast["parquet"],
        request_ident="prolongation",
        outcome="approved",
        reason="Oui",
    )
    engine.request_send(
        session_id=law_session.pk,
        principal=cast["police"],
        request_ident="prolongation",
        reason="Encore",
    )
    wall.advance(150)
    tick(law_session)  # the second sending runs out: outcome none
    engine.action_take(
        session_id=law_session.pk, principal=cast["police"], action_ident="lever-gav"
    )
    law_session.refresh_from_db()
    events = list(Event.objects.filter(session=law_session).order_by("seq"))
    assert {"countdown.extended", "countdown.stopped", "request.decided"} <= {
        e.kind for e in events
    }
    for view in replay.viewpoints(law_session):
        if view.screen not in ("control", "desk", "observer"):
            continue
        state = projections.new_state(view.perspective, law_session.version_id, law_session.pk)
        with translation.override("fr"):
            shown = {projections.LAW: canonical(render_region(state, projections.LAW))}
            for event in events:
                if not view.perspective.sees_event(event):
                    state.last_seq = event.seq
                    continue
                if projections.LAW in projections.apply(state, event):
                    shown[projections.LAW] = canonical(render_region(state, projections.LAW))
                if event.kind.startswith(("countdown.", "request.")):
                    frame = replay.frame_at(law_session, view, seq=event.seq)
                    assert canonical(frame.regions[projections.LAW]) == shown[projections.LAW], (
                        view.token,
                        event.seq,
                    )
        assert projections.LAW in SCREENS[view.screen]


def test_an_exported_session_imports_with_its_countdowns_and_requests(
    law_session, cast, wall, boss, trainer
):
    engine.request_send(
        session_id=law_session.pk,
        principal=cast["police"],
        request_ident="prolongation",
        reason="Aveux",
    )
    engine.request_decide(
        session_id=law_session.pk,
        principal=cast["parquet"],
        request_ident="prolongation",
        outcome="approved",
        reason="Oui",
    )
    wall.advance(60)
    engine.session_end(session_id=law_session.pk, principal=boss)
    law_session.refresh_from_db()
    first = exports.dumps(exports.export_session(law_session))
    copy = exports.import_session(exports.loads(first), user=trainer, source_name="x.json")
    assert exports.dumps(exports.export_session(copy)) == first
    assert canonical(law_region(copy, "trainer")) == canonical(law_region(law_session, "trainer"))
    assert 'data-state="approved"' in law_region(copy, "trainer")


def test_requests_and_countdowns_are_landmarks_of_the_replay(law_session, cast, wall):
    engine.request_send(
        session_id=law_session.pk,
        principal=cast["police"],
        request_ident="prolongation",
        reason="Aveux",
    )
    law_session.refresh_from_db()
    found = [(m.kind, m.label) for m in replay.markers(law_session) if m.kind == "law"]
    assert found == [("law", "gav : started"), ("law", "Police : Demander la prolongation")]


HELD = """\
format: simtrain.scenario/1
slug: gav-tenue
title: Garde à vue tenue
language: fr
roles:
  - {id: police, title: Police, kind: trainee, profession: police}
  - {id: client, title: Le client, kind: actor}
  - {id: joy, title: Joy, kind: actor}
countdowns:
  - id: gav
    title: Garde à vue du client
    description: Article 63 CPP
    roles: [police, client]
    limit: 24h
    starts: {inject: placement}
injects:
  - {id: placement, kind: message, to: [police], title: Placement en GAV, at: 1m}
  - {id: jeu, kind: cue, to: [client, joy], title: Tenir le rôle, at: 2m}
"""


def test_an_actor_whose_role_holds_a_countdown_sees_it_on_the_tablet(trainer, boss, wall):
    from scenarios.services import scenario_import

    version = scenario_import(source=("held.yaml", HELD.encode())).version
    session = engine.session_create(version=version, trainer=trainer, title="GAV")
    seats = {ident: seat_up(session, ident) for ident in ("police", "client", "joy")}
    start(session, boss)
    wall.advance(60)
    tick(session)
    session.refresh_from_db()
    assert "law" in SCREENS["tablet"]
    held = law_region(session, token(seats["client"]))
    assert 'data-countdown="gav" data-state="running"' in held
    assert 'id="region-law"' in held and "hidden" not in held.split(">", 1)[0]
    # An actor whose role is not listed: the region is there, empty and hidden.
    other = law_region(session, token(seats["joy"]))
    assert 'data-countdown="gav"' not in other and "hidden" in other.split(">", 1)[0]
    # The tablet page itself carries it, for the pushed updates to land in.
    page = seat_client(session, seats["client"]).get(reverse("actors:tablet", args=[session.pk]))
    assert page.status_code == 200 and 'data-countdown="gav"' in page.content.decode()
