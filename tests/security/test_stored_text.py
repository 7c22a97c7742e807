"""No stored value breaks a screen, a socket or an export (lone surrogates, NUL).

The probe: a seated trainee sent `message.send` with "hello \\ud800"; it was stored, and
from then on the sender's and the recipient's desks and the control room answered 500,
their sockets closed with 1011 on every reconnect, and the replay, export.json and
events.csv failed. Frames are now refused (tests/sessions/test_consumers.py); here a
value stored before that check — written straight into the table, as an old database
holds it — must still be shown (as U+FFFD) everywhere. SQLite keeps such JSON as
written; PostgreSQL refuses it at write (jsonb), so there is nothing to show there.
"""

from __future__ import annotations

import json

import pytest
from channels.db import database_sync_to_async
from django.db import connection
from django.test import Client
from django.urls import reverse

from sessions import engine
from sessions.access import pass_cookie_name, sign_pass
from sessions.models import Event, Seat
from tests.sessions.test_consumers import connect, drain, pass_cookie, trainer_cookie

pytestmark = [pytest.mark.django_db(transaction=True)]

BROKEN = "hello \\ud800 and \\udfff"  # as JSON escapes: what the frame carried


def store_raw(event: Event, payload_json: str) -> None:
    """Write a payload's JSON text as is, past every check (an old row)."""
    table = connection.ops.quote_name(Event._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET payload = %s WHERE id = %s",  # noqa: S608
                       [payload_json, event.pk])


@pytest.fixture
def broken(session, boss, seated):
    if connection.vendor != "sqlite":
        pytest.skip("PostgreSQL's jsonb refuses lone surrogates at write: none can be stored")
    engine.session_start(session_id=session.pk, principal=boss)
    sent = engine.message_send(session_id=session.pk, principal=seated["police"],
                               to_role="parquet", text="placeholder")
    note = engine.note_private(session_id=session.pk, principal=seated["police"],
                               text="placeholder")
    for event in (sent, note):
        raw = json.dumps(event.payload).replace('"placeholder"', f'"{BROKEN}"')
        raw = raw.replace('"name": "police"', '"name": "Nina \\ud800"')
        store_raw(event, raw)
    engine.safety_stop(session_id=session.pk, principal=seated["parquet"], note="ok")
    return session


def seat_client(session, key: str) -> Client:
    client = Client()
    client.cookies[pass_cookie_name(session.pk)] = sign_pass(session.pk, key)
    return client


def test_the_screens_and_exports_show_it_as_a_replacement_character(broken, seated, trainer):
    session = broken
    trainer_client = Client()
    trainer_client.force_login(trainer)
    pages = {
        "police desk": seat_client(session, seated["police"].pass_key).get(
            reverse("sessions:desk", args=[session.pk])),
        "parquet desk": seat_client(session, seated["parquet"].pass_key).get(
            reverse("sessions:desk", args=[session.pk])),
        "control room": trainer_client.get(reverse("sessions:control", args=[session.pk])),
        "replay": trainer_client.get(reverse("sessions:replay", args=[session.pk])),
        "replay frame": trainer_client.get(reverse("sessions:replay_frame", args=[session.pk]),
                                           {"t": 10**9, "as": "trainer"}),
        "report": trainer_client.get(reverse("sessions:report", args=[session.pk])),
        "export.json": trainer_client.get(reverse("sessions:export_json", args=[session.pk])),
        "events.csv": trainer_client.get(reverse("sessions:export_csv", args=[session.pk])),
    }
    failed = {name: r.status_code for name, r in pages.items() if r.status_code != 200}
    assert not failed
    for name in ("parquet desk", "control room", "events.csv"):
        assert "hello \ufffd and \ufffd" in pages[name].content.decode("utf-8"), name
    exported = json.loads(pages["export.json"].content)
    texts = [e["payload"].get("text") for e in exported["events"]]
    assert "hello \ufffd and \ufffd" in texts


@pytest.mark.asyncio
async def test_the_sockets_stay_open_and_stream_it(broken, seated, trainer):
    session = broken
    cookies = {
        "police": pass_cookie(session.pk, seated["police"].pass_key),
        "parquet": pass_cookie(session.pk, seated["parquet"].pass_key),
        "trainer": await database_sync_to_async(trainer_cookie)(trainer),
    }
    for who, cookie in cookies.items():
        comm, connected, _ = await connect(session.pk, cookie)
        assert connected, who
        frames = [await comm.receive_from(timeout=10)]  # the catch-up, however busy the box
        frames += await drain(comm, quiet=1.0)
        assert frames and not any(f.startswith("<!--error") for f in frames), who
        if who != "police":
            assert any("hello \ufffd and \ufffd" in f for f in frames), who
        await comm.send_to(text_data=json.dumps({"cmd": "ping"}))
        assert await comm.receive_from(timeout=2) == "<!--pong-->", who  # not closed (1011)
        await comm.disconnect()


def test_a_form_post_of_broken_utf8_is_stored_repaired(client, session):
    """Forms: Django decodes form bytes with replacement, so no surrogate gets through."""
    client.post(reverse("sessions:join"), {"code": session.code})
    seat = Seat.objects.get(session=session, role__ident="police")
    response = client.post(reverse("sessions:seats", args=[session.pk]),
                           data=f"name=Nina%ED%A0%80&seat={seat.pk}",
                           content_type="application/x-www-form-urlencoded")
    assert response.status_code == 302
    seat.refresh_from_db()
    assert seat.holder_name == "Nina\ufffd\ufffd\ufffd"
    assert client.get(response.url).status_code == 200


def test_the_engine_refuses_it_from_any_caller(session, boss, seated):
    engine.session_start(session_id=session.pk, principal=boss)
    with pytest.raises(engine.EngineError) as refused:
        engine.message_send(session_id=session.pk, principal=seated["police"],
                            to_role="parquet", text="hello \ud800")
    assert refused.value.code == "bad-text"
    with pytest.raises(engine.EngineError):
        engine.note_add(session_id=session.pk, principal=boss, text="a\x00b")
    assert not Event.objects.filter(session=session, kind__in=["message.sent", "note.added"])
