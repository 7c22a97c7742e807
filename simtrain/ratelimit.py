"""Fixed-window counters in the cache, for throttling guesses (join codes, logins).

The cache is per process in the embedded default and Redis in the scale-out shape
(settings), so limits hold across workers there. If the cache cannot be reached (Redis
restarting), the guarded form is refused with a clear message rather than let through
unthrottled or failing with a server error: `LimiterUnavailable`.
"""

from __future__ import annotations

import logging
import time

from django.core.cache import cache
from django.utils.translation import gettext_lazy as _

log = logging.getLogger(__name__)


class LimiterUnavailable(Exception):
    """The counters' store cannot be reached: refuse the attempt, ask to retry soon."""

    message = _("Le service est momentanément indisponible. Réessayez dans un instant.")


def client_ip(request) -> str:
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def _key(scope: str, subject: str, window: int) -> str:
    return f"ratelimit:{scope}:{subject}:{int(time.time() // window)}"


def is_limited(scope: str, subject: str, *, limit: int, window: int) -> bool:
    """True once `subject` has failed `limit` times in the current window."""
    try:
        count = cache.get(_key(scope, subject, window)) or 0
    except Exception as error:  # the backend's own error (redis.ConnectionError, …)
        log.warning("rate limit store unavailable for %s: %s", scope, error)
        raise LimiterUnavailable(scope) from error
    return count >= limit


def record_failure(scope: str, subject: str, *, window: int) -> None:
    key = _key(scope, subject, window)
    try:
        if not cache.add(key, 1, timeout=window * 2):
            try:
                cache.incr(key)
            except ValueError:  # expired between add and incr
                cache.add(key, 1, timeout=window * 2)
    except Exception as error:  # the check just before passed: losing one count is fine
        log.warning("rate limit store unavailable for %s: %s", scope, error)
