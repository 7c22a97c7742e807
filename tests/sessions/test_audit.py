"""The audit trail of the trainer's seat commands: who changed who holds a seat.

Assigning or reassigning a seat, freeing it and refusing someone at the lobby each
write exactly one `AuditEntry`, inside the engine command's transaction (it commits
or rolls back with the command); a refused command writes nothing. Course admins read
the trail in the archive and the Django admin; trainers do not. Participants' names in
these lines follow the session's retention (pseudonymised) and deletion.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from sessions import engine
from sessions.models import AuditEntry, Event, LobbyEntry, Seat, Session
from tests.factories import ScenarioVersionFactory, UserFactory
from tests.sessions.conftest import seat_up

pytestmark = pytest.mark.django_db


def _only_line(session) -> AuditEntry:
    lines = list(AuditEntry.objects.all())
    assert len(lines) == 1, [(line.action, line.details) for line in lines]
    line = lines[0]
    assert (line.target_type, line.target_id) == ("session", str(session.pk))
    assert session.title in line.target_label and session.code in line.target_label
    return line


def _is_by(line: AuditEntry, user, since: datetime) -> None:
    assert line.user == user
    assert line.actor == user.get_username()
    assert line.details["by"] == f"trainer:{user.pk}"
    assert since <= line.at <= datetime.now(UTC)


@pytest.fixture
def since():
    return datetime.now(UTC)


# --- Each command writes one line ---------------------------------------------------------


def test_freeing_a_seat_is_audited(session, boss, trainer, since):
    police = seat_up(session, "police", "Chloé Bernard")
    engine.seat_free(session_id=session.pk, principal=boss, seat_id=police.seat_id)
    line = _only_line(session)
    assert line.action == AuditEntry.Action.SEAT_FREED
    _is_by(line, trainer, since)
    assert line.details == {"by": f"trainer:{trainer.pk}", "seat": police.seat_id,
                            "role": "police", "number": 1, "previous": "Chloé Bernard"}
    assert str(line.get_action_display()) == "Place libérée"


def test_seating_someone_from_the_lobby_is_audited(session, boss, trainer, since):
    entry = engine.lobby_join(session_id=session.pk, name="Nina Diallo", pass_key="k1")
    seat = Seat.objects.get(session=session, role__ident="police")
    engine.seat_assign(session_id=session.pk, principal=boss, seat_id=seat.pk,
                       entry_id=entry.pk)
    line = _only_line(session)
    assert line.action == AuditEntry.Action.SEAT_ASSIGNED
    _is_by(line, trainer, since)
    assert line.details == {"by": f"trainer:{trainer.pk}", "seat": seat.pk, "role": "police",
                            "number": 1, "previous": "", "holder": "Nina Diallo",
                            "entry": entry.pk, "moved_from": []}


def test_reassigning_a_held_seat_is_one_line_naming_both_holders(session, boss, trainer,
                                                                  since):
    old = seat_up(session, "police", "Ancien Titulaire")
    entry = engine.lobby_join(session_id=session.pk, name="Nouvelle", pass_key="k2")
    engine.seat_assign(session_id=session.pk, principal=boss, seat_id=old.seat_id,
                       entry_id=entry.pk)
    # The log has seat.freed then seat.assigned; the trail has one line for the command.
    line = _only_line(session)
    assert line.action == AuditEntry.Action.SEAT_REASSIGNED
    _is_by(line, trainer, since)
    assert (line.details["seat"], line.details["role"]) == (old.seat_id, "police")
    assert (line.details["previous"], line.details["holder"]) == ("Ancien Titulaire",
                                                                  "Nouvelle")


def test_moving_someone_to_another_seat_names_the_seat_left(session, boss):
    entry = engine.lobby_join(session_id=session.pk, name="Nina", pass_key="k3")
    police = Seat.objects.get(session=session, role__ident="police")
    parquet = Seat.objects.get(session=session, role__ident="parquet")
    engine.seat_assign(session_id=session.pk, principal=boss, seat_id=police.pk,
                       entry_id=entry.pk)
    AuditEntry.objects.all().delete()
    engine.seat_assign(session_id=session.pk, principal=boss, seat_id=parquet.pk,
                       entry_id=entry.pk)
    line = _only_line(session)
    assert line.action == AuditEntry.Action.SEAT_ASSIGNED
    assert line.details["moved_from"] == [{"seat": police.pk, "role": "police", "number": 1}]
    assert line.details["holder"] == "Nina" and line.details["seat"] == parquet.pk


def test_refusing_someone_at_the_lobby_is_audited(session, boss, trainer, since):
    entry = engine.lobby_join(session_id=session.pk, name="Inconnu", pass_key="k4",
                              wanted_role="parquet")
    engine.lobby_dismiss(session_id=session.pk, principal=boss, entry_id=entry.pk)
    line = _only_line(session)
    assert line.action == AuditEntry.Action.LOBBY_DISMISSED
    _is_by(line, trainer, since)
    assert line.details == {"by": f"trainer:{trainer.pk}", "entry": entry.pk,
                            "name": "Inconnu", "wanted_role": "parquet"}


def test_a_course_admin_steering_is_named(session, course_admin):
    police = seat_up(session, "police", "Chloé")
    admin = engine.TrainerPrincipal(user_id=course_admin.pk, name="Admin")
    engine.seat_free(session_id=session.pk, principal=admin, seat_id=police.seat_id)
    line = _only_line(session)
    assert line.user == course_admin and line.actor == "courseadmin"


def test_what_participants_do_themselves_is_not_in_the_trail(session, seated):
    # Taking a free seat, waiting at the lobby, playing: the event log records these.
    engine.lobby_join(session_id=session.pk, name="Nina", pass_key="k5")
    assert not AuditEntry.objects.exists()


# --- Refused commands write nothing --------------------------------------------------------


def test_refused_commands_write_nothing(session, boss, seated, live_version, trainer):
    police_seat = seated["police"].seat_id
    entry = engine.lobby_join(session_id=session.pk, name="Nina", pass_key="k6")
    other = engine.session_create(version=live_version, trainer=trainer, title="Autre")
    foreign_seat = Seat.objects.filter(session=other).first()
    foreign_entry = engine.lobby_join(session_id=other.pk, name="Ailleurs", pass_key="k7")
    free_seat = Seat.objects.create(session=session, role=foreign_seat.role, number=9)
    dismissed = engine.lobby_join(session_id=session.pk, name="Refusé", pass_key="k8")
    LobbyEntry.objects.filter(pk=dismissed.pk).update(state=LobbyEntry.State.DISMISSED)
    before = Event.objects.count()
    attempts = [
        # the wrong principal: a participant, whatever the seat
        (engine.seat_free, dict(principal=seated["parquet"], seat_id=police_seat), "forbidden"),
        (engine.seat_assign, dict(principal=seated["parquet"], seat_id=police_seat,
                                  entry_id=entry.pk), "forbidden"),
        (engine.lobby_dismiss, dict(principal=seated["obs"], entry_id=entry.pk), "forbidden"),
        (engine.seat_free, dict(principal=engine.SYSTEM, seat_id=police_seat), "forbidden"),
        # a stale seat: already free
        (engine.seat_free, dict(principal=boss, seat_id=free_seat.pk), "seat-free"),
        # another session's seat or entry
        (engine.seat_free, dict(principal=boss, seat_id=foreign_seat.pk), "unknown-seat"),
        (engine.seat_assign, dict(principal=boss, seat_id=foreign_seat.pk, entry_id=entry.pk),
         "unknown-seat"),
        (engine.seat_assign, dict(principal=boss, seat_id=police_seat,
                                  entry_id=foreign_entry.pk), "unknown-seat"),
        (engine.lobby_dismiss, dict(principal=boss, entry_id=foreign_entry.pk),
         "unknown-entry"),
        # a participant already refused, or no longer waiting
        (engine.seat_assign, dict(principal=boss, seat_id=police_seat, entry_id=dismissed.pk),
         "dismissed"),
        (engine.lobby_dismiss, dict(principal=boss, entry_id=dismissed.pk), "unknown-entry"),
    ]
    for command, kwargs, code in attempts:
        with pytest.raises(engine.EngineError) as err:
            command(session_id=session.pk, **kwargs)
        assert err.value.code == code, (command.__name__, kwargs)
    assert not AuditEntry.objects.exists()
    assert Event.objects.count() == before
    assert Seat.objects.get(pk=police_seat).holder_name == "police"


# --- Same transaction as the command --------------------------------------------------------


def test_a_failing_audit_write_refuses_the_whole_command(session, boss, monkeypatch):
    police = seat_up(session, "police", "Chloé")
    last_seq = Session.objects.get(pk=session.pk).last_seq

    def broken(*args, **kwargs):
        raise RuntimeError("audit store unavailable")

    monkeypatch.setattr(AuditEntry.objects, "create", broken)
    with pytest.raises(RuntimeError):
        engine.seat_free(session_id=session.pk, principal=boss, seat_id=police.seat_id)
    seat = Seat.objects.get(pk=police.seat_id)
    assert seat.holder_key == police.pass_key and seat.holder_name == "Chloé"
    assert Session.objects.get(pk=session.pk).last_seq == last_seq
    assert not Event.objects.filter(session=session, kind="seat.freed").exists()


def test_the_audit_line_rolls_back_with_the_command(session, boss, monkeypatch):
    police = seat_up(session, "police", "Chloé")
    real_save = Session.save

    def failing_save(self, *args, **kwargs):
        # The command's last write, after its events and its audit line.
        if AuditEntry.objects.exists():
            raise RuntimeError("disk full")
        return real_save(self, *args, **kwargs)

    monkeypatch.setattr(Session, "save", failing_save)
    with pytest.raises(RuntimeError):
        engine.seat_free(session_id=session.pk, principal=boss, seat_id=police.seat_id)
    assert not AuditEntry.objects.exists()
    assert Seat.objects.get(pk=police.seat_id).holder_key == police.pass_key


# --- Retention and deletion -----------------------------------------------------------------


def _seat_lines(session) -> list[dict]:
    return [line.details for line in AuditEntry.objects.filter(
        target_id=str(session.pk), action__in=[
            AuditEntry.Action.SEAT_ASSIGNED, AuditEntry.Action.SEAT_REASSIGNED,
            AuditEntry.Action.SEAT_FREED, AuditEntry.Action.LOBBY_DISMISSED,
        ]).order_by("pk")]


def _churn(session, boss) -> None:
    police = seat_up(session, "police", "Chloé Bernard")
    entry = engine.lobby_join(session_id=session.pk, name="Nina Diallo", pass_key="n1")
    engine.seat_assign(session_id=session.pk, principal=boss, seat_id=police.seat_id,
                       entry_id=entry.pk)
    engine.seat_free(session_id=session.pk, principal=boss, seat_id=police.seat_id)
    refused = engine.lobby_join(session_id=session.pk, name="Sam Martin", pass_key="n2")
    engine.lobby_dismiss(session_id=session.pk, principal=boss, entry_id=refused.pk)


def test_pseudonymisation_reaches_the_seat_lines(session, boss):
    _churn(session, boss)
    engine.session_pseudonymise(session_id=session.pk, actor="retention")
    lines = _seat_lines(session)
    assert [d["previous"] for d in lines[:2]] == ["Participant 1", "Participant 2"]
    assert lines[0]["holder"] == "Participant 2" and lines[2]["name"] == "Participant 3"
    # The same pseudonym as in the log, so the trail and the replay still agree.
    freed = Event.objects.get(session=session, kind="seat.freed", payload__reason="freed")
    assert freed.payload["name"] == lines[1]["previous"]
    text = repr(list(AuditEntry.objects.values_list("details", flat=True)))
    assert "Chloé" not in text and "Nina" not in text and "Sam" not in text


def test_deletion_keeps_the_seat_lines_without_names(session, boss, course_admin):
    _churn(session, boss)
    engine.session_delete(session_id=session.pk, user=course_admin,
                          confirm_title=session.title)
    lines = _seat_lines(session)
    assert len(lines) == 3 and lines[1]["previous"].startswith("Participant ")
    text = repr(list(AuditEntry.objects.values_list("details", flat=True)))
    assert "Chloé" not in text and "Nina" not in text and "Sam" not in text


# --- Who reads the trail ----------------------------------------------------------------------


def test_course_admins_read_seat_lines_in_the_admin(admin_client_, session, boss):
    police = seat_up(session, "police", "Chloé Bernard")
    engine.seat_free(session_id=session.pk, principal=boss, seat_id=police.seat_id)
    changelist = reverse("admin:live_auditentry_changelist")
    page = admin_client_.get(changelist, {"action__exact": "seat.freed"})
    html = page.content.decode()
    assert page.status_code == 200
    assert "Place libérée" in html and session.title in html and "Chloé Bernard" in html
    line = AuditEntry.objects.get()
    detail = admin_client_.get(reverse("admin:live_auditentry_change", args=[line.pk]))
    assert detail.status_code == 200 and "Chloé Bernard" in detail.content.decode()
    assert "/admin/live/auditentry/" in admin_client_.get(reverse("admin:index")).content.decode()
    # Read-only, even for them.
    assert admin_client_.get(reverse("admin:live_auditentry_add")).status_code == 403
    assert admin_client_.post(reverse("admin:live_auditentry_delete", args=[line.pk]),
                              {"post": "yes"}).status_code == 403
    assert AuditEntry.objects.filter(pk=line.pk).exists()


def test_trainers_do_not_read_the_trail(session, boss, trainer, groups):
    police = seat_up(session, "police", "Chloé Bernard")
    engine.seat_free(session_id=session.pk, principal=boss, seat_id=police.seat_id)
    changelist = reverse("admin:live_auditentry_changelist")
    other = UserFactory(username="autre-formateur")
    other.groups.add(groups["trainer"])
    other_session = engine.session_create(version=ScenarioVersionFactory(), trainer=other,
                                          title="Autre")
    assert other_session.pk != session.pk
    for user in (trainer, other):
        client = Client()
        client.force_login(user)
        response = client.get(changelist)
        assert response.status_code == 302 and "/admin/login/" in response["Location"]
        # Even a staff account given the model permission is no course admin.
        user.is_staff = True
        user.save()
        user.user_permissions.add(Permission.objects.get(codename="view_auditentry"))
        client.force_login(user)
        assert client.get(changelist).status_code == 403
        assert "Chloé" not in client.get(reverse("admin:index")).content.decode()


def test_the_demo_course_admin_reaches_the_trail(session, boss, groups):
    """Course admins need a staff account for the Django admin: the demo one has it."""
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    call_command("create_demo_users")
    police = seat_up(session, "police", "Chloé Bernard")
    engine.seat_free(session_id=session.pk, principal=boss, seat_id=police.seat_id)
    client = Client()
    client.force_login(get_user_model().objects.get(username="admin"))
    page = client.get(reverse("admin:live_auditentry_changelist"))
    assert page.status_code == 200 and "Chloé Bernard" in page.content.decode()
    # The demo trainer does not.
    client.force_login(get_user_model().objects.get(username="formatrice"))
    assert client.get(reverse("admin:live_auditentry_changelist")).status_code == 302


# --- The trail in the archive: course admins, staff account or not ------------------------


def test_course_admins_read_the_trail_in_the_archive_without_a_staff_account(
    session, boss, groups
):
    reader = UserFactory(username="responsable", is_staff=False)
    reader.groups.add(groups["course_admin"])
    police = seat_up(session, "police", "Chloé Bernard")
    engine.seat_free(session_id=session.pk, principal=boss, seat_id=police.seat_id)
    client = Client()
    client.force_login(reader)
    url = reverse("sessions:audit")
    page = client.get(url)
    html = page.content.decode()
    assert page.status_code == 200
    assert "Place libérée" in html and session.title in html
    assert "police n° 1 : Chloé Bernard → —" in html
    # Filters: by action, by session, by text; an unknown action is no filter.
    assert client.get(url, {"action": "session.deleted"}).content.decode().count(
        'data-action="') == 0
    assert client.get(url, {"action": "seat.freed"}).content.decode().count(
        'data-action="seat.freed"') == 1
    assert client.get(url, {"session": session.pk + 1000}).content.decode().count(
        'data-action="') == 0
    assert client.get(url, {"q": "nobody-like-this"}).content.decode().count(
        'data-action="') == 0
    assert client.get(url, {"action": "<script>"}).status_code == 200
    # The archive links to it.
    assert url in client.get(reverse("sessions:archive")).content.decode()


def test_trainers_do_not_read_the_trail_in_the_archive(session, boss, trainer):
    police = seat_up(session, "police", "Chloé Bernard")
    engine.seat_free(session_id=session.pk, principal=boss, seat_id=police.seat_id)
    client = Client()
    client.force_login(trainer)
    response = client.get(reverse("sessions:audit"))
    assert response.status_code == 403 and "Chloé" not in response.content.decode()
