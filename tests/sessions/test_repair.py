"""`manage.py repair_text` (sessions.repair): stored invalid text is rewritten for good."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command
from django.db import connection

from sessions import engine
from sessions.models import AuditEntry, Event, Session
from tests.security.test_stored_text import store_raw

pytestmark = pytest.mark.django_db


def raw_payload(event: Event) -> str:
    table = connection.ops.quote_name(Event._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT CAST(payload AS TEXT) FROM {table} WHERE id = %s",  # noqa: S608
                       [event.pk])
        return cursor.fetchone()[0]


@pytest.fixture
def stored(session, boss, seated):
    if connection.vendor != "sqlite":
        pytest.skip("PostgreSQL's jsonb refuses lone surrogates at write: none can be stored")
    engine.session_start(session_id=session.pk, principal=boss)
    event = engine.message_send(session_id=session.pk, principal=seated["police"],
                                to_role="parquet", text="placeholder")
    store_raw(event, json.dumps({**event.payload, "text": "x"})
              .replace('"x"', '"hello \\ud800, bye\\u0000 \\ud83d\\ude00"'))
    fine = engine.note_add(session_id=session.pk, principal=boss, text="Tout va bien 😀")
    return event, fine


def run(*args) -> str:
    out = io.StringIO()
    call_command("repair_text", *args, stdout=out)
    return out.getvalue()


def test_a_dry_run_lists_and_changes_nothing(stored, session):
    event, _ = stored
    before = raw_payload(event)
    output = run("--dry-run")
    assert f"session {session.pk}: events {event.seq}" in output
    assert "1 row(s) would repair" in output
    assert raw_payload(event) == before
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.SESSION_TEXT_REPAIRED)


def test_repair_rewrites_the_row_audits_it_and_bumps_the_revision(stored, session):
    event, fine = stored
    fine_before = raw_payload(fine)
    revision = Session.objects.get(pk=session.pk).log_revision
    assert "1 row(s) repaired" in run()
    stored_now = json.loads(raw_payload(event))
    assert stored_now["text"] == "hello \ufffd, bye 😀"  # the valid pair is kept
    assert raw_payload(fine) == fine_before  # valid text, emoji included, is untouched
    line = AuditEntry.objects.get(action=AuditEntry.Action.SESSION_TEXT_REPAIRED)
    assert line.target_id == str(session.pk) and line.details == {"events": [event.seq]}
    assert line.actor == "repair_text"
    assert Session.objects.get(pk=session.pk).log_revision == revision + 1
    assert "0 row(s) repaired" in run()  # a second run finds nothing


def test_the_audit_trail_is_repaired_too(stored):
    entry = AuditEntry.objects.create(actor="x", action=AuditEntry.Action.SEAT_FREED,
                                      target_type="session", target_id="1", details={})
    table = connection.ops.quote_name(AuditEntry._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET details = %s WHERE id = %s",  # noqa: S608
                       ['{"previous": "Nina \\udc00"}', entry.pk])
    run()
    entry.refresh_from_db()
    assert entry.details == {"previous": "Nina \ufffd"}
    assert AuditEntry.objects.filter(action=AuditEntry.Action.SESSION_TEXT_REPAIRED,
                                     target_type="audit").exists()
