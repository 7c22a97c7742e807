"""Story time on the screens: the label beside the exercise clock, and what the
browser needs to keep it running (`static/simtrain/clock.js`, `simtrainClock.story`).

Story time is a pure function of the clock (`scenarios.fiction`), so the server
renders the label at the clock's anchor and the browser computes the same label at
every tick from the same data: the stretches of steady story time, the date pattern
and the day and month names of the active language. The replay renders the label at
its moment T, so it equals what the live screens showed. Without fiction: nothing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from django.utils import dateformat
from django.utils.translation import gettext

from scenarios.fiction import Fiction, story_label

_EPOCH = datetime(1970, 1, 1)


def label(fiction: Mapping[str, Any] | None, clock_ms: int | None) -> str:
    """The story's date and time at `clock_ms` ("" without fiction)."""
    if not fiction:
        return ""
    return story_label(Fiction.from_stored(fiction), max(0, int(clock_ms or 0)))


def browser_data(fiction: Mapping[str, Any] | None) -> str:
    """JSON for `data-story`: segments [[clock ms, story ms since 1970 (naive, read as
    UTC)], …], the date pattern (`D`, `j`, `F`, `Y`, `H`, `i`) and the names of days
    (Monday first) and months in the active language."""
    if not fiction:
        return ""
    story = Fiction.from_stored(fiction)
    base = (story.starts - _EPOCH) // timedelta(milliseconds=1)
    segments = [[clock, base + ms] for clock, ms in story._segments()]
    monday = datetime(2024, 1, 1, tzinfo=UTC)  # a Monday
    days = [dateformat.format(monday.replace(day=1 + k), "D") for k in range(7)]
    months = [dateformat.format(monday.replace(month=1 + k), "F") for k in range(12)]
    # The same msgid as scenarios.fiction.format_story_time.
    pattern = gettext("D. j F Y, H:i")
    return json.dumps(
        {"segments": segments, "pattern": pattern, "days": days, "months": months},
        ensure_ascii=False,
        separators=(",", ":"),
    )
