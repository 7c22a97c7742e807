"""The audit trail: one line per act on a session outside the exercise itself.

Exports, imports, pseudonymisation, text repair and deletion write here, and so do the
trainer's seat commands (assign or reassign a seat, free it, refuse someone at the lobby
or clear it), inside
the engine command's transaction. Course admins read it in the archive (`trail()`,
/sessions/archive/audit/) and the Django admin. Nothing in the app edits it, except
that participants' names in seat lines are pseudonymised with the session (retention)
or when it is deleted.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.auth import get_user_model

from sessions.models import AuditEntry, Session

# Seat lines name participants in these `details` keys.
SEAT_ACTIONS = (
    AuditEntry.Action.SEAT_ASSIGNED,
    AuditEntry.Action.SEAT_REASSIGNED,
    AuditEntry.Action.SEAT_FREED,
    AuditEntry.Action.LOBBY_DISMISSED,
    AuditEntry.Action.LOBBY_CLEARED,
)
NAME_KEYS = ("previous", "holder", "name")
NAME_LIST_KEYS = ("names",)


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


def audit_trainer_command(
    *, principal, session: Session, action: str, details: dict[str, Any]
) -> AuditEntry:
    """A line for a trainer's engine command, written inside the command's transaction.

    `principal` is the engine's TrainerPrincipal (the session's trainer or a course
    admin); the account is looked up so the line names it even once renamed.
    """
    user = get_user_model().objects.filter(pk=principal.user_id).first()
    fallback = f"{principal.name or principal.actor} ({principal.actor})"
    return audit_record(
        user=user,
        actor="" if user is not None else fallback,
        action=action,
        session=session,
        details={"by": principal.actor, **details},
    )


def pseudonymise_names(session_id: int, pseudonym: Callable[[str], str]) -> int:
    """Rewrite participants' names in the session's seat lines; returns lines changed."""
    changed = 0
    lines = AuditEntry.objects.filter(
        target_type="session", target_id=str(session_id), action__in=SEAT_ACTIONS
    ).order_by("pk")
    for line in lines:
        details = dict(line.details)
        for key in NAME_KEYS:
            if isinstance(details.get(key), str) and details[key]:
                details[key] = pseudonym(details[key])
        for key in NAME_LIST_KEYS:
            if isinstance(details.get(key), list):
                details[key] = [pseudonym(n) if isinstance(n, str) and n else n
                                for n in details[key]]
        if details != line.details:
            line.details = details
            line.save(update_fields=["details"])
            changed += 1
    return changed


def trail(*, action: str = "", q: str = "", session_id: int | None = None):
    """The trail, newest first, filtered as the archive's audit page asks."""
    from django.db.models import Q

    lines = AuditEntry.objects.select_related("user")
    if action:
        lines = lines.filter(action=action)
    if session_id is not None:
        lines = lines.filter(target_type="session", target_id=str(session_id))
    if q:
        lines = lines.filter(Q(actor__icontains=q) | Q(target_label__icontains=q)
                             | Q(target_id=q))
    return lines.order_by("-at", "-pk")
