"""Races: many writers on one session, and two schedulers on the same clock."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from django.db import close_old_connections

from sessions import engine, scheduler
from sessions.models import Event, InjectFiring

pytestmark = pytest.mark.django_db(transaction=True)


def run_threads(target, count: int) -> list[BaseException]:
    errors: list[BaseException] = []
    barrier = threading.Barrier(count)

    def runner(i):
        try:
            barrier.wait()
            target(i)
        except BaseException as exc:  # collected and asserted on by the test
            errors.append(exc)
        finally:
            close_old_connections()

    threads = [threading.Thread(target=runner, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return errors


def test_seq_stays_contiguous_under_concurrent_commands(session, boss, seated):
    engine.session_start(session_id=session.pk, principal=boss)
    senders = [seated["police"], seated["parquet"]]

    def send(i):
        for n in range(15):
            principal = senders[i % 2]
            to = "parquet" if principal is seated["police"] else "police"
            engine.message_send(session_id=session.pk, principal=principal, to_role=to,
                                text=f"{i}-{n}")

    assert run_threads(send, 6) == []
    seqs = list(Event.objects.filter(session=session).order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, len(seqs) + 1))
    assert Event.objects.filter(session=session, kind="message.sent").count() == 90


def test_two_schedulers_and_the_trainer_fire_each_inject_exactly_once(session, boss, wall):
    engine.session_start(session_id=session.pk, principal=boss)
    wall.advance(3600)

    def race(i):
        for _ in range(5):
            if i == 2:
                try:
                    engine.inject_fire(session_id=session.pk, principal=boss,
                                       inject_ident="call")
                except engine.EngineError as err:
                    assert err.code == "already-fired"
            else:
                scheduler.tick_all()

    assert run_threads(race, 3) == []
    fired = Counter(
        Event.objects.filter(session=session, kind="inject.fired").values_list(
            "payload__inject", flat=True
        )
    )
    assert fired and max(fired.values()) == 1
    assert set(fired) == set(
        InjectFiring.objects.filter(session=session).values_list("inject__ident", flat=True)
    )
