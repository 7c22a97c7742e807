"""The join flow's limits (sessions.joinguard): guesses, classrooms behind one NAT, squatters."""

from __future__ import annotations

import threading
import time

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.urls import reverse

from sessions import engine, joinguard, projections
from sessions.access import pass_cookie_name
from sessions.audience import Perspective
from sessions.models import CODE_ALPHABET, Event, LobbyEntry, Seat, Session

pytestmark = pytest.mark.django_db

NAT = "198.51.100.20"  # the school's one public address


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()


def wrong(n: int) -> str:
    """A well-formed code that opens nothing (codes are drawn at random: no clash)."""
    digits = ""
    for _ in range(4):
        n, rest = divmod(n, len(CODE_ALPHABET))
        digits += CODE_ALPHABET[rest]
    return "AAA" + digits


def browser(ip: str = NAT) -> Client:
    return Client(REMOTE_ADDR=ip)


def enter(client: Client, code: str) -> int:
    return client.post(reverse("sessions:join"), {"code": code}).status_code


def test_concurrent_wrong_codes_get_no_more_than_the_limit_looked_up(monkeypatch):
    """The probe got about twice the limit through by guessing in parallel."""
    looked_up, start = [], threading.Barrier(30)

    def slow_lookup(code):
        looked_up.append(code)
        time.sleep(0.01)  # widen the window between the check and the count
        return None

    monkeypatch.setattr(joinguard, "_live", slow_lookup)
    answers = []

    def guess(n):
        start.wait()
        try:
            answers.append(joinguard.enter(wrong(n), "203.0.113.7"))
        finally:
            connection.close()  # back to the pool (PostgreSQL): a thread's own connection

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(looked_up) == joinguard.CODE_FAILURES_LIMIT
    assert sum(a.throttled for a in answers) == 30 - joinguard.CODE_FAILURES_LIMIT


def test_a_burst_of_wrong_codes_does_not_lock_the_class_out(session):
    first = browser()
    assert enter(first, session.code) == 302  # one trainee is in: this network knows it
    for n in range(25):  # someone at the back of the room
        enter(browser(), wrong(n))
    assert enter(browser(), wrong(999)) == 429  # guesses stay refused …
    for _ in range(20):  # … the class still comes in with its code
        assert enter(browser(), session.code) == 302
    assert enter(browser("203.0.113.99"), session.code) == 302  # another network: untouched


def test_before_anyone_got_in_a_locked_network_is_refused_even_the_right_code(session):
    for n in range(joinguard.CODE_FAILURES_LIMIT):
        assert enter(browser(), wrong(n)) == 400
    response = browser().post(reverse("sessions:join"), {"code": session.code})
    assert response.status_code == 429  # or a locked network would be an oracle
    assert "prévenez le formateur" in response.content.decode()


def test_the_trainer_is_told_when_a_network_that_joined_gets_locked(session, trainer):
    assert enter(browser(), session.code) == 302
    for n in range(joinguard.CODE_FAILURES_LIMIT + 5):
        enter(browser(), wrong(n))
    told = Event.objects.filter(session=session, kind="join.throttled")
    assert told.count() == 1  # once per window, not per refused code
    event = told.get()
    assert event.audience == []  # the trainer only
    assert event.payload["failures"] == joinguard.CODE_FAILURES_LIMIT
    state = projections.project_session(session, Perspective.trainer())
    assert state.join_throttled["failures"] == joinguard.CODE_FAILURES_LIMIT
    client = Client()
    client.force_login(trainer)
    page = client.get(reverse("sessions:control", args=[session.pk])).content.decode()
    assert 'id="join-throttled"' in page


def test_the_known_code_budget_is_per_code_and_network(session, monkeypatch):
    monkeypatch.setattr(joinguard, "KNOWN_CODE_BUDGET", 3)
    assert enter(browser(), session.code) == 302
    for n in range(joinguard.CODE_FAILURES_LIMIT):
        enter(browser(), wrong(n))
    assert [enter(browser(), session.code) for _ in range(4)] == [302, 302, 302, 429]


def test_a_forged_forwarded_header_neither_dodges_nor_aims_the_limit(session):
    """Without a trusted proxy, X-Forwarded-For / X-Real-IP are the client's words."""
    attacker = Client(REMOTE_ADDR="203.0.113.66")
    for n in range(30):
        attacker.post(reverse("sessions:join"), {"code": wrong(n)},
                      HTTP_X_FORWARDED_FOR=f"10.0.{n}.1", HTTP_X_REAL_IP=NAT)
    assert attacker.post(reverse("sessions:join"), {"code": wrong(999)}).status_code == 429
    assert enter(browser(NAT), session.code) == 302  # the chosen victim is not locked out


def test_behind_a_trusted_proxy_its_header_is_the_address(session, settings):
    settings.SIMTRAIN_TRUSTED_PROXIES = ["127.0.0.1"]
    for n in range(joinguard.CODE_FAILURES_LIMIT + 1):
        status = Client(REMOTE_ADDR="127.0.0.1").post(
            reverse("sessions:join"), {"code": wrong(n)},
            HTTP_X_REAL_IP="203.0.113.66", HTTP_X_FORWARDED_FOR=f"10.9.{n}.9").status_code
    assert status == 429
    ok = Client(REMOTE_ADDR="127.0.0.1").post(reverse("sessions:join"), {"code": session.code},
                                             HTTP_X_REAL_IP="203.0.113.67")
    assert ok.status_code == 302


# --- Squatting with the code ---------------------------------------------------------------


def take(client: Client, session: Session, seat: Seat, name: str = "Chloé"):
    return client.post(reverse("sessions:seats", args=[session.pk]),
                       {"name": name, "seat": seat.pk})


@pytest.fixture
def roomy(session, live_version):
    """Three police seats, so that a squatter has something to squat."""
    live_version.roles.filter(ident="police").update(seats=3)
    for number in (2, 3):
        Seat.objects.create(session=session, role=live_version.roles.get(ident="police"),
                            number=number)
    return session


def test_one_browser_takes_one_seat_even_after_dropping_its_pass(roomy, boss):
    session = roomy
    squatter = browser()
    enter(squatter, session.code)
    seats = list(Seat.objects.filter(session=session, role__ident="police").order_by("number"))
    assert take(squatter, session, seats[0]).status_code == 302
    squatter.post(reverse("sessions:leave", args=[session.pk]))  # forget the pass …
    assert pass_cookie_name(session.pk) not in {
        k for k, v in squatter.cookies.items() if v.value}
    refused = take(squatter, session, seats[1])  # … and try for another seat
    assert refused.status_code == 400
    assert "occupe déjà une place" in refused.content.decode()
    assert not Seat.objects.get(pk=seats[1].pk).is_held
    engine.seat_free(session_id=session.pk, principal=boss, seat_id=seats[0].pk)
    assert take(squatter, session, seats[1]).status_code == 302  # freed: a seat again


def test_lobby_entries_per_network_are_capped(session, monkeypatch):
    Session.objects.filter(pk=session.pk).update(join_mode="approval")
    monkeypatch.setattr(joinguard, "LOBBY_MIN_BUDGET", 4)
    statuses = []
    for n in range(6):  # a fresh browser each time, as a squatter clearing cookies
        client = browser()
        enter(client, session.code)
        statuses.append(client.post(reverse("sessions:seats", args=[session.pk]),
                                    {"name": f"Bot {n}"}).status_code)
    assert statuses == [302] * 4 + [400] * 2
    assert LobbyEntry.objects.filter(session=session).count() == 4
    other = browser("203.0.113.99")  # another network is not affected
    enter(other, session.code)
    assert other.post(reverse("sessions:seats", args=[session.pk]),
                      {"name": "Zoé"}).status_code == 302


def test_the_lobby_budget_fits_a_class(session):
    assert joinguard.lobby_budget(session) == joinguard.LOBBY_MIN_BUDGET
    police = session.version.roles.get(ident="police")
    Seat.objects.bulk_create(Seat(session=session, role=police, number=n) for n in range(2, 40))
    assert joinguard.lobby_budget(session) == joinguard.LOBBY_PER_SEAT * 40
