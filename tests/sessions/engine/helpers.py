"""Small readers of a session's log and projections, shared by the engine tests."""

from __future__ import annotations

from sessions import engine
from sessions.models import Event, InjectFiring


def kinds(session, since: int = 0) -> list[str]:
    return list(
        Event.objects.filter(session=session, seq__gt=since).values_list("kind", flat=True)
    )


def fired(session) -> dict[str, InjectFiring]:
    return {f.inject.ident: f for f in InjectFiring.objects.filter(session=session)}


def last_seq(session) -> int:
    return Event.objects.filter(session=session).order_by("-seq").first().seq


def start(session, boss):
    engine.session_start(session_id=session.pk, principal=boss)


def tick(session):
    return engine.scheduler_tick(session_id=session.pk)
