"""The hot-wash: anonymous by construction, shown only from three answers, aggregated."""

from __future__ import annotations

import pytest
from django.db import models
from django.urls import reverse

from sessions import engine, exports, report
from sessions.access import pass_cookie_name, sign_pass
from sessions.models import Event, HotwashAnswer, Seat
from sessions.report.hotwash import aggregate
from tests.sessions.conftest import seat_up
from tests.sessions.review_helpers import add_objective


@pytest.fixture
def ended(session, boss, wall):
    add_objective(session.version, ident="coop", title="Coopérer")
    players = {ident: seat_up(session, ident) for ident in ("police", "parquet", "joy", "obs")}
    engine.session_start(session_id=session.pk, principal=boss)
    wall.advance(60)
    engine.session_end(session_id=session.pk, principal=boss)
    return session, players


def answer(session, principal, **fields):
    fields.setdefault("confidence", {"coop": 4})
    engine.hotwash_answer(session_id=session.pk, principal=principal, **fields)


# --- Anonymity, in the schema -----------------------------------------------------------------


def test_the_answer_table_has_no_path_to_a_seat_a_person_or_an_order():
    fields = HotwashAnswer._meta.get_fields()
    relations = [f for f in fields if f.is_relation]
    assert [f.name for f in relations] == ["session"]  # nothing else to join on
    assert not any(isinstance(f, models.DateTimeField | models.DateField) for f in fields)
    pk = HotwashAnswer._meta.pk
    assert isinstance(pk, models.UUIDField) and not isinstance(pk, models.AutoField)
    assert not HotwashAnswer._meta.ordering
    # …and nothing points at it either (no seat, user or event references an answer).
    assert not [f for f in HotwashAnswer._meta.related_objects]
    assert not any(f.is_relation for f in Seat._meta.get_fields() if f.name == "hotwash_answered")


def test_answering_appends_no_event_and_rewrites_every_key(ended):
    session, players = ended
    before = session.events.count()
    answer(session, players["police"], worked="Le binôme")
    first = set(HotwashAnswer.objects.values_list("pk", flat=True))
    answer(session, players["parquet"], worked="Les appels")
    second = set(HotwashAnswer.objects.values_list("pk", flat=True))
    assert len(second) == 2 and not first & second  # the older answer got a new key too
    assert session.events.count() == before
    assert not Event.objects.filter(session=session, kind__startswith="hotwash").exists()
    marked = Seat.objects.filter(session=session, hotwash_answered=True)
    assert sorted(s.role.ident for s in marked) == ["parquet", "police"]


def test_no_export_carries_an_answer_or_who_answered(ended):
    session, players = ended
    for ident in ("police", "parquet", "joy"):
        answer(session, players[ident], worked=f"secret-{ident}", free_text=f"libre-{ident}")
    data = exports.dumps(exports.export_session(session))
    csv = exports.events_csv(session)
    for text in ("secret-", "libre-", "hotwash"):
        assert text not in data and text not in csv


# --- Who may answer, once, when -----------------------------------------------------------------


def test_one_answer_per_seat_after_the_end_by_players_only(ended, boss):
    session, players = ended
    answer(session, players["joy"])  # actors answer too
    with pytest.raises(engine.EngineError) as err:
        answer(session, players["joy"])
    assert err.value.code == "already-answered"
    with pytest.raises(engine.EngineError) as err:
        answer(session, players["obs"])
    assert err.value.code == "forbidden"
    with pytest.raises(engine.EngineError) as err:
        answer(session, boss)
    assert err.value.code == "forbidden"
    assert HotwashAnswer.objects.count() == 1


def test_not_before_the_end(session, boss):
    add_objective(session.version, ident="coop", title="Coopérer")
    police = seat_up(session, "police")
    engine.session_start(session_id=session.pk, principal=boss)
    with pytest.raises(engine.EngineError) as err:
        answer(session, police)
    assert err.value.code == "not-ended" and not HotwashAnswer.objects.exists()


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"confidence": {"coop": 6}}, "bad-level"),
        ({"confidence": {"nope": 3}}, "unknown-objective"),
        ({"confidence": {}}, "empty"),
        ({"confidence": {}, "worked": "x" * 2001}, "too-long"),
    ],
)
def test_bad_answers_are_refused_and_leave_nothing(ended, fields, code):
    session, players = ended
    with pytest.raises(engine.EngineError) as err:
        answer(session, players["police"], **fields)
    assert err.value.code == code
    assert not HotwashAnswer.objects.exists()
    assert not Seat.objects.filter(session=session, hotwash_answered=True).exists()


# --- The aggregate -----------------------------------------------------------------------------


def test_nothing_is_shown_before_three_answers(ended):
    session, players = ended
    answer(session, players["police"], worked="A", confidence={"coop": 2})
    answer(session, players["parquet"], worked="B", confidence={"coop": 4})
    found = aggregate(session)
    assert not found.shown and found.answered == 2 and found.worked == [] and not found.objectives
    answer(session, players["joy"], worked="C", confidence={"coop": 3})
    found = aggregate(session)
    assert found.shown and sorted(found.worked) == ["A", "B", "C"]
    coop = found.confidence_of("coop")
    assert coop.counts == [0, 1, 1, 1, 0] and coop.mean == 3


def test_report_sets_confidence_beside_measure_and_rubric(ended, boss):
    session, players = ended
    for ident, level in (("police", 5), ("parquet", 5), ("joy", 2)):
        answer(session, players[ident], confidence={"coop": level})
    engine.objective_rate(session_id=session.pk, principal=boss, objective_ident="coop", level=2)
    data = report.build(session)
    row = data.confidence[0]
    assert row.confidence == 4 and row.rubric == 2 and row.measured is None
    assert 'data-bar="confidence" data-share="0.75"' in data.confidence_svg
    assert 'data-bar="rubric" data-share="0.33"' in data.confidence_svg


# --- The pages ---------------------------------------------------------------------------------


def _as_seat(client, session, principal):
    client.cookies[pass_cookie_name(session.pk)] = sign_pass(session.pk, principal.pass_key)
    return client


def test_the_survey_page_stores_an_answer_and_thanks(client, ended):
    session, players = ended
    _as_seat(client, session, players["police"])
    url = reverse("sessions:hotwash", args=[session.pk])
    assert 'name="confidence-coop"' in client.get(url).content.decode()
    page = client.post(url, {"worked": "Le point de situation", "confidence-coop": "4"})
    assert page.status_code == 200 and "Merci" in page.content.decode()
    assert HotwashAnswer.objects.get().confidence == {"coop": 4}
    again = client.post(url, {"worked": "Encore"})
    assert HotwashAnswer.objects.count() == 1 and "Merci" in again.content.decode()


def test_the_room_aggregate_is_marked_as_exercise(trainer_client, ended):
    session, players = ended
    url = reverse("sessions:hotwash_results", args=[session.pk])
    assert 'data-hotwash="hidden"' in trainer_client.get(url).content.decode()
    for ident in ("police", "parquet", "joy"):
        answer(session, players[ident], free_text=f"texte {ident}")
    page = trainer_client.get(url).content.decode()
    assert 'data-hotwash="shown"' in page and "texte joy" in page and "EXERCICE" in page


# --- Archive ------------------------------------------------------------------------------------


def test_pseudonymisation_scrubs_the_free_texts_and_deletion_removes_the_answers(ended, trainer):
    session, players = ended
    Seat.objects.filter(pk=players["police"].seat_id).update(holder_name="Chloé Bernard")
    answer(session, players["parquet"], free_text="Merci à Chloé Bernard pour l’appel")
    engine.session_pseudonymise(session_id=session.pk)
    text = HotwashAnswer.objects.get().free_text
    assert "Chloé" not in text and "Participant" in text
    engine.session_delete(session_id=session.pk, user=trainer, confirm_title=session.title)
    assert not HotwashAnswer.objects.exists()
