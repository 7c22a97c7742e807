"""Live annotations: who may write them, who sees them, where the review shows them."""

from __future__ import annotations

import pytest

from scenarios.models import Role
from sessions import engine, replay, report
from sessions.audience import Perspective
from sessions.models import Seat
from tests.sessions.review_helpers import add_objective


@pytest.fixture
def started(session, boss, seated):
    add_objective(session.version, ident="coop", title="Coopérer")
    engine.session_start(session_id=session.pk, principal=boss)
    return session


def test_trainer_and_observer_annotate_anchored_to_the_last_event(started, boss, seated, wall):
    sid = started.pk
    wall.advance(42)
    last = started.events.order_by("-seq").first().seq
    e = engine.annotation_add(
        session_id=sid, principal=boss, tag="silo", text="Chacun chez soi", about="police"
    )
    assert e.payload["anchor_seq"] == last and e.clock_ms == 42_000 and e.audience == []
    o = engine.annotation_add(
        session_id=sid, principal=seated["obs"], tag="objective:coop", text="Bel échange", at_seq=1
    )
    assert o.payload["tag"] == "objective" and o.payload["title"] == "Coopérer"
    assert o.payload["anchor_seq"] == 1 and o.payload["rater"] == "observer"
    assert o.audience == [f"seat:{seated['obs'].seat_id}"]


@pytest.mark.parametrize("who", ["police", "joy"])
def test_players_may_not_annotate(started, seated, who):
    before = started.events.count()
    with pytest.raises(engine.EngineError) as err:
        engine.annotation_add(session_id=started.pk, principal=seated[who], tag="good", text="x")
    assert err.value.code == "forbidden" and started.events.count() == before


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"tag": "nope", "text": "x"}, "bad-tag"),
        ({"tag": "objective:nope", "text": "x"}, "unknown-objective"),
        ({"tag": "good", "text": "  "}, "empty"),
        ({"tag": "good", "text": "x" * 501}, "too-long"),
        ({"tag": "good", "text": "x", "about": "nobody"}, "unknown-role"),
        ({"tag": "good", "text": "x", "at_seq": 999}, "bad-seq"),
    ],
)
def test_bad_annotations_are_refused_and_change_nothing(started, boss, kwargs, code):
    before = started.events.count()
    with pytest.raises(engine.EngineError) as err:
        engine.annotation_add(session_id=started.pk, principal=boss, **kwargs)
    assert err.value.code == code and started.events.count() == before


def test_no_trainee_sees_an_annotation_live_or_in_replay(started, boss, seated):
    engine.annotation_add(session_id=started.pk, principal=boss, tag="welfare", text="Secret")
    engine.annotation_add(session_id=started.pk, principal=seated["obs"], tag="good", text="Vu")
    for seat in Seat.objects.filter(session=started).select_related("role"):
        perspective = Perspective.for_seat(seat)
        seen = [
            e for e in started.events.filter(kind="annotation.added") if perspective.sees_event(e)
        ]
        if seat.role.kind == Role.Kind.OBSERVER:
            assert [e.payload["text"] for e in seen] == ["Vu"]
        else:
            assert seen == [], seat.role.ident


def test_annotations_are_replay_markers_and_grouped_in_the_report(started, boss, seated):
    engine.annotation_add(
        session_id=started.pk,
        principal=boss,
        tag="objective:coop",
        text="Appel croisé",
        about="parquet",
    )
    engine.annotation_add(session_id=started.pk, principal=boss, tag="legal", text="Art. 77")
    found = [m for m in replay.markers(started) if m.kind == "annotation"]
    assert [m.label for m in found] == ["[Coopérer] Appel croisé", "[Erreur juridique] Art. 77"]
    data = report.build(started)
    assert [(g.key, len(g.entries)) for g in data.annotations_by_objective] == [
        ("coop", 1),
        ("legal", 1),
    ]
    assert [g.key for g in data.annotations_by_role] == ["parquet", ""]


def test_report_page_and_pdf_show_annotations(trainer_client, started, boss):
    from django.urls import reverse

    engine.annotation_add(session_id=started.pk, principal=boss, tag="missed", text="Le tatouage")
    page = trainer_client.get(reverse("sessions:report", args=[started.pk]))
    assert (
        "Le tatouage" in page.content.decode()
        and 'data-annotation-group="o:missed"' in page.content.decode()
    )
