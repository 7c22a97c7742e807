"""The archive's writes, each outside the live command path for a documented reason.

Restoring an exported log (import), the one sanctioned rewrite of events
(pseudonymisation after the retention period), and deleting a whole session. All three
leave an audit entry. Caches of rendered screens are told through
`signals.session_rewritten`, so the engine never reaches into the replay.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext as _

from scenarios.models import Attachment, Role
from sessions.audit import audit_record, pseudonymise_names
from sessions.engine._core import _refuse
from sessions.engine.hotwash import HOTWASH_TEXTS
from sessions.engine.injects import _store_blob
from sessions.models import (
    ActionTaken,
    AuditEntry,
    DecisionAnswer,
    Event,
    HotwashAnswer,
    ImprovementItem,
    InjectFiring,
    LobbyEntry,
    ReplaySnapshot,
    Seat,
    Session,
    new_secret,
)
from sessions.scrub import NameScrubber
from sessions.signals import session_rewritten

PSEUDONYM = "Participant {n}"
PSEUDONYM_SHAPE = re.compile(r"^Participant \d+$")
@dataclass(frozen=True)
class RestoreIds:
    """Database ids of the rows `session_restore` created, for translating a file's refs."""

    session_id: int
    version_id: int
    seats: dict[tuple[str, int], int]  # (role ident, number) -> seat id
    lobby: list[int]  # lobby entry ids, in the file's order
    attachments: dict[tuple[str, str], int]  # (inject ident, path) -> attachment id


def session_restore(
    *,
    version,
    trainer,
    fields: dict,
    seats: dict[tuple[str, int], str],
    lobby: list[dict],
    blobs: Sequence[tuple[bytes, str]] = (),
    build_events: Callable[[RestoreIds], list[dict]],
) -> Session:
    """Recreate an exported session: its row, seats, lobby, log and projections.

    The import path (sessions.exports) has checked the file; this writes it, inside the
    caller's transaction. `fields` are Session columns, `seats` the holder names by
    (role, number), `lobby` {name, role, state} rows, and `build_events` turns the
    file's events into rows once the ids they must point to exist. `blobs` are the
    (content, type) of ad-hoc attachments, stored content-addressed as the live command
    stores them. Nobody holds a seat of a restored session (passes are secrets and are
    never exported).
    """
    for content, content_type in blobs:
        _store_blob(content, content_type)
    session = Session.objects.create(version=version, trainer=trainer, **fields)
    Seat.objects.bulk_create(
        Seat(session=session, role=role, number=n, holder_name=seats.get((role.ident, n), ""))
        for role in version.roles.all()
        for n in range(1, role.seats + 1)
    )
    roles = {role.ident: role for role in version.roles.all()}
    entries = [
        LobbyEntry.objects.create(
            session=session,
            name=row["name"],
            pass_key=new_secret(),
            wanted_role=roles.get(row.get("role") or ""),
            state=row["state"],
        )
        for row in lobby
    ]
    seat_ids = {
        (seat.role.ident, seat.number): seat.pk
        for seat in Seat.objects.filter(session=session).select_related("role")
    }
    attachments = {
        (a.inject.ident, a.path): a.pk
        for a in Attachment.objects.filter(inject__version=version).select_related("inject")
    }
    rows = build_events(
        RestoreIds(
            session_id=session.pk,
            version_id=version.pk,
            seats=seat_ids,
            lobby=[entry.pk for entry in entries],
            attachments=attachments,
        )
    )
    events = Event.objects.bulk_create(
        Event(session=session, **row) for row in rows
    )
    Session.objects.filter(pk=session.pk).update(
        last_seq=len(events), created_at=fields.get("created_at") or session.created_at
    )
    _restore_projections(session, events)
    session.refresh_from_db()
    return session


def _restore_projections(session: Session, events: list[Event]) -> None:
    """Rebuild the engine's lookup tables from a restored log, as the engine kept them."""
    version = session.version
    injects = {i.ident: i for i in version.injects.all()}
    roles = {r.ident: r for r in version.roles.all()}
    actions = {a.ident: a for a in version.actions.all()}
    seats = {s.pk: s for s in Seat.objects.filter(session=session)}
    firings: list[InjectFiring] = []
    answers: list[DecisionAnswer] = []
    taken: list[ActionTaken] = []
    kept: set[str] = set()  # a `repeat` inject fires again; its first firing is kept
    for event in events:
        p = event.payload
        inject = injects.get(p.get("inject", "")) if "inject" in p else None
        if event.kind in ("inject.fired", "inject.skipped") and inject is not None:
            if inject.ident in kept and not p.get("adhoc"):
                continue
            kept.add(inject.ident)
        if event.kind == "inject.fired" and inject is not None and not p.get("adhoc"):
            deadline = p.get("deadline_s")
            firings.append(InjectFiring(
                session=session, inject=inject, outcome=InjectFiring.Outcome.FIRED,
                clock_ms=event.clock_ms, due_ms=p.get("due_ms"), late=bool(p.get("late")),
                seq=event.seq,
                deadline_ms=event.clock_ms + deadline * 1000 if deadline is not None else None,
                # Only ended sessions are restored: no deadline is pending any more.
                deadline_done=deadline is not None,
            ))
        elif event.kind == "inject.skipped" and inject is not None:
            firings.append(InjectFiring(
                session=session, inject=inject, outcome=InjectFiring.Outcome.SKIPPED,
                clock_ms=event.clock_ms, seq=event.seq,
            ))
        elif event.kind == "decision.answered" and inject is not None and p.get("role") in roles:
            answers.append(DecisionAnswer(
                session=session, inject=inject, role=roles[p["role"]],
                seat=seats.get(p.get("seat")), option=p.get("option", ""),
                rationale=p.get("rationale", ""), clock_ms=event.clock_ms, seq=event.seq,
            ))
        elif event.kind == "decision.expired" and inject is not None:
            answers.extend(
                DecisionAnswer(session=session, inject=inject, role=roles[ident],
                               clock_ms=event.clock_ms, seq=event.seq, expired=True)
                for ident in p.get("roles", []) if ident in roles
            )
        elif event.kind == "decision.reopened" and inject is not None:
            for answer in answers:
                if answer.inject_id == inject.pk and answer.role.ident == p.get("role"):
                    answer.active = False
        elif event.kind == "action.taken" and p.get("action") in actions:
            role = roles.get(p.get("role", ""))
            if role is not None:
                taken.append(ActionTaken(
                    session=session, action=actions[p["action"]], role=role,
                    seat=seats.get(p.get("seat")), clock_ms=event.clock_ms, seq=event.seq,
                ))
    InjectFiring.objects.bulk_create(firings)
    DecisionAnswer.objects.bulk_create(answers)
    ActionTaken.objects.bulk_create(taken)


def _names_a_participant(event: Event) -> bool:
    """Whether the event's payload `name` is a seat holder's (or a waiting trainee's).

    Trainers' names stay: they are staff, and the record of who ran the session.
    """
    p = event.payload
    return bool(p.get("name")) and ("seat" in p or event.kind == "lobby.waiting")


def _pseudonymiser() -> tuple[Callable[[str], str], dict[str, str]]:
    """A name -> « Participant n » function, numbering names as it first meets them."""
    pseudonyms: dict[str, str] = {}

    def pseudonym(name: str) -> str:
        if name not in pseudonyms:
            taken = set(pseudonyms.values())
            if PSEUDONYM_SHAPE.match(name) and name not in taken:
                pseudonyms[name] = name  # already a pseudonym: a second run
            else:
                n = len(pseudonyms) + 1
                while PSEUDONYM.format(n=n) in taken:
                    n += 1
                pseudonyms[name] = PSEUDONYM.format(n=n)
        return pseudonyms[name]

    return pseudonym, pseudonyms


def session_pseudonymise(*, session_id: int, user=None, actor: str = "") -> int:
    """Replace participants' display names by stable pseudonyms (« Participant 3 »).

    THE EXCEPTION to "events are never updated": after the retention period the names
    of the people who held seats are rewritten, in the log (payload `name` of their
    events, including payloads of seat and lobby events), inside what people wrote
    (`sessions.scrub`: messages, notes, rationales, comments, ad-hoc injects), in the
    seat and lobby rows, in the hot-wash's free texts and in the session's seat lines of
    the audit trail. Nothing else
    changes: what was said, decided and done is kept, so replays and reports go on
    working. Pseudonyms are numbered by first appearance in the log, so a name gets the
    same one everywhere and a second run changes nothing. The session's replay
    snapshots hold the old names and are dropped, and `log_revision` is bumped so that
    no process serves regions it rendered with them. Returns the number of distinct
    names replaced; leaves an audit entry.
    """
    with transaction.atomic():
        session = Session.objects.select_for_update().get(pk=session_id)
        pseudonym, pseudonyms = _pseudonymiser()
        events = list(Event.objects.filter(session=session).order_by("seq"))
        for event in events:
            if _names_a_participant(event):
                pseudonym(event.payload["name"])
        for seat in Seat.objects.filter(session=session).exclude(holder_name=""):
            seat.holder_name = pseudonym(seat.holder_name)
            seat.save(update_fields=["holder_name"])
        for entry in LobbyEntry.objects.filter(session=session):
            entry.name = pseudonym(entry.name)
            entry.save(update_fields=["name"])
        # Every name is known now: rewrite `name` fields, and the names inside free text.
        roles = Role.objects.filter(version_id=session.version_id).values_list("ident", "title")
        scrub = NameScrubber(pseudonyms, keep={word for pair in roles for word in pair})
        rewritten = []
        for event in events:
            payload = scrub.payload(event.kind, event.payload)
            if _names_a_participant(event):
                payload["name"] = pseudonym(event.payload["name"])
            if payload != event.payload:
                event.payload = payload
                rewritten.append(event)
        Event.objects.bulk_update(rewritten, ["payload"], batch_size=500)
        # The hot-wash's free texts may name people too (they carry nothing else).
        for answer in HotwashAnswer.objects.filter(session=session):
            texts = {f: scrub.text(getattr(answer, f)) for f in HOTWASH_TEXTS}
            if any(texts[f] != getattr(answer, f) for f in HOTWASH_TEXTS):
                HotwashAnswer.objects.filter(pk=answer.pk).update(**texts)
        for item in ImprovementItem.objects.filter(session=session):  # findings, too
            ImprovementItem.objects.filter(pk=item.pk).update(
                what=scrub.text(item.what), concerns=scrub.text(item.concerns)
            )
        pseudonymise_names(session.pk, pseudonym)  # the seat lines of the audit trail
        ReplaySnapshot.objects.filter(session=session).delete()
        # Rendered regions hold the old names, in every process: they key on the revision.
        Session.objects.filter(pk=session.pk).update(log_revision=F("log_revision") + 1)
        _rewritten(session_id)
        replaced = sum(1 for real, alias in pseudonyms.items() if real != alias)
        audit_record(
            user=user,
            actor=actor,
            action=AuditEntry.Action.SESSION_PSEUDONYMISED,
            session=session,
            details={"names": replaced, "events": len(rewritten)},
        )
        return replaced


def session_text_repair(*, session_id: int, rows: dict[int, tuple[int, dict]],
                        actor: str) -> None:
    """Write repaired payloads (`sessions.repair`: {event pk: (seq, payload)}) of one session.

    A sanctioned rewrite like pseudonymisation: under the session's lock, `log_revision`
    bumped so no process serves what it rendered before, an audit line naming the events.
    """
    with transaction.atomic():
        session = Session.objects.select_for_update().filter(pk=session_id).first()
        if session is None:
            return
        for pk, (_seq, fixed) in rows.items():
            Event.objects.filter(pk=pk, session=session).update(payload=fixed)
        Session.objects.filter(pk=session_id).update(log_revision=F("log_revision") + 1)
        _rewritten(session_id)
        audit_record(user=None, actor=actor, action=AuditEntry.Action.SESSION_TEXT_REPAIRED,
                     session=session, details={"events": sorted(seq for seq, _ in rows.values())})


def _rewritten(session_id: int) -> None:
    session_rewritten.send(sender=Session, session_id=session_id)


def session_delete(*, session_id: int, user, confirm_title: str) -> None:
    """Delete a session and its whole log, once its title has been typed to confirm."""
    with transaction.atomic():
        session = (
            Session.objects.select_for_update().select_related("version__scenario", "trainer")
            .filter(pk=session_id).first()
        )
        if session is None:
            raise _refuse("unknown-session", _("Cette session n'existe pas."))
        if (confirm_title or "").strip() != session.title.strip():
            raise _refuse(
                "confirm-mismatch", _("Le titre saisi ne correspond pas : rien n'a été supprimé.")
            )
        details = {
            "scenario": f"{session.version.scenario.slug} v{session.version.number}",
            "trainer": session.trainer.get_username(),
            "cohort": session.cohort,
            "state": session.state,
            "events": session.last_seq,
            "created_at": session.created_at.isoformat(),
        }
        audit_record(
            user=user, action=AuditEntry.Action.SESSION_DELETED, session=session,
            details=details,
        )
        # The seat lines outlive the session: they keep no participant's name.
        pseudonymise_names(session.pk, _pseudonymiser()[0])
        session.delete()
