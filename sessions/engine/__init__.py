"""The live engine: the only writer of `Event` (and of the projections kept with it).

Every command follows one path (`_core._command`): lock the session row → check →
append events in the same transaction → after commit, ring the doorbell
(`signals.events_appended`). Commands live by family; callers use them from here:
`from sessions import engine; engine.session_start(...)`.

- `_core`    the command transaction, principals, shared checks
- `clock`    create, start, pause, resume, end, speed, jump to a phase
- `seats`    claiming and assigning seats, the lobby, presence
- `injects`  firing (by time, cascade or hand), skipping, ad-hoc injects, deadlines
- `due`      what the clock has made due (reads only)
- `play`     decisions, actions, messages, cues, safety stops, opened items, notes
- `limits`   countdowns following their conditions, warnings, expiries, request deadlines
- `requests` sending and deciding requests for authorisation
- `review`   ratings, debrief entries and live annotations
- `hotwash`  the anonymous survey after the end (no event: see there)
- `archive`  restore from an export, pseudonymise, delete
- `fork`     restart a session from one of its moments
"""

from sessions.engine._core import (
    MAX_TEXT,
    MAX_TITLE,
    SYSTEM,
    EngineError,
    Principal,
    SeatPrincipal,
    SystemPrincipal,
    TrainerPrincipal,
)
from sessions.engine.archive import (
    PSEUDONYM,
    RestoreIds,
    session_delete,
    session_pseudonymise,
    session_restore,
    session_text_repair,
)
from sessions.engine.clock import (
    MAX_SPEED,
    MIN_SPEED,
    SPEED_CHOICES,
    clock_jump_to_phase,
    clock_set_speed,
    session_create,
    session_end,
    session_pause,
    session_resume,
    session_start,
)
from sessions.engine.fork import FORKED_KINDS, session_fork
from sessions.engine.hotwash import CONFIDENCE_LEVELS, HOTWASH_MIN_ANSWERS, hotwash_answer
from sessions.engine.injects import (
    ADHOC_KINDS,
    MAX_ADHOC_FILE_BYTES,
    MAX_ADHOC_FILES,
    inject_adhoc,
    inject_fire,
    inject_skip,
    scheduler_tick,
)
from sessions.engine.play import (
    action_take,
    cue_acknowledge,
    decision_answer,
    decision_reopen,
    item_open,
    message_send,
    note_add,
    note_private,
    safety_stop,
)
from sessions.engine.requests import MAX_REASON, request_decide, request_send
from sessions.engine.review import (
    ANNOTATION_TAGS,
    DEBRIEF_KINDS,
    RATING_LEVELS,
    annotation_add,
    debrief_add,
    objective_rate,
)
from sessions.engine.seats import (
    join_throttled,
    lobby_clear,
    lobby_dismiss,
    lobby_join,
    presence_set,
    presence_sweep,
    seat_assign,
    seat_claim,
    seat_free,
)

__all__ = [
    "ANNOTATION_TAGS", "annotation_add",
    "CONFIDENCE_LEVELS", "HOTWASH_MIN_ANSWERS", "hotwash_answer",
    "FORKED_KINDS", "session_fork",
    "ADHOC_KINDS", "DEBRIEF_KINDS", "MAX_ADHOC_FILES", "MAX_ADHOC_FILE_BYTES", "MAX_REASON",
    "MAX_SPEED", "MAX_TEXT", "MAX_TITLE", "MIN_SPEED", "PSEUDONYM", "RATING_LEVELS",
    "SPEED_CHOICES", "SYSTEM", "EngineError", "Principal", "RestoreIds", "SeatPrincipal",
    "SystemPrincipal",
    "TrainerPrincipal", "action_take", "clock_jump_to_phase", "clock_set_speed",
    "cue_acknowledge", "debrief_add", "decision_answer", "decision_reopen", "inject_adhoc",
    "inject_fire", "inject_skip", "item_open", "join_throttled", "lobby_clear",
    "lobby_dismiss", "lobby_join", "message_send",
    "note_add", "note_private", "objective_rate", "presence_set", "presence_sweep",
    "request_decide", "request_send", "safety_stop",
    "scheduler_tick", "seat_assign", "seat_claim", "seat_free", "session_create",
    "session_delete", "session_end", "session_pause", "session_pseudonymise",
    "session_restore", "session_resume", "session_start", "session_text_repair",
]
