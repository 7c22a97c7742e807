"""Fixed-window counters in the cache, for throttling guesses (join codes, logins).

The cache is per process in the embedded default and Redis in the scale-out shape
(settings), so limits hold across workers there.
"""

from __future__ import annotations

import time

from django.core.cache import cache


def client_ip(request) -> str:
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def _key(scope: str, subject: str, window: int) -> str:
    return f"ratelimit:{scope}:{subject}:{int(time.time() // window)}"


def is_limited(scope: str, subject: str, *, limit: int, window: int) -> bool:
    """True once `subject` has failed `limit` times in the current window."""
    return (cache.get(_key(scope, subject, window)) or 0) >= limit


def record_failure(scope: str, subject: str, *, window: int) -> None:
    key = _key(scope, subject, window)
    if not cache.add(key, 1, timeout=window * 2):
        try:
            cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.add(key, 1, timeout=window * 2)
