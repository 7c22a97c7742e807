"""Story time: clock → story, story → clock, countdowns across jumps, display."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.utils import translation
from hypothesis import given, settings
from hypothesis import strategies as st

from scenarios.fiction import (
    Fiction,
    Jump,
    format_story_time,
    format_time_left,
    story_label,
)

MIN, HOUR = 60_000, 3_600_000
STARTS = datetime(2026, 3, 15, 22, 40)
# The spec's example: 22:40 at clock 0; at 30m the next morning; at 55m ten days on.
SPEC = Fiction.from_stored(
    {
        "starts": "2026-03-15T22:40:00",
        "jumps": [
            {"at_s": 1800, "to": "2026-03-16T09:00:00"},
            {"at_s": 3300, "to": "2026-03-25T14:00:00"},
        ],
    }
)


class TestStoryTime:
    @pytest.mark.parametrize(
        ("clock_ms", "story"),
        [
            (0, datetime(2026, 3, 15, 22, 40)),
            (10 * MIN, datetime(2026, 3, 15, 22, 50)),
            (30 * MIN - 1, datetime(2026, 3, 15, 23, 9, 59, 999000)),
            (30 * MIN, datetime(2026, 3, 16, 9, 0)),
            (40 * MIN, datetime(2026, 3, 16, 9, 10)),
            (55 * MIN, datetime(2026, 3, 25, 14, 0)),
            (3 * HOUR, datetime(2026, 3, 25, 16, 5)),
        ],
    )
    def test_the_spec_example(self, clock_ms, story):
        assert SPEC.story_at(clock_ms) == story

    def test_without_fiction_story_time_is_the_clock(self):
        clock = Fiction.from_stored(None)
        assert not clock.has_calendar
        assert clock.story_at(5 * MIN) is None
        assert clock.story_ms(5 * MIN) == 5 * MIN
        assert clock.clock_ms_at_story(5 * MIN) == 5 * MIN
        assert clock.to_stored() is None
        assert story_label(clock, 5 * MIN) == ""

    def test_a_jump_at_clock_0_replaces_starts(self):
        fiction = Fiction(STARTS, (Jump(0, datetime(2026, 3, 16, 9, 0)),))
        assert fiction.story_at(0) == datetime(2026, 3, 16, 9, 0)
        assert fiction.clock_ms_at(datetime(2026, 3, 16, 8, 0)) == 0

    def test_stored_form_round_trips(self):
        assert Fiction.from_stored(SPEC.to_stored()) == SPEC
        assert SPEC.to_stored()["jumps"][0] == {"at_s": 1800, "to": "2026-03-16T09:00:00"}

    @pytest.mark.parametrize(
        "jumps",
        [
            (Jump(30 * MIN, datetime(2026, 3, 16)), Jump(20 * MIN, datetime(2026, 3, 17))),
            (Jump(30 * MIN, datetime(2026, 3, 16)), Jump(30 * MIN, datetime(2026, 3, 17))),
            (Jump(30 * MIN, datetime(2026, 3, 15, 23, 0)),),  # 23:10 by then: backwards
        ],
    )
    def test_jumps_that_the_importer_refuses_are_refused(self, jumps):
        with pytest.raises(ValueError):
            Fiction(STARTS, jumps)

    def test_no_jumps_without_a_calendar(self):
        with pytest.raises(ValueError, match="calendar"):
            Fiction(None, (Jump(0, STARTS),))

    def test_the_clock_does_not_run_backwards(self):
        with pytest.raises(ValueError):
            SPEC.story_ms(-1)


class TestStoryToClock:
    @pytest.mark.parametrize(
        ("story", "clock_ms"),
        [
            (datetime(2026, 3, 15, 22, 40), 0),
            (datetime(2026, 3, 15, 22, 0), 0),  # before the story starts: at once
            (datetime(2026, 3, 15, 23, 0), 20 * MIN),
            (datetime(2026, 3, 15, 23, 30), 30 * MIN),  # skipped over: at the jump
            (datetime(2026, 3, 16, 9, 0), 30 * MIN),
            (datetime(2026, 3, 16, 9, 5), 35 * MIN),
            (datetime(2026, 3, 20), 55 * MIN),
            (datetime(2026, 3, 25, 15, 0), 115 * MIN),
        ],
    )
    def test_first_clock_time_that_reaches_a_story_moment(self, story, clock_ms):
        assert SPEC.clock_ms_at(story) == clock_ms

    def test_needs_a_calendar(self):
        with pytest.raises(ValueError):
            Fiction().clock_ms_at(STARTS)


class TestCountdowns:
    def test_a_garde_a_vue_across_the_nights_jump(self):
        # Started at clock 5m (22:45 story time): 24h run out at 22:45 the next day,
        # which the second jump (to 25 March) passes at clock 55m.
        assert SPEC.expiry_clock_ms(5 * MIN, 24 * HOUR) == 55 * MIN
        assert SPEC.left_ms(5 * MIN, 24 * HOUR, 10 * MIN) == 24 * HOUR - 5 * MIN
        # At 30m the story moves from 23:10 to 09:00: 10h15m since 22:45 are gone.
        assert SPEC.left_ms(5 * MIN, 24 * HOUR, 30 * MIN) == 24 * HOUR - (10 * HOUR + 15 * MIN)
        assert SPEC.left_ms(5 * MIN, 24 * HOUR, 55 * MIN) == 0

    def test_a_short_countdown_runs_with_the_clock(self):
        assert SPEC.expiry_clock_ms(31 * MIN, 20 * MIN) == 51 * MIN
        assert SPEC.warning_clock_ms(31 * MIN, 20 * MIN, 5 * MIN) == 46 * MIN

    def test_an_extension_is_more_story_time(self):
        limit = 24 * HOUR + 24 * HOUR
        assert SPEC.expiry_clock_ms(5 * MIN, limit) == 55 * MIN  # 25 March is past both

    def test_without_fiction_it_is_clock_time(self):
        clock = Fiction()
        assert clock.expiry_clock_ms(5 * MIN, 20 * MIN) == 25 * MIN
        assert clock.left_ms(5 * MIN, 20 * MIN, 15 * MIN) == 10 * MIN

    def test_jumps_between(self):
        assert SPEC.jumps_between(0, 30 * MIN) == [SPEC.jumps[0]]
        assert SPEC.jumps_between(30 * MIN, 54 * MIN) == []
        assert SPEC.jumps_between(0, HOUR) == list(SPEC.jumps)


@st.composite
def fictions(draw):
    jumps, clock, story = [], 0, 0
    for _ in range(draw(st.integers(0, 5))):
        clock += draw(st.integers(1, 3 * HOUR))
        story = story + (clock - (jumps[-1][0] if jumps else 0)) + draw(st.integers(0, 400 * HOUR))
        jumps.append((clock, story))
    return Fiction(STARTS, tuple(Jump(at, STARTS + timedelta(milliseconds=s)) for at, s in jumps))


@settings(max_examples=300, derandomize=True)
@given(fiction=fictions(), a=st.integers(0, 20 * HOUR), b=st.integers(0, 20 * HOUR))
def test_story_time_never_goes_back_and_runs_with_the_clock_between_jumps(fiction, a, b):
    low, high = sorted((a, b))
    assert fiction.story_ms(low) <= fiction.story_ms(high)
    if not fiction.jumps_between(low, high):
        assert fiction.story_ms(high) - fiction.story_ms(low) == high - low


@settings(max_examples=300, derandomize=True)
@given(fiction=fictions(), target=st.integers(-HOUR, 2000 * HOUR))
def test_clock_at_story_is_the_first_clock_time_that_reaches_it(fiction, target):
    clock = fiction.clock_ms_at_story(target)
    assert fiction.story_ms(clock) >= target
    assert clock == 0 or fiction.story_ms(clock - 1) < target


@settings(max_examples=200, derandomize=True)
@given(fiction=fictions(), start=st.integers(0, 10 * HOUR), limit=st.integers(1, 100 * HOUR))
def test_a_countdown_has_nothing_left_exactly_from_its_expiry(fiction, start, limit):
    expiry = fiction.expiry_clock_ms(start, limit)
    assert expiry >= start
    assert fiction.left_ms(start, limit, expiry) == 0
    if expiry > start:
        assert fiction.left_ms(start, limit, expiry - 1) > 0


class TestDisplay:
    def test_french_and_english(self):
        moment = datetime(2026, 3, 15, 22, 40)
        with translation.override("fr"):
            assert format_story_time(moment) == "dim. 15 mars 2026, 22:40"
            assert story_label(SPEC, 30 * MIN) == "lun. 16 mars 2026, 09:00"
        with translation.override("en"):
            assert format_story_time(moment) == "Sun 15 March 2026, 22:40"
        assert format_story_time(moment, date=False) == "22:40"

    @pytest.mark.parametrize(
        ("ms", "text"),
        [
            (24 * HOUR, "24 h 00 min"),
            (5 * HOUR + 5 * MIN + 30_000, "5 h 05 min"),
            (4 * MIN + 8_001, "4 min 09 s"),
            (1, "0 min 01 s"),
            (0, "0 min 00 s"),
            (-5, "0 min 00 s"),
        ],
    )
    def test_time_left(self, ms, text):
        with translation.override("fr"):
            assert format_time_left(ms) == text
