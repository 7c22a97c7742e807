"""The course archive: finding past sessions, and pseudonymising them after retention.

After `SIMTRAIN_RETENTION_DAYS` (default 365) from its end (or, never ended, from its
creation) a session's participants' display names are replaced by stable pseudonyms,
through `engine.session_pseudonymise` — a sanctioned rewrite of events. What
was said and decided stays: replays and reports keep working. Run it from the archive
page or with `python manage.py apply_retention` (e.g. nightly from cron).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.db.models import CharField, Exists, OuterRef, Q, QuerySet
from django.db.models.functions import Cast, Coalesce
from django.utils import timezone

from sessions import engine
from sessions.models import AuditEntry, Session
from simtrain.env import env_int

DEFAULT_RETENTION_DAYS = 365


def retention_days() -> int:
    configured = getattr(settings, "SIMTRAIN_RETENTION_DAYS", None)
    return int(configured) if configured else env_int("SIMTRAIN_RETENTION_DAYS",
                                                      DEFAULT_RETENTION_DAYS)


def _pseudonymised() -> Exists:
    return Exists(AuditEntry.objects.filter(
        action=AuditEntry.Action.SESSION_PSEUDONYMISED, target_type="session",
        target_id=Cast(OuterRef("pk"), CharField()),
    ))


def due_sessions(*, now: datetime, days: int | None = None) -> QuerySet[Session]:
    """Sessions past the retention period whose names are still the real ones."""
    cutoff = now - timedelta(days=retention_days() if days is None else days)
    return (
        Session.objects.annotate(closed=Coalesce("ended_at", "created_at"),
                                 pseudonymised=_pseudonymised())
        .filter(closed__lt=cutoff, pseudonymised=False)
        .order_by("closed")
    )


def apply_retention(*, now: datetime, user=None, days: int | None = None,
                    dry_run: bool = False, actor: str = "") -> list[Session]:
    """Pseudonymise every session past retention; returns them (each is audited)."""
    due = list(due_sessions(now=now, days=days))
    if not dry_run:
        for session in due:
            engine.session_pseudonymise(session_id=session.pk, user=user,
                                        actor=actor or ("" if user else "retention"))
    return due


# --- The archive list ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ArchiveFilters:
    q: str = ""
    scenario: str = ""
    trainer: str = ""
    cohort: str = ""
    state: str = ""
    since: date | None = None
    until: date | None = None

    @classmethod
    def from_query(cls, query) -> ArchiveFilters:
        def day(name: str) -> date | None:
            try:
                return date.fromisoformat(query.get(name, ""))
            except ValueError:
                return None

        text = {f.name: (query.get(f.name) or "").strip()[:200] for f in fields(cls)
                if f.name not in ("since", "until")}
        return cls(**text, since=day("since"), until=day("until"))

    @property
    def active(self) -> bool:
        return any(getattr(self, f.name) for f in fields(self))


def archive_sessions(filters: ArchiveFilters) -> list[Session]:
    """Sessions, newest first, narrowed by the filters; each knows if it is pseudonymised."""
    sessions = Session.objects.select_related("version__scenario", "trainer").annotate(
        pseudonymised=_pseudonymised()
    )
    if filters.q:
        sessions = sessions.filter(Q(title__icontains=filters.q) | Q(code__iexact=filters.q))
    if filters.scenario:
        sessions = sessions.filter(version__scenario__slug=filters.scenario)
    if filters.trainer:
        sessions = sessions.filter(trainer__username=filters.trainer)
    if filters.cohort:
        sessions = sessions.filter(cohort=filters.cohort)
    if filters.state in Session.State.values:
        sessions = sessions.filter(state=filters.state)
    tz = timezone.get_current_timezone()
    if filters.since:
        sessions = sessions.filter(created_at__gte=datetime.combine(filters.since, time.min, tz))
    if filters.until:
        sessions = sessions.filter(
            created_at__lt=datetime.combine(filters.until + timedelta(days=1), time.min, tz))
    return list(sessions.order_by("-created_at"))


def archive_choices() -> dict:
    """What the filter menus offer: the values that occur."""
    rows = Session.objects.values_list("version__scenario__slug", "trainer__username",
                                       "trainer__first_name", "trainer__last_name", "cohort")
    scenarios, trainers, cohorts = set(), {}, set()
    for slug, username, first, last, cohort in rows:
        scenarios.add(slug)
        trainers[username] = f"{first} {last}".strip() or username
        if cohort:
            cohorts.add(cohort)
    return {
        "scenarios": sorted(scenarios),
        "trainers": sorted(trainers.items(), key=lambda item: item[1].lower()),
        "cohorts": sorted(cohorts),
        "states": Session.State.choices,
    }
