"""`events_appended` is sent after the transaction that appended events commits.

The engine sends it; the fan-out listens. Keeping it a signal lets the engine stay
free of Channels (and lets tests watch what would have been pushed).
"""

from django.dispatch import Signal

# kwargs: session_id: int, seq: int (the last seq appended)
events_appended = Signal()
