"""The interface is French first, with an English catalogue behind a language switch."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import translation

LOCALE = Path(settings.BASE_DIR) / "locale"


@pytest.mark.parametrize("language", ["en", "fr"])
def test_catalogues_are_compiled_and_up_to_date(language):
    po = LOCALE / language / "LC_MESSAGES" / "django.po"
    mo = po.with_suffix(".mo")
    assert po.exists()
    assert mo.exists(), f"{mo} is missing: run `make install` (msgfmt compiles it)"
    assert mo.stat().st_mtime >= po.stat().st_mtime, f"{mo} is older than {po}: `make install`"


def test_a_french_msgid_has_its_english_translation():
    with translation.override("en"):
        assert translation.gettext("Bibliothèque de scénarios") == "Scenario library"
        assert translation.gettext("Se déconnecter") == "Log out"
    with translation.override("fr"):
        assert translation.gettext("Bibliothèque de scénarios") == "Bibliothèque de scénarios"


# The parts of the interface this suite checks for a complete English catalogue.
OWN_SOURCES = (
    "templates/base.html",
    "templates/40",
    "templates/registration/",
    "templates/scenarios/",
    "scenarios/",
)


def po_entries(text: str):
    """(references, flags, fields) of each live entry of a .po file."""
    for block in text.split("\n\n"):
        references, flags, fields, current = [], [], {}, None
        for line in block.splitlines():
            if line.startswith("#:"):
                references.extend(line[2:].split())
            elif line.startswith("#,"):
                flags.extend(flag.strip() for flag in line[2:].split(","))
            elif line.startswith("#"):
                continue  # comments and obsolete (#~) entries
            elif line.startswith('"'):
                fields[current] += ast.literal_eval(line)
            else:
                current, _, value = line.partition(" ")
                fields[current] = ast.literal_eval(value)
        if fields.get("msgid"):
            yield references, flags, fields


def test_the_english_catalogue_translates_the_library_pages():
    po = (LOCALE / "en" / "LC_MESSAGES" / "django.po").read_text(encoding="utf-8")
    missing = []
    for references, flags, fields in po_entries(po):
        if not any(ref.startswith(OWN_SOURCES) for ref in references):
            continue
        translations = [value for key, value in fields.items() if key.startswith("msgstr")]
        if "fuzzy" in flags or not all(translations):
            missing.append(fields["msgid"])
    assert missing == []


@pytest.mark.django_db
def test_the_language_switch_sets_english_for_the_next_pages(client, trainer):
    client.force_login(trainer)
    library = reverse("scenarios:library")
    french = client.get(library).content.decode()
    assert '<html lang="fr">' in french
    assert "Bibliothèque de scénarios" in french
    assert 'name="language" value="en"' in french

    response = client.post(reverse("set_language"), {"language": "en", "next": library})
    assert response.status_code == 302
    assert response.url == library
    english = client.get(library).content.decode()
    assert '<html lang="en">' in english
    assert "Scenario library" in english
    assert "Bibliothèque de scénarios" not in english
    assert 'aria-pressed="true">\n                English' in english

    client.post(reverse("set_language"), {"language": "fr", "next": library})
    assert '<html lang="fr">' in client.get(library).content.decode()


@pytest.mark.django_db
def test_the_login_page_switches_language_without_an_account(client):
    client.post(reverse("set_language"), {"language": "en", "next": reverse("login")})
    html = client.get(reverse("login")).content.decode()
    assert "Log in" in html
    assert "Password" in html
