"""Durations as the scenario format writes them: `90s`, `12m`, `1h30m`, or seconds."""

from __future__ import annotations

import re

_DURATION = re.compile(r"^(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m)?(?:(?P<s>\d+)s)?$")


def parse_duration(value: object) -> int:
    """Seconds from an int or a `1h30m`-style string; ValueError otherwise."""
    if isinstance(value, bool):
        raise ValueError("a duration is a number of seconds or a string like 90s, 12m, 1h30m")
    if isinstance(value, int):
        if value < 0:
            raise ValueError("a duration cannot be negative")
        return value
    if isinstance(value, str):
        match = _DURATION.match(value.strip())
        if match and any(match.groupdict().values()):
            parts = {k: int(v or 0) for k, v in match.groupdict().items()}
            return parts["h"] * 3600 + parts["m"] * 60 + parts["s"]
    raise ValueError(
        f"{value!r} is not a duration: write seconds (90) or a string like 90s, 12m, 1h30m"
    )


def format_duration(seconds: int) -> str:
    """The canonical written form: `1h30m`, `12m`, `1m30s`, `0s`."""
    hours, rest = divmod(int(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    out = ""
    if hours:
        out += f"{hours}h"
    if minutes:
        out += f"{minutes}m"
    if secs or not out:
        out += f"{secs}s"
    return out


def format_clock(seconds: int) -> str:
    """An exercise-clock reading: `12:05` or `1:02:05`."""
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"
