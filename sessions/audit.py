"""The audit trail: one line per act on a session outside the exercise itself.

Exports, imports, pseudonymisation and deletion write here (seat reassignments will
too). Course admins read it in the Django admin; nothing in the app edits it.
"""

from __future__ import annotations

from typing import Any

from sessions.models import AuditEntry, Session


def actor_label(user) -> str:
    if user is None or not getattr(user, "is_authenticated", False):
        return "system"
    full = user.get_full_name() if hasattr(user, "get_full_name") else ""
    username = user.get_username()
    return f"{full} ({username})" if full else username


def audit_record(
    *,
    user,
    action: str,
    session: Session | None = None,
    target_type: str = "session",
    target_id: str = "",
    target_label: str = "",
    details: dict[str, Any] | None = None,
    actor: str = "",
) -> AuditEntry:
    """Append one audit line. `actor` overrides the label (e.g. "cli", "retention")."""
    if session is not None:
        target_id = target_id or str(session.pk)
        target_label = target_label or f"{session.title} ({session.code})"
    return AuditEntry.objects.create(
        user=user if getattr(user, "is_authenticated", False) else None,
        actor=(actor or actor_label(user))[:150],
        action=action,
        target_type=target_type,
        target_id=target_id,
        target_label=target_label[:300],
        details=details or {},
    )
