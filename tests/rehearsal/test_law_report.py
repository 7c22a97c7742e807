"""The rehearsal report's law invariants: withheld never fires by itself; repeat once
per taking."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from rehearsal.report import law_check
from scenarios.models import Inject
from tests.factories import InjectFactory


def _events(*rows):
    return {
        seq: SimpleNamespace(seq=seq, kind=kind, actor=actor, clock_ms=ms, payload=payload)
        for seq, (kind, actor, ms, payload) in enumerate(rows, start=1)
    }


@pytest.fixture
def version(live_version):
    InjectFactory(
        version=live_version,
        ident="each",
        order=40,
        trigger=Inject.Trigger.WHEN,
        when={"action": "note", "delay_s": 30},
        repeat=True,
    )
    return live_version


def _session(version, clock_ms):
    return SimpleNamespace(version_id=version.pk, anchor_clock_ms=clock_ms)


def test_a_withheld_inject_fired_by_the_system_is_caught_but_not_by_hand(version):
    by_hand = _events(
        ("inject.withheld", "system", 0, {"inject": "cond"}),
        ("inject.fired", "trainer:1", 5, {"inject": "cond"}),
    )
    assert law_check(_session(version, 10), by_hand) == ([], [])
    by_itself = _events(
        ("inject.withheld", "system", 0, {"inject": "cond"}),
        ("inject.fired", "system", 5, {"inject": "cond"}),
    )
    assert law_check(_session(version, 10), by_itself) == (["cond"], [])


def test_repeat_must_fire_once_per_taking_whose_delay_ran_out(version):
    took = [("action.taken", "seat:1", ms, {"action": "note"}) for ms in (0, 10_000, 50_000)]
    fire = ("inject.fired", "system", 30_000, {"inject": "each"})
    at_60s = _session(version, 60_000)  # two takings are due (30 s and 40 s), not the third
    assert law_check(at_60s, _events(*took, fire, fire)) == ([], [])
    assert law_check(at_60s, _events(*took, fire)) == ([], ["each"])
    assert law_check(at_60s, _events(*took, fire, fire, fire)) == ([], ["each"])
