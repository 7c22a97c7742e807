"""An exercise of three syndicates on the small live scenario (tests/sessions/conftest.py)."""

from __future__ import annotations

import pytest

from sessions.exercises import services


@pytest.fixture
def exercise(live_version, trainer, wall):
    return services.exercise_create(version=live_version, trainer=trainer, title="Promo",
                                    syndicates=3)


@pytest.fixture
def balanced(live_version, trainer, wall):
    return services.exercise_create(version=live_version, trainer=trainer, title="Promo B",
                                    syndicates=2, placement="balance")
