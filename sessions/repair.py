"""Repairing stored text that is not valid Unicode (`manage.py repair_text`).

Before frames were checked (`simtrain.text`), a message holding a lone surrogate
("hello \\ud800") could be stored; SQLite keeps it as the JSON escape. Reading repairs it
in memory (`simtrain.fields.TextSafeJSONField`), so screens and exports work; this
rewrites the rows themselves: each lone surrogate becomes U+FFFD and each NUL is
dropped, in the events' payloads and the audit trail's details.

Like pseudonymisation, it is a sanctioned rewrite of past events: per session, in one
transaction holding the session's lock (no command interleaves), with the session's
`log_revision` bumped (no process serves what it rendered before) and the replay
snapshots dropped, and an audit line saying which events changed. Nothing else changes.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field

from django.db import connection, transaction

from sessions import engine
from sessions.audit import audit_record
from sessions.models import AuditEntry, Event
from simtrain.text import invalid_text, may_hold_invalid, repair


@dataclass
class Found:
    """Rows whose stored JSON holds invalid text: {session id: {event pk: (seq, fixed)}}."""

    events: dict[int, dict[int, tuple[int, dict]]] = field(
        default_factory=lambda: defaultdict(dict)
    )
    audit: dict[int, dict] = field(default_factory=dict)  # audit entry pk -> fixed details

    @property
    def total(self) -> int:
        return sum(len(rows) for rows in self.events.values()) + len(self.audit)


def _raw_rows(model, column: str, *extra: str):
    """(pk, *extra, raw JSON text) of every row, read past the field's own repair."""
    table = connection.ops.quote_name(model._meta.db_table)
    names = ", ".join(connection.ops.quote_name(c) for c in ("id", *extra))
    quoted = connection.ops.quote_name(column)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {names}, CAST({quoted} AS TEXT) FROM {table}")  # noqa: S608
        while rows := cursor.fetchmany(2000):
            yield from rows


def _broken(raw) -> object | None:
    """The decoded value if the raw JSON holds invalid text, else None."""
    if not isinstance(raw, str) or not may_hold_invalid(raw):
        return None
    value = json.loads(raw)
    return value if invalid_text(value) is not None else None


def find() -> Found:
    found = Found()
    event_table = Event._meta
    session_column = event_table.get_field("session").column
    for pk, session_id, seq, raw in _raw_rows(Event, "payload", session_column, "seq"):
        value = _broken(raw)
        if value is not None:
            found.events[session_id][pk] = (seq, repair(value))
    for pk, raw in _raw_rows(AuditEntry, "details"):
        value = _broken(raw)
        if value is not None:
            found.audit[pk] = repair(value)
    return found


def repair_all(found: Found, *, actor: str = "cli") -> None:
    """Write the repairs `find` found, session by session, each with its audit line."""
    for session_id, rows in found.events.items():
        with transaction.atomic():
            engine.session_text_repair(session_id=session_id, rows=rows, actor=actor)
    if found.audit:
        with transaction.atomic():
            for pk, fixed in found.audit.items():
                AuditEntry.objects.filter(pk=pk).update(details=fixed)
            audit_record(user=None, actor=actor, action=AuditEntry.Action.SESSION_TEXT_REPAIRED,
                         target_type="audit", target_id="-", target_label="audit trail",
                         details={"entries": sorted(found.audit)})
