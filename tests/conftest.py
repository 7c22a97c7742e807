"""Shared fixtures: personas and scenario builders used across the suite."""

from __future__ import annotations

import os

import pytest
from django.contrib.auth.models import Group

# The tests drive the scheduler themselves; servers they start set it back to embedded.
os.environ.setdefault("SIMTRAIN_SCHEDULER", "external")

from simtrain.permissions import COURSE_ADMIN_GROUP, TRAINER_GROUP, ensure_groups
from tests.factories import UserFactory


@pytest.fixture
def groups(db):
    ensure_groups()
    return {
        "course_admin": Group.objects.get(name=COURSE_ADMIN_GROUP),
        "trainer": Group.objects.get(name=TRAINER_GROUP),
    }


@pytest.fixture
def trainer(groups):
    user = UserFactory(username="trainer")
    user.groups.add(groups["trainer"])
    return user


@pytest.fixture
def second_trainer(groups):
    """Another trainer: the one who reviews what `trainer` wrote."""
    user = UserFactory(username="relectrice")
    user.groups.add(groups["trainer"])
    return user


@pytest.fixture
def course_admin(groups):
    user = UserFactory(username="courseadmin", is_staff=True)
    user.groups.add(groups["course_admin"])
    return user


@pytest.fixture
def trainer_client(client, trainer):
    client.force_login(trainer)
    return client


@pytest.fixture
def admin_client_(client, course_admin):
    client.force_login(course_admin)
    return client


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # Real hashers are slow on purpose; tests only need passwords to round-trip.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _forget_sockets():
    # Sockets and command buckets counted per holder and address (sessions.sockets):
    # ids are reused after rollbacks, and a test may leave a socket unclosed.
    from sessions import sockets

    sockets.registry.open.clear()
    sockets.registry.buckets.clear()


@pytest.fixture(autouse=True)
def _fresh_version_caches():
    # Per-process caches keyed by version id (versions are immutable in production);
    # a test database reuses ids after rollbacks, so each test starts clean.
    from django.core.cache import caches

    from sessions import law, layout
    from sessions.engine import due, limits

    due.forget_versions()
    law.forget()
    limits.forget()
    layout.forget_caches()
    caches["fragments"].clear()
    _forget_sockets()
    yield
    due.forget_versions()
    layout.plan_for.cache_clear()


@pytest.fixture(autouse=True)
def _language_reset():
    # LocaleMiddleware activates a request's language in the test's thread and nothing
    # deactivates it: a page asked in English would leave later tests rendering English.
    yield
    from django.utils import translation

    translation.deactivate()
