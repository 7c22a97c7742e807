"""Fixed-window counters in the cache, for throttling guesses (join codes, logins).

The cache is per process in the embedded default and Redis in the scale-out shape
(settings), so limits hold across workers there. If the cache cannot be reached (Redis
restarting), the guarded form is refused with a clear message rather than let through
unthrottled or failing with a server error: `LimiterUnavailable`.

An attempt is counted *before* it is evaluated (`attempt`: one atomic increment, Redis
INCR in the scale-out shape) and given back if it succeeds (`Attempt.refund`). Checking
a count and recording a failure afterwards lets concurrent guesses all pass the check
before any failure is recorded — about twice the limit got through that way.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from django.core.cache import cache
from django.utils.translation import gettext_lazy as _

from simtrain.clientip import client_ip  # noqa: F401 (the one place; re-exported for callers)

log = logging.getLogger(__name__)


class LimiterUnavailable(Exception):
    """The counters' store cannot be reached: refuse the attempt, ask to retry soon."""

    message = _("Le service est momentanément indisponible. Réessayez dans un instant.")


def _key(scope: str, subject: str, window: int) -> str:
    return f"ratelimit:{scope}:{subject}:{int(time.time() // window)}"


def window_ends(window: int) -> float:
    """When the current window of `window` seconds ends (a Unix time)."""
    return (int(time.time() // window) + 1) * window


@dataclass
class Attempt:
    """One counted attempt: `allowed` if the count, this one included, is within limit."""

    key: str
    count: int
    limit: int

    @property
    def allowed(self) -> bool:
        return self.count <= self.limit

    def refund(self) -> None:
        """The attempt succeeded: it does not count against the subject."""
        try:
            cache.decr(self.key)
        except Exception:  # expired, or the store is gone: the window forgets it anyway
            log.debug("rate limit refund of %s failed", self.key, exc_info=True)


def attempt(scope: str, subject: str, *, limit: int, window: int) -> Attempt:
    """Count one attempt of `subject` atomically, before evaluating it."""
    key = _key(scope, subject, window)
    try:
        if cache.add(key, 1, timeout=window * 2):
            return Attempt(key, 1, limit)
        try:
            return Attempt(key, cache.incr(key), limit)
        except ValueError:  # expired between add and incr
            cache.add(key, 1, timeout=window * 2)
            return Attempt(key, 1, limit)
    except Exception as error:  # the backend's own error (redis.ConnectionError, …)
        log.warning("rate limit store unavailable for %s: %s", scope, error)
        raise LimiterUnavailable(scope) from error


def count(scope: str, subject: str, *, window: int) -> int:
    """How many attempts `subject` made in the current window (no attempt counted)."""
    try:
        return int(cache.get(_key(scope, subject, window)) or 0)
    except Exception as error:
        log.warning("rate limit store unavailable for %s: %s", scope, error)
        raise LimiterUnavailable(scope) from error


def remember(scope: str, subject: str, *, seconds: int) -> None:
    """Keep a mark for `seconds` (e.g. "this network entered this code correctly")."""
    try:
        cache.set(f"ratelimit-mark:{scope}:{subject}", 1, timeout=seconds)
    except Exception:
        log.warning("rate limit store unavailable for %s", scope, exc_info=True)


def remembered(scope: str, subject: str) -> bool:
    try:
        return bool(cache.get(f"ratelimit-mark:{scope}:{subject}"))
    except Exception as error:
        log.warning("rate limit store unavailable for %s: %s", scope, error)
        raise LimiterUnavailable(scope) from error


def first_time(scope: str, subject: str, *, seconds: int) -> bool:
    """True once per `seconds` for `subject` (to say something once, not per request)."""
    try:
        return bool(cache.add(f"ratelimit-once:{scope}:{subject}", 1, timeout=seconds))
    except Exception:
        return False
