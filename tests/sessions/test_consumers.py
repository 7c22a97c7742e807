"""The WebSocket consumer over the real ASGI stack: auth, resume, filtering, bad frames."""

from __future__ import annotations

import asyncio
import json
import re

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from sessions import engine
from sessions.access import pass_cookie_name, sign_pass
from sessions.consumers import CLOSE_FORBIDDEN, CLOSE_NOT_FOUND, CLOSE_UNAUTHENTICATED
from sessions.models import Event, Seat
from simtrain.asgi import application

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

SEQ = re.compile(r"^<!--seq:(\d+)-->")
ERROR = re.compile(r"^<!--error:([a-z-]+)-->")


def pass_cookie(session_id: int, key: str) -> str:
    return f"{pass_cookie_name(session_id)}={sign_pass(session_id, key)}"


def trainer_cookie(user) -> str:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}"


async def connect(session_id: int, cookie: str = "", after: int = 0, origin="http://localhost"):
    headers = [(b"host", b"localhost")] + ([(b"origin", origin.encode())] if origin else [])
    if cookie:
        headers.append((b"cookie", cookie.encode()))
    comm = WebsocketCommunicator(
        application, f"/ws/sessions/{session_id}/?after={after}", headers=headers
    )
    connected, code = await comm.connect()
    return comm, connected, code


async def drain(comm, quiet=0.4) -> list[str]:
    """Every frame until the socket stays quiet (a receive timeout would kill the app)."""
    frames = []
    while not await comm.receive_nothing(timeout=quiet):
        frames.append(await comm.receive_from())
    return frames


def seqs(frames) -> list[int]:
    return [int(m.group(1)) for f in frames if (m := SEQ.match(f))]


def errors(frames) -> list[str]:
    return [m.group(1) for f in frames if (m := ERROR.match(f))]


async def closed_with(comm) -> int:
    output = await comm.receive_output(timeout=2)
    while output["type"] != "websocket.close":
        output = await comm.receive_output(timeout=2)
    return output.get("code")


@database_sync_to_async
def visible_seqs(session, perspective) -> list[int]:
    return [
        e.seq
        for e in Event.objects.filter(session=session).order_by("seq")
        if perspective.sees_event(e)
    ]


@database_sync_to_async
def call(fn, **kwargs):
    return fn(**kwargs)


@pytest.fixture
def keys(seated):
    return {role: p.pass_key for role, p in seated.items()}


async def test_anonymous_socket_is_closed_with_4401(session):
    comm, connected, _ = await connect(session.pk)
    assert connected  # accepted, then closed: the browser must not retry
    assert await closed_with(comm) == CLOSE_UNAUTHENTICATED


async def test_unknown_session_is_closed_with_4404(session, keys):
    comm, _, _ = await connect(session.pk + 999, pass_cookie(session.pk + 999, keys["police"]))
    assert await closed_with(comm) == CLOSE_NOT_FOUND


async def test_forged_pass_cookie_is_refused(session, keys):
    cookie = f"{pass_cookie_name(session.pk)}={keys['police']}:forged"
    comm, _, _ = await connect(session.pk, cookie)
    assert await closed_with(comm) == CLOSE_UNAUTHENTICATED


async def test_other_trainer_is_closed_with_4403(session, groups):
    from tests.factories import UserFactory

    other = await database_sync_to_async(UserFactory)(username="other-trainer")
    cookie = await database_sync_to_async(trainer_cookie)(other)
    comm, _, _ = await connect(session.pk, cookie)
    assert await closed_with(comm) == CLOSE_FORBIDDEN


async def test_evil_or_missing_origin_is_rejected(session, keys):
    for origin in ("http://evil.example", ""):
        comm, connected, _ = await connect(session.pk, pass_cookie(session.pk, keys["police"]),
                                           origin=origin)
        assert not connected


async def test_each_role_receives_exactly_its_audience(session, boss, seated, keys, wall, trainer):
    await call(engine.session_start, session_id=session.pk, principal=boss)
    wall.advance(200)
    await call(engine.scheduler_tick, session_id=session.pk)
    await call(engine.safety_stop, session_id=session.pk, principal=seated["joy"])
    comms = {}
    for role in ("police", "parquet", "joy", "obs"):
        comms[role], _, _ = await connect(session.pk, pass_cookie(session.pk, keys[role]))
    comms["trainer"], _, _ = await connect(session.pk, await database_sync_to_async(
        trainer_cookie)(trainer))
    for role, comm in comms.items():
        got = seqs(await drain(comm))
        get_seat = database_sync_to_async(Seat.objects.select_related("role").get)
        seat = None if role == "trainer" else await get_seat(pk=seated[role].seat_id)
        from sessions.audience import Perspective

        perspective = Perspective.trainer() if seat is None else Perspective.for_seat(seat)
        expected = await visible_seqs(session, perspective)
        # Connecting appends presence events (trainer-only), so compare what was sent.
        assert [s for s in got if s in expected] == got, role
        assert set(expected) <= set(got), role
        await comm.disconnect()


async def test_secret_content_never_reaches_another_role(session, boss, seated, keys, wall):
    await call(engine.session_start, session_id=session.pk, principal=boss)
    wall.advance(31)
    await call(engine.scheduler_tick, session_id=session.pk)  # cue1 → joy only
    police, _, _ = await connect(session.pk, pass_cookie(session.pk, keys["police"]))
    text = "".join(await drain(police))
    assert "I am 19" not in text and 'data-inject="cue1"' not in text
    await police.disconnect()


async def test_resume_after_sends_only_later_events_in_order(session, boss, seated, keys, wall):
    await call(engine.session_start, session_id=session.pk, principal=boss)
    comm, _, _ = await connect(session.pk, pass_cookie(session.pk, keys["police"]))
    first = seqs(await drain(comm))
    await comm.disconnect()
    wall.advance(61)
    await call(engine.scheduler_tick, session_id=session.pk)
    await call(engine.message_send, session_id=session.pk, principal=seated["parquet"],
               to_role="police", text="Rappel")
    comm, _, _ = await connect(session.pk, pass_cookie(session.pk, keys["police"]),
                               after=first[-1])
    later = seqs(await drain(comm))
    assert later and min(later) > first[-1]
    assert later == sorted(later) and len(later) == len(set(later))
    await comm.disconnect()


async def test_live_events_arrive_through_the_doorbell(session, boss, seated, keys):
    await call(engine.session_start, session_id=session.pk, principal=boss)
    comm, _, _ = await connect(session.pk, pass_cookie(session.pk, keys["police"]))
    await drain(comm)
    await call(engine.message_send, session_id=session.pk, principal=seated["parquet"],
               to_role="police", text="En direct")
    frame = await comm.receive_from(timeout=1.5)  # well before the periodic flush
    assert "En direct" in frame
    await comm.disconnect()


async def test_commands_over_the_socket(session, boss, seated, keys, trainer):
    cookie = await database_sync_to_async(trainer_cookie)(trainer)
    boss_comm, _, _ = await connect(session.pk, cookie)
    await boss_comm.send_to(text_data=json.dumps({"cmd": "session.start", "HEADERS": {}}))
    police, _, _ = await connect(session.pk, pass_cookie(session.pk, keys["police"]))
    await police.send_to(text_data=json.dumps(
        {"cmd": "message.send", "to": "parquet", "text": "Signalement"}))
    await asyncio.sleep(0.3)
    kinds = await database_sync_to_async(
        lambda: list(Event.objects.filter(session=session).values_list("kind", flat=True)))()
    assert "clock.started" in kinds and "message.sent" in kinds
    await boss_comm.disconnect()
    await police.disconnect()


@pytest.mark.parametrize(
    "payload, code",
    [
        ("not json", "bad-json"),
        ("[1, 2]", "bad-frame"),
        (json.dumps({"cmd": "launch.missiles"}), "unknown-command"),
        (json.dumps({"cmd": "session.start"}), "forbidden"),
        (json.dumps({"cmd": "message.send", "to": "parquet"}), "missing-field"),
        (json.dumps({"cmd": "message.send", "to": ["x"], "text": "y"}), "bad-field"),
        (json.dumps({"cmd": "message.send", "to": "nobody", "text": "y"}), "unknown-role"),
        (json.dumps({"cmd": "decision.answer", "inject": "cue1", "option": "x"}),
         "unknown-inject"),
        (json.dumps({"cmd": "ping", "x": [[[[[[[[[[[[1]]]]]]]]]]]]}), "too-deep"),
        ("x" * (64 * 1024 + 1), "too-large"),
        ("[" * 100000, "too-large"),
        # A lone UTF-16 surrogate, once stored, broke every screen that showed it.
        ('{"cmd": "message.send", "to": "parquet", "text": "hello \\ud800"}', "bad-text"),
        ('{"cmd": "note.private", "text": "\\udfff"}', "bad-text"),
        ('{"cmd": "message.send", "to": "parquet", "text": "a\\u0000b"}', "bad-text"),
        ('{"cmd": "message.send", "to": "parquet", "text": "ok", "\\ud800": 1}', "bad-text"),
        # NaN / Infinity are not JSON; they closed the socket with 1011.
        ('{"cmd": "item.open", "item": Infinity}', "bad-number"),
        ('{"cmd": "item.open", "item": NaN}', "bad-number"),
        ('{"cmd": "item.open", "item": -Infinity}', "bad-number"),
        ('{"cmd": "item.open", "item": 1e999}', "bad-number"),
        (json.dumps({"cmd": "item.open", "item": "inf"}), "bad-field"),
        (json.dumps({"cmd": "item.open", "item": 1e300}), "unknown-item"),
    ],
)
async def test_bad_frames_get_an_error_frame_and_change_nothing(
    session, boss, seated, keys, payload, code
):
    await call(engine.session_start, session_id=session.pk, principal=boss)
    comm, _, _ = await connect(session.pk, pass_cookie(session.pk, keys["police"]))
    await drain(comm)
    before = await database_sync_to_async(
        lambda: Event.objects.filter(session=session)
        .exclude(kind__startswith="presence")
        .count()
    )()
    await comm.send_to(text_data=payload)
    frames = await drain(comm)
    assert errors(frames) == [code]
    after = await database_sync_to_async(
        lambda: Event.objects.filter(session=session)
        .exclude(kind__startswith="presence")
        .count()
    )()
    assert after == before
    await comm.send_to(text_data=json.dumps({"cmd": "ping"}))  # still alive
    assert await comm.receive_from(timeout=1) == "<!--pong-->"
    await comm.disconnect()


async def test_binary_frames_are_refused(session, keys):
    comm, _, _ = await connect(session.pk, pass_cookie(session.pk, keys["police"]))
    await drain(comm)
    await comm.send_to(bytes_data=b"\x00\x01")
    assert errors(await drain(comm)) == ["binary"]
    await comm.disconnect()


async def test_floods_are_rate_limited(session, keys):
    comm, _, _ = await connect(session.pk, pass_cookie(session.pk, keys["police"]))
    await drain(comm)
    for _ in range(60):
        await comm.send_to(text_data=json.dumps({"cmd": "ping"}))
    frames = await drain(comm)
    assert "rate-limited" in errors(frames)
    assert frames.count("<!--pong-->") < 60
    await comm.disconnect()


async def test_a_steady_pace_is_not_refused_for_the_servers_own_backlog(session, keys,
                                                                         monkeypatch):
    """Tokens are taken as frames arrive: five pings at 3 a second, queued behind a
    command that keeps the consumer busy for 1.5 s, all pass a 2-burst, 4-a-second budget
    (taken when the consumer got to them, three were refused)."""
    from sessions import consumers

    monkeypatch.setattr(consumers, "RATE_CAPACITY", 2)
    monkeypatch.setattr(consumers, "RATE_PER_S", 4.0)

    async def slow_engine(self, service, **kwargs):  # a command waiting for the database
        await asyncio.sleep(1.5)

    monkeypatch.setattr(consumers.SessionConsumer, "_engine", slow_engine)
    comm, _, _ = await connect(session.pk, pass_cookie(session.pk, keys["police"]))
    await drain(comm)
    await comm.send_to(text_data=json.dumps({"cmd": "message.send", "to": "parquet",
                                             "text": "Appel reçu"}))
    for _ in range(5):
        await asyncio.sleep(0.3)
        await comm.send_to(text_data=json.dumps({"cmd": "ping"}))
    frames = [await comm.receive_from(timeout=5) for _ in range(5)]
    assert frames == ["<!--pong-->"] * 5
    await comm.disconnect()


async def test_an_idle_socket_holds_no_task_beyond_its_own(session, keys):
    """What 5,000 idle sockets cost is per socket: one more screen adds its application's
    task and nothing else (a reader, Channels' `asyncio.wait`, a queue: ~6 KiB each)."""
    police, _, _ = await connect(session.pk, pass_cookie(session.pk, keys["police"]))
    await drain(police)
    before = len(asyncio.all_tasks())
    parquet, _, _ = await connect(session.pk, pass_cookie(session.pk, keys["parquet"]))
    await drain(parquet)
    assert len(asyncio.all_tasks()) == before + 1
    await parquet.send_to(text_data=json.dumps({"cmd": "ping"}))  # and it still listens
    assert await parquet.receive_from() == "<!--pong-->"
    await police.disconnect()
    await parquet.disconnect()


async def test_freeing_the_seat_closes_the_old_holders_socket(session, boss, seated, keys):
    comm, _, _ = await connect(session.pk, pass_cookie(session.pk, keys["police"]))
    await drain(comm)
    await call(engine.seat_free, session_id=session.pk, principal=boss,
               seat_id=seated["police"].seat_id)
    assert await closed_with(comm) == CLOSE_FORBIDDEN
    comm, _, _ = await connect(session.pk, pass_cookie(session.pk, keys["police"]))
    assert await closed_with(comm) == CLOSE_UNAUTHENTICATED


async def test_cursor_ahead_of_the_log_asks_for_a_reload(session, keys):
    comm, _, _ = await connect(session.pk, pass_cookie(session.pk, keys["police"]), after=10_000)
    frames = await drain(comm)
    assert "<!--reload-->" in frames
    await comm.disconnect()
