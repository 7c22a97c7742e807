"""Every printed or exported artefact says it is exercise material, fictitious."""

from __future__ import annotations

import pytest
from django.urls import reverse

from sessions import exports


@pytest.mark.parametrize(
    "name", ["sessions:pack", "sessions:report", "sessions:room", "sessions:hotwash_results"]
)
def test_pages_that_are_printed_or_projected_carry_the_mark(trainer_client, session, name):
    page = trainer_client.get(reverse(name, args=[session.pk])).content.decode()
    assert 'class="exercise-mark"' in page and "EXERCICE" in page
    assert "pas un document de procédure" in page


def test_the_print_stylesheet_marks_every_pdf_page():
    from pathlib import Path

    from django.conf import settings

    css = (Path(settings.BASE_DIR) / "static/simtrain/simtrain.css").read_text(encoding="utf-8")
    assert "@bottom-center" in css and "EXERCICE" in css


def test_exports_open_with_the_notice(session):
    assert exports.export_session(session)["notice"].startswith("EXERCICE")
    first = exports.events_csv(session).lstrip("\ufeff").splitlines()[0]
    assert first.startswith("EXERCICE") or first.startswith('"EXERCICE')
