"""A bot's pace under the server's per-holder command limit.

People do not click twenty times a second; bots at ×240 would, and a refusal
(`rate-limited`) then reads as a failure of the run. Each bot keeps the consumer's own
token bucket, a little slower, so what a run measures is the platform, not the bots
outrunning a limit that no person meets.
"""

from __future__ import annotations

import asyncio
import time

from sessions.consumers import RATE_CAPACITY, RATE_PER_S

# Well below the server's bucket: the server takes a token as a frame arrives, so a stall
# of its event loop (not of a command) delivers what queued meanwhile at once. With a
# burst of a quarter of its capacity at 40 % of its refill rate, only a stall over 7.5 s
# overflows it.
MARGIN = 0.4


class Pacer:
    def __init__(self, capacity: float = RATE_CAPACITY / 4, per_s: float = RATE_PER_S * MARGIN):
        self.capacity = capacity
        self.per_s = per_s
        self.tokens = capacity
        self.at = time.monotonic()

    def _refill(self) -> None:
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.at) * self.per_s)
        self.at = now

    async def wait(self) -> None:
        """Return once a command may go (taking its token)."""
        self._refill()
        while self.tokens < 1:
            await asyncio.sleep((1 - self.tokens) / self.per_s)
            self._refill()
        self.tokens -= 1
