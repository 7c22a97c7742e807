"""Injects: firing (by time, by cascade, by hand), skipping, ad-hoc injects, deadlines.

`_fire` is the one place an inject fires; `_trigger` is the one place the engine
decides to fire one by itself (checking its `if`: withheld when it does not hold);
`occurred` is the one entry point every occurrence goes through to set off the
injects whose `when` it matches; `_fire_due` asks `due` what the clock has made due
(times, `after` chains, deadlines, delayed `when`s) and fires it in order. The
scheduler only calls `scheduler_tick`, often.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from django.utils.translation import gettext as _

from scenarios.conditions import ACTION, DECISION, INJECT, Occurrence, holds
from scenarios.format.bundle import ATTACHMENT_TYPES
from scenarios.format.validate import content_mismatch
from scenarios.models import Blob, Inject, Role
from sessions.audience import EVERYONE, role_token
from sessions.engine import due, facts, limits
from sessions.engine._core import (
    MAX_TITLE,
    Principal,
    _clean_text,
    _command,
    _inject,
    _refuse,
    _require_live,
    _require_trainer,
    _Tx,
)
from sessions.law import law_for
from sessions.models import DecisionAnswer, Event, InjectFiring, Session


def _inject_audience(inject: Inject) -> list[str]:
    if inject.is_public:
        return [EVERYONE]
    return sorted(role_token(role.ident) for role in inject.recipients.all())


def _inject_payload(inject: Inject) -> dict:
    """What the screens show, copied into the log so a replay never depends on lookups."""
    return {
        "inject": inject.ident,
        "kind": inject.kind,
        "title": inject.title,
        "body": inject.body,
        "from": inject.sender,
        "phase": inject.phase.ident if inject.phase else "",
        "roles": sorted(role.ident for role in inject.recipients.all()),
        "attachments": [
            {
                "id": a.pk,
                "title": a.display_title,
                "path": a.path,
                "content_type": a.blob.content_type,
                "size": a.blob.size,
            }
            for a in inject.attachments.all()
        ],
        "cue": inject.cue,
        "options": inject.options,
        "free_text": inject.free_text,
        "deadline_s": inject.deadline_s,
    }


def _fire(
    tx: _Tx,
    inject: Inject,
    *,
    actor: str,
    cause: str,
    due_ms: int | None = None,
    late: bool = False,
    reply_role: str = "",
    again: bool = False,
) -> Event | None:
    """Fire one inject if it has not fired or been skipped yet; cascade to followers.

    `reply_role`: also deliver it to that role (`reply: true`). `again`: a `repeat`
    inject fires once more (its first firing is the one kept in `InjectFiring`)."""
    firing = InjectFiring.objects.filter(session=tx.session, inject=inject).first()
    if firing is not None and not (again and firing.outcome == InjectFiring.Outcome.FIRED):
        return None
    payload = {**_inject_payload(inject), "cause": cause, "due_ms": due_ms, "late": late}
    audience = _inject_audience(inject)
    if reply_role and inject.reply and EVERYONE not in audience:
        audience = sorted({*audience, role_token(reply_role)})
        payload["roles"] = sorted({*payload["roles"], reply_role})
    event = tx.append("inject.fired", audience=audience, actor=actor, payload=payload)
    if firing is not None:  # a repeat: the log has it; the projection keeps the first
        occurred(tx, INJECT, inject.ident)
        return event
    deadline_ms = (
        event.clock_ms + inject.deadline_s * 1000
        if inject.kind == Inject.Kind.DECISION and inject.deadline_s is not None
        else None
    )
    InjectFiring.objects.create(
        session=tx.session,
        inject=inject,
        outcome=InjectFiring.Outcome.FIRED,
        clock_ms=event.clock_ms,
        due_ms=due_ms,
        late=late,
        seq=event.seq,
        deadline_ms=deadline_ms,
    )
    occurred(tx, INJECT, inject.ident)
    # `after` followers with no delay are due now; the rest wait for the scheduler.
    # Countdowns follow what it changed, even while paused.
    _fire_due(tx)
    return event


def _withheld(tx: _Tx) -> set[str]:
    return set(
        Event.objects.filter(session=tx.session, kind="inject.withheld").values_list(
            "payload__inject", flat=True
        )
    )


def _trigger(
    tx: _Tx,
    inject: Inject,
    *,
    cause: str,
    due_ms: int | None = None,
    late: bool = False,
    reply_role: str = "",
) -> Event | None:
    """The engine fires `inject` by itself (its time or its cause has come): unless it
    was withheld, or its `if` does not hold now, which withholds it for good (event
    `inject.withheld`; only the trainer may still fire it, by hand)."""
    if inject.condition is not None or inject.repeat:
        if inject.ident in _withheld(tx):
            return None
    if inject.condition is not None and not holds(inject.condition, facts.facts_for(tx.session)):
        if InjectFiring.objects.filter(session=tx.session, inject=inject).exists():
            return None  # fired or skipped already: nothing to withhold
        tx.append(
            "inject.withheld",
            audience=[],
            actor="system",
            payload={"inject": inject.ident, "title": inject.title, "cause": cause,
                     "due_ms": due_ms},
        )
        return None
    return _fire(tx, inject, actor="system", cause=cause, due_ms=due_ms, late=late,
                 reply_role=reply_role, again=inject.repeat)


def _legacy_followers(tx: _Tx, kind: str, ident: str, value: str) -> list[Inject]:
    """The injects whose trigger columns (decision + option, action) this sets off."""
    if kind == DECISION:
        decision = Inject.objects.filter(version_id=tx.session.version_id, ident=ident).first()
        return due.branches(decision, value) if decision is not None else []
    if kind == ACTION:
        return list(
            Inject.objects.filter(
                version_id=tx.session.version_id,
                trigger=Inject.Trigger.ACTION,
                when_action__ident=ident,
            ).order_by("order")
        )
    return []


def occurred(
    tx: _Tx, kind: str, ident: str, value: str = "", *, role: str = "",
    due_ms: int | None = None,
) -> None:
    """THE entry point for every occurrence: fire now the injects whose `when` it sets
    off (no delay); those with a `delay` are left to the scheduler, which reads the
    occurrence back from the log (`due.next_due`), so append the occurrence's event
    first, in the same command, then call this.

    - `kind`: "inject", "decision", "action", "request" or "countdown"
      (`scenarios.conditions.INJECT` …);
    - `ident`: the inject, decision, action, request or countdown id;
    - `value`: the decision's option ("" for free text, "none" for a missed deadline,
      called only when no role answered in time), the request's outcome ("sent",
      "approved", "rejected", "none"), the countdown's state ("running" when it starts,
      "expired", "stopped"); "" for an inject or an action;
    - `role`: the role whose act it was (the answerer, the one taking the action, the
      request's sender), which a `reply: true` inject also reaches; "" for no one's;
    - `due_ms`: when it fell due, for one the clock brought (a deadline, an expiry),
      copied into the fired injects' payload.

    Each inject set off is checked against its `if` (`_trigger`): withheld if it does
    not hold. Works in a running or paused session (like the acts that cause it).
    """
    occurrence = Occurrence(tx.clock_ms, kind, ident, value)
    wanted = {inject.ident: inject for inject in _legacy_followers(tx, kind, ident, value)}
    matching = [
        spec.ident
        for spec in due.when_injects(tx.session.version_id)
        if not spec.legacy
        and any(c.delay_s == 0 and c.matches(occurrence) for c in spec.causes)
    ]
    if matching:
        for inject in Inject.objects.filter(
            version_id=tx.session.version_id, ident__in=matching
        ).prefetch_related("recipients", "attachments__blob"):
            wanted[inject.ident] = inject
    for inject in sorted(wanted.values(), key=lambda i: i.order):
        _trigger(tx, _inject(tx, inject.ident), cause=kind, due_ms=due_ms, reply_role=role)


def catch_up(tx: _Tx) -> None:
    """Before a participant's act, in a scenario with countdowns or requests: what fell
    due up to this instant happens first, so a countdown that ran out a moment before
    the tick is expired before an act that would have stopped it. (Other scenarios keep
    their timing exactly: the tick handles what falls due.)"""
    if not law_for(tx.session.version_id).empty:
        _fire_due(tx)


def _law_occurred(tx: _Tx, logged: list[limits.Logged], due_ms: int | None = None) -> None:
    """What countdowns and requests logged sets off injects (`occurred`)."""
    for occurrence, role in logged:
        occurred(tx, occurrence.kind, occurrence.ident, occurrence.value, role=role,
                 due_ms=due_ms)


def _fire_due(tx: _Tx) -> None:
    """Fire, in due order, every time-triggered inject whose moment has come, and let
    countdowns and requests follow (`limits`): their conditions, warnings, expiries,
    deadlines."""
    while True:
        _law_occurred(tx, limits.follow(tx))
        if tx.session.state != Session.State.RUNNING:
            return
        now_ms = tx.clock_ms
        item = due.next_due(tx.session, now_ms)
        timer = limits.next_timer(tx, now_ms)
        if timer is not None and (item is None or timer.due_ms <= item.due_ms):
            # An expiry before what falls due at the same instant: it can open a branch.
            _law_occurred(tx, limits.ring(tx, timer), due_ms=timer.due_ms)
            continue
        if item is None:
            return
        if item.kind == "deadline":
            _expire_decision(tx, item.firing, item.due_ms)
            continue
        inject = _inject(tx, item.inject_ident)
        late = (not tx.jumped) and due.is_late(tx.session, item.due_ms, now_ms)
        appended = len(tx.events)
        _trigger(tx, inject, cause=item.cause or item.kind, due_ms=item.due_ms, late=late,
                 reply_role=item.role)
        if len(tx.events) == appended:
            return  # nothing changed: the same item would come back (never loop on it)


def _expire_decision(tx: _Tx, firing: InjectFiring, due_ms: int) -> None:
    firing.deadline_done = True
    firing.save(update_fields=["deadline_done"])
    inject = _inject(tx, firing.inject.ident)
    answered = set(
        DecisionAnswer.objects.filter(
            session=tx.session, inject=inject, active=True
        ).values_list("role_id", flat=True)
    )
    late_roles = [role for role in inject.recipients.all() if role.pk not in answered]
    if late_roles:
        event = tx.append(
            "decision.expired",
            audience=sorted(role_token(role.ident) for role in late_roles),
            actor="system",
            payload={
                "inject": inject.ident,
                "title": inject.title,
                "roles": sorted(role.ident for role in late_roles),
                "due_ms": due_ms,
            },
        )
        DecisionAnswer.objects.bulk_create(
            DecisionAnswer(
                session=tx.session,
                inject=inject,
                role=role,
                clock_ms=event.clock_ms,
                seq=event.seq,
                expired=True,
            )
            for role in late_roles
        )
    if not answered:
        occurred(tx, DECISION, inject.ident, Inject.OPTION_NONE, due_ms=due_ms)


def inject_fire(*, session_id: int, principal: Principal, inject_ident: str) -> Event:
    """The trainer fires an inject now, whatever its trigger."""
    principal = _require_trainer(principal)
    with _command(session_id) as tx:
        _require_live(tx, allow_paused=True)
        inject = _inject(tx, inject_ident)
        event = _fire(tx, inject, actor=principal.actor, cause="manual")
        if event is None:
            raise _refuse("already-fired", _("Cet inject a déjà été déclenché ou ignoré."))
        return event


def inject_skip(*, session_id: int, principal: Principal, inject_ident: str) -> None:
    principal = _require_trainer(principal)
    with _command(session_id) as tx:
        if tx.session.state == Session.State.ENDED:
            raise _refuse("session-ended", _("La session est terminée."))
        inject = _inject(tx, inject_ident)
        if InjectFiring.objects.filter(session=tx.session, inject=inject).exists():
            raise _refuse("already-fired", _("Cet inject a déjà été déclenché ou ignoré."))
        event = tx.append(
            "inject.skipped",
            audience=[],
            actor=principal.actor,
            payload={"inject": inject.ident, "title": inject.title},
        )
        InjectFiring.objects.create(
            session=tx.session,
            inject=inject,
            outcome=InjectFiring.Outcome.SKIPPED,
            clock_ms=event.clock_ms,
            seq=event.seq,
        )


def _store_blob(content: bytes, content_type: str) -> Blob:
    digest = hashlib.sha256(content).hexdigest()
    blob, _created = Blob.objects.get_or_create(
        sha256=digest,
        defaults={"size": len(content), "content_type": content_type, "data": content},
    )
    return blob


ADHOC_KINDS = (
    Inject.Kind.MESSAGE,
    Inject.Kind.DOCUMENT,
    Inject.Kind.CALL,
    Inject.Kind.SCENE,
    Inject.Kind.BROADCAST,
)


MAX_ADHOC_FILES = 5
MAX_ADHOC_FILE_BYTES = 20 * 1024 * 1024


def _adhoc_files(files: Sequence[tuple[str, bytes]]) -> list[tuple[str, str, bytes]]:
    """(name, extension, content) of each uploaded file, checked by content, not by name.

    The same rule as a scenario's attachments (scenarios.format): an allowed extension,
    and content that starts like that kind of file (a ".pdf" that is not a PDF is
    refused, so it is never served with a type it does not have).
    """
    if len(files) > MAX_ADHOC_FILES:
        raise _refuse(
            "too-many-files",
            _("%(max)d pièces jointes au plus.") % {"max": MAX_ADHOC_FILES},
        )
    checked = []
    for name, content in files:
        name = (name or "").replace("\\", "/").rsplit("/", 1)[-1].strip()[:200] or "fichier"
        extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
        if extension not in ATTACHMENT_TYPES:
            raise _refuse(
                "bad-attachment",
                _("« %(name)s » : type de fichier non accepté (acceptés : %(types)s).")
                % {"name": name, "types": ", ".join(ATTACHMENT_TYPES)},
            )
        if not content:
            raise _refuse("bad-attachment", _("« %(name)s » est vide.") % {"name": name})
        if len(content) > MAX_ADHOC_FILE_BYTES:
            raise _refuse(
                "bad-attachment",
                _("« %(name)s » dépasse %(size)d Mo.")
                % {"name": name, "size": MAX_ADHOC_FILE_BYTES // (1024 * 1024)},
            )
        if content_mismatch(extension, content) is not None:
            raise _refuse(
                "bad-attachment",
                _("« %(name)s » n'est pas ce que son nom annonce : son contenu ne "
                  "correspond pas à un fichier .%(ext)s.") % {"name": name, "ext": extension},
            )
        checked.append((name, extension, content))
    return checked


def inject_adhoc(
    *,
    session_id: int,
    principal: Principal,
    roles: list[str],
    title: str,
    body: str = "",
    kind: str = Inject.Kind.MESSAGE,
    sender: str = "",
    files: Sequence[tuple[str, bytes]] = (),
) -> Event:
    """An inject written live by the trainer, optionally speaking as a persona.

    `files` are (name, content) pairs: each is checked by content, stored as a Blob
    (content-addressed, so a replay still has it) and listed in the payload with the
    Blob's hash; the attachment view serves it only to the inject's recipients.
    """
    principal = _require_trainer(principal)
    title = _clean_text(title, required=True, what=_("Le titre"), limit=MAX_TITLE)
    body = _clean_text(body, required=False, what=_("Le texte"))
    sender = _clean_text(sender, required=False, what=_("L'expéditeur"), limit=MAX_TITLE)
    if kind not in ADHOC_KINDS:
        raise _refuse("bad-kind", _("Type d'inject non pris en charge en direct."))
    uploads = _adhoc_files(files)
    with _command(session_id) as tx:
        _require_live(tx, allow_paused=True)
        if kind == Inject.Kind.BROADCAST:
            audience, role_idents = [EVERYONE], []
        else:
            if not roles:
                raise _refuse("no-recipient", _("Choisissez au moins un destinataire."))
            role_idents = sorted(set(roles))
            known = set(Role.objects.filter(version_id=tx.session.version_id,
                                            ident__in=role_idents)
                        .values_list("ident", flat=True))  # one query, whatever the count
            unknown = next((ident for ident in role_idents if ident not in known), None)
            if unknown is not None:
                raise _refuse("unknown-role", _("Rôle inconnu : « %(id)s ».") % {"id": unknown})
            audience = [role_token(ident) for ident in role_idents]
        number = Event.objects.filter(session=tx.session, kind="inject.fired").count() + 1
        attachments = []
        for position, (name, extension, content) in enumerate(uploads, start=1):
            blob = _store_blob(content, ATTACHMENT_TYPES[extension])
            attachments.append(
                {
                    "id": f"adhoc-{number}-{position}",
                    "blob": blob.sha256,
                    "title": name,
                    "path": name,
                    "content_type": blob.content_type,
                    "size": blob.size,
                }
            )
        return tx.append(
            "inject.fired",
            audience=audience,
            actor=principal.actor,
            payload={
                "inject": f"adhoc-{number}",
                "adhoc": True,
                "kind": kind,
                "title": title,
                "body": body,
                "from": sender,
                "phase": "",
                "roles": role_idents,
                "attachments": attachments,
                "cue": None,
                "options": None,
                "free_text": False,
                "deadline_s": None,
                "cause": "manual",
                "due_ms": None,
                "late": False,
            },
        )



def scheduler_tick(*, session_id: int) -> int:
    """Fire whatever is due in one running session. Returns how many events it appended."""
    with _command(session_id) as tx:
        _fire_due(tx)
        return len(tx.events)
