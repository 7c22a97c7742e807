"""The scenario library pages: access, search, MSEL, role view, attachments, import,
export, history and the JSON Schema."""

from __future__ import annotations

import io
import json
import re
import zipfile

import pytest
from django.urls import reverse

from scenarios.models import Blob, Scenario, ScenarioVersion
from scenarios.services import scenario_import
from tests.factories import RoleFactory, ScenarioVersionFactory, UserFactory
from tests.scenarios.format_helpers import DATA
from tests.scenarios.library_builders import build_version

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # The personas' passwords are hashed at creation; PBKDF2 would dominate the run.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


SCENARIO_YAML = """\
format: simtrain.scenario/1
slug: audition-test
title: Audition d'une mineure
language: fr
tags: [audition, mineurs]
roles:
  - id: police
    title: Enquêtrice
    kind: trainee
    profession: police
  - id: parquet
    title: Parquet
    kind: trainee
    profession: prosecutor
injects:
  - id: appel
    kind: call
    to: [police]
    title: Appel du commissariat
    at: 2m
  - id: fin
    kind: broadcast
    to: all
    title: Fin de l'exercice
    at: 30m
"""

ATTACHED_YAML = SCENARIO_YAML.replace("slug: audition-test", "slug: avec-pieces").replace(
    "    title: Appel du commissariat\n",
    "    title: Appel du commissariat\n    attachments:\n      - file: notes/consignes.txt\n",
)


def bundle(yaml_text: str, files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("scenario.yaml", yaml_text)
        for path, data in files.items():
            archive.writestr(path, data)
    return buffer.getvalue()


@pytest.fixture
def outsider(db):
    return UserFactory(username="outsider")


@pytest.fixture
def built(db):
    return build_version()


@pytest.fixture
def imported(trainer):
    return scenario_import(
        source=("audition-test.yaml", SCENARIO_YAML.encode()), user=trainer
    ).version


def upload(client, name: str, data: bytes, follow: bool = False, **fields):
    file = io.BytesIO(data)
    file.name = name
    return client.post(reverse("scenarios:import"), {"file": file, **fields}, follow=follow)


# --- who may see what ----------------------------------------------------------------


def page_urls(built) -> list[str]:
    slug, number = built.version.scenario.slug, built.version.number
    return [
        reverse("scenarios:library"),
        reverse("scenarios:latest", args=[slug]),
        reverse("scenarios:version", args=[slug, number]),
        reverse("scenarios:receives", args=[slug, number]) + "?role=police",
        reverse("scenarios:history", args=[slug]),
        reverse("scenarios:diff", args=[slug]) + f"?from={number}&to={number}",
        reverse("scenarios:attachment", args=[slug, number, built.attachment.pk]),
        reverse("scenarios:import"),
        reverse("scenarios:export_yaml", args=[slug, number]),
        reverse("scenarios:export_zip", args=[slug, number]),
        reverse("scenarios:export_xlsx", args=[slug, number]),
        reverse("scenarios:export_xlsx_zip", args=[slug, number]),
    ]


def test_anonymous_users_are_sent_to_log_in(client, built):
    for url in page_urls(built):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response.url.startswith(reverse("login") + "?next="), url


def test_htmx_requests_of_an_expired_login_reload_the_login_page(client, built):
    response = client.get(
        reverse("scenarios:library") + "?q=x",
        headers={"HX-Request": "true", "HX-Current-URL": "http://testserver/scenarios/"},
    )
    assert response.status_code == 200
    assert response["HX-Redirect"] == "/login/?next=%2Fscenarios%2F"


def test_users_who_are_not_trainers_are_refused(client, outsider, built):
    client.force_login(outsider)
    for url in page_urls(built):
        response = client.get(url)
        assert response.status_code == 403, url
    assert "réservée aux formateurs" in response.content.decode()


@pytest.mark.parametrize("persona", ["trainer_client", "admin_client_"])
def test_trainers_and_course_admins_see_every_page(request, persona, built):
    client = request.getfixturevalue(persona)
    for url in page_urls(built):
        if "export" in url:
            continue  # the ORM-built version is exported in its own tests
        response = client.get(url)
        assert response.status_code == 200, url


def test_the_json_schema_is_public(client):
    response = client.get(reverse("scenarios:schema"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/schema+json"
    schema = json.loads(response.content)
    assert schema["$schema"].startswith("https://json-schema.org/")
    assert "injects" in schema["properties"]


# --- library -------------------------------------------------------------------------


def test_library_lists_latest_versions_with_their_figures(trainer_client):
    build_version(slug="traite", number=1, title="Ancien titre")
    build_version(slug="traite", number=2, title="Traite des mineures")
    response = trainer_client.get(reverse("scenarios:library"))
    html = response.content.decode()
    assert "Traite des mineures" in html
    assert "Ancien titre" not in html
    versions = response.context["versions"]
    assert [(v.number, v.version_count, v.role_count) for v in versions] == [(2, 2, 5)]
    assert "1h" in html  # the duration
    assert 'href="/scenarios/traite/"' in html


def test_library_search_and_filters(trainer_client):
    build_version(slug="traite", title="Traite des mineures nigérianes", tags=["traite"])
    build_version(slug="labour", title="Labour exploitation", language="en", tags=["labour"])
    url = reverse("scenarios:library")

    def slugs(**params):
        response = trainer_client.get(url, params)
        return [v.scenario.slug for v in response.context["versions"]]

    assert slugs(q="NIGERIANES") == ["traite"]
    assert slugs(tag="labour") == ["labour"]
    assert slugs(language="en") == ["labour"]
    assert slugs(language="fr", q="labour") == []
    assert slugs(tag="no-such-tag") == ["labour", "traite"]  # a stale filter is dropped
    response = trainer_client.get(url, {"q": "rien du tout"})
    assert "Aucun scénario ne correspond" in response.content.decode()


def test_library_htmx_request_gets_only_the_results(trainer_client):
    build_version(slug="traite", title="Traite des mineures")
    response = trainer_client.get(
        reverse("scenarios:library"),
        {"q": "traite"},
        headers={"HX-Request": "true", "HX-Target": "results"},
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="results"')
    assert "<html" not in html
    assert "Traite des mineures" in html
    assert "1 scénario sur 1" in " ".join(html.split())


# --- the scenario page ---------------------------------------------------------------


def test_version_page_shows_roles_objectives_phases_and_attachments(trainer_client, built):
    response = trainer_client.get(reverse("scenarios:latest", args=["traite-mineurs"]))
    html = " ".join(response.content.decode().split())
    # Summary (markdown) and objectives with their measure in words.
    assert "<strong>repérée</strong>" in html
    assert (
        "Réponse « Ordonnance de placement » à la décision « Placement en urgence ? » "
        "en moins de 5m" in html
    )
    assert "Action « Demander un interprète » effectuée" in html
    assert "Échange de messages de « Enquêtrice OCRTEH » vers « Substitut des mineurs »" in html
    assert "Évalué par les formateurs et les observateurs" in html
    # Roles by kind, with the actor's character sheet (trainer-only page).
    assert "Stagiaires" in html and "Comédiens" in html and "Observateurs" in html
    assert "Elle a une dette de 30 000 €." in html
    assert "Vous êtes de <strong>permanence</strong>." in html
    # The phase timeline is drawn to scale without any inline style.
    assert 'class="timeline__chart"' in html
    assert 'x="33.333%"' in html
    assert "style=" not in html
    # Attachments, linked.
    attachment_url = reverse(
        "scenarios:attachment", args=["traite-mineurs", 1, built.attachment.pk]
    )
    assert f'href="{attachment_url}"' in html


def test_msel_describes_triggers_in_words(trainer_client, built):
    response = trainer_client.get(reverse("scenarios:version", args=["traite-mineurs", 1]))
    html = " ".join(response.content.decode().split())
    for words in [
        "à 2m",
        "3m après « Signalement de la SNCF »",
        "si décision « Placement en urgence ? » = « Ordonnance de placement »",
        "si décision « Placement en urgence ? » sans réponse (délai dépassé)",
        "sur action « Demander un interprète »",
        "manuel",
        "Tous les rôles",
    ]:
        assert words in html, words


def test_msel_of_a_scenario_with_the_law_keys(trainer_client):
    scenario_import(source=DATA / "law.yaml")
    response = trainer_client.get(reverse("scenarios:version", args=["law-example", 1]))
    assert response.status_code == 200
    html = " ".join(response.content.decode().split())
    assert "sur un événement" in html  # `when` forms beyond the first two
    assert "si décision « Quel statut pour la mineure ? » sans réponse" in html
    assert "dim. 15 mars 2026, 22:41" in html  # its message at 1 min, in story time


def msel(client, **params) -> list[str]:
    response = client.get(reverse("scenarios:version", args=["traite-mineurs", 1]), params)
    assert response.status_code == 200
    return [row.inject.ident for row in response.context["msel"]]


def test_msel_filters_by_role_and_kind(trainer_client, built):
    assert msel(trainer_client, role="police") == [
        "signalement",
        "relance",
        "interprete-arrive",
        "annonce",
    ]
    assert msel(trainer_client, role="police", kind="message") == ["signalement", "relance"]
    assert len(msel(trainer_client, role="nobody", kind="bogus")) == 9  # stale: dropped


def test_msel_sorts_by_column_with_aria_sort(trainer_client, built):
    url = reverse("scenarios:version", args=["traite-mineurs", 1])
    assert msel(trainer_client, sort="title")[0] == "appel-parquet"
    assert msel(trainer_client, sort="-title")[0] == "signalement"

    html = trainer_client.get(url, {"sort": "-title", "role": "police"}).content.decode()
    assert html.count("aria-sort=") == 1
    assert 'aria-sort="descending"' in html
    # The next click on the same column sorts ascending again, keeping the filter.
    assert f'href="{url}?role=police&amp;sort=title#msel"' in html
    default = trainer_client.get(url).content.decode()
    assert 'aria-sort="ascending"' in default  # time order by default


def test_msel_htmx_request_gets_only_the_table(trainer_client, built):
    response = trainer_client.get(
        reverse("scenarios:version", args=["traite-mineurs", 1]),
        {"kind": "cue"},
        headers={"HX-Request": "true", "HX-Target": "msel"},
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="msel"')
    assert "Joy se tait" in html
    assert "Signalement de la SNCF" not in html
    assert "<html" not in html


def test_role_receives_shows_only_what_reaches_the_role(trainer_client, built):
    url = reverse("scenarios:receives", args=["traite-mineurs", 1])
    response = trainer_client.get(url, {"role": "avocat"})
    assert [row.inject.ident for row in response.context["received"]] == [
        "foyer",
        "annonce",  # `to: all`
        "note-avocat",
    ]
    html = response.content.decode()
    assert "Rapport du foyer" in html
    assert "Fin de la garde à vue" in html
    assert "Signalement de la SNCF" not in html
    assert "Appel au parquet" not in html

    actor = trainer_client.get(url, {"role": "joy"}).content.decode()
    assert "Je ne sais pas." in actor  # the cue's lines are rendered
    assert "elle donne son prénom" in actor


def test_role_receives_htmx_and_unknown_role(trainer_client, built):
    url = reverse("scenarios:receives", args=["traite-mineurs", 1])
    response = trainer_client.get(
        url, {"role": "parquet"}, headers={"HX-Request": "true", "HX-Target": "received"}
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="received"')
    assert "Placement en urgence ?" in html
    unknown = trainer_client.get(url, {"role": "nobody"})
    assert unknown.status_code == 200
    assert "n’a pas de rôle « nobody »" in unknown.content.decode()


def test_an_older_version_says_so(trainer_client):
    build_version(slug="s", number=1)
    build_version(slug="s", number=2)
    html = trainer_client.get(reverse("scenarios:version", args=["s", 1])).content.decode()
    assert "qui n’est pas la dernière" in html
    assert 'href="/scenarios/s/v2/"' in html


# --- stale links ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/scenarios/nope/", "Aucun scénario n’a l’identifiant « nope »."),
        ("/scenarios/traite-mineurs/v7/", "n’a pas de version 7 (versions existantes : v1)"),
        ("/scenarios/nope/history/", "Aucun scénario n’a l’identifiant « nope »."),
        ("/scenarios/traite-mineurs/v1/attachments/999999/", "n’a pas de pièce jointe n° 999999"),
        ("/scenarios/traite-mineurs/v1/nothing-here/", "Aucune page ne correspond"),
    ],
)
def test_stale_links_say_what_was_not_found(trainer_client, built, path, message):
    response = trainer_client.get(path)
    assert response.status_code == 404
    assert message in response.content.decode()


# --- attachments ---------------------------------------------------------------------


def test_attachment_download(trainer_client, built):
    response = trainer_client.get(
        reverse("scenarios:attachment", args=["traite-mineurs", 1, built.attachment.pk])
    )
    assert response.status_code == 200
    assert response.content == bytes(built.attachment.blob.data)
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="rapport-foyer.pdf"'
    assert response["X-Content-Type-Options"] == "nosniff"


def test_attachment_of_another_version_is_not_found(trainer_client, built):
    """No IDOR: an attachment id is only served under its own version."""
    other = build_version(slug="traite-mineurs", number=2)
    own = reverse("scenarios:attachment", args=["traite-mineurs", 2, other.attachment.pk])
    assert trainer_client.get(own).status_code == 200
    crossed = reverse("scenarios:attachment", args=["traite-mineurs", 2, built.attachment.pk])
    assert trainer_client.get(crossed).status_code == 404
    elsewhere = build_version(slug="autre")
    crossed = reverse("scenarios:attachment", args=["traite-mineurs", 1, elsewhere.attachment.pk])
    assert trainer_client.get(crossed).status_code == 404


# --- import --------------------------------------------------------------------------


def test_import_page(trainer_client):
    response = trainer_client.get(reverse("scenarios:import"))
    assert response.status_code == 200
    assert 'enctype="multipart/form-data"' in response.content.decode()


def test_import_success_redirects_to_the_new_version(trainer_client, trainer):
    response = upload(trainer_client, "audition.yaml", SCENARIO_YAML.encode())
    version = ScenarioVersion.objects.get(scenario__slug="audition-test")
    assert response.status_code == 302
    assert response.url == reverse("scenarios:version", args=["audition-test", 1])
    assert version.imported_by == trainer
    page = trainer_client.get(response.url).content.decode()
    assert "Version 1 de « Audition d&#x27;une mineure » importée." in page

    # Re-importing the same file makes no new version, and says so.
    again = upload(trainer_client, "audition.yaml", SCENARIO_YAML.encode())
    assert again.url == reverse("scenarios:version", args=["audition-test", 1])
    assert ScenarioVersion.objects.filter(scenario__slug="audition-test").count() == 1
    assert "identique à la version 1" in trainer_client.get(again.url).content.decode()


def test_import_lists_warnings_in_the_message(trainer_client):
    with_actor = SCENARIO_YAML.replace(
        "injects:", "  - id: joy\n    title: Joy\n    kind: actor\ninjects:"
    )
    response = upload(trainer_client, "audition.yaml", with_actor.encode(), follow=True)
    html = response.content.decode()
    assert "1 avertissement à l’import" in html
    assert "[actor-without-cue]" in html


def test_import_failure_reports_every_problem_with_its_line_and_writes_nothing(trainer_client):
    broken = SCENARIO_YAML.replace("kind: trainee\n    profession: prosecutor", "kind: trainer")
    broken = broken.replace("to: [police]", "to: [polise]")
    before = (Scenario.objects.count(), ScenarioVersion.objects.count(), Blob.objects.count())

    response = upload(trainer_client, "audition.yaml", broken.encode())

    assert response.status_code == 400
    assert (Scenario.objects.count(), ScenarioVersion.objects.count(), Blob.objects.count()) == (
        before
    )
    html = " ".join(response.content.decode().split())
    assert "Import refusé" in html
    rows = response.context["diagnostics"]
    assert {row["code"] for row in rows} >= {"bad-value", "unknown-role"}
    unknown = next(row for row in rows if row["code"] == "unknown-role")
    assert unknown["position"] == "audition.yaml:17:10"
    assert unknown["excerpt"] == "    to: [polise]"
    assert "audition.yaml:17:10" in html
    assert "[polise]" in html


def test_import_zip_with_an_attachment(trainer_client):
    data = bundle(ATTACHED_YAML, {"notes/consignes.txt": b"Restez calme.\n"})
    response = upload(trainer_client, "avec-pieces.zip", data)
    assert response.status_code == 302
    version = ScenarioVersion.objects.get(scenario__slug="avec-pieces")
    html = trainer_client.get(response.url).content.decode()
    assert "consignes.txt" in html
    assert version.injects.get(ident="appel").attachments.count() == 1


def test_import_zip_failure_quotes_the_yaml_inside(trainer_client):
    data = bundle(ATTACHED_YAML.replace("to: [police]", "to: [polise]"), {})
    response = upload(trainer_client, "avec-pieces.zip", data)
    assert response.status_code == 400
    rows = {row["code"]: row for row in response.context["diagnostics"]}
    assert rows["unknown-role"]["excerpt"] == "    to: [polise]"
    assert "missing-attachment" in rows


def test_import_check_only_writes_nothing(trainer_client):
    response = upload(trainer_client, "audition.yaml", SCENARIO_YAML.encode(), check_only="on")
    assert response.status_code == 200
    assert not Scenario.objects.exists()
    html = " ".join(response.content.decode().split())
    assert "audition.yaml est valide" in html
    assert "créerait la version 1 de « audition-test »" in html


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("notes.txt", b"hello", "Seuls les fichiers .yaml, .yml, .xlsx et .zip"),
        ("big.yaml", b"#" * (2 * 1024 * 1024 + 1), "la limite est de 2,0"),
    ],
)
def test_import_refuses_wrong_files_before_reading_them(trainer_client, name, data, message):
    response = upload(trainer_client, name, data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Scenario.objects.exists()


def test_import_stops_storing_an_upload_past_the_bundle_limit(trainer_client, monkeypatch):
    from scenarios import views

    monkeypatch.setattr(views, "MAX_BUNDLE_BYTES", 1024)
    response = upload(trainer_client, "huge.zip", b"x" * 4096)
    assert response.status_code == 400
    assert "dépasse la limite de 50 Mio" in response.content.decode()


# --- export and history --------------------------------------------------------------


def test_export_yaml_and_zip_of_an_imported_version(trainer_client, imported):
    args = [imported.scenario.slug, imported.number]
    response = trainer_client.get(reverse("scenarios:export_yaml", args=args))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/yaml; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="audition-test-v1.yaml"'
    text = response.content.decode()
    assert "slug: audition-test" in text

    response = trainer_client.get(reverse("scenarios:export_zip", args=args))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        assert archive.read("scenario.yaml").decode() == text


def test_export_yaml_of_a_version_with_attachments_offers_the_zip(trainer_client, trainer):
    data = bundle(ATTACHED_YAML, {"notes/consignes.txt": b"Restez calme.\n"})
    version = scenario_import(source=("b.zip", data), user=trainer).version
    args = [version.scenario.slug, version.number]
    response = trainer_client.get(reverse("scenarios:export_yaml", args=args))
    assert response.status_code == 409
    assert reverse("scenarios:export_zip", args=args) in response.content.decode()
    archive = zipfile.ZipFile(
        io.BytesIO(trainer_client.get(reverse("scenarios:export_zip", args=args)).content)
    )
    assert archive.read("notes/consignes.txt") == b"Restez calme.\n"


def test_history_diffs_two_versions(trainer_client, trainer, imported):
    changed = SCENARIO_YAML.replace("at: 30m", "at: 45m")
    scenario_import(source=("v2.yaml", changed.encode()), user=trainer)
    url = reverse("scenarios:history", args=["audition-test"])

    response = trainer_client.get(url)  # by default: the latest change
    assert response.status_code == 200
    diff = response.context["diff"]
    assert (diff["a"].number, diff["b"].number, diff["added"], diff["removed"]) == (1, 2, 1, 1)
    html = response.content.decode()
    assert "<del>" in html and "<ins>" in html
    assert "45m" in html

    same = trainer_client.get(url, {"a": "2", "b": "2"})
    assert same.context["diff"]["lines"] == []
    assert "Les deux versions sont identiques." in same.content.decode()

    partial = trainer_client.get(
        url, {"a": "2", "b": "1"}, headers={"HX-Request": "true", "HX-Target": "diff"}
    )
    assert partial.content.decode().lstrip().startswith('<div id="diff"')


def test_history_of_a_single_version_has_nothing_to_compare(trainer_client, imported):
    response = trainer_client.get(reverse("scenarios:history", args=["audition-test"]))
    assert response.status_code == 200
    assert response.context["diff"] is None
    assert "rien à comparer" in response.content.decode()


# --- admin ---------------------------------------------------------------------------


def test_admin_shows_versions_read_only(admin_client_, built):
    version = built.version
    changelist = admin_client_.get(reverse("admin:scenarios_scenarioversion_changelist"))
    assert changelist.status_code == 200
    assert built.version.title in changelist.content.decode()
    page = admin_client_.get(reverse("admin:scenarios_scenarioversion_change", args=[version.pk]))
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    assert admin_client_.get(reverse("admin:scenarios_scenarioversion_add")).status_code == 403
    delete = reverse("admin:scenarios_scenarioversion_delete", args=[version.pk])
    assert admin_client_.post(delete, {"post": "yes"}).status_code == 403
    assert ScenarioVersion.objects.filter(pk=version.pk).exists()


# --- robustness and the CSP contract -------------------------------------------------


def test_a_bare_version_renders(trainer_client):
    version = ScenarioVersionFactory(scenario__slug="nu", duration_s=None, summary="")
    RoleFactory(version=version, ident="police")
    html = trainer_client.get(reverse("scenarios:latest", args=["nu"])).content.decode()
    assert "Ce scénario ne découpe pas l’exercice en phases." in html
    assert "Aucun objectif déclaré." in html
    assert "Ce scénario n’a pas de pièce jointe." in html


def test_an_htmx_history_restore_gets_the_whole_page(trainer_client, built):
    response = trainer_client.get(
        reverse("scenarios:version", args=["traite-mineurs", 1]),
        headers={"HX-Request": "true", "HX-Target": "msel", "HX-History-Restore-Request": "true"},
    )
    assert "<html" in response.content.decode()


def test_pages_carry_no_inline_script_style_or_handler(trainer_client, built):
    """The strict CSP refuses them: every script is a static file."""
    urls = [u for u in page_urls(built) if "attachments" not in u and "export" not in u]
    for url in [*urls, "/scenarios/nope/"]:
        html = trainer_client.get(url).content.decode()
        assert re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html) is None, url
        assert re.search(r"\sstyle=", html) is None, url
        assert re.search(r"\son[a-z]+=", html) is None, url
        assert "hx-on" not in html, url
