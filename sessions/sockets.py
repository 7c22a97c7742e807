"""How many sockets one holder may open, and how fast they may command, per process.

Without these, 40 sockets of one seat each had the full command rate (397 events in
9 s), and 200 sockets from one place made everyone else's pings slow. So each server
process counts its open sockets:

- per seat (a seat's pass names one holder: "per pass" is the same count),
  `PER_SEAT` — a desk, a tablet, a second tab and a reconnect in flight;
- per trainer login (user), `PER_USER` — control room, projector, several tabs;
- per client address (`simtrain.clientip`), `PER_IP` — enough for a classroom behind
  one NAT, not for a flood;

a socket over any of them is closed with 4429 (the browser does not retry a 4xxx). And
the command rate limit is one token bucket per holder (seat or trainer), shared by all
their sockets, not one per socket. Counts are per process: with N workers a holder may
open up to N times as many (docs/security.md).
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field

from simtrain.env import env_int

PER_SEAT = env_int("SIMTRAIN_SOCKETS_PER_SEAT", 4)
PER_USER = env_int("SIMTRAIN_SOCKETS_PER_USER", 12)
PER_IP = env_int("SIMTRAIN_SOCKETS_PER_IP", 150)
MAX_BUCKETS = 5000


class TokenBucket:
    def __init__(self, capacity: float, rate: float):
        self.capacity, self.rate = capacity, rate
        self.tokens, self.stamp = capacity, time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False

    def full(self) -> bool:
        return self.tokens + (time.monotonic() - self.stamp) * self.rate >= self.capacity


@dataclass
class Registry:
    """Open sockets of this process by holder and address; shared command buckets."""

    open: Counter = field(default_factory=Counter)
    buckets: dict[str, TokenBucket] = field(default_factory=dict)

    def limits(self) -> dict[str, int]:
        return {"seat": PER_SEAT, "user": PER_USER, "ip": PER_IP}

    def admit(self, keys: list[tuple[str, str]]) -> bool:
        """Count a new socket under `keys` ((kind, id) pairs) if none is full."""
        limits = self.limits()
        if any(self.open[key] >= limits[key[0]] for key in keys):
            return False
        for key in keys:
            self.open[key] += 1
        return True

    def release(self, keys: list[tuple[str, str]]) -> None:
        for key in keys:
            self.open[key] -= 1
            if self.open[key] <= 0:
                del self.open[key]

    def bucket(self, holder: str, capacity: float, rate: float) -> TokenBucket:
        """The command bucket of one holder, shared by all its sockets.

        Kept after its sockets close (reconnecting does not refill it); buckets that
        have refilled are forgotten once there are many.
        """
        found = self.buckets.get(holder)
        if found is None:
            if len(self.buckets) >= MAX_BUCKETS:
                for key in [k for k, b in self.buckets.items() if b.full()]:
                    del self.buckets[key]
            found = self.buckets[holder] = TokenBucket(capacity, rate)
        return found


registry = Registry()
