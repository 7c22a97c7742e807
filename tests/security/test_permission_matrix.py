"""Every URL and every WebSocket command, against every persona: allowed or denied.

The tables below are the permission policy, written down. A URL pattern or a socket
command that is missing from them fails the suite, so the matrix cannot go stale.
IDOR probes use the ids of another session, another version's attachment, and an
attachment that reached another role.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.core.cache import cache
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from scenarios import authoring
from scenarios.models import Attachment, Blob, Inject
from scenarios.services import scenario_import
from sessions import engine, protocol
from sessions.access import pass_cookie_name, sign_pass
from sessions.exercises.services import exercise_create
from sessions.models import Event, ImprovementItem, Seat
from simtrain.asgi import application
from tests.factories import UserFactory
from tests.scenarios.format_helpers import BASE

PERSONAS = (
    "anonymous", "outsider", "trainee_a", "trainee_b", "actor", "observer", "freed",
    "other_trainer", "trainer", "course_admin",
)
STEER = {"trainer", "course_admin"}
SEATED = {"trainee_a", "trainee_b", "actor", "observer"}
ALL = set(PERSONAS)
ADMIN = {"course_admin"}
# A session of another trainer: its own trainer and course admins, nobody from ours.
OTHERS = {"other_trainer", "course_admin"}
TRAINERS = {"trainer", "other_trainer", "course_admin"}


@dataclass
class World:
    session: object
    other: object  # a session of another trainer
    version: object
    attachment: int  # reached police only
    foreign_attachment: int  # of another version
    seats: dict
    keys: dict
    users: dict
    exercise: object = None  # an exercise of two syndicates, of our trainer
    other_exercise: object = None  # one of another trainer
    improvement: int = 0  # an improvement item of the scenario
    pending: object = None  # a version another trainer submitted, awaiting review


@pytest.fixture
def world(db, groups, live_version, wall):
    cache.clear()
    users = {
        "trainer": UserFactory(username="t-main"),
        "other_trainer": UserFactory(username="t-other"),
        "course_admin": UserFactory(username="t-admin", is_staff=True),
    }
    users["trainer"].groups.add(groups["trainer"])
    users["other_trainer"].groups.add(groups["trainer"])
    users["course_admin"].groups.add(groups["course_admin"])
    session = engine.session_create(version=live_version, trainer=users["trainer"], title="S")
    other = engine.session_create(version=live_version, trainer=users["other_trainer"],
                                  title="S2")
    blob = Blob.objects.create(sha256="a" * 64, size=5, content_type="text/plain", data=b"hello")
    call = Inject.objects.get(version=live_version, ident="call")
    attachment = Attachment.objects.create(inject=call, order=0, path="pv.txt", blob=blob)
    from tests.factories import InjectFactory, ScenarioVersionFactory

    elsewhere = InjectFactory(version=ScenarioVersionFactory())
    foreign = Attachment.objects.create(inject=elsewhere, order=0, path="x.txt", blob=blob)
    keys, seats = {}, {}
    for persona, role in (("trainee_a", "police"), ("trainee_b", "parquet"), ("actor", "joy"),
                          ("observer", "obs")):
        seat = Seat.objects.get(session=session, role__ident=role)
        keys[persona] = f"key-{persona}"
        engine.seat_claim(session_id=session.pk, seat_id=seat.pk, name=persona,
                          pass_key=keys[persona])
        seats[persona] = seat
    spare = Seat.objects.create(session=session, role=seats["trainee_a"].role, number=2)
    keys["freed"] = "key-freed"
    engine.seat_claim(session_id=session.pk, seat_id=spare.pk, name="freed",
                      pass_key=keys["freed"])
    boss = engine.TrainerPrincipal(user_id=users["trainer"].pk)
    engine.seat_free(session_id=session.pk, principal=boss, seat_id=spare.pk)
    engine.session_start(session_id=session.pk, principal=boss)
    engine.inject_fire(session_id=session.pk, principal=boss, inject_ident="call")
    engine.message_send(session_id=session.pk, to_role="parquet", text="bonjour",
                        principal=engine.SeatPrincipal(seat_id=seats["trainee_a"].pk,
                                                       pass_key=keys["trainee_a"]))
    exercise = exercise_create(version=live_version, trainer=users["trainer"], title="E",
                               syndicates=2, placement="balance")
    other_exercise = exercise_create(version=live_version, trainer=users["other_trainer"],
                                     title="E2", syndicates=2, placement="balance")
    item = ImprovementItem.objects.create(scenario=live_version.scenario, session=session,
                                          what="Relire la PJ")
    written = scenario_import(source=("essai.yaml", BASE.encode()), user=users["trainer"])
    theirs = authoring.draft_from_version(user=users["other_trainer"], version=written.version)
    theirs = authoring.draft_save(draft_id=theirs.pk, user=users["other_trainer"],
                                  document={**theirs.document, "title": "Revu"}, revision=1)
    pending = authoring.draft_submit(draft_id=theirs.pk, user=users["other_trainer"],
                                     revision=theirs.revision)
    return World(session=session, other=other, version=live_version, attachment=attachment.pk,
                 foreign_attachment=foreign.pk, seats=seats, keys=keys, users=users,
                 exercise=exercise, other_exercise=other_exercise, improvement=item.pk,
                 pending=pending)


def client_for(persona: str, w: World) -> Client:
    client = Client()
    if persona in w.users:
        client.force_login(w.users[persona])
    elif persona in w.keys:
        client.cookies[pass_cookie_name(w.session.pk)] = sign_pass(w.session.pk, w.keys[persona])
    elif persona == "outsider":
        response = client.post(reverse("sessions:join"), {"code": w.session.code})
        assert response.status_code == 302
    return client


def denied(response, *, redirects_deny: bool = True) -> bool:
    if response.status_code in (401, 403, 404):
        return True
    if redirects_deny and response.status_code in (301, 302):
        target = response["Location"]
        return target.startswith(("/login/", "/join/")) or target.endswith("/join/")
    return False


@dataclass(frozen=True)
class Rule:
    allowed: frozenset
    method: str = "GET"
    kwargs: object = None  # callable(World) -> dict
    data: object = None  # callable(World) -> dict, for POST
    # Public pages that send people on (home → join, logout → login) are not refusals.
    redirects_deny: bool = True
    query: object = None  # callable(World) -> dict, GET parameters


def rule(allowed, method="GET", kwargs=None, data=None, redirects_deny=True,
         query=None) -> Rule:
    return Rule(frozenset(allowed), method, kwargs, data, redirects_deny, query)


S = lambda w: {"session_id": w.session.pk}  # noqa: E731
S2 = lambda w: {"session_id": w.other.pk}  # noqa: E731
E = lambda w: {"exercise_id": w.exercise.pk}  # noqa: E731
E2 = lambda w: {"exercise_id": w.other_exercise.pk}  # noqa: E731
OWNER = {"trainer"}
VERSION = lambda w: {"slug": w.version.scenario.slug, "number": w.version.number}  # noqa: E731
PENDING = lambda w: {"slug": w.pending.scenario.slug, "number": w.pending.number}  # noqa: E731


def DRAFT(w: World) -> dict:  # noqa: N802
    """A draft of our trainer's, with one attachment: only its author may touch it."""
    from scenarios import authoring

    draft = authoring.draft_from_version(user=w.users["trainer"], version=w.version)
    authoring.draft_put_file(draft_id=draft.pk, user=w.users["trainer"], path="pv.txt",
                             data=b"PV")
    return {"draft_id": draft.pk}


DRAFT_FORM = lambda w: {"revision": "1", "title": "Essai"}  # noqa: E731

# The policy. Keys are URL names (namespace:name); a second entry for the same name
# (suffix "@…") probes another object (IDOR).
URLS: dict[str, Rule] = {
    "home": rule(ALL, redirects_deny=False),
    "healthz": rule(ALL),
    "login": rule(ALL),
    "admin_login": rule(ALL),  # the admin's login page, behind the one login throttle
    "logout": rule(ALL, method="POST", redirects_deny=False),
    "set_language": rule(ALL, method="POST", data=lambda w: {"language": "en"}),
    "scenarios:library": rule(TRAINERS),
    "scenarios:import": rule(TRAINERS),
    "scenarios:schema": rule(ALL),
    "scenarios:latest": rule(TRAINERS, kwargs=lambda w: {"slug": w.version.scenario.slug}),
    "scenarios:history": rule(TRAINERS, kwargs=lambda w: {"slug": w.version.scenario.slug}),
    "scenarios:diff": rule(TRAINERS, kwargs=lambda w: {"slug": w.version.scenario.slug},
                           query=lambda w: {"from": w.version.number, "to": w.version.number}),
    "scenarios:version": rule(TRAINERS, kwargs=VERSION),
    "scenarios:receives": rule(TRAINERS, kwargs=VERSION),
    "scenarios:attachment": rule(TRAINERS, kwargs=lambda w: {**VERSION(w),
                                                             "attachment_id": w.attachment}),
    "scenarios:attachment@foreign-version": rule(
        set(), kwargs=lambda w: {**VERSION(w), "attachment_id": w.foreign_attachment}),
    "scenarios:export_yaml": rule(TRAINERS, kwargs=VERSION),
    "scenarios:draft_edit": rule(OWNER, kwargs=DRAFT),
    "scenarios:draft_save": rule(OWNER, method="POST", kwargs=DRAFT, data=DRAFT_FORM),
    "scenarios:draft_check": rule(OWNER, method="POST", kwargs=DRAFT, data=DRAFT_FORM),
    "scenarios:draft_file": rule(OWNER, method="POST", kwargs=DRAFT,
                                 data=lambda w: {"remove": "pv.txt"}),
    "scenarios:draft_file@preview": rule(OWNER, kwargs=lambda w: {**DRAFT(w), "path": "pv.txt"}),
    "scenarios:export_zip": rule(TRAINERS, kwargs=VERSION),
    "scenarios:export_xlsx": rule(TRAINERS, kwargs=VERSION),
    "scenarios:export_xlsx_zip": rule(TRAINERS, kwargs=VERSION),
    # Drafts are their author's alone: anyone else is told it does not exist (404).
    "scenarios:drafts": rule(TRAINERS),
    "scenarios:draft_new": rule(TRAINERS),
    "scenarios:draft_submit": rule(OWNER, method="POST", kwargs=DRAFT, data=lambda w: {}),
    "scenarios:draft_discard": rule(OWNER, method="POST", kwargs=DRAFT, data=lambda w: {}),
    "scenarios:draft_preview": rule(OWNER, method="POST", kwargs=DRAFT, data=lambda w: {}),
    "scenarios:draft_from_version": rule(TRAINERS, method="POST", kwargs=VERSION),
    "scenarios:draft_duplicate": rule(TRAINERS, kwargs=VERSION),
    "scenarios:reviews": rule(TRAINERS),
    # Its author is refused (own work, 403); the first other trainer approves it, the
    # next is told it is decided (409: allowed to ask, nothing changed).
    "scenarios:review_decide": rule({"trainer", "course_admin"}, method="POST",
                                    kwargs=PENDING, data=lambda w: {"decision": "approve"}),
    "scenarios:version_rehearse": rule(TRAINERS, method="POST", kwargs=PENDING),
    "sessions:list": rule(TRAINERS),
    "sessions:new": rule(TRAINERS, kwargs=lambda w: {"version_id": w.version.pk}),
    "sessions:control": rule(STEER, kwargs=S),
    "sessions:control@other-session": rule(OTHERS, kwargs=S2),
    "sessions:room": rule(STEER, kwargs=S),
    "sessions:adhoc": rule(STEER, method="POST", kwargs=S, data=lambda w: {}),
    "sessions:pack": rule(STEER, kwargs=S),
    "sessions:pack_pdf": rule(STEER, kwargs=S),
    "sessions:seat_qr": rule(STEER, kwargs=lambda w: {**S(w), "seat_id": w.seats["actor"].pk}),
    "sessions:seat_qr@other-session": rule(
        OTHERS, kwargs=lambda w: {**S2(w), "seat_id": w.other.seats.first().pk}),
    "sessions:seat_qr@seat-of-other-session": rule(
        set(), kwargs=lambda w: {**S(w), "seat_id": w.other.seats.first().pk}),
    "sessions:seat_invitation": rule(
        STEER, kwargs=lambda w: {**S(w), "seat_id": w.seats["actor"].pk}),
    "sessions:join": rule(ALL),
    # Seated people are sent on to their screen; only the code opens the seat list.
    "sessions:seats": rule(SEATED | {"outsider"}, kwargs=S),
    "sessions:lobby": rule(SEATED, kwargs=S),
    # The trainer (and an admin) may look at the participant screens of their session.
    "sessions:desk": rule(SEATED | STEER, kwargs=S),
    "sessions:desk@other-session": rule(OTHERS, kwargs=S2),
    "actors:tablet": rule(SEATED | STEER, kwargs=S),
    "sessions:leave": rule(ALL, method="POST", kwargs=S, redirects_deny=False),
    "sessions:attachment": rule(
        {"trainee_a", "observer"} | STEER,
        kwargs=lambda w: {**S(w), "attachment_id": str(w.attachment)}),
    "sessions:attachment@other-session": rule(
        OTHERS, kwargs=lambda w: {**S2(w), "attachment_id": str(w.attachment)}),
    "sessions:attachment_text": rule(
        {"trainee_a", "observer"} | STEER,
        kwargs=lambda w: {**S(w), "attachment_id": str(w.attachment)}),
    # "Show all" of a capped list. Live: the seats whose screen shows it, and whoever may
    # steer (no seat: the trainer's view); with `as` (the replay's perspective): whoever
    # may steer, as on the replay.
    "sessions:region_all": rule({"trainee_a", "trainee_b"} | STEER,
                                kwargs=lambda w: {**S(w), "region": "notes"}),
    "sessions:region_all@thread": rule(
        {"trainee_a", "trainee_b"} | STEER, kwargs=lambda w: {**S(w), "region": "threads"},
        query=lambda w: {"thread": "parquet|police"}),
    "sessions:region_all@thread-as-trainer": rule(
        STEER, kwargs=lambda w: {**S(w), "region": "threads"},
        query=lambda w: {"thread": "parquet|police", "as": "trainer"}),
    "sessions:region_all@replay-as-seat": rule(
        STEER, kwargs=lambda w: {**S(w), "region": "notes"},
        query=lambda w: {"as": f"seat:{w.seats['trainee_a'].pk}"}),
    "sessions:region_all@other-session": rule(
        OTHERS, kwargs=lambda w: {**S2(w), "region": "notes"}),
    "sessions:region_all@seat-of-other-session": rule(
        set(), kwargs=lambda w: {**S(w), "region": "notes"},
        query=lambda w: {"as": f"seat:{w.other.seats.first().pk}"}),
    "sessions:invite": rule(ALL, kwargs=lambda w: {"token": w.seats["actor"].invite_token}),
    "sessions:invite@stale": rule(set(), kwargs=lambda w: {"token": "x" * 43}),
    "sessions:replay": rule(STEER, kwargs=S),
    "sessions:replay@other-session": rule(OTHERS, kwargs=S2),
    "sessions:replay_frame": rule(STEER, kwargs=S),
    "sessions:report": rule(STEER, kwargs=S),
    "sessions:report@other-session": rule(OTHERS, kwargs=S2),
    "sessions:report_pdf": rule(STEER, kwargs=S),
    "sessions:report_rate": rule(STEER, method="POST", kwargs=S, data=lambda w: {}),
    "sessions:report_debrief": rule(STEER, method="POST", kwargs=S, data=lambda w: {}),
    "sessions:rate": rule({"observer"} | STEER, kwargs=S),
    # The hot-wash is the players' (whoever steers is sent on to the aggregate).
    "sessions:hotwash": rule({"trainee_a", "trainee_b", "actor"} | STEER, kwargs=S),
    "sessions:hotwash_results": rule(STEER, kwargs=S),
    "sessions:lessons": rule(TRAINERS, kwargs=lambda w: {"slug": w.version.scenario.slug}),
    "sessions:improvement_add": rule(STEER, method="POST", kwargs=S,
                                     data=lambda w: {"what": "Relire la PJ"}),
    "sessions:improvement_add@other-session": rule(OTHERS, method="POST", kwargs=S2,
                                                   data=lambda w: {"what": "x"}),
    "sessions:improvement_status": rule(
        TRAINERS, method="POST", kwargs=lambda w: {"item_id": w.improvement},
        data=lambda w: {"status": "doing"}),
    "sessions:fork": rule(STEER, method="POST", kwargs=S, data=lambda w: {"at_seq": "1"}),
    "sessions:fork@other-session": rule(OTHERS, method="POST", kwargs=S2,
                                        data=lambda w: {"at_seq": "1"}),
    "sessions:hotwash_results@other-session": rule(OTHERS, kwargs=S2),
    "sessions:export_json": rule(STEER, kwargs=S),
    "sessions:export_json@other-session": rule(OTHERS, kwargs=S2),
    "sessions:export_csv": rule(STEER, kwargs=S),
    "sessions:delete": rule(ADMIN, kwargs=S),
    "sessions:archive": rule(ADMIN),
    "sessions:audit": rule(ADMIN),
    "sessions:archive_retention": rule(ADMIN, method="POST", data=lambda w: {}),
    # An exercise of syndicates: only its own trainer drives it (not even a course admin,
    # who reviews it: the plenary and its exports); trainees reach it with its code.
    "sessions:exercise": rule(OWNER, kwargs=E),
    "sessions:exercise@other-exercise": rule({"other_trainer"}, kwargs=E2),
    "sessions:exercise_overview": rule(OWNER, kwargs=E),
    "sessions:exercise_command": rule(OWNER, method="POST", kwargs=E,
                                      data=lambda w: {"command": "pause"}),
    "sessions:exercise_command@other-exercise": rule(
        {"other_trainer"}, method="POST", kwargs=E2, data=lambda w: {"command": "pause"}),
    "sessions:exercise_place": rule(OWNER, method="POST", kwargs=E, data=lambda w: {}),
    "sessions:exercise_plenary": rule(OWNER | ADMIN, kwargs=E),
    "sessions:exercise_plenary@other-exercise": rule(OTHERS, kwargs=E2),
    "sessions:exercise_plenary_display": rule(OWNER | ADMIN, kwargs=E),
    "sessions:exercise_plenary_pdf": rule(OWNER | ADMIN, kwargs=E),
    "sessions:exercise_plenary_csv": rule(OWNER | ADMIN, kwargs=E),
    "sessions:exercise_plenary_csv@other-exercise": rule(OTHERS, kwargs=E2),
    # Only the exercise code opens it (the outsider entered the session's code, not it).
    "sessions:exercise_join": rule(set(), kwargs=E),
    "sessions:exercise_wait": rule(set(), kwargs=E),
}

# Django's admin has its own, tested permission system; it is probed as a whole.
EXEMPT_PREFIXES = ("admin/",)


def url_names() -> set[str]:
    names: set[str] = set()

    def walk(patterns, prefix="", namespace=""):
        for p in patterns:
            if isinstance(p, URLResolver):
                if str(p.pattern).startswith(EXEMPT_PREFIXES):
                    continue
                ns = namespace + (f"{p.namespace}:" if p.namespace else "")
                walk(p.url_patterns, prefix + str(p.pattern), ns)
            elif isinstance(p, URLPattern):
                assert p.name, f"unnamed URL pattern {prefix}{p.pattern}"
                names.add(namespace + p.name)

    walk(get_resolver().url_patterns)
    return names


def test_every_url_is_in_the_matrix():
    covered = {key.split("@")[0] for key in URLS}
    assert url_names() - covered == set(), "add these URLs to the permission matrix"
    assert covered - url_names() == set(), "these matrix entries name no URL"


@pytest.mark.parametrize("key", sorted(URLS))
def test_url_permissions(world, key):
    entry = URLS[key]
    url = reverse(key.split("@")[0], kwargs=entry.kwargs(world) if entry.kwargs else None)
    wrong = []
    for persona in PERSONAS:
        client = client_for(persona, world)
        if entry.method == "POST":
            response = client.post(url, entry.data(world) if entry.data else {})
        else:
            response = client.get(url, entry.query(world) if entry.query else None)
        assert response.status_code < 500, (persona, url, response.status_code)
        if denied(response, redirects_deny=entry.redirects_deny) == (persona in entry.allowed):
            wrong.append(f"{persona}: {response.status_code} {response.get('Location', '')}")
    assert not wrong, f"{key} {url}: " + "; ".join(wrong)


def test_admin_is_for_course_admins_only(world):
    for persona in PERSONAS:
        response = client_for(persona, world).get("/admin/")
        allowed = persona == "course_admin"
        assert (response.status_code == 200) == allowed, (persona, response.status_code)


# --- WebSocket commands ---------------------------------------------------------------------

SOCKET_PERSONAS = ("trainer", "trainee_a", "actor", "observer", "other_trainer", "freed")
SEAT_CMDS = {"trainee_a", "actor", "observer"}
# Who gets past the permission checks for each command (other refusals — unknown
# inject, already answered … — are about the arguments, not the persona).
COMMANDS: dict[str, set[str]] = {
    "decision.answer": SEAT_CMDS,
    "action.take": SEAT_CMDS,
    "message.send": {"trainee_a", "actor"},  # observers act on nothing
    "cue.done": SEAT_CMDS,
    "safety.stop": SEAT_CMDS,
    "item.open": SEAT_CMDS,
    "note.private": SEAT_CMDS,
    "request.send": SEAT_CMDS,  # the engine then refuses a role that may not send it
    "request.decide": SEAT_CMDS,
    "session.start": {"trainer"},
    "session.pause": {"trainer"},
    "session.resume": {"trainer"},
    "session.end": {"trainer"},
    "clock.speed": {"trainer"},
    "clock.jump": {"trainer"},
    "inject.fire": {"trainer"},
    "inject.skip": {"trainer"},
    "inject.adhoc": {"trainer"},
    "decision.reopen": {"trainer"},
    "thread.write": {"trainer"},
    "note.add": {"trainer"},
    "seat.free": {"trainer"},
    "seat.assign": {"trainer"},
    "lobby.dismiss": {"trainer"},
    "lobby.clear": {"trainer"},
    "objective.rate": {"trainer", "observer"},
    "debrief.add": {"trainer"},
    "annotation.add": {"trainer", "observer"},
}
# Harmless arguments: refusals for arguments are fine, what matters is "forbidden".
ARGS = {
    "decision.answer": {"inject": "nope", "option": "x"},
    "action.take": {"action": "nope"},
    "message.send": {"to": "parquet", "text": "bonjour"},
    "cue.done": {"inject": "nope"},
    "safety.stop": {},
    "item.open": {"item": 999999},
    "note.private": {"text": "note"},
    "request.send": {"request": "nope", "reason": "x"},
    "request.decide": {"request": "nope", "outcome": "approved", "reason": "x"},
    "clock.speed": {"speed": 1},
    "clock.jump": {"phase": "nope"},
    "inject.fire": {"inject": "nope"},
    "inject.skip": {"inject": "nope"},
    "inject.adhoc": {"title": "x", "roles": ["nope"]},
    "decision.reopen": {"inject": "nope", "role": "police"},
    "thread.write": {"from": "police", "to": "parquet", "text": "x"},
    "note.add": {"text": "x"},
    "seat.free": {"seat": 999999},
    "seat.assign": {"seat": 999999, "entry": 999999},
    "lobby.dismiss": {"entry": 999999},
    "lobby.clear": {},
    "objective.rate": {"objective": "nope", "level": 2},
    "debrief.add": {"kind": "plus", "text": "x"},
    "annotation.add": {"tag": "nope", "text": "x"},
}
DENIED = {"forbidden", "seat-lost"}


def test_every_socket_command_is_in_the_matrix():
    assert set(protocol.COMMANDS) == set(COMMANDS)
    assert set(ARGS) | {"session.start", "session.pause", "session.resume", "session.end"} \
        == set(COMMANDS)


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
@pytest.mark.parametrize("persona", SOCKET_PERSONAS)
async def test_socket_command_permissions(persona, groups, live_version, wall, monkeypatch):
    from sessions import consumers

    monkeypatch.setattr(consumers, "RATE_CAPACITY", 1000)
    w = await database_sync_to_async(_world_for_sockets)(groups, live_version)
    headers = [(b"host", b"localhost"), (b"origin", b"http://localhost")]
    if persona in w.users:
        client = await database_sync_to_async(Client)()
        await database_sync_to_async(client.force_login)(w.users[persona])
        headers.append((b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode()))
    else:
        cookie = f"{pass_cookie_name(w.session.pk)}={sign_pass(w.session.pk, w.keys[persona])}"
        headers.append((b"cookie", cookie.encode()))
    comm = WebsocketCommunicator(application, f"/ws/sessions/{w.session.pk}/", headers=headers)
    connected, _ = await comm.connect()
    assert connected
    try:
        wrong = await _try_every_command(comm, persona)
    finally:
        await comm.disconnect()  # a failed check must not leave the consumer running
    assert not wrong, f"{persona}: " + "; ".join(wrong)


async def _try_every_command(comm, persona) -> list[str]:
    """Each command once, as `persona`: the ones whose refusal is not the matrix's."""
    first = await comm.receive_output(timeout=10)  # the first screen; a busy machine is slow
    if first["type"] == "websocket.close":
        assert persona in ("other_trainer", "freed")  # refused at the door: 4403 / 4401
        assert all(persona not in allowed for allowed in COMMANDS.values())
        return []
    wrong = []
    # Read-only and harmless first; the clock commands last (end stops everything).
    order = [c for c in COMMANDS if not c.startswith("session.")] + [
        "session.start", "session.pause", "session.resume", "session.end"]
    for cmd in order:
        while not await comm.receive_nothing(timeout=0.05):
            await comm.receive_output()
        await comm.send_to(text_data=json.dumps({"cmd": cmd, **ARGS.get(cmd, {})}))
        code = await _answer(comm)
        refused = code in DENIED
        if refused == (persona in COMMANDS[cmd]):
            wrong.append(f"{cmd}: {code or 'accepted'}")
    return wrong


async def _answer(comm) -> str | None:
    """The error code the command earned, or None if it was accepted.

    A socket handles its frames in order: a ping sent after the command is answered
    after it, so whatever the command earned arrives before the pong, however slow
    the machine.
    """
    await comm.send_to(text_data=json.dumps({"cmd": "ping"}))
    code = None
    while True:
        output = await comm.receive_output(timeout=10)
        text = output.get("text", "") or ""
        if text.startswith("<!--error:") and code is None:
            code = text[len("<!--error:"):].split("-->")[0]
        if text == "<!--pong-->" or output["type"] == "websocket.close":
            return code


def _world_for_sockets(groups, version) -> World:
    users = {"trainer": UserFactory(username="ws-main"),
             "other_trainer": UserFactory(username="ws-other")}
    for user in users.values():
        user.groups.add(groups["trainer"])
    session = engine.session_create(version=version, trainer=users["trainer"], title="WS")
    keys = {}
    for persona, role in (("trainee_a", "police"), ("actor", "joy"), ("observer", "obs"),
                          ("freed", "parquet")):
        seat = Seat.objects.get(session=session, role__ident=role)
        keys[persona] = f"ws-{persona}"
        engine.seat_claim(session_id=session.pk, seat_id=seat.pk, name=persona,
                          pass_key=keys[persona])
    boss = engine.TrainerPrincipal(user_id=users["trainer"].pk)
    engine.seat_free(session_id=session.pk, principal=boss,
                     seat_id=Seat.objects.get(session=session, role__ident="parquet").pk)
    engine.session_start(session_id=session.pk, principal=boss)
    assert Event.objects.filter(session=session).exists()
    return World(session=session, other=None, version=version, attachment=0,
                 foreign_attachment=0, seats={}, keys=keys, users=users)
