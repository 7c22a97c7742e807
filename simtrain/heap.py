"""The garbage collector in a server process: no full collection in the middle of a fan-out.

With CPython's defaults, a worker holding 500 screens ran a full (generation 2)
collection every few seconds, each scanning ~100,000 objects and stopping the event
loop for 50–125 ms: that pause was the whole tail of the delivery delay
(docs/performance.md). Most of those objects — Django, the URL conf, the modules —
live as long as the process: `gc.freeze()` takes them out of every later scan. Larger
thresholds then make full collections rare; short-lived cycles are still collected by
the young generations.
"""

from __future__ import annotations

import gc

THRESHOLDS = (20_000, 50, 100)


def settle() -> None:
    """Call once the server has started and before it serves (Daphne: reactor start)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
