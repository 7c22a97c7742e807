"""The library's workbook (.xlsx) downloads and uploads."""

from __future__ import annotations

import io
import zipfile

import pytest
from django.urls import reverse

from scenarios.format.loader import load_yaml
from scenarios.format.xlsx import read_workbook
from scenarios.models import Scenario, ScenarioVersion
from scenarios.services import scenario_import
from tests.scenarios.test_views import (  # noqa: F401, F811 (fixtures)
    ATTACHED_YAML,
    SCENARIO_YAML,
    bundle,
    fast_password_hashing,
    imported,  # noqa: F811
    upload,
)
from tests.scenarios.xlsx_helpers import edit, workbook_of

pytestmark = pytest.mark.django_db


# --- the workbook (.xlsx) ----------------------------------------------------------------

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def test_export_xlsx_gives_the_data_of_the_yaml_export(trainer_client, imported):
    args = [imported.scenario.slug, imported.number]
    page = trainer_client.get(reverse("scenarios:version", args=args)).content.decode()
    assert reverse("scenarios:export_xlsx", args=args) in page
    assert "Exporter en tableur (.xlsx)" in page
    history = trainer_client.get(reverse("scenarios:history", args=[args[0]])).content.decode()
    assert reverse("scenarios:export_xlsx", args=args) in history

    response = trainer_client.get(reverse("scenarios:export_xlsx", args=args))
    assert response.status_code == 200
    assert response["Content-Type"] == XLSX
    assert response["Content-Disposition"] == 'attachment; filename="audition-test-v1.xlsx"'
    assert response["X-Content-Type-Options"] == "nosniff"
    yaml_text = trainer_client.get(reverse("scenarios:export_yaml", args=args)).content
    assert (
        read_workbook(response.content, name="x.xlsx").data
        == load_yaml(yaml_text, name="x.yaml").data
    )


def test_export_xlsx_of_a_version_with_attachments_offers_the_workbook_zip(trainer_client, trainer):
    data = bundle(ATTACHED_YAML, {"notes/consignes.txt": b"Restez calme.\n"})
    version = scenario_import(source=("b.zip", data), user=trainer).version
    args = [version.scenario.slug, version.number]
    response = trainer_client.get(reverse("scenarios:export_xlsx", args=args))
    assert response.status_code == 409
    html = response.content.decode()
    assert reverse("scenarios:export_xlsx_zip", args=args) in html
    assert "contient scenario.xlsx et ses pièces jointes" in html

    response = trainer_client.get(reverse("scenarios:export_xlsx_zip", args=args))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"] == 'attachment; filename="avec-pieces-v1-xlsx.zip"'
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        assert archive.namelist() == ["scenario.xlsx", "notes/consignes.txt"]
    # Uploaded back, it is the same version.
    again = upload(trainer_client, "avec-pieces-v1-xlsx.zip", response.content, follow=True)
    assert "identique à la version 1" in again.content.decode()


def test_export_xlsx_of_a_value_no_cell_holds_says_why(trainer_client, trainer):
    long = SCENARIO_YAML.replace(
        "    title: Fin de l'exercice\n",
        f"    title: Fin de l'exercice\n    body: {'x' * 40_000}\n",
    )
    version = scenario_import(source=("long.yaml", long.encode()), user=trainer).version
    args = [version.scenario.slug, version.number]
    response = trainer_client.get(reverse("scenarios:export_xlsx", args=args), follow=True)
    assert response.redirect_chain == [(reverse("scenarios:version", args=args), 302)]
    html = response.content.decode()
    assert "ne peut pas être exportée en classeur" in html
    assert "at most 32,767" in html


def test_import_an_xlsx_upload(trainer_client, trainer):
    content = workbook_of(SCENARIO_YAML)
    response = upload(trainer_client, "audition.xlsx", content)
    assert response.status_code == 302
    version = ScenarioVersion.objects.get(scenario__slug="audition-test")
    assert version.source_name == "audition.xlsx"
    assert version.injects.get(ident="appel").at_s == 120
    # The same scenario as YAML is the same version.
    again = upload(trainer_client, "audition.yaml", SCENARIO_YAML.encode(), follow=True)
    assert "identique à la version 1" in again.content.decode()


def test_import_xlsx_failure_names_the_cells(trainer_client):
    content = edit(workbook_of(SCENARIO_YAML), {("Injects", "C2"): "[polise]"})
    response = upload(trainer_client, "audition.xlsx", content)
    assert response.status_code == 400
    rows = response.context["diagnostics"]
    unknown = next(row for row in rows if row["code"] == "unknown-role")
    assert unknown["position"] == "audition.xlsx:Injects!C2"
    assert unknown["excerpt"] is None
    assert "audition.xlsx:Injects!C2" in response.content.decode()
    assert not Scenario.objects.exists()


def test_import_a_zip_holding_a_workbook_and_its_attachment(trainer_client):
    content = bundle_workbook(ATTACHED_YAML, {"notes/consignes.txt": b"Restez calme.\n"})
    response = upload(trainer_client, "avec-pieces.zip", content)
    assert response.status_code == 302
    version = ScenarioVersion.objects.get(scenario__slug="avec-pieces")
    assert version.injects.get(ident="appel").attachments.get().blob.data == b"Restez calme.\n"


def test_the_upload_form_accepts_workbooks(trainer_client):
    html = trainer_client.get(reverse("scenarios:import")).content.decode()
    assert 'accept=".yaml,.yml,.zip,.xlsx,' in html
    assert "un classeur .xlsx (10 Mio au plus)" in html
    response = upload(trainer_client, "macro.xlsm", b"PK")
    assert response.status_code == 400
    assert "Seuls les fichiers .yaml, .yml, .xlsx et .zip" in response.content.decode()


def bundle_workbook(yaml_text: str, files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("scenario.xlsx", workbook_of(yaml_text))
        for path, data in files.items():
            archive.writestr(path, data)
    return buffer.getvalue()
