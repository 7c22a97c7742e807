"""After commit, ring the doorbell of the session's group.

The channel layer is a doorbell (`{type, session, seq}`), not a carrier: group sends are
at-most-once and drop silently over capacity, so the message carries no content. Each
process, on hearing it (`sessions.hub`: one group member per process, not per
socket), reads what it has not read yet from the database — the truth — and its
consumers render it for their own audience. A periodic check recovers a missed ring.
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
        async_to_sync(layer.group_send)(
            session_group(session_id), {"type": "doorbell", "session": session_id, "seq": seq}
        )
    except Exception:  # the log is committed; clients catch up on their next flush
        log.warning("doorbell for session %s seq %s not delivered", session_id, seq, exc_info=True)

