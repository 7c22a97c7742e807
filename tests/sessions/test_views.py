"""Launching, joining and the participant pages."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from sessions import engine
from sessions.access import pass_cookie_name, read_pass, sign_pass
from sessions.models import LobbyEntry, Seat, Session

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()


def join_with_code(client, session):
    response = client.post(reverse("sessions:join"), {"code": session.code.lower()})
    assert response.status_code == 302, response.content
    return response


def test_trainer_creates_a_session_pinned_to_the_version(trainer_client, live_version):
    response = trainer_client.post(
        reverse("sessions:new", args=[live_version.pk]),
        {"title": "Promo 2026", "cohort": "P26", "join_mode": "open"},
    )
    session = Session.objects.get()
    assert response.url == reverse("sessions:control", args=[session.pk])
    assert session.version == live_version and session.seats.count() == 4
    assert trainer_client.get(response.url).status_code == 200


def test_code_then_seat_sets_a_pass_and_opens_the_desk(client, session):
    join_with_code(client, session)
    seat = Seat.objects.get(session=session, role__ident="police")
    response = client.post(reverse("sessions:seats", args=[session.pk]),
                           {"name": "Chloé", "seat": seat.pk})
    assert response.url == reverse("sessions:desk", args=[session.pk])
    seat.refresh_from_db()
    assert seat.holder_name == "Chloé"
    cookies = {k: v.value for k, v in client.cookies.items()}
    assert read_pass(cookies, session.pk) == seat.holder_key
    page = client.get(response.url)
    assert page.status_code == 200 and b"Chlo" in page.content


def test_the_code_never_offers_an_actor_seat(client, session):
    join_with_code(client, session)
    page = client.get(reverse("sessions:seats", args=[session.pk]))
    joy = Seat.objects.get(session=session, role__ident="joy")
    assert f'value="{joy.pk}"'.encode() not in page.content
    response = client.post(reverse("sessions:seats", args=[session.pk]),
                           {"name": "Intrus", "seat": joy.pk})
    assert response.status_code == 400
    assert not Seat.objects.get(pk=joy.pk).is_held


def test_seat_page_without_the_code_sends_back_to_join(client, session):
    response = client.get(reverse("sessions:seats", args=[session.pk]))
    assert response.url == reverse("sessions:join")


def test_wrong_codes_are_throttled(client, session):
    for _ in range(10):
        assert client.post(reverse("sessions:join"), {"code": "AAAAAAA"}).status_code == 400
    response = client.post(reverse("sessions:join"), {"code": session.code})
    assert response.status_code == 429  # even the right code, once locked out


def test_actor_joins_only_through_the_invitation(client, session):
    seat = Seat.objects.get(session=session, role__ident="joy")
    response = client.post(reverse("sessions:invite", args=[seat.invite_token]), {"name": "Ada"})
    assert response.url == reverse("actors:tablet", args=[session.pk])
    assert client.get(response.url).status_code == 200


def test_a_stale_invitation_is_a_clear_404(client, session, boss):
    seat = Seat.objects.get(session=session, role__ident="joy")
    token = seat.invite_token
    client.post(reverse("sessions:invite", args=[token]), {"name": "Ada"})
    engine.seat_free(session_id=session.pk, principal=boss, seat_id=seat.pk)
    response = client.get(reverse("sessions:invite", args=[token]))
    assert response.status_code == 404
    assert client.get(reverse("actors:tablet", args=[session.pk])).status_code == 403


def test_returning_participant_gets_the_seat_back(client, session):
    join_with_code(client, session)
    seat = Seat.objects.get(session=session, role__ident="police")
    client.post(reverse("sessions:seats", args=[session.pk]), {"name": "Chloé", "seat": seat.pk})
    # Browser closed and reopened: the signed cookie is still there.
    response = client.get(reverse("sessions:seats", args=[session.pk]))
    assert response.url == reverse("sessions:desk", args=[session.pk])


def test_approval_mode_waits_in_the_lobby_until_assigned(client, session, boss):
    Session.objects.filter(pk=session.pk).update(join_mode="approval")
    join_with_code(client, session)
    response = client.post(reverse("sessions:seats", args=[session.pk]),
                           {"name": "Chloé", "role": "parquet"})
    assert response.url == reverse("sessions:lobby", args=[session.pk])
    assert client.get(response.url).status_code == 200
    entry = LobbyEntry.objects.get(session=session)
    seat = Seat.objects.get(session=session, role__ident="parquet")
    engine.seat_assign(session_id=session.pk, principal=boss, seat_id=seat.pk, entry_id=entry.pk)
    polled = client.get(reverse("sessions:lobby", args=[session.pk]), HTTP_HX_REQUEST="true")
    assert polled["HX-Redirect"] == reverse("sessions:desk", args=[session.pk])


def test_control_room_is_for_the_sessions_trainer_only(client, session, groups):
    from tests.factories import UserFactory

    other = UserFactory(username="other")
    other.groups.add(groups["trainer"])
    client.force_login(other)
    assert client.get(reverse("sessions:control", args=[session.pk])).status_code == 403


def test_invitation_qr_is_an_svg_for_the_trainer(trainer_client, session):
    seat = Seat.objects.get(session=session, role__ident="joy")
    response = trainer_client.get(reverse("sessions:seat_qr", args=[session.pk, seat.pk]))
    assert response["Content-Type"] == "image/svg+xml" and b"<svg" in response.content


def test_pass_cookie_is_httponly_and_scoped(client, session):
    join_with_code(client, session)
    seat = Seat.objects.get(session=session, role__ident="police")
    response = client.post(reverse("sessions:seats", args=[session.pk]),
                           {"name": "Chloé", "seat": seat.pk})
    cookie = response.cookies[pass_cookie_name(session.pk)]
    assert cookie["httponly"] and cookie["samesite"] == "Lax"


def test_a_planted_pass_never_becomes_the_victims_pass(client, session, boss):
    """The probe: an old pass cookie planted in a victim's browser opened the victim's
    desk to whoever kept it, once the victim took a seat."""
    attacker = Client()
    join_with_code(attacker, session)
    police = Seat.objects.get(session=session, role__ident="police")
    attacker.post(reverse("sessions:seats", args=[session.pk]), {"name": "Att", "seat": police.pk})
    kept = attacker.cookies[pass_cookie_name(session.pk)].value  # the attacker keeps it
    engine.seat_free(session_id=session.pk, principal=boss, seat_id=police.pk)
    client.cookies[pass_cookie_name(session.pk)] = kept  # … and plants it in the victim's
    join_with_code(client, session)
    response = client.post(reverse("sessions:seats", args=[session.pk]),
                           {"name": "Victime", "seat": police.pk})
    assert response.url == reverse("sessions:desk", args=[session.pk])
    police.refresh_from_db()
    assert police.holder_name == "Victime"
    assert sign_pass(session.pk, police.holder_key) != kept
    assert client.cookies[pass_cookie_name(session.pk)].value != kept
    assert attacker.get(reverse("sessions:desk", args=[session.pk])).status_code == 403


def test_a_planted_pass_never_becomes_the_pass_the_trainer_seats(client, session, boss):
    Session.objects.filter(pk=session.pk).update(join_mode="approval")
    attacker = Client()
    join_with_code(attacker, session)
    attacker.post(reverse("sessions:seats", args=[session.pk]), {"name": "Att"})
    kept = attacker.cookies[pass_cookie_name(session.pk)].value
    client.cookies[pass_cookie_name(session.pk)] = kept
    join_with_code(client, session)
    client.post(reverse("sessions:seats", args=[session.pk]), {"name": "Victime"})
    entry = LobbyEntry.objects.get(session=session)  # one entry: the same browser's
    assert entry.name == "Victime"
    seat = Seat.objects.get(session=session, role__ident="parquet")
    engine.seat_assign(session_id=session.pk, principal=boss, seat_id=seat.pk, entry_id=entry.pk)
    assert client.get(reverse("sessions:desk", args=[session.pk])).status_code == 200
    assert attacker.get(reverse("sessions:desk", args=[session.pk])).status_code == 403


def test_an_invitation_link_does_not_name_the_holder(client, session):
    seat = Seat.objects.get(session=session, role__ident="joy")
    client.post(reverse("sessions:invite", args=[seat.invite_token]), {"name": "Ada Lovelace"})
    page = Client().get(reverse("sessions:invite", args=[seat.invite_token])).content.decode()
    assert "déjà occupée" in page and "Ada" not in page
