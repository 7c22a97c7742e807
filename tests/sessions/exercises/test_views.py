"""The exercise's pages: creation in one step, the control room, commands, the one-code join,
the plenary and its exports."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.cache import cache
from django.urls import reverse

from sessions import engine
from sessions.exercises import services
from sessions.exercises.models import Exercise
from sessions.models import AuditEntry, Event, Seat
from tests.sessions.conftest import seat_up


@pytest.fixture(autouse=True)
def _fresh_limits():
    cache.clear()


def test_the_session_form_creates_an_exercise_in_one_step(trainer_client, live_version):
    response = trainer_client.post(reverse("sessions:new", args=[live_version.pk]), {
        "title": "Promo 12", "cohort": "", "join_mode": "open", "syndicates": "4",
        "placement": "balance"})
    exercise = Exercise.objects.get()
    assert response.url == reverse("sessions:exercise", args=[exercise.pk])
    assert exercise.placement == "balance" and exercise.syndicates.count() == 4


def test_one_team_is_still_a_plain_session(trainer_client, live_version):
    response = trainer_client.post(reverse("sessions:new", args=[live_version.pk]), {
        "title": "Seule", "join_mode": "open", "syndicates": "1"})
    assert response.status_code == 302 and not Exercise.objects.exists()


def test_control_room_shows_every_team_safety_stops_first(trainer_client, exercise, boss):
    teams = services.syndicates_of(exercise)
    services.exercise_command(exercise=exercise, principal=boss, command="start", args={})
    police = seat_up(teams[1].session, "police", name="Nina")
    engine.safety_stop(session_id=teams[1].session_id, principal=police, note="pause")
    html = trainer_client.get(reverse("sessions:exercise", args=[exercise.pk])).content.decode()
    for team in teams:
        assert f'data-syndicate="{team.number}" data-state="running"' in html
        assert reverse("sessions:control", args=[team.session_id]) in html
        assert reverse("sessions:room", args=[team.session_id]) in html
    banner = html.index('class="safety-banner"')
    assert banner < html.index('id="exercise-teams-caption"')
    assert 'data-alert="safety" data-syndicate="2"' in html and "Nina" in html
    fragment = trainer_client.get(reverse("sessions:exercise_overview", args=[exercise.pk]))
    assert fragment.content.decode().startswith('\n<div id="exercise-overview"')


def test_a_command_reports_what_each_team_refused(trainer_client, exercise, boss):
    first = services.syndicates_of(exercise)[0]
    engine.session_start(session_id=first.session_id, principal=boss)
    response = trainer_client.post(reverse("sessions:exercise_command", args=[exercise.pk]),
                                   {"command": "start", "syndicate": "all"},
                                   HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200 and html.startswith('\n<div id="exercise-panel">')
    assert 'data-outcome="1" data-ok="0"' in html and "already-started" in html
    assert 'data-outcome="2" data-ok="1"' in html


def test_a_command_to_one_team(trainer_client, exercise):
    trainer_client.post(reverse("sessions:exercise_command", args=[exercise.pk]),
                        {"command": "start", "syndicate": "3"})
    started = {t.number: t.session.events.filter(kind="clock.started").exists()
               for t in services.syndicates_of(exercise)}
    assert started == {1: False, 2: False, 3: True}


def test_the_syndicate_control_room_links_back(trainer_client, exercise):
    team = services.syndicates_of(exercise)[0]
    html = trainer_client.get(reverse("sessions:control", args=[team.session_id])).content
    assert reverse("sessions:exercise", args=[exercise.pk]).encode() in html


def test_the_exercise_code_places_a_trainee_through_the_join_guard(client, balanced):
    response = client.post(reverse("sessions:join"), {"code": balanced.code})
    assert response.url == reverse("sessions:exercise_join", args=[balanced.pk])
    response = client.post(response.url, {"name": "Awa", "role": "police"})
    seat = Seat.objects.get(holder_name="Awa")
    assert seat.session.syndicate.exercise == balanced
    assert response.url == reverse("sessions:desk", args=[seat.session_id])
    # One seat per browser across the exercise: back on the page, the seat's home.
    again = client.get(reverse("sessions:exercise_join", args=[balanced.pk]))
    assert again.url == reverse("sessions:desk", args=[seat.session_id])


def test_wrong_codes_lock_the_exercise_code_too(client, balanced):
    for n in range(10):
        client.post(reverse("sessions:join"), {"code": "AAAAAA" + "CDEFGHJKMN"[n]})
    response = client.post(reverse("sessions:join"), {"code": balanced.code})
    assert response.status_code == 429


def test_the_exercise_page_needs_the_code_first(client, balanced):
    response = client.get(reverse("sessions:exercise_join", args=[balanced.pk]))
    assert response.url == reverse("sessions:join")


def test_a_team_code_exercise_has_no_exercise_code(client, exercise):
    response = client.post(reverse("sessions:join"), {"code": exercise.code})
    assert response.status_code == 400


def test_assign_the_trainee_waits_then_lands_in_the_team_lobby(client, trainer_client,
                                                                live_version, trainer):
    ex = services.exercise_create(version=live_version, trainer=trainer, title="A",
                                  syndicates=2, placement="assign")
    client.post(reverse("sessions:join"), {"code": ex.code})
    response = client.post(reverse("sessions:exercise_join", args=[ex.pk]), {"name": "Omar"})
    assert response.url == reverse("sessions:exercise_wait", args=[ex.pk])
    assert client.get(response.url).status_code == 200
    entry = ex.entries.get()
    trainer_client.post(reverse("sessions:exercise_place", args=[ex.pk]),
                        {"entry": entry.pk, "syndicate": "2"})
    team = ex.syndicates.get(number=2)
    moved = client.get(reverse("sessions:exercise_wait", args=[ex.pk]), HTTP_HX_REQUEST="true")
    assert moved["HX-Redirect"] == reverse("sessions:lobby", args=[team.session_id])
    lobby = client.get(reverse("sessions:lobby", args=[team.session_id]))
    assert lobby.status_code == 200 and "Omar" in lobby.content.decode()


@pytest.fixture
def played(exercise, boss, wall):
    services.exercise_command(exercise=exercise, principal=boss, command="start", args={})
    wall.advance(130)
    teams = services.syndicates_of(exercise)
    for team, option in zip(teams, ("opp", "gav", "opp"), strict=True):
        engine.scheduler_tick(session_id=team.session_id)
        parquet = seat_up(team.session, "parquet", name=f"Juge {team.number}")
        engine.decision_answer(session_id=team.session_id, principal=parquet,
                               inject_ident="dec", option=option,
                               rationale="=HYPERLINK(1)" if team.number == 2 else "Protéger")
    police = seat_up(teams[0].session, "police")
    engine.action_take(session_id=teams[0].session_id, principal=police,
                       action_ident="interprete")
    services.exercise_command(exercise=exercise, principal=boss, command="end", args={})
    return exercise


def test_the_plenary_puts_each_team_answer_side_by_side(trainer_client, played):
    html = trainer_client.get(reverse("sessions:exercise_plenary", args=[played.pk])).content
    html = html.decode()
    table = html[html.index('data-decision="dec"'):]
    table = table[:table.index("</table>")]
    assert table.count("<td>") == 3 and "OPP" in table and "GAV" in table
    assert "Protéger" in table
    acts = html[html.index('data-act="interprete"'):]
    assert acts[:acts.index("</tr>")].count("—") == 2
    for n in (1, 2, 3):
        assert f'data-graph="{n}"' in html and f'id="comm-graph-{n}' in html


def test_the_plenary_csv_neutralises_formulas(trainer_client, played):
    response = trainer_client.get(reverse("sessions:exercise_plenary_csv", args=[played.pk]))
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][0].startswith("EXERCICE") and rows[1][0] == "section"
    decisions = [r for r in rows if r[0] == "decision"]
    assert {r[2] for r in decisions} == {"Équipe 1", "Équipe 2", "Équipe 3"}
    assert "'=HYPERLINK(1)" in {r[6] for r in decisions}
    # Audited per syndicate session, as any export of a session is.
    assert AuditEntry.objects.filter(action="session.exported",
                                     details__format="plenary-csv").count() == 3


def test_the_plenary_display_and_pdf(trainer_client, played):
    display = trainer_client.get(reverse("sessions:exercise_plenary_display", args=[played.pk]))
    assert b'id="exercise-overview"' in display.content
    for page in (display, trainer_client.get(reverse("sessions:exercise_plenary",
                                                     args=[played.pk]))):
        assert b'class="exercise-mark"' in page.content  # projected or on screen: EXERCICE
    pdf = trainer_client.get(reverse("sessions:exercise_plenary_pdf", args=[played.pk]))
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


def test_a_course_admin_reviews_but_does_not_drive(admin_client_, exercise):
    assert admin_client_.get(reverse("sessions:exercise_plenary", args=[exercise.pk])) \
        .status_code == 200
    display = admin_client_.get(reverse("sessions:exercise_plenary_display",
                                        args=[exercise.pk])).content.decode()
    assert 'id="exercise-overview"' in display
    assert reverse("sessions:exercise_overview", args=[exercise.pk]) not in display
    assert admin_client_.get(reverse("sessions:exercise", args=[exercise.pk])).status_code == 403
    response = admin_client_.post(reverse("sessions:exercise_command", args=[exercise.pk]),
                                  {"command": "start"})
    assert response.status_code == 403
    assert not Event.objects.filter(kind="clock.started").exists()
