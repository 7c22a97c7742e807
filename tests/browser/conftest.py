"""Browser tests: a real Daphne (tests/live_server.py) and Debian's Chromium via Playwright.

Each test gets a fresh server on the test database with the shipped scenario imported,
a trainer account and a session; `Stage` opens one browser context per person (the
trainer logged in, participants holding their seat's pass cookie) so that nothing is
shared between them but the server.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from sessions import engine
from sessions.access import pass_cookie_name, sign_pass
from sessions.layout import forget_caches
from sessions.models import Seat, new_secret
from simtrain.permissions import TRAINER_GROUP, ensure_groups
from tests.factories import UserFactory
from tests.live_server import live_server

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]
SCENARIO = Path(settings.BASE_DIR) / "fixtures" / "scenarios" / "nigerian-minors"
SCREENSHOTS = Path(settings.BASE_DIR) / "docs" / "screenshots"
DESKTOP = {"width": 1366, "height": 900}
TABLET_LANDSCAPE = {"width": 1280, "height": 800}
TABLET_PORTRAIT = {"width": 800, "height": 1280}


def pytest_collection_modifyitems(config, items):
    if shutil.which(CHROMIUM) is None:
        skip = pytest.mark.skip(reason=f"{CHROMIUM} is missing (apt-get install chromium)")
        for item in items:
            if "browser" in item.keywords:
                item.add_marker(skip)


@pytest.fixture(scope="module")
def browser():
    """Chromium for one test module.

    Playwright's sync API keeps an event loop running in this thread while it is open:
    the test's own ORM calls are synchronous all the same (hence the flag, which the
    server does not get, see `server`), and the loop must be gone before the async
    tests of other modules run (hence the module scope).
    """
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            yield chromium
            chromium.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


def _forget():
    """Caches keyed by ids: a flushed test database reuses ids for other rows."""
    from sessions.engine import due

    forget_caches()
    due.forget_versions()


@pytest.fixture
def server(transactional_db):
    _forget()
    with live_server(env={"DJANGO_ALLOW_ASYNC_UNSAFE": ""}) as running:
        yield running
    _forget()


@pytest.fixture
def trainer_user(transactional_db):
    ensure_groups()
    from django.contrib.auth.models import Group

    user = UserFactory(username="formatrice", first_name="Claire", last_name="Martin")
    user.groups.add(Group.objects.get(name=TRAINER_GROUP))
    return user


@pytest.fixture
def version(transactional_db):
    from scenarios.services import scenario_import

    return scenario_import(source=SCENARIO).version


@pytest.fixture
def live_session(version, trainer_user):
    return engine.session_create(
        version=version, trainer=trainer_user, title="Promotion 2026 — groupe B", cohort="P26-B"
    )


@dataclass
class Person:
    name: str
    context: object
    page: object
    seat: Seat | None = None
    principal: object = None


@dataclass
class Stage:
    """Everyone's browser for one session on one server."""

    browser: object
    server: object
    session: object
    trainer: object
    people: dict = field(default_factory=dict)

    @property
    def base(self) -> str:
        return self.server.base_url

    def principal(self):
        return engine.TrainerPrincipal(user_id=self.trainer.pk, name="Claire Martin")

    def _context(self, viewport=None, **kwargs):
        context = self.browser.new_context(
            viewport=viewport or DESKTOP, locale="fr-FR", timezone_id="Europe/Paris", **kwargs
        )
        context.set_default_timeout(15000)
        return context

    def trainer_page(self, name="trainer", viewport=None) -> Person:
        context = self._context(viewport)
        client = Client()
        client.force_login(self.trainer)
        context.add_cookies(
            [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": self.base}]
        )
        page = context.new_page()
        person = Person(name, context, page)
        self.people[name] = person
        return person

    def seat(self, role: str, name: str, viewport=None, path: str | None = None) -> Person:
        """A participant who took a free seat of `role` (as the join flow would)."""
        seat = (
            Seat.objects.filter(session=self.session, role__ident=role, holder_key="")
            .order_by("number")
            .first()
        )
        key = new_secret()
        engine.seat_claim(session_id=self.session.pk, seat_id=seat.pk, name=name, pass_key=key)
        context = self._context(viewport)
        context.add_cookies(
            [
                {
                    "name": pass_cookie_name(self.session.pk),
                    "value": sign_pass(self.session.pk, key),
                    "url": self.base,
                }
            ]
        )
        page = context.new_page()
        person = Person(name, context, page, seat, engine.SeatPrincipal(seat.pk, key))
        self.people[role] = person
        if path:
            self.open(person, path)
        return person

    def open(self, person: Person, path: str):
        person.page.goto(self.base + path)
        wait_live(person.page)
        return person.page

    def close(self):
        for person in self.people.values():
            person.context.close()


def wait_live(page, timeout=15000):
    """The page's socket is open (the connection indicator says so)."""
    page.wait_for_selector("#connection[data-state='open']", timeout=timeout)


@pytest.fixture
def stage(browser, server, live_session, trainer_user):
    stage = Stage(browser=browser, server=server, session=live_session, trainer=trainer_user)
    yield stage
    stage.close()


def screenshot(page, name: str, *, full_page: bool = False) -> Path:
    """A PNG for docs/screenshots/, reduced to a palette so that it stays small."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page, animations="disabled", caret="hide")
    try:
        from PIL import Image

        with Image.open(path) as image:
            small = image.convert("RGB").quantize(
                colors=128, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE
            )
            small.save(path, optimize=True)
    except ImportError:  # Pillow comes with WeasyPrint; without it the PNG stays as is
        pass
    return path


def axe_violations(page, *, impacts=("serious", "critical")) -> list[dict]:
    """axe-core's violations of the given impacts on the page as it is now."""
    # Served by the app itself: the strict CSP refuses inline scripts, tests' too.
    origin = page.evaluate("location.origin")
    page.add_script_tag(url=f"{origin}/static/vendor/axe-core/axe.min.js")
    result = page.evaluate(
        "async () => { const r = await axe.run(document, {resultTypes: ['violations']});"
        " return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,"
        " nodes: v.nodes.slice(0, 5).map(n => n.target.join(' '))})); }"
    )
    return [v for v in result if v["impact"] in impacts]
