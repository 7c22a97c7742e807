"""What the soak calls flat, growing and late (bench/soak.py's pure part; no run here)."""

from __future__ import annotations

import pytest

from bench.soak import after_warmup, flatness, growth, lateness_s, quarters


def test_the_warm_up_is_the_first_tenth_of_the_run():
    samples = [{"t": t} for t in range(0, 101, 5)]
    assert [s["t"] for s in after_warmup(samples)][:2] == [10, 15]
    assert after_warmup([]) == []


def test_quarters_compare_the_medians_of_the_first_and_last_quarter():
    assert quarters([1, 2, 3, 9, 9, 9, 7, 8]) == (1.5, 7.5)
    assert quarters([5]) == (5, 5)
    with pytest.raises(ValueError):
        quarters([])


def test_memory_is_flat_within_ten_percent_and_not_beyond():
    assert flatness([100, 101, 99, 100, 105, 109, 108, 110])["flat"]
    leaking = flatness([100, 100, 104, 106, 108, 109, 111, 112])
    assert not leaking["flat"] and leaking["change"] == pytest.approx(0.115, abs=1e-3)
    assert not flatness([100, 100, 80, 85])["flat"]  # a drop is not flat either


def test_a_queue_grows_when_its_tail_or_its_final_value_passes_the_bound():
    assert not growth([0, 100, 0, 50, 0, 100, 0, 0], bound=100)["growing"]
    assert growth([0, 0, 50, 100, 150, 200, 250, 300], bound=100)["growing"]
    assert growth([0, 0, 0, 0, 0, 0, 0, 101], bound=100)["growing"]


def test_lateness_is_wall_seconds_at_the_run_speed_and_early_is_on_time():
    # Fired 30 s of clock late at ×60 is half a second of wall time.
    assert lateness_s([(60_000 + 30_000, 60_000), (30_000, 31_000)], speed=60) == [0.5, 0.0]
