"""Cross-process correctness of the scale-out shape: what one process does, the others see.

Every test here runs real processes against the PostgreSQL test database and a private
Redis (see conftest.py): two Daphne workers with `SIMTRAIN_SCHEDULER=external`, and
`manage.py run_scheduler` processes where the clock matters. Clients are WebSockets
from Python, seated with forged-but-valid pass cookies; the trainer uses a Django
session cookie.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import pytest
from django.test import Client

from scenarios.models import Inject
from sessions import engine
from sessions.access import pass_cookie_name, sign_pass
from sessions.audience import Perspective
from sessions.models import Event, InjectFiring, Seat, Session
from tests.factories import InjectFactory, RoleFactory, ScenarioVersionFactory
from tests.scaleout.conftest import Screen

pytestmark = [
    pytest.mark.scaleout,
    pytest.mark.django_db(transaction=True),
    pytest.mark.timeout(180),
]

TIMED = 12  # `at` injects, one every 3 exercise seconds, plus one `after` follower


@dataclass
class Live:
    session: Session
    boss: engine.TrainerPrincipal
    trainer_cookie: str
    seats: dict[str, Seat]
    cookies: dict[str, str]

    def visible(self, role: str) -> list[int]:
        """Every seq the seat of `role` may see, from the log: what its screen must hold."""
        perspective = Perspective.for_seat(self.seats[role])
        return [
            e.seq
            for e in Event.objects.filter(session=self.session).order_by("seq")
            if perspective.sees_event(e)
        ]


@pytest.fixture
def live(trainer) -> Live:
    version = ScenarioVersionFactory()
    police = RoleFactory(version=version, ident="police", order=0)
    parquet = RoleFactory(version=version, ident="parquet", order=1)
    timed = [
        InjectFactory(
            version=version,
            ident=f"t{n}",
            order=n,
            trigger=Inject.Trigger.AT,
            at_s=3 * (n + 1),
            recipients=[police, parquet],
        )
        for n in range(TIMED)
    ]
    InjectFactory(
        version=version,
        ident="follow",
        order=TIMED,
        trigger=Inject.Trigger.AFTER,
        after_inject=timed[3],
        after_delay_s=2,
        recipients=[parquet],
    )
    session = engine.session_create(version=version, trainer=trainer, title="Scale-out")
    seats, cookies = {}, {}
    for role in ("police", "parquet"):
        seat = Seat.objects.select_related("role").get(session=session, role__ident=role)
        key = f"scaleout-{role}-{seat.pk}"
        engine.seat_claim(session_id=session.pk, seat_id=seat.pk, name=role, pass_key=key)
        seats[role] = Seat.objects.select_related("role").get(pk=seat.pk)
        cookies[role] = f"{pass_cookie_name(session.pk)}={sign_pass(session.pk, key)}"
    client = Client()
    client.force_login(trainer)
    return Live(
        session=session,
        boss=engine.TrainerPrincipal(user_id=trainer.pk, name="Formatrice"),
        trainer_cookie=f"sessionid={client.cookies['sessionid'].value}",
        seats=seats,
        cookies=cookies,
    )


def fire(trainer: Screen, title: str, roles=("police", "parquet")) -> None:
    trainer.send(cmd="inject.adhoc", roles=list(roles), title=title, body="Texte de l'inject")


def saw(title: str):
    return lambda screen: title in screen.text()


def in_order_without_gaps(screen: Screen, live: Live, role: str) -> None:
    expected = live.visible(role)
    assert screen.seqs == sorted(screen.seqs), "frames applied out of order"
    assert screen.seqs == expected, f"screen {screen.seqs} != log {expected}"


@pytest.mark.live_check(30)  # no periodic check in time: only a doorbell can deliver
def test_an_inject_fired_on_worker_b_reaches_a_trainee_on_worker_a(cluster, live):
    a, b = cluster.worker(), cluster.worker()
    police = Screen(a, live.session.pk, live.cookies["police"])
    trainer = Screen(b, live.session.pk, live.trainer_cookie)
    assert trainer.wait_for(lambda s: s.seqs, 10)
    trainer.send(cmd="session.start")
    assert police.wait_for(saw('data-kind="clock.started"'), 10), cluster.logs_tail()
    started = time.monotonic()
    fire(trainer, "Appel du 17 depuis B", roles=["police"])
    assert police.wait_for(saw("Appel du 17 depuis B"), 10), cluster.logs_tail()
    assert time.monotonic() - started < 5  # well before the 30 s periodic check
    in_order_without_gaps(police, live, "police")
    police.close()
    trainer.close()


def test_two_schedulers_fire_every_timed_inject_exactly_once(cluster, live):
    cluster.scheduler()
    cluster.scheduler()
    engine.session_start(session_id=live.session.pk, principal=live.boss)
    # 36 exercise seconds at 20× is under 2 s of real time: both schedulers race for each.
    engine.clock_set_speed(session_id=live.session.pk, principal=live.boss, speed=20.0)
    expected = TIMED + 1
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if InjectFiring.objects.filter(session=live.session).count() >= expected:
            break
        time.sleep(0.2)
    time.sleep(1.0)  # let any double firing that would happen, happen
    firings = list(
        InjectFiring.objects.filter(session=live.session).values_list("inject__ident", flat=True)
    )
    assert sorted(firings) == sorted([f"t{n}" for n in range(TIMED)] + ["follow"]), (
        cluster.logs_tail()
    )
    fired = list(
        Event.objects.filter(session=live.session, kind="inject.fired").values_list(
            "payload__inject", flat=True
        )
    )
    assert len(fired) == len(set(fired)) == expected
    seqs = list(
        Event.objects.filter(session=live.session).values_list("seq", flat=True).order_by("seq")
    )
    assert seqs == list(range(1, len(seqs) + 1))  # no gap, no duplicate
    assert all(proc.poll() is None for proc in cluster.schedulers)  # both still running


def test_killing_a_worker_sends_its_clients_to_the_other_with_nothing_lost(cluster, live):
    a, b = cluster.worker(), cluster.worker()
    police = Screen(a, live.session.pk, live.cookies["police"])
    parquet = Screen(a, live.session.pk, live.cookies["parquet"])
    trainer = Screen(b, live.session.pk, live.trainer_cookie)
    assert trainer.wait_for(lambda s: s.seqs, 10)
    trainer.send(cmd="session.start")
    for n in range(3):
        fire(trainer, f"Avant la panne {n}")
    assert police.wait_for(saw("Avant la panne 2"), 10), cluster.logs_tail()

    a.kill()  # SIGKILL: no goodbye, no presence.left
    assert police.wait_for(lambda s: s.closed_code is not None, 10)
    assert parquet.wait_for(lambda s: s.closed_code is not None, 10)
    for n in range(3):
        fire(trainer, f"Pendant la panne {n}")
    assert trainer.wait_for(saw("Pendant la panne 2"), 10)

    # The browsers reconnect (here straight to B; through nginx, to whichever is alive),
    # each saying the last seq it holds.
    police.connect(b)
    parquet.connect(b)
    fire(trainer, "Après la reprise")
    for screen, role in ((police, "police"), (parquet, "parquet")):
        assert screen.wait_for(saw("Après la reprise"), 10), cluster.logs_tail()
        screen.wait_for(lambda s, r=role: s.has_all(live.visible(r)), 5)
        in_order_without_gaps(screen, live, role)
        screen.close()
    trainer.close()


@pytest.mark.live_check(1.0)
def test_restarting_redis_mid_session_loses_no_event(cluster, redis, live):
    a, b = cluster.worker(), cluster.worker()
    police = Screen(a, live.session.pk, live.cookies["police"])
    trainer = Screen(b, live.session.pk, live.trainer_cookie)
    assert trainer.wait_for(lambda s: s.seqs, 10)
    trainer.send(cmd="session.start")
    fire(trainer, "Avant le redémarrage")
    assert police.wait_for(saw("Avant le redémarrage"), 10), cluster.logs_tail()

    redis.stop()  # every doorbell from now on is lost, and the groups with it
    fire(trainer, "Redis arrêté")
    # No doorbell can ring: the worker's periodic check of the database delivers it.
    assert police.wait_for(saw("Redis arrêté"), 10), cluster.logs_tail()

    redis.start()  # empty: no groups; the hubs rejoin theirs
    fire(trainer, "Redis revenu")
    assert police.wait_for(saw("Redis revenu"), 10), cluster.logs_tail()
    assert police.closed_code is None  # the socket itself never noticed
    police.wait_for(lambda s: s.has_all(live.visible("police")), 5)
    in_order_without_gaps(police, live, "police")
    police.close()
    trainer.close()
