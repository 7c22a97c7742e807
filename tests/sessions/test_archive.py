"""The course archive: listing and filtering, retention (pseudonymisation), deletion, audit."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta

import pytest
from django.conf import settings
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone, translation

from sessions import engine, replay, report, retention
from sessions.audience import Perspective
from sessions.models import AuditEntry, Event, LobbyEntry, ReplaySnapshot, Seat, Session
from tests.factories import ScenarioVersionFactory, UserFactory
from tests.live_server import database_url
from tests.sessions.review_helpers import (  # noqa: F401 - fresh_caches is a fixture
    add_objective,
    fresh_caches,
    play_script,
    seat_everyone,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def played(session, boss, wall, live_version):
    add_objective(live_version, "obj", "Repérer la minorité")
    play_script(session, boss, seat_everyone(session), wall)
    session.refresh_from_db()
    return session


def _age(session: Session, days: int) -> None:
    ended = timezone.now() - timedelta(days=days)
    Session.objects.filter(pk=session.pk).update(ended_at=ended, created_at=ended)


# --- The list ------------------------------------------------------------------------------------


def test_archive_is_for_course_admins(trainer_client, played):
    from django.test import Client

    url = reverse("sessions:archive")
    assert Client().get(url).status_code == 302
    assert trainer_client.get(url).status_code == 403


def test_archive_lists_and_filters(admin_client_, played, trainer, groups):
    other_trainer = UserFactory(username="marc", first_name="Marc", last_name="Dupont")
    other_trainer.groups.add(groups["trainer"])
    other = engine.session_create(version=ScenarioVersionFactory(), trainer=other_trainer,
                                  title="Autre promo", cohort="P27")
    _age(other, 40)
    url = reverse("sessions:archive")
    page = admin_client_.get(url).content.decode()
    assert f'data-session="{played.pk}"' in page and f'data-session="{other.pk}"' in page

    def listed(**query) -> set[int]:
        html = admin_client_.get(url, query).content.decode()
        return {s.pk for s in (played, other) if f'data-session="{s.pk}"' in html}

    assert listed(trainer="marc") == {other.pk}
    assert listed(cohort="P27") == {other.pk}
    assert listed(scenario=played.version.scenario.slug) == {played.pk}
    assert listed(state="ended") == {played.pk}
    assert listed(q="autre") == {other.pk}
    assert listed(q=played.code) == {played.pk}
    today = timezone.localdate()
    assert listed(since=str(today - timedelta(days=1))) == {played.pk}
    assert listed(until=str(today - timedelta(days=30))) == {other.pk}
    assert listed(since="not a date") == {played.pk, other.pk}


# --- Retention -----------------------------------------------------------------------------------


def test_pseudonymisation_replaces_names_keeps_what_was_said(played, trainer):
    before_text = [e.payload.get("text") for e in Event.objects.filter(session=played)
                   .order_by("seq")]
    replaced = engine.session_pseudonymise(session_id=played.pk, user=trainer)
    assert replaced == 4  # police, parquet, joy, obs
    names = {s.holder_name for s in Seat.objects.filter(session=played)}
    assert names == {"Participant 1", "Participant 2", "Participant 3", "Participant 4"}
    for event in Event.objects.filter(session=played):
        if "seat" in event.payload:
            assert event.payload["name"].startswith("Participant "), event.kind
    # Stable: the police officer is the same participant everywhere in the log.
    police = Seat.objects.get(session=played, role__ident="police")
    assert {e.payload["name"] for e in Event.objects.filter(session=played)
            if e.payload.get("seat") == police.pk} == {police.holder_name}
    after_text = [e.payload.get("text") for e in Event.objects.filter(session=played)
                  .order_by("seq")]
    assert after_text == before_text  # what was said is kept
    note = Event.objects.get(session=played, kind="note.added")
    assert note.payload["name"] == "Formatrice"  # trainers keep their names
    entry = AuditEntry.objects.get(action="session.pseudonymised", target_id=str(played.pk))
    assert entry.details["names"] == 4 and entry.user == trainer
    # A second run changes nothing.
    assert engine.session_pseudonymise(session_id=played.pk, user=trainer) == 0


def test_pseudonymisation_reaches_the_names_people_wrote(session, boss, seated, trainer):
    """As far as the names are known: whole display names, and each of their words."""
    police = Seat.objects.get(pk=seated["police"].seat_id)
    engine.seat_claim(session_id=session.pk, seat_id=police.pk, name="Nina Diallo",
                      pass_key=seated["police"].pass_key)
    parquet = Seat.objects.get(pk=seated["parquet"].seat_id)
    engine.seat_claim(session_id=session.pk, seat_id=parquet.pk, name="Marc Le Gall",
                      pass_key=seated["parquet"].pass_key)
    engine.session_start(session_id=session.pk, principal=boss)
    engine.message_send(session_id=session.pk, principal=seated["parquet"], to_role="police",
                        text="Nina, rappelez-moi. NINA DIALLO doit signer ; M. Gall attend.")
    engine.note_add(session_id=session.pk, principal=boss, text="Nina Diallo a bien réagi.")
    engine.note_private(session_id=session.pk, principal=seated["police"],
                        text="La police appelle le parquet (Marc).")
    engine.session_pseudonymise(session_id=session.pk, user=trainer)
    police.refresh_from_db()
    parquet.refresh_from_db()
    nina, marc = police.holder_name, parquet.holder_name
    texts = {e.kind: e.payload["text"] for e in Event.objects.filter(
        session=session, kind__in=["message.sent", "note.added", "note.private"])}
    assert texts["message.sent"] == f"{nina}, rappelez-moi. {nina} doit signer ; M. {marc} attend."
    assert texts["note.added"] == f"{nina} a bien réagi."
    # Roles are not names, even where a participant is called after one ("police").
    assert texts["note.private"] == f"La police appelle le parquet ({marc})."
    assert not any("Nina" in str(e.payload) or "Diallo" in str(e.payload)
                   for e in Event.objects.filter(session=session))


@pytest.mark.django_db(transaction=True)
def test_after_retention_in_another_process_the_replay_shows_pseudonyms_at_once(played):
    """The probe: right after apply_retention (cron: another process) the replay kept
    showing real names for up to an hour, from this process's cache of regions."""
    police = Seat.objects.get(session=played, role__ident="police")
    name = police.holder_name
    view = replay.viewpoint(played, "trainer")
    with translation.override("fr"):
        assert name in replay.frame_at(played, view, seq=played.last_seq).regions["roster"]
    done = subprocess.run(
        [sys.executable, "manage.py", "apply_retention", "--days", "0"],
        cwd=settings.BASE_DIR, capture_output=True, text=True, timeout=120,
        env={**os.environ, "DATABASE_URL": database_url()},
    )
    assert done.returncode == 0, done.stderr
    assert "1 session(s) pseudonymised" in done.stdout
    with translation.override("fr"):
        roster = replay.frame_at(played, view, seq=played.last_seq).regions["roster"]
    assert name not in roster and "Participant" in roster


def test_replay_and_report_keep_working_and_show_pseudonyms(trainer_client, played, trainer):
    police = Seat.objects.get(session=played, role__ident="police")
    name = police.holder_name
    view = replay.viewpoint(played, "trainer")
    with translation.override("fr"):
        before = replay.frame_at(played, view, seq=played.last_seq)
    assert name in before.regions["roster"]
    assert ReplaySnapshot.objects.filter(session=played).exists() or True
    replay.state_at(played, Perspective.trainer(), played.last_seq)
    engine.session_pseudonymise(session_id=played.pk, user=trainer)
    assert not ReplaySnapshot.objects.filter(session=played).exists()
    with translation.override("fr"):
        after = replay.frame_at(played, view, seq=played.last_seq)
    assert name not in after.regions["roster"] and "Participant" in after.regions["roster"]
    assert "Bonjour, ici le parquet." in after.regions["threads"]
    assert trainer_client.get(reverse("sessions:replay", args=[played.pk])).status_code == 200
    page = trainer_client.get(reverse("sessions:report", args=[played.pk])).content.decode()
    assert name not in page
    data = report.build(played)
    opp = [r for d in data.decisions for r in d.rows if r.state == "answered"]
    assert opp and all(r.name.startswith("Participant") for r in opp)


def test_lobby_names_are_pseudonymised_too(live_version, trainer, boss):
    session = engine.session_create(version=live_version, trainer=trainer, title="Accueil",
                                    join_mode="approval")
    entry = engine.lobby_join(session_id=session.pk, name="Zoé Martin", pass_key="k1",
                              wanted_role="police")
    engine.session_pseudonymise(session_id=session.pk)
    assert LobbyEntry.objects.get(pk=entry.pk).name == "Participant 1"
    waiting = Event.objects.get(session=session, kind="lobby.waiting")
    assert waiting.payload["name"] == "Participant 1"


def test_retention_picks_sessions_past_the_period_once(played, settings, trainer):
    fresh = engine.session_create(version=played.version, trainer=trainer, title="Récente")
    settings.SIMTRAIN_RETENTION_DAYS = 30
    assert list(retention.due_sessions(now=timezone.now())) == []
    _age(played, 31)
    assert [s.pk for s in retention.due_sessions(now=timezone.now())] == [played.pk]
    call_command("apply_retention", "--dry-run")
    assert Seat.objects.get(session=played, role__ident="police").holder_name == "Chloé Bernard"
    call_command("apply_retention")
    assert Seat.objects.get(session=played, role__ident="police").holder_name.startswith(
        "Participant")
    assert list(retention.due_sessions(now=timezone.now())) == []  # once
    assert fresh.pk not in {s.pk for s in retention.apply_retention(now=timezone.now())}
    assert AuditEntry.objects.filter(action="session.pseudonymised").count() == 1


def test_retention_button(admin_client_, played, course_admin):
    _age(played, 400)
    page = admin_client_.get(reverse("sessions:archive")).content.decode()
    assert 'data-due="1"' in page
    response = admin_client_.post(reverse("sessions:archive_retention"))
    assert response.status_code == 302
    entry = AuditEntry.objects.get(action="session.pseudonymised")
    assert entry.user == course_admin
    assert "pseudonymisée" in admin_client_.get(reverse("sessions:archive")).content.decode()


def test_retention_days_default_and_environment(settings, monkeypatch):
    if hasattr(settings, "SIMTRAIN_RETENTION_DAYS"):
        del settings.SIMTRAIN_RETENTION_DAYS
    monkeypatch.delenv("SIMTRAIN_RETENTION_DAYS", raising=False)
    assert retention.retention_days() == 365
    monkeypatch.setenv("SIMTRAIN_RETENTION_DAYS", "90")
    assert retention.retention_days() == 90


# --- Deletion and the audit trail ----------------------------------------------------------------


def test_delete_asks_for_the_title_and_is_audited(admin_client_, played, course_admin):
    url = reverse("sessions:delete", args=[played.pk])
    assert played.title in admin_client_.get(url).content.decode()
    wrong = admin_client_.post(url, {"confirm_title": "pas le bon"})
    assert wrong.status_code == 400 and Session.objects.filter(pk=played.pk).exists()
    events = played.last_seq
    response = admin_client_.post(url, {"confirm_title": f"  {played.title} "})
    assert response.status_code == 302
    assert not Session.objects.filter(pk=played.pk).exists()
    assert not Event.objects.filter(session_id=played.pk).exists()
    entry = AuditEntry.objects.get(action="session.deleted")
    assert entry.user == course_admin and entry.target_id == str(played.pk)
    assert entry.details["events"] == events and played.title in entry.target_label


def test_only_course_admins_delete(trainer_client, played):
    url = reverse("sessions:delete", args=[played.pk])
    assert trainer_client.get(url).status_code == 403
    assert trainer_client.post(url, {"confirm_title": played.title}).status_code == 403
    assert Session.objects.filter(pk=played.pk).exists()


def test_course_admins_read_the_audit_trail_in_the_admin(admin_client_, played, course_admin):
    engine.session_delete(session_id=played.pk, user=course_admin, confirm_title=played.title)
    changelist = reverse("admin:live_auditentry_changelist")
    page = admin_client_.get(changelist)
    assert page.status_code == 200 and played.title in page.content.decode()
    assert admin_client_.get(reverse("admin:live_auditentry_add")).status_code == 403
