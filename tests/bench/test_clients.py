"""The bench clients' recorder: duplicates dropped, one bit per event."""

from bench.clients import Seen


def test_seen_tells_a_repeat_from_a_first():
    seen = Seen()
    assert seen.add(0) and seen.add(9) and seen.add(4000)
    assert not seen.add(9) and not seen.add(0) and not seen.add(4000)
    assert seen.add(8) and seen.add(10)


def test_seen_costs_a_bit_per_event():
    seen = Seen()
    for number in range(24_000):
        assert seen.add(number)
    assert len(seen.bits) <= 24_000 // 8 * 2
