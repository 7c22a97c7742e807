"""Logins are throttled after repeated failures, per IP and per username."""

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
