"""The sessions a bench case plays, built through the ORM: seats taken, a login each.

Shared by bench/fanout.py, bench/soak.py and bench/syndicates.py.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bench.fanout import Case

ROLES = ("police", "parquet", "juge", "avocat", "ase")


def django_setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "simtrain.settings")
    import django

    django.setup()


@dataclass
class Fixture:
    trainer_cookies: list[str] = field(default_factory=list)  # a login per session
    sessions: list[int] = field(default_factory=list)
    seats: list[list[str]] = field(default_factory=list)  # pass cookies per session


def build(case: Case, *, title: str) -> Fixture:
    """Sessions with every seat taken, running, each with its own trainer login (the ORM)."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.test import Client

    from scenarios.models import Role, Scenario, ScenarioVersion
    from sessions import engine
    from sessions.access import pass_cookie_name, sign_pass
    from sessions.models import Seat
    from simtrain.permissions import TRAINER_GROUP, ensure_groups

    ensure_groups()

    # A login per session: the command bucket is per login (sessions/consumers.py); one login
    # firing for 50 sessions had most injects refused. Session 0's is bench/soak.py's.
    def login(s: int):
        name = "bench-trainer" if s == 0 else f"bench-trainer-{s}"
        user, _ = get_user_model().objects.get_or_create(username=name)
        user.groups.add(Group.objects.get(name=TRAINER_GROUP))
        client = Client()
        client.force_login(user)
        return user, f"sessionid={client.cookies['sessionid'].value}"

    per_role = math.ceil(case.clients / len(ROLES))
    scenario, _ = Scenario.objects.get_or_create(slug="bench")
    number = ScenarioVersion.objects.filter(scenario=scenario).count() + 1
    version = ScenarioVersion.objects.create(
        scenario=scenario,
        number=number,
        format="simtrain.scenario/1",
        title=f"Bench {title}",
        language="fr",
        content_hash=f"{number:064x}",
    )
    for order, ident in enumerate(ROLES):
        Role.objects.create(
            version=version,
            ident=ident,
            order=order,
            title=ident.title(),
            kind=Role.Kind.TRAINEE,
            profession="police",
            seats=per_role,
        )
    fixture = Fixture()
    for s in range(case.sessions):
        user, cookie = login(s)
        session = engine.session_create(version=version, trainer=user, title=f"{title} #{s}")
        boss = engine.TrainerPrincipal(user_id=user.pk, name="Bench")
        engine.session_start(session_id=session.pk, principal=boss)
        fixture.trainer_cookies.append(cookie)
        seats = list(Seat.objects.filter(session=session).order_by("number", "role__order"))
        cookies = []
        for n, seat in enumerate(seats[: case.clients]):
            key = f"bench-{session.pk}-{n}"
            engine.seat_claim(session_id=session.pk, seat_id=seat.pk, name=f"P{n}", pass_key=key)
            cookies.append(f"{pass_cookie_name(session.pk)}={sign_pass(session.pk, key)}")
        fixture.sessions.append(session.pk)
        fixture.seats.append(cookies)
    return fixture


def expected_per_session(session_ids: list[int], phase: str) -> dict[int, int]:
    from sessions.models import Event

    return {
        sid: Event.objects.filter(
            session_id=sid, kind="inject.fired", payload__title__startswith=f"bench:{phase}:"
        ).count()
        for sid in session_ids
    }


def end_sessions(fixture: Fixture) -> None:
    from sessions import engine
    from sessions.models import Session

    # Each by its own trainer: a session left running keeps the scheduler busy in the
    # cases after it.
    for sid, trainer_id in Session.objects.filter(pk__in=fixture.sessions).values_list(
        "pk", "trainer_id"
    ):
        try:
            principal = engine.TrainerPrincipal(user_id=trainer_id)
            engine.session_end(session_id=sid, principal=principal)
        except engine.EngineError:
            pass
