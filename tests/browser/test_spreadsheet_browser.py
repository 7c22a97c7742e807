"""The spreadsheet round trip in Chromium: a trainer downloads a version as a workbook,
imports it back unchanged (no new version), edits a cell and imports it again (the next
version, with the edit)."""

from __future__ import annotations

import io

import pytest
from django.test import Client
from openpyxl import load_workbook

from scenarios.models import ScenarioVersion
from scenarios.services import scenario_import
from tests.browser.conftest import DESKTOP
from tests.scenarios.format_helpers import BASE

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _trainer_page(browser, server, user):
    context = browser.new_context(viewport=DESKTOP, locale="fr-FR", accept_downloads=True)
    context.set_default_timeout(15000)
    client = Client()
    client.force_login(user)
    context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": server.base_url}]
    )
    return context, context.new_page()


def _import(page, base, path, *, check_only: bool):
    page.goto(f"{base}/scenarios/import/")
    page.set_input_files("input[type=file]", str(path))
    if check_only:
        page.check("input[type=checkbox]")
    page.click("form.form button[type=submit]")
    page.wait_for_load_state()


def test_a_workbook_goes_out_and_comes_back(browser, server, trainer_user, tmp_path):
    scenario_import(source=("essai.yaml", BASE.encode()), user=trainer_user)
    context, page = _trainer_page(browser, server, trainer_user)
    try:
        page.goto(f"{server.base_url}/scenarios/essai/v1/")
        with page.expect_download() as download:
            page.click("text=Exporter en tableur (.xlsx)")
        workbook = tmp_path / "essai.xlsx"
        download.value.save_as(workbook)

        _import(page, server.base_url, workbook, check_only=True)
        assert "identique à la version 1" in page.content()
        assert ScenarioVersion.objects.filter(scenario__slug="essai").count() == 1

        book = load_workbook(io.BytesIO(workbook.read_bytes()))
        sheet = book["Injects"]
        header = [cell.value for cell in sheet[1]]
        for row in sheet.iter_rows(min_row=2):
            if row[header.index("id")].value == "cue1":
                row[header.index("title")].value = "Joy se tait"
        edited = tmp_path / "essai-edited.xlsx"
        book.save(edited)

        _import(page, server.base_url, edited, check_only=False)
        assert ScenarioVersion.objects.filter(scenario__slug="essai").count() == 2
        latest = ScenarioVersion.objects.get(scenario__slug="essai", number=2)
        assert latest.injects.get(ident="cue1").title == "Joy se tait"
    finally:
        context.close()
