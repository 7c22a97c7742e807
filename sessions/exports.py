"""A session as a file: the full log as JSON (export and re-import), and as CSV.

The JSON file (`simtrain.session/1`) carries everything a fresh installation needs to
replay the session: the scenario version's canonical YAML and attachments (base64),
the ad-hoc attachments' contents, the seats and their holders' display names, and
every event. It holds no database id, so exporting, importing and exporting again
gives the same bytes:

- seats are `<role>.<number>` ("police.1"), in audiences ("seat:police.1"), actors
  and payloads (`"seat": "police.1"`); lobby entries are "e1", "e2"…, trainers "t1"…
  (with their username), numbered by first appearance;
- a scenario attachment's id is dropped from inject payloads (the import puts the new
  installation's id back, found by inject and path); the version is named by the
  content hash of its canonical export.

Import is all or nothing: the file is checked whole first (every problem is listed),
then the scenario version (reused when this installation already has that content),
the session, its seats and its log are written in one transaction. Only ended
sessions are imported: a running one would come back with nobody able to hold a seat.
Importing the same file twice is refused (its fingerprint is kept with the imported
session) unless a copy is asked for explicitly.
"""

from __future__ import annotations

import base64
import binascii
import csv
import hashlib
import io
import json
from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils.text import slugify

from scenarios.format import ScenarioInvalid
from scenarios.format.export import ExportedScenario, content_hash
from scenarios.models import Blob, ScenarioVersion
from scenarios.services import scenario_export, scenario_import
from sessions import engine
from sessions.audience import EVERYONE
from sessions.audit import audit_record
from sessions.models import AuditEntry, ImportedSession, LobbyEntry, Seat, Session
from sessions.replay import log_events
from sessions.story import label as story_label
from simtrain.durations import format_clock
from simtrain.spreadsheet import safe_row
from simtrain.text import invalid_text

FORMAT = "simtrain.session/1"
MAX_ERRORS = 25
SESSION_FIELDS = ("title", "cohort", "join_mode", "state", "speed", "anchor_clock_ms")
SESSION_TIMES = ("anchor_at", "created_at", "started_at", "ended_at")


class SessionImportError(Exception):
    """The file cannot be imported; `errors` lists every problem found. Nothing was written."""

    def __init__(self, errors: list[str]):
        super().__init__("; ".join(errors))
        self.errors = errors


def file_stem(session: Session) -> str:
    return f"simtrain-{slugify(session.title)[:40] or 'session'}-{session.created_at:%Y%m%d}"


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _b64(data: bytes) -> str:
    return base64.b64encode(bytes(data)).decode("ascii")


# --- Export --------------------------------------------------------------------------------------


class _Refs:
    """Database ids → the file's names for them, numbered by first appearance."""

    def __init__(self, session: Session):
        self.seats = {
            s.pk: f"{s.role.ident}.{s.number}"
            for s in Seat.objects.filter(session=session).select_related("role")
        }
        self.entries: dict[int, str] = {}
        self.trainers: dict[int, str] = {}
        self.trainer(session.trainer_id)

    def trainer(self, user_id: int) -> str:
        return self.trainers.setdefault(user_id, f"t{len(self.trainers) + 1}")

    def entry(self, entry_id: int) -> str:
        return self.entries.setdefault(entry_id, f"e{len(self.entries) + 1}")

    def token(self, token: str) -> str:
        """An audience token or actor: "seat:12" → "seat:police.1", "trainer:3" → "trainer:t1"."""
        kind, _sep, value = token.partition(":")
        if kind == "seat" and value.isdigit():
            return f"seat:{self.seats.get(int(value), 'unknown')}"
        if kind == "trainer" and value.isdigit():
            return f"trainer:{self.trainer(int(value))}"
        return token

    def payload(self, kind: str, payload: dict, content_hash_: str) -> dict:
        out = dict(payload)
        if isinstance(out.get("seat"), int):
            out["seat"] = self.seats.get(out["seat"], "unknown")
        if isinstance(out.get("entry"), int):
            out["entry"] = self.entry(out["entry"])
        if kind == "session.created" and "version" in out:
            out["version"] = content_hash_
        if out.get("attachments"):
            out["attachments"] = [
                {k: v for k, v in a.items() if not (k == "id" and isinstance(v, int))}
                for a in out["attachments"]
            ]
        return out


def export_session(session: Session) -> dict[str, Any]:
    """The session as a JSON-ready dict (see the module docstring for the format)."""
    version = session.version
    exported = scenario_export(version=version)
    scenario_hash = exported.content_hash
    refs = _Refs(session)
    events = []
    adhoc_blobs: set[str] = set()
    for e in log_events(session.pk):
        events.append({
            "seq": e.seq,
            "kind": e.kind,
            "audience": [refs.token(t) for t in e.audience],
            "actor": refs.token(e.actor),
            "clock_ms": e.clock_ms,
            "created_at": _time(e.created_at),
            "payload": refs.payload(e.kind, e.payload, scenario_hash),
        })
        adhoc_blobs.update(a["blob"] for a in e.payload.get("attachments") or []
                           if a.get("blob"))
    users = {u.pk: u for u in get_user_model().objects.filter(pk__in=list(refs.trainers))}
    entries = {entry.pk: entry for entry in LobbyEntry.objects.filter(session=session)
               .select_related("wanted_role")}
    return {
        "notice": EXERCISE_NOTICE,
        "format": FORMAT,
        "scenario": {
            "slug": version.scenario.slug,
            "content_hash": scenario_hash,
            "yaml": exported.yaml,
            "files": {path: _b64(data) for path, data in exported.files.items()},
        },
        "session": {
            **{name: getattr(session, name) for name in SESSION_FIELDS},
            **{name: _time(getattr(session, name)) for name in SESSION_TIMES},
            "trainer": refs.trainers[session.trainer_id],
        },
        "trainers": [
            {"ref": ref, "username": users[pk].get_username() if pk in users else "",
             "name": (users[pk].get_full_name() if pk in users else "")}
            for pk, ref in refs.trainers.items()
        ],
        "seats": [
            {"ref": refs.seats[seat.pk], "holder_name": seat.holder_name}
            for seat in Seat.objects.filter(session=session).select_related("role")
            .order_by("role__order", "number")
        ],
        "lobby": [
            {"ref": ref, "name": entries[pk].name,
             "role": entries[pk].wanted_role.ident if entries[pk].wanted_role else "",
             "state": entries[pk].state}
            for pk, ref in refs.entries.items() if pk in entries
        ],
        "blobs": {
            blob.sha256: {"content_type": blob.content_type, "data": _b64(blob.data)}
            for blob in Blob.objects.filter(sha256__in=sorted(adhoc_blobs)).order_by("sha256")
        },
        "events": events,
    }


def dumps(data: dict) -> str:
    """The canonical text of an export: sorted keys, so equal content gives equal bytes."""
    return json.dumps(data, ensure_ascii=False, sort_keys=True, indent=1) + "\n"


def fingerprint(data: dict) -> str:
    return hashlib.sha256(dumps(data).encode("utf-8")).hexdigest()


# --- CSV ------------------------------------------------------------------------------------------

CSV_COLUMNS = ("seq", "horloge", "clock_ms", "created_at", "kind", "actor", "role", "name",
               "audience", "summary", "payload")


# Every exported artefact says it is exercise material (the CSV in its first row).
EXERCISE_NOTICE = (
    "EXERCICE — document d'exercice : situation et personnes fictives, ce n'est pas un "
    "document de procédure. / EXERCISE material: fictitious, not a procedure document."
)


def _summary(kind: str, p: dict) -> str:
    if kind == "inject.fired":
        return p.get("title", "")
    if kind == "decision.answered":
        return f"{p.get('title', '')} → {p.get('label') or p.get('option') or ''} " \
               f"{p.get('rationale', '')}".strip()
    if kind == "message.sent":
        return f"{p.get('from_role') or 'formateur'} → {p.get('to_role', '')} : {p.get('text', '')}"
    if kind == "action.taken":
        return p.get("label", "")
    if kind == "objective.rated":
        return f"{p.get('objective', '')} : {p.get('level')}/4 {p.get('comment', '')}".strip()
    if kind == "debrief.added":
        return f"[{p.get('kind', '')}] {p.get('text', '')}"
    if kind.startswith("countdown."):
        return p.get("countdown", "")
    if kind == "request.sent":
        return f"{p.get('label', '')} : {p.get('reason', '')}"
    if kind == "request.decided":
        return f"{p.get('label', '')} → {p.get('outcome', '')} {p.get('reason', '')}".strip()
    if kind == "annotation.added":
        return f"[{p.get('objective') or p.get('tag', '')}] {p.get('text', '')}"
    return p.get("text") or p.get("title") or p.get("note") or ""


def events_csv(session: Session) -> str:
    """Every event, one row each, for a spreadsheet (semicolons, UTF-8 with a BOM: what
    a French Excel opens as columns). Cells a spreadsheet would evaluate as a formula
    (names, notes, messages written by participants) are neutralised (`safe_row`)."""
    refs = _Refs(session)
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    # With `fiction`, one more column: the story's date and time of each event.
    fiction = session.version.fiction
    writer.writerow([EXERCISE_NOTICE])
    writer.writerow(CSV_COLUMNS + (("recit",) if fiction else ()))
    for e in log_events(session.pk):
        p = e.payload
        story = [story_label(fiction, e.clock_ms)] if fiction else []
        writer.writerow(safe_row([
            e.seq, format_clock(e.clock_ms // 1000), e.clock_ms, _time(e.created_at), e.kind,
            refs.token(e.actor), p.get("role") or p.get("from_role") or "", p.get("name", ""),
            " ".join(refs.token(t) for t in e.audience) or "formateur",
            _summary(e.kind, p),
            json.dumps(p, ensure_ascii=False, sort_keys=True),
            *story,
        ]))
    return buffer.getvalue()


# --- Import ---------------------------------------------------------------------------------------


def loads(raw: bytes | str) -> dict:
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as err:
        raise SessionImportError([f"not a JSON file: {err}"]) from None
    if not isinstance(data, dict):
        raise SessionImportError(["not a session export: the file is not a JSON object"])
    return data


class _Checker:
    """Collects every problem of a file before anything is written."""

    def __init__(self):
        self.errors: list[str] = []

    def fail(self, message: str) -> None:
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(message)

    def need(self, data: Any, key: str, kind: type | tuple, where: str) -> Any:
        if not isinstance(data, dict) or key not in data:
            self.fail(f"{where}: missing '{key}'")
            return None
        value = data[key]
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            self.fail(f"{where}.{key}: wrong type ({type(value).__name__})")
            return None
        return value

    def time(self, value: Any, where: str) -> datetime | None:
        if value is None:
            return None
        try:
            parsed = datetime.fromisoformat(value)
        except (TypeError, ValueError):
            self.fail(f"{where}: not an ISO date-time ({value!r})")
            return None
        if parsed.tzinfo is None:
            self.fail(f"{where}: a date-time without a time zone ({value!r})")
        return parsed

    def b64(self, value: Any, where: str) -> bytes:
        try:
            return base64.b64decode(value, validate=True)
        except (TypeError, ValueError, binascii.Error):
            self.fail(f"{where}: not base64")
            return b""


def _check(data: dict) -> tuple[_Checker, dict]:
    """Validate the whole file; return the checker and what the import needs from it."""
    c = _Checker()
    if data.get("format") != FORMAT:
        c.fail(f"format: expected {FORMAT!r}, got {data.get('format')!r}")
        return c, {}
    bad_text = invalid_text(data)
    if bad_text is not None:  # "\ud800" in a JSON file decodes to text nothing can show
        c.fail(f"{bad_text}: not valid Unicode text (a lone surrogate or a NUL character); "
               "repair the file (manage.py repair_text repairs a database)")
    scenario = c.need(data, "scenario", dict, "file") or {}
    yaml_text = c.need(scenario, "yaml", str, "scenario") or ""
    files = {
        path: c.b64(value, f"scenario.files[{path!r}]")
        for path, value in (c.need(scenario, "files", dict, "scenario") or {}).items()
    }
    declared_hash = c.need(scenario, "content_hash", str, "scenario") or ""
    if yaml_text and declared_hash and content_hash(yaml_text, files) != declared_hash:
        c.fail("scenario.content_hash: does not match the YAML and files it comes with")
    meta = c.need(data, "session", dict, "file") or {}
    for name, kind in (("title", str), ("cohort", str), ("join_mode", str), ("state", str),
                       ("speed", (int, float)), ("anchor_clock_ms", int), ("trainer", str)):
        c.need(meta, name, kind, "session")
    if meta.get("state") != Session.State.ENDED:
        c.fail(f"session.state: only ended sessions can be imported (this one is "
               f"{meta.get('state')!r}); end it first, then export it again")
    if meta.get("join_mode") not in Session.JoinMode.values:
        c.fail(f"session.join_mode: unknown value {meta.get('join_mode')!r}")
    if not (meta.get("title") or "").strip():
        c.fail("session.title: empty")
    times = {name: c.time(meta.get(name), f"session.{name}") for name in SESSION_TIMES}
    trainers = c.need(data, "trainers", list, "file") or []
    trainer_refs = {t.get("ref") for t in trainers if isinstance(t, dict)}
    if meta.get("trainer") not in trainer_refs:
        c.fail(f"session.trainer: {meta.get('trainer')!r} is not in 'trainers'")
    seats = c.need(data, "seats", list, "file") or []
    seat_refs = set()
    for n, seat in enumerate(seats):
        ref = c.need(seat, "ref", str, f"seats[{n}]")
        c.need(seat, "holder_name", str, f"seats[{n}]")
        if ref:
            role, _dot, number = ref.rpartition(".")
            if not role or not number.isdigit():
                c.fail(f"seats[{n}].ref: expected ROLE.NUMBER, got {ref!r}")
            seat_refs.add(ref)
    lobby = c.need(data, "lobby", list, "file") or []
    entry_refs = [e.get("ref") for e in lobby if isinstance(e, dict)]
    for n, entry in enumerate(lobby):
        c.need(entry, "name", str, f"lobby[{n}]")
        if isinstance(entry, dict) and entry.get("state") not in LobbyEntry.State.values:
            c.fail(f"lobby[{n}].state: unknown value {entry.get('state')!r}")
    blobs = []
    for sha, blob in (c.need(data, "blobs", dict, "file") or {}).items():
        content = c.b64(blob.get("data") if isinstance(blob, dict) else None, f"blobs[{sha}]")
        if hashlib.sha256(content).hexdigest() != sha:
            c.fail(f"blobs[{sha}]: the content does not match its hash")
        blobs.append((content, (blob or {}).get("content_type", "application/octet-stream")))
    events = c.need(data, "events", list, "file") or []
    for n, event in enumerate(events, start=1):
        where = f"events[{n - 1}]"
        if c.need(event, "seq", int, where) not in (None, n):
            c.fail(f"{where}.seq: expected {n} (seqs run 1, 2, 3… without gaps)")
        c.need(event, "kind", str, where)
        c.need(event, "clock_ms", int, where)
        c.need(event, "payload", dict, where)
        c.time(event.get("created_at") if isinstance(event, dict) else None,
               f"{where}.created_at")
        for token in (c.need(event, "audience", list, where) or []):
            if not _known_token(token, seat_refs, audience=True):
                c.fail(f"{where}.audience: unknown token {token!r}")
        actor = c.need(event, "actor", str, where)
        if actor is not None and not _known_token(actor, seat_refs, trainer_refs=trainer_refs):
            c.fail(f"{where}.actor: unknown actor {actor!r}")
        payload = event.get("payload") if isinstance(event, dict) else None
        if isinstance(payload, dict):
            if "seat" in payload and payload["seat"] not in seat_refs:
                c.fail(f"{where}.payload.seat: unknown seat {payload['seat']!r}")
            if "entry" in payload and payload["entry"] not in entry_refs:
                c.fail(f"{where}.payload.entry: unknown lobby entry {payload['entry']!r}")
    return c, {"scenario": scenario, "yaml": yaml_text, "files": files, "meta": meta,
               "times": times, "trainers": trainers, "seats": seats, "lobby": lobby,
               "blobs": blobs, "events": events, "hash": declared_hash}


def _known_token(token: Any, seats: set, *, audience: bool = False,
                 trainer_refs: set | None = None) -> bool:
    if not isinstance(token, str):
        return False
    kind, _sep, value = token.partition(":")
    if audience:
        return token == EVERYONE or kind == "role" and bool(value) or (
            kind == "seat" and value in seats)
    return token == "system" or (kind == "seat" and value in seats) or (
        kind == "trainer" and value in (trainer_refs or set()))


def _version_for(checked: dict, user) -> ScenarioVersion:
    """This installation's version with that content, imported if it has none."""
    slug = checked["scenario"].get("slug", "")
    found = ScenarioVersion.objects.filter(
        scenario__slug=slug, content_hash=checked["hash"]
    ).order_by("number").first()
    if found is not None:
        return found
    bundle = ExportedScenario(yaml=checked["yaml"], files=dict(sorted(checked["files"].items())))
    try:
        result = scenario_import(source=("scenario.zip", bundle.to_zip()), user=user)
    except ScenarioInvalid as invalid:
        raise SessionImportError(
            ["scenario: the scenario in the file is invalid here"]
            + [str(d) for d in invalid.diagnostics[:MAX_ERRORS]]
        ) from None
    return result.version


def _check_against(version: ScenarioVersion, checked: dict) -> list[str]:
    """The seats and roles of the file must exist in the version."""
    errors = []
    roles = {r.ident: r for r in version.roles.all()}
    for seat in checked["seats"]:
        role, _dot, number = seat["ref"].rpartition(".")
        if role not in roles or not 1 <= int(number) <= roles[role].seats:
            errors.append(f"seats: {seat['ref']!r} is not a seat of this scenario version")
    for entry in checked["lobby"]:
        if entry.get("role") and entry["role"] not in roles:
            errors.append(f"lobby: unknown role {entry['role']!r}")
    return errors[:MAX_ERRORS]


def import_session(data: dict, *, user=None, trainer=None, source_name: str = "",
                   allow_copy: bool = False) -> Session:
    """Import an export. `trainer`: who leads it here when the file's trainer has no
    account on this installation (default: the importing `user`). All or nothing."""
    checker, checked = _check(data)
    if checker.errors:
        raise SessionImportError(checker.errors)
    print_ = fingerprint(data)
    existing = ImportedSession.objects.filter(fingerprint=print_).select_related("session")
    if existing.exists() and not allow_copy:
        first = existing.first().session
        raise SessionImportError([
            f"this file was already imported as session {first.pk} (« {first.title} »); "
            "import it again only to make a copy (--copy)"])
    User = get_user_model()  # noqa: N806
    by_ref = {}
    for t in checked["trainers"]:
        by_ref[t["ref"]] = User.objects.filter(username=t.get("username") or "").first()
    lead = by_ref.get(checked["meta"]["trainer"]) or trainer or (
        user if getattr(user, "is_authenticated", False) else None)
    if lead is None:
        raise SessionImportError([
            "session.trainer: no account here is named "
            f"{next((t.get('username') for t in checked['trainers'] if t.get('ref') == checked['meta']['trainer']), '')!r}; "  # noqa: E501
            "name the trainer who will hold it (--trainer USERNAME)"])
    with transaction.atomic():
        version = _version_for(checked, user)
        errors = _check_against(version, checked)
        if errors:
            raise SessionImportError(errors)
        meta, times = checked["meta"], checked["times"]
        fields = {name: meta[name] for name in SESSION_FIELDS}
        fields.update(times)
        fields["speed"] = float(fields["speed"])
        seats = {
            (seat["ref"].rpartition(".")[0], int(seat["ref"].rpartition(".")[2])):
                seat["holder_name"][:100]
            for seat in checked["seats"]
        }
        lobby = [{"name": e["name"][:100], "role": e.get("role", ""), "state": e["state"]}
                 for e in checked["lobby"]]
        entry_refs = [e["ref"] for e in checked["lobby"]]
        actors = {ref: (u.pk if u else lead.pk) for ref, u in by_ref.items()}

        def build_events(ids: engine.RestoreIds) -> list[dict]:
            seat_ids = {f"{role}.{n}": pk for (role, n), pk in ids.seats.items()}
            entries = dict(zip(entry_refs, ids.lobby, strict=True))

            def token(value: str) -> str:
                kind, _sep, ref = value.partition(":")
                if kind == "seat":
                    return f"seat:{seat_ids[ref]}"
                if kind == "trainer":
                    return f"trainer:{actors[ref]}"
                return value

            rows = []
            for e in checked["events"]:
                p = dict(e["payload"])
                if "seat" in p:
                    p["seat"] = seat_ids[p["seat"]]
                if "entry" in p:
                    p["entry"] = entries[p["entry"]]
                if e["kind"] == "session.created" and "version" in p:
                    p["version"] = ids.version_id
                if p.get("attachments") and not p.get("adhoc"):
                    p["attachments"] = [
                        {**a, "id": ids.attachments.get((p.get("inject", ""), a.get("path", "")))}
                        for a in p["attachments"]
                    ]
                rows.append({
                    "seq": e["seq"], "kind": e["kind"],
                    "audience": [token(t) for t in e["audience"]],
                    "actor": token(e["actor"]), "clock_ms": e["clock_ms"],
                    "created_at": datetime.fromisoformat(e["created_at"]), "payload": p,
                })
            return rows

        session = engine.session_restore(
            version=version, trainer=lead, fields=fields, seats=seats, lobby=lobby,
            blobs=checked["blobs"], build_events=build_events,
        )
        ImportedSession.objects.create(
            session=session, fingerprint=print_, source_name=source_name[:300],
            imported_by=user if getattr(user, "is_authenticated", False) else None,
        )
        audit_record(user=user, actor="" if user else "cli",
                     action=AuditEntry.Action.SESSION_IMPORTED, session=session,
                     details={"source": source_name, "fingerprint": print_,
                              "events": len(checked["events"])})
    return session
