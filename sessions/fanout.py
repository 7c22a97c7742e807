"""After commit, ring the doorbell of the session's group.

The channel layer is a doorbell (`{type, session, seq}`), not a carrier: group sends are
at-most-once and drop silently over capacity, so the message carries no content. Each
process, on hearing it (`sessions.hub`: one group member per process, not per
socket), reads what it has not read yet from the database — the truth — and its
consumers render it for their own audience (the process that committed was handed the
events already: `hub.committed`). A periodic check recovers a missed ring.
"""

from __future__ import annotations

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

log = logging.getLogger(__name__)


def session_group(session_id: int) -> str:
    return f"session-{session_id}"


def ring(sender=None, *, session_id: int, seq: int, **kwargs) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        # Waiting for the loop is the fan-out's backpressure: a burst of commands is
        # stamped no faster than this process's screens are told. Handed off without
        # the wait, 500 back-to-back injects were stamped at once and reached their
        # screens up to 0.5 s after their stamps (docs/performance.md).
        async_to_sync(layer.group_send)(
            session_group(session_id), {"type": "doorbell", "session": session_id, "seq": seq}
        )
    except Exception:  # the log is committed; clients catch up on their next flush
        log.warning("doorbell for session %s seq %s not delivered", session_id, seq, exc_info=True)

