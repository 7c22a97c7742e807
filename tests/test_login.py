"""Logins are throttled after repeated failures, per IP and per username; without the
counters' store, logins and join codes are refused clearly."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.db import connection
from django.urls import reverse

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()


def test_repeated_failures_lock_the_login_even_with_the_right_password(client, trainer):
    url = reverse("login")
    for _ in range(8):
        response = client.post(url, {"username": "trainer", "password": "wrong"})
        assert response.status_code == 200
    response = client.post(url, {"username": "trainer", "password": "correct horse battery staple"})
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_a_good_login_works(client, trainer):
    response = client.post(
        reverse("login"), {"username": "trainer", "password": "correct horse battery staple"}
    )
    assert response.status_code == 302


@pytest.fixture
def store_down(monkeypatch):
    """The counters' store (Redis in the scale-out shape) cannot be reached."""
    from simtrain import ratelimit

    def unreachable(*args, **kwargs):
        raise ConnectionError("Error 111 connecting to 127.0.0.1:6390. Connection refused.")

    for method in ("get", "add", "incr"):
        monkeypatch.setattr(ratelimit.cache, method, unreachable)


def test_with_the_counters_unreachable_a_login_is_refused_clearly(client, trainer, store_down):
    response = client.post(
        reverse("login"), {"username": "trainer", "password": "correct horse battery staple"}
    )
    assert response.status_code == 503
    assert "momentanément indisponible" in response.content.decode()
    assert "_auth_user_id" not in client.session  # not let through unthrottled


def test_with_the_counters_unreachable_a_join_code_is_refused_clearly(client, store_down):
    # A well-formed code (a malformed one is refused before any counter is asked).
    response = client.post(reverse("sessions:join"), {"code": "ACDEFGH"})
    assert response.status_code == 503
    assert "momentanément indisponible" in response.content.decode()
    assert "joined_sessions" not in client.session


PASSWORD = "correct horse battery staple"  # tests.factories.UserFactory's


@pytest.fixture
def staff(course_admin):
    return course_admin


def test_the_admin_login_is_throttled_too(client, staff):
    """The probe: 40 wrong passwords at /admin/login/ were all evaluated, then the right
    one logged in while /login/ answered 429 for that account."""
    url = reverse("admin:login")
    statuses = [client.post(url, {"username": "courseadmin", "password": "wrong"}).status_code
                for _ in range(40)]
    assert statuses[:8] == [200] * 8 and set(statuses[8:]) == {429}
    response = client.post(url, {"username": "courseadmin", "password": PASSWORD})
    assert response.status_code == 429
    assert "Trop de tentatives" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_one_count_for_every_login_path(client, staff):
    for n in range(8):
        url = reverse("login") if n % 2 else reverse("admin:login")
        client.post(url, {"username": "courseadmin", "password": "wrong"})
    for url in (reverse("login"), reverse("admin:login")):
        response = client.post(url, {"username": "courseadmin", "password": PASSWORD})
        assert response.status_code == 429, url
    assert "_auth_user_id" not in client.session


def test_a_throttled_password_is_not_even_checked(client, trainer, monkeypatch):
    from django.contrib.auth.backends import ModelBackend

    checked = []
    original = ModelBackend.authenticate
    monkeypatch.setattr(ModelBackend, "authenticate",
                        lambda self, *a, **k: checked.append(1) or original(self, *a, **k))
    for _ in range(20):
        client.post(reverse("login"), {"username": "trainer", "password": "wrong"})
    assert len(checked) == 8


def test_a_successful_login_does_not_count(client, trainer):
    for _ in range(12):
        client.post(reverse("login"), {"username": "trainer", "password": PASSWORD})
        client.post(reverse("logout"))
    for _ in range(7):
        client.post(reverse("login"), {"username": "trainer", "password": "wrong"})
    response = client.post(reverse("login"), {"username": "trainer", "password": PASSWORD})
    assert response.status_code == 302


def test_concurrent_guesses_get_no_more_than_the_limit_through(trainer, monkeypatch):
    """Attempts are counted before the password is checked, atomically."""
    import threading

    from django.contrib.auth import authenticate
    from django.contrib.auth.backends import ModelBackend
    from django.test import RequestFactory

    checked, start = [], threading.Barrier(24)
    original = ModelBackend.authenticate

    def slow(self, *args, **kwargs):
        checked.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(ModelBackend, "authenticate", slow)

    def guess():
        request = RequestFactory().post("/login/", REMOTE_ADDR="203.0.113.5")
        start.wait()
        try:
            authenticate(request, username="trainer", password="wrong")
        finally:
            connection.close()  # back to the pool (PostgreSQL): a thread's own connection

    threads = [threading.Thread(target=guess) for _ in range(24)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(checked) == 8
