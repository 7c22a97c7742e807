"""Logins are throttled after repeated failures, per IP and per username; without the
counters' store, logins and join codes are refused clearly."""

from __future__ import annotations

import pytest
from django.core.cache import cache
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
    response = client.post(reverse("sessions:join"), {"code": "ABCDEFG"})
    assert response.status_code == 503
    assert "momentanément indisponible" in response.content.decode()
    assert "joined_sessions" not in client.session
