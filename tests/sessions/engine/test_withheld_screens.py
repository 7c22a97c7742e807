"""A withheld inject on the trainer's timeline, live and in the replay (same fold)."""

from __future__ import annotations

from django.utils import translation

from sessions import engine, replay
from sessions.audience import Perspective
from sessions.models import Event
from sessions.projections import apply, new_state
from sessions.render import render_region
from tests.factories import InjectFactory
from tests.sessions.engine.helpers import start, tick
from tests.sessions.review_helpers import canonical, fresh_caches  # noqa: F401 - a fixture


def _live_timeline(session) -> str:
    """The trainer's timeline as the live screen folds it, event by event."""
    state = new_state(Perspective.trainer(), session.version_id, session.pk)
    for event in Event.objects.filter(session=session).order_by("seq"):
        apply(state, event)
    with translation.override("fr"):
        return render_region(state, "timeline")


def test_the_trainer_sees_a_withheld_inject_live_and_in_the_replay(
    live_version, session, boss, wall
):
    InjectFactory(
        version=live_version,
        ident="cond",
        order=30,
        trigger="at",
        at_s=45,
        title="Sous condition",
        recipients=list(live_version.roles.all()[:1]),
        condition={"action": "interprete"},
    )
    start(session, boss)
    wall.advance(50)
    tick(session)
    session.refresh_from_db()
    live = _live_timeline(session)
    row = live.split('data-inject="cond"')[1].split("</li>")[0]
    assert 'data-state="withheld"' in row and "retenu" in row
    assert 'value="inject.fire"' in row  # still fireable by hand
    view = replay.viewpoint(session, "trainer")
    with translation.override("fr"):
        replayed = replay.frame_at(session, view, seq=session.last_seq).regions["timeline"]
    assert canonical(replayed) == canonical(live)
    labels = [m.label for m in replay.markers(session) if m.kind == "inject"]
    assert "Retenu : Sous condition" in labels
    engine.inject_fire(session_id=session.pk, principal=boss, inject_ident="cond")
    session.refresh_from_db()
    row = _live_timeline(session).split('data-inject="cond"')[1].split("</li>")[0]
    assert 'data-state="fired"' in row
