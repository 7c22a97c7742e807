"""A worker killed with SIGKILL: its seats leave the trainer's roster within 30 s.

The dead worker never runs its consumers' `disconnect`; the scheduler (`run_scheduler`)
sweeps its lease once past the grace and records `presence.left` for its sockets
(sessions/presence.py). A seat also connected through the surviving worker stays
connected.
"""

from __future__ import annotations

import re
import time

import pytest
from django.test import Client

from sessions import engine, selectors
from sessions.access import pass_cookie_name, sign_pass
from sessions.models import Event, Seat
from tests.factories import RoleFactory, ScenarioVersionFactory
from tests.scaleout.conftest import Screen

pytestmark = [
    pytest.mark.scaleout,
    pytest.mark.django_db(transaction=True),
    pytest.mark.timeout(180),
]


def presence_of(session) -> dict[str, str]:
    return {row.seat.role.ident: row.presence for row in selectors.roster(session=session)["seats"]}


def shown(screen: Screen, seat_id: int) -> str:
    """The presence of a seat in the last roster the trainer's screen received."""
    rows = re.findall(rf'data-seat="{seat_id}"[^>]*data-presence="([a-z]+)"', screen.text())
    return rows[-1] if rows else ""


def test_a_killed_workers_seats_leave_the_roster_within_30_s(cluster, trainer):
    version = ScenarioVersionFactory()
    for order, ident in enumerate(("police", "parquet")):
        RoleFactory(version=version, ident=ident, order=order)
    session = engine.session_create(version=version, trainer=trainer, title="Présence")
    seats, cookies = {}, {}
    for role in ("police", "parquet"):
        seat = Seat.objects.get(session=session, role__ident=role)
        key = f"presence-{role}-{seat.pk}"
        engine.seat_claim(session_id=session.pk, seat_id=seat.pk, name=role, pass_key=key)
        seats[role] = seat.pk
        cookies[role] = f"{pass_cookie_name(session.pk)}={sign_pass(session.pk, key)}"
    client = Client()
    client.force_login(trainer)
    trainer_cookie = f"sessionid={client.cookies['sessionid'].value}"

    a, b = cluster.worker(), cluster.worker()
    cluster.scheduler()
    police = Screen(a, session.pk, cookies["police"])
    parquet_a = Screen(a, session.pk, cookies["parquet"])
    parquet_b = Screen(b, session.pk, cookies["parquet"])  # the same seat, a second tab
    control = Screen(b, session.pk, trainer_cookie)
    connected = {"police": "connected", "parquet": "connected"}
    deadline = time.monotonic() + 15
    while presence_of(session) != connected and time.monotonic() < deadline:
        time.sleep(0.2)
    assert presence_of(session) == connected, cluster.logs_tail()
    assert control.wait_for(lambda s: shown(s, seats["police"]) == "connected", 10)

    a.kill()  # SIGKILL: no disconnect, no presence.left from A
    killed = time.monotonic()
    assert police.wait_for(lambda s: s.closed_code is not None, 10)
    assert parquet_a.wait_for(lambda s: s.closed_code is not None, 10)
    assert control.wait_for(lambda s: shown(s, seats["police"]) == "gone", 30), cluster.logs_tail()
    assert time.monotonic() - killed < 30
    assert presence_of(session) == {"police": "gone", "parquet": "connected"}
    assert shown(control, seats["parquet"]) == "connected"
    reasons = [
        e.payload.get("reason")
        for e in Event.objects.filter(session=session, kind="presence.left").order_by("seq")
    ]
    assert sorted(reasons) == ["worker-lost", "worker-lost"]  # police, parquet's tab on A
    for screen in (parquet_b, control):
        screen.close()
