"""Story time: the date and time in the case at each moment of the exercise clock.

Pure: no database, no engine. A version stores its `fiction` (`ScenarioVersion.fiction`)
as

    {"starts": "2026-03-15T22:40:00",
     "jumps": [{"at_s": 1800, "to": "2026-03-16T09:00:00"}, …]}

or None. Story time at clock `t` is, after the last jump with `at ≤ t`, that jump's
`to + (t − at)`; before any jump, `starts + t`. Jumps are in clock order and never
take the story back (the importer refuses files that do), so story time never goes
backwards. Without fiction, story time is the exercise clock.

Times here are integer milliseconds. "Story ms" count story time from `starts` (from
clock 0 without fiction), so a countdown's arithmetic is the same with or without a
calendar: it started at story ms S, it expires at story ms S + limit, and
`clock_ms_at_story(S + limit)` says at which clock time.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.utils import dateformat
from django.utils.translation import gettext

_MS = timedelta(milliseconds=1)


@dataclass(frozen=True)
class Jump:
    """At clock `at_ms`, the story skips ahead to `to`."""

    at_ms: int
    to: datetime


@dataclass(frozen=True)
class Fiction:
    """The story's calendar. `starts` is None for a scenario without `fiction`."""

    starts: datetime | None = None
    jumps: tuple[Jump, ...] = ()

    def __post_init__(self) -> None:
        if self.starts is None and self.jumps:
            raise ValueError("jumps need a calendar: give `starts`")
        ats = [jump.at_ms for jump in self.jumps]
        if ats != sorted(set(ats)):
            raise ValueError("jumps must be in clock order, each at its own time")
        stories = [self._story_before(k) for k in range(len(self.jumps))]
        if any(
            jump.to < self.starts + timedelta(milliseconds=s)
            for jump, s in zip(self.jumps, stories, strict=True)
        ):
            raise ValueError("a jump may not take the story back in time")

    # reading and writing the stored form

    @classmethod
    def from_stored(cls, data: Mapping[str, Any] | None) -> Fiction:
        """The fiction of a version (`ScenarioVersion.fiction`); None gives the clock."""
        if data is None:
            return cls()
        return cls(
            starts=datetime.fromisoformat(data["starts"]),
            jumps=tuple(
                Jump(at_ms=int(jump["at_s"]) * 1000, to=datetime.fromisoformat(jump["to"]))
                for jump in data.get("jumps", ())
            ),
        )

    def to_stored(self) -> dict[str, Any] | None:
        if self.starts is None:
            return None
        return {
            "starts": self.starts.isoformat(timespec="seconds"),
            "jumps": [
                {"at_s": jump.at_ms // 1000, "to": jump.to.isoformat(timespec="seconds")}
                for jump in self.jumps
            ],
        }

    @property
    def has_calendar(self) -> bool:
        """Whether story time is a date (with `fiction`) rather than the clock."""
        return self.starts is not None

    # clock → story

    def _segments(self) -> list[tuple[int, int]]:
        """(clock ms, story ms) where each stretch of steady story time begins."""
        segments = [(0, 0)]
        for jump in self.jumps:
            segments.append((jump.at_ms, (jump.to - self.starts) // _MS))
        if len(segments) > 1 and segments[1][0] == 0:
            segments.pop(0)  # a jump at clock 0 replaces `starts`
        return segments

    def _story_before(self, k: int) -> int:
        """Story ms just before jump `k` (what the story would be without it)."""
        at = self.jumps[k].at_ms
        if k == 0:
            return at
        previous = self.jumps[k - 1]
        return (previous.to - self.starts) // _MS + at - previous.at_ms

    def story_ms(self, clock_ms: int) -> int:
        """Story time at `clock_ms`, in ms since `starts` (the clock without fiction)."""
        if clock_ms < 0:
            raise ValueError("the clock does not run before 0")
        clock, story = 0, 0
        for begins, story_then in self._segments():
            if begins > clock_ms:
                break
            clock, story = begins, story_then
        return story + clock_ms - clock

    def story_at(self, clock_ms: int) -> datetime | None:
        """The story's date and time at `clock_ms`; None without fiction."""
        if self.starts is None:
            return None
        return self.starts + timedelta(milliseconds=self.story_ms(clock_ms))

    # story → clock

    def clock_ms_at_story(self, story_ms: int) -> int:
        """The first clock ms at which story time reaches `story_ms` (a jump may reach
        it at once: then the jump's clock time)."""
        segments = self._segments()
        for k, (begins, story) in enumerate(segments):
            if story_ms <= story:
                return begins
            ends = segments[k + 1][0] if k + 1 < len(segments) else None
            if ends is None or story_ms < story + (ends - begins):
                return begins + story_ms - story
        raise AssertionError("the last stretch of story time never ends")

    def clock_ms_at(self, moment: datetime) -> int:
        """The first clock ms at which the story reaches `moment` (with fiction only)."""
        if self.starts is None:
            raise ValueError("a scenario without fiction has no story dates")
        return self.clock_ms_at_story((moment - self.starts) // _MS)

    # countdowns

    def expiry_clock_ms(self, started_clock_ms: int, limit_ms: int) -> int:
        """When a countdown started at `started_clock_ms`, running `limit_ms` of story
        time (its limit plus its extensions so far), runs out, in clock ms."""
        return self.clock_ms_at_story(self.story_ms(started_clock_ms) + limit_ms)

    def warning_clock_ms(self, started_clock_ms: int, limit_ms: int, before_ms: int) -> int:
        """When its warning `before_ms` ahead of expiry falls due, in clock ms."""
        return self.clock_ms_at_story(self.story_ms(started_clock_ms) + limit_ms - before_ms)

    def left_ms(self, started_clock_ms: int, limit_ms: int, clock_ms: int) -> int:
        """Story time left at `clock_ms` (0 once run out)."""
        ends = self.story_ms(started_clock_ms) + limit_ms
        return max(0, ends - self.story_ms(clock_ms))

    def jumps_between(self, after_ms: int, until_ms: int) -> list[Jump]:
        """The jumps that happen after clock `after_ms`, up to and including `until_ms`."""
        return [jump for jump in self.jumps if after_ms < jump.at_ms <= until_ms]


# --- display -----------------------------------------------------------------------------


def format_story_time(moment: datetime, *, date: bool = True) -> str:
    """A story date and time in the active language: "dim. 15 mars 2026, 22:40",
    "Sun 15 March 2026, 22:40"; only "22:40" with `date=False`."""
    # Translators: a Django date format (https://docs.djangoproject.com/en/5.2/ref/
    # templates/builtins/#date): D weekday, j day, F month, Y year, H:i time.
    pattern = gettext("D. j F Y, H:i") if date else "H:i"
    return dateformat.format(moment, pattern)


def story_label(fiction: Fiction, clock_ms: int) -> str:
    """What screens show beside the exercise clock: the story's date and time, or ""
    for a scenario without fiction (story time is then the clock itself)."""
    moment = fiction.story_at(clock_ms)
    return format_story_time(moment) if moment is not None else ""


def format_time_left(ms: int) -> str:
    """A countdown's time left, to the second, rounded up (it reads 0 only once run
    out): "23 h 05 min", "4 min 09 s"."""
    seconds = math.ceil(max(0, ms) / 1000)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return gettext("%(hours)d h %(minutes)02d min") % {"hours": hours, "minutes": minutes}
    return gettext("%(minutes)d min %(seconds)02d s") % {"minutes": minutes, "seconds": secs}
