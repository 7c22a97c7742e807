"""A small live scenario built through the ORM, a controllable wall clock, and principals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client

from scenarios.models import Inject, Role
from sessions import engine
from sessions.access import pass_cookie_name, sign_pass
from sessions.models import Seat
from tests.factories import (
    ActionFactory,
    InjectFactory,
    PhaseFactory,
    RoleFactory,
    ScenarioVersionFactory,
)


class WallClock:
    """Stands in for `timezone.now()`; tests move it forward by hand."""

    def __init__(self):
        self.now = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)

    def __call__(self):
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def wall(monkeypatch):
    clock = WallClock()
    monkeypatch.setattr("django.utils.timezone.now", clock)
    return clock


@pytest.fixture
def live_version(db):
    """police + parquet (trainees), joy (actor), obs (observer), and one of each trigger."""
    v = ScenarioVersionFactory()
    police = RoleFactory(version=v, ident="police", order=0, profession="police")
    parquet = RoleFactory(version=v, ident="parquet", order=1, profession="prosecutor")
    joy = RoleFactory(version=v, ident="joy", order=2, kind=Role.Kind.ACTOR, profession="")
    obs = RoleFactory(version=v, ident="obs", order=3, kind=Role.Kind.OBSERVER, profession="")
    p1 = PhaseFactory(version=v, ident="p1", order=0, starts_s=0)
    p2 = PhaseFactory(version=v, ident="p2", order=1, starts_s=600)
    interp = ActionFactory(version=v, ident="interprete", order=0, roles=[police])
    ActionFactory(version=v, ident="note", order=1, roles=[police, parquet], once=False)
    T = Inject.Trigger  # noqa: N806
    InjectFactory(version=v, ident="t0", order=0, trigger=T.AT, at_s=0, phase=p1,
                  kind="broadcast", to_all=True, recipients=[police, parquet, joy, obs])
    call = InjectFactory(version=v, ident="call", order=1, trigger=T.AT, at_s=60, phase=p1,
                         kind="call", recipients=[police])
    InjectFactory(version=v, ident="followup", order=2, trigger=T.AFTER, after_inject=call,
                  after_delay_s=30, phase=p1, recipients=[parquet])
    dec = InjectFactory(version=v, ident="dec", order=3, trigger=T.AT, at_s=120, phase=p1,
                        kind="decision", recipients=[parquet], deadline_s=60,
                        options=[{"id": "opp", "label": "OPP"}, {"id": "gav", "label": "GAV"}])
    InjectFactory(version=v, ident="on-opp", order=4, trigger=T.DECISION, when_decision=dec,
                  when_option="opp", recipients=[police])
    InjectFactory(version=v, ident="on-any", order=5, trigger=T.DECISION, when_decision=dec,
                  when_option="any", recipients=[police])
    InjectFactory(version=v, ident="on-none", order=6, trigger=T.DECISION, when_decision=dec,
                  when_option="none", recipients=[police, parquet])
    InjectFactory(version=v, ident="on-interp", order=7, trigger=T.ACTION, when_action=interp,
                  recipients=[police])
    InjectFactory(version=v, ident="cue1", order=8, trigger=T.AT, at_s=30, kind="cue",
                  recipients=[joy], cue={"say": "I am 19"})
    InjectFactory(version=v, ident="manual", order=9, trigger=T.MANUAL, recipients=[police])
    InjectFactory(version=v, ident="late-phase", order=10, trigger=T.AT, at_s=600, phase=p2,
                  recipients=[police])
    return v


@pytest.fixture
def session(live_version, trainer, wall):
    return engine.session_create(version=live_version, trainer=trainer, title="Essai")


@pytest.fixture
def boss(trainer):
    return engine.TrainerPrincipal(user_id=trainer.pk, name="Formatrice")


def seat_up(session, role_ident: str, name: str = "") -> engine.SeatPrincipal:
    seat = Seat.objects.filter(session=session, role__ident=role_ident, holder_key="").first()
    key = f"key-{role_ident}-{seat.pk}"
    engine.seat_claim(session_id=session.pk, seat_id=seat.pk, name=name or role_ident, pass_key=key)
    return engine.SeatPrincipal(seat_id=seat.pk, pass_key=key)


def seat_client(session, principal) -> Client:
    """A browser holding `principal`'s seat pass."""
    client = Client()
    client.cookies[pass_cookie_name(session.pk)] = sign_pass(session.pk, principal.pass_key)
    return client


@pytest.fixture
def seated(session):
    return {ident: seat_up(session, ident) for ident in ("police", "parquet", "joy", "obs")}


@pytest.fixture
def law_version(db):
    """tests.drills.LAW imported: fiction, a countdown, two requests (see there)."""
    from scenarios.services import scenario_import
    from sessions.engine import due
    from sessions.layout import forget_caches
    from tests.drills import LAW

    due.forget_versions()  # ids of rolled-back versions are reused
    forget_caches()
    yield scenario_import(source=("law-drill.yaml", LAW.encode())).version
    due.forget_versions()
    forget_caches()


@pytest.fixture
def law_session(law_version, trainer, wall):
    return engine.session_create(version=law_version, trainer=trainer, title="Loi")
