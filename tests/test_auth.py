"""Accounts: log in, log out, and who is let into the trainer pages."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.urls import reverse

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"  # tests.factories.UserFactory's


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def fresh_login_throttle():
    # Failed logins are counted in the cache; start every test from zero.
    cache.clear()
    yield
    cache.clear()


def test_login_page_is_french_first(client):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="fr">' in html
    assert "Connexion" in html
    assert 'autocomplete="current-password"' in html
    assert '<a class="skip-link" href="#main">' in html


def test_trainer_logs_in_and_lands_in_the_library(client, trainer):
    response = client.post(reverse("login"), {"username": "trainer", "password": PASSWORD})
    assert response.status_code == 302
    assert response.url == reverse("scenarios:library")
    assert client.get(response.url).status_code == 200


def test_login_goes_back_to_the_page_asked_for(client, trainer):
    wanted = reverse("scenarios:import")
    page = client.get(reverse("login"), {"next": wanted}).content.decode()
    assert f'name="next" value="{wanted}"' in page
    response = client.post(
        reverse("login"), {"username": "trainer", "password": PASSWORD, "next": wanted}
    )
    assert response.url == wanted


def test_a_wrong_password_is_refused_with_a_message(client, trainer):
    response = client.post(reverse("login"), {"username": "trainer", "password": "nope"})
    assert response.status_code == 200
    assert 'role="alert"' in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_logout_is_a_post_form(trainer_client):
    page = trainer_client.get(reverse("scenarios:library")).content.decode()
    assert f'<form action="{reverse("logout")}" method="post">' in page
    assert trainer_client.get(reverse("logout")).status_code == 405
    response = trainer_client.post(reverse("logout"))
    assert response.status_code == 302
    assert response.url == reverse("login")
    assert trainer_client.get(reverse("scenarios:library")).status_code == 302


def test_someone_without_the_trainer_group_is_refused(client):
    user = UserFactory(username="stagiaire")
    client.force_login(user)
    response = client.get(reverse("scenarios:library"))
    assert response.status_code == 403
    html = response.content.decode()
    assert "Accès refusé" in html
    assert "stagiaire" in html  # says who is logged in


def test_course_admins_and_superusers_count_as_trainers(client, course_admin):
    client.force_login(course_admin)
    assert client.get(reverse("scenarios:library")).status_code == 200
    superuser = UserFactory(username="root", is_superuser=True, is_staff=True)
    client.force_login(superuser)
    assert client.get(reverse("scenarios:library")).status_code == 200


def test_the_header_shows_the_user_and_an_admin_link_for_staff(client, course_admin, trainer):
    client.force_login(course_admin)
    html = client.get(reverse("scenarios:library")).content.decode()
    assert "courseadmin" in html
    assert f'href="{reverse("admin:index")}"' in html
    client.force_login(trainer)
    html = client.get(reverse("scenarios:library")).content.decode()
    assert f'href="{reverse("admin:index")}"' not in html
