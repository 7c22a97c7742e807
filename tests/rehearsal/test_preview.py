"""The reviewer's headless rehearsal: what its report finds in a version's log."""

from __future__ import annotations

import pytest

from rehearsal.preview import preview_run
from scenarios.models import Role
from scenarios.services import scenario_import
from sessions.models import Session
from tests.scenarios.format_helpers import BASE

pytestmark = pytest.mark.django_db


@pytest.fixture
def version(trainer):
    return scenario_import(source=("essai.yaml", BASE.encode()), user=trainer).version


def test_it_plays_the_whole_scenario_and_ends(trainer, version):
    preview = preview_run(version=version, trainer=trainer)
    session = Session.objects.get(pk=preview.session_id)
    assert session.state == Session.State.ENDED and not preview.capped
    assert preview.clock_s * 1000 >= (version.duration_s or 0) * 1000
    assert preview.log_contiguous and not (preview.leaks or preview.missed), preview
    assert preview.never_fired == [] and preview.quiet == []
    # The police get only the opening broadcast to all: nothing of their own to do.
    assert preview.idle_roles == ["police"] and not preview.clean


def test_a_role_that_nothing_reaches_is_idle(trainer, version):
    Role.objects.create(
        version=version,
        ident="greffier",
        order=9,
        title="Greffier",
        kind=Role.Kind.TRAINEE,
        seats=1,
    )
    preview = preview_run(version=version, trainer=trainer)
    assert preview.idle_roles == ["greffier", "police"]


def test_an_inject_never_reached_is_listed(trainer, version):
    version.injects.filter(ident="cue1").update(trigger="manual", at_s=None)
    preview = preview_run(version=version, trainer=trainer)
    assert preview.never_fired == [{"inject": "cue1", "trigger": "manual"}]
