"""The engine's announcements, so it stays free of Channels and of the screens' caches.

`events_appended` is sent after the transaction that appended events commits: the
fan-out rings the doorbell, this process's hub takes the events (and tests watch what
would have been pushed). `session_rewritten` is sent when the archive rewrote a log in
place (pseudonymisation): the replay drops what it rendered from the old text.
"""

from django.dispatch import Signal

# kwargs: session_id: int, seq: int (the last seq appended), events: list[Event] (as
# appended, in seq order)
events_appended = Signal()

# kwargs: session_id: int
session_rewritten = Signal()
