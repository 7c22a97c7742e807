"""The strict Content-Security-Policy holds on every screen: not one violation.

Every main screen is visited in Chromium and used a little (login, library, import,
control room, trainee desk, actor tablet, observer, room display, join flow, pack,
replay, after-action report, archive) while every `securitypolicyviolation` event and
every console message is collected, in every page and frame of every context: any
violation, console message about the policy or uncaught page error fails the test
(other console errors are reported as warnings). Each HTML page must carry the policy,
without 'unsafe-inline' or 'unsafe-eval' for scripts. A last test injects an inline
script into a served page to show the watch does catch a violation.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from sessions import engine
from sessions.models import Seat
from simtrain.permissions import COURSE_ADMIN_GROUP
from tests.browser.conftest import TABLET_LANDSCAPE, wait_live
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct horse battery staple"

# Runs before the page's own scripts in every document and frame, and is not subject
# to the page's CSP. Violations go to Python through an exposed function, so a page
# that navigates away right after one still gets it reported.
WATCH = """
(() => {
  document.addEventListener('securitypolicyviolation', (e) => {
    const v = {directive: e.effectiveDirective || e.violatedDirective, blocked: e.blockedURI,
               sample: e.sample, source: e.sourceFile, line: e.lineNumber,
               page: location.href};
    (window.__cspViolations = window.__cspViolations || []).push(v);
    if (typeof window.simtrainCspViolation === 'function') window.simtrainCspViolation(v);
  }, true);
})();
"""
CSP_WORDS = re.compile(r"content.security.policy|refused to", re.IGNORECASE)


def directives(header: str) -> dict[str, list[str]]:
    out = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            out[words[0].lower()] = words[1:]
    return out


@dataclass
class CspWatch:
    """Violations, console messages, page errors and CSP headers, across contexts."""

    base: str
    violations: list[dict] = field(default_factory=list)
    console: list[str] = field(default_factory=list)  # CSP messages in the console
    other_console: list[str] = field(default_factory=list)  # other errors: reported only
    errors: list[str] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)  # document URL -> CSP header
    bad_headers: list[str] = field(default_factory=list)
    # Console errors the test provokes on purpose (a refused upload answers 400).
    expected: list[re.Pattern] = field(default_factory=list)

    def install(self, context) -> None:
        context.expose_function("simtrainCspViolation", self._on_violation)
        context.add_init_script(script=WATCH)
        context.on("console", self._on_console)
        context.on("weberror", lambda err: self.errors.append(str(err.error)))
        context.on("response", self._on_response)

    def _on_violation(self, violation: dict) -> None:
        self.violations.append(violation)

    def _on_console(self, message) -> None:
        if any(p.search(message.text + " " + message.location.get("url", ""))
               for p in self.expected):
            return
        line = f"{message.type}: {message.text} ({message.location.get('url', '')})"
        if CSP_WORDS.search(message.text):
            self.console.append(line)
        elif message.type in ("error", "warning"):
            self.other_console.append(line)

    def _on_response(self, response) -> None:
        if response.request.resource_type != "document" or not response.url.startswith(self.base):
            return
        if 300 <= response.status < 400:
            return
        headers = response.headers
        if "text/html" not in headers.get("content-type", ""):
            return
        policy = headers.get("content-security-policy", "")
        self.headers[response.url] = policy
        found = directives(policy)
        script = found.get("script-src", found.get("default-src"))
        if (not policy or script is None or "'unsafe-inline'" in script
                or "'unsafe-eval'" in script or "'unsafe-inline'" in found.get("style-src", [])
                or found.get("default-src") != ["'self'"]):
            self.bad_headers.append(f"{response.url}: {policy!r}")

    def problems(self) -> list[str]:
        return ([f"violation: {v}" for v in self.violations]
                + [f"console {m}" for m in self.console]
                + [f"page error: {e}" for e in self.errors]
                + [f"CSP header: {h}" for h in self.bad_headers])

    def check(self, where: str) -> None:
        assert not self.problems(), f"{where}:\n" + "\n".join(self.problems())
        if self.other_console:
            # Not the CSP's business, but worth seeing in the summary (-ra).
            warnings.warn(f"{where}: console errors: " + " | ".join(self.other_console),
                          stacklevel=2)
            self.other_console.clear()


@pytest.fixture
def watch(stage, monkeypatch):
    watch = CspWatch(base=stage.base)
    new_context = stage._context

    def watched_context(viewport=None, **kwargs):
        context = new_context(viewport, **kwargs)
        watch.install(context)
        return context

    monkeypatch.setattr(stage, "_context", watched_context)
    return watch


def visit(page, url: str, selector: str = "main") -> None:
    response = page.goto(url)
    assert response is not None and response.ok, (url, response and response.status)
    page.wait_for_selector(selector)


def logged_in_context(stage, user):
    context = stage._context()
    client = Client()
    client.force_login(user)
    context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": stage.base}]
    )
    return context


def test_no_csp_violation_on_any_screen(stage, watch, version, settings):
    s, base = stage.session, stage.base
    slug, number = version.scenario.slug, version.number
    # The server checks passwords with the default hashers, not the tests' fast one.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]
    stage.trainer.set_password(PASSWORD)
    stage.trainer.save()

    # Home and login, as a stranger; the login form signs the trainer in for real.
    anonymous = stage._context()
    page = anonymous.new_page()
    visit(page, f"{base}/")  # → the join page
    assert "/join/" in page.url
    visit(page, f"{base}/login/")
    page.fill("input[name=username]", stage.trainer.get_username())
    page.fill("input[name=password]", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(f"{base}/scenarios/")
    watch.check("home and login")

    # The library, a version page and its tabs, the history, the import page.
    visit(page, f"{base}/scenarios/")
    visit(page, f"{base}/scenarios/{slug}/v{number}/")
    for tab in page.locator("main [role=tab], main details > summary").all()[:4]:
        if tab.is_visible():
            tab.click()
    visit(page, f"{base}/scenarios/{slug}/history/")
    visit(page, f"{base}/scenarios/import/")
    watch.expected.append(re.compile(r"status of 400 .*/scenarios/import/$"))
    page.set_input_files("input[type=file]", files=[{
        "name": "broken.yaml", "mimeType": "application/yaml",
        "buffer": b"format: simtrain.scenario/1\nid: broken\nroles: [\n",
    }])
    page.click("main form button[type=submit]")
    page.wait_for_selector("#report")
    watch.expected.clear()
    visit(page, f"{base}/sessions/")
    visit(page, f"{base}/sessions/new/{version.pk}/")
    watch.check("library, version page, import, sessions")
    anonymous.close()

    # The control room: start, speed up, jump to a phase, fire an inject by hand, write a
    # note, open the ad-hoc composer.
    trainer = stage.trainer_page()
    control = stage.open(trainer, f"/sessions/{s.pk}/")
    control.click("#console-toggle[data-action='start']")
    control.wait_for_selector("#clock[data-state='running']")
    control.select_option("#jump-phase", "rencontre")
    control.click(".console__jump button[type=submit]")
    control.wait_for_selector("#region-timeline [data-inject='bc-j0'][data-state='fired']")
    control.locator(
        "#region-timeline [data-inject='doc-pv-constatation'] "
        "form:has(input[value='inject.fire']) button"
    ).click()
    control.wait_for_selector(
        "#region-timeline [data-inject='doc-pv-constatation'][data-state='fired']"
    )
    control.locator("body").click(position={"x": 5, "y": 5})
    control.keyboard.press("n")
    control.keyboard.type("Bonne séparation de Joy et Precious")
    control.keyboard.press("Enter")
    control.wait_for_selector("#region-notes .note:has-text('Bonne séparation')")
    control.click("[data-dialog-open='composer-dialog']")
    control.wait_for_selector("#composer-dialog[open]")
    control.keyboard.press("Escape")
    watch.check("control room")

    # Trainee desks: open an item and its attachment in the viewer, send a message.
    police = stage.seat("police", "Chloé Bernard", path=f"/sessions/{s.pk}/desk/")
    parquet = stage.seat("parquet", "Julien Roy", path=f"/sessions/{s.pk}/desk/")
    desk = police.page
    item = desk.locator("#region-inbox .inbox-item[data-inject='doc-pv-constatation']")
    item.locator("summary").click()
    item.locator(".attachment__open").first.click()
    desk.wait_for_selector("#viewer[open] iframe.viewer__frame")
    desk.wait_for_timeout(500)  # the frame loads its document
    desk.keyboard.press("Escape")
    desk.locator("#thread-with-parquet > summary").click()
    desk.fill("#msg-parquet", "Mineure probable, client en garde à vue. On se rappelle ?")
    desk.press("#msg-parquet", "Enter")
    parquet.page.locator("#thread-with-police .message",
                         has_text="client en garde à vue").wait_for()
    watch.check("trainee desk")

    # An actor and an observer arrive through their invitation links.
    def invited(role: str, name: str, viewport=None):
        seat = Seat.objects.filter(session=s, role__ident=role, holder_key="").first()
        context = stage._context(viewport)
        page = context.new_page()
        visit(page, f"{base}/invite/{seat.invite_token}/")
        page.fill("input[name=name]", name)
        page.click("main button[type=submit]")
        wait_live(page)
        return context, page

    joy_context, tablet = invited("joy", "Amara N.", TABLET_LANDSCAPE)
    assert "/tablet/" in tablet.url
    tablet.wait_for_selector(".cue-card[data-state='open']")
    tablet.click(".cue-card[data-state='open'] .cue-card__done button")
    tablet.click("[data-dialog-open='character-dialog']")
    tablet.wait_for_selector("#character-dialog[open]")
    tablet.keyboard.press("Escape")
    tablet.click(".btn--stop")
    tablet.wait_for_selector("#region-alerts .safety-sent")
    control.wait_for_selector("#safety-dialog[open]")
    control.click("[data-safety-ack]")
    watch.check("actor tablet, safety stop")

    observer_context, observer = invited("observateur", "Léa Observatrice")
    assert "/desk/" in observer.url
    visit(observer, f"{base}/sessions/{s.pk}/rate/")
    watch.check("observer")

    # The room display and the printable pack.
    room = stage.trainer_page("room")
    stage.open(room, f"/sessions/{s.pk}/room/")
    visit(room.page, f"{base}/sessions/{s.pk}/pack/")
    watch.check("room display, pack")

    # The join flow, with nothing but the code.
    newcomer = stage._context()
    page = newcomer.new_page()
    visit(page, f"{base}/join/")
    page.fill("input[name=code]", s.code)
    page.click("main button[type=submit]")
    page.wait_for_url(f"**/sessions/{s.pk}/join/")
    page.fill("input[name=name]", "Inès Moreau")
    page.locator("input[name=seat]").first.check()
    page.click("main button[type=submit]")
    page.wait_for_url(f"**/sessions/{s.pk}/desk/")
    wait_live(page)
    watch.check("join flow")

    # After the exercise: replay (another perspective, a marker, play), the report.
    engine.session_end(session_id=s.pk, principal=stage.principal())
    review = trainer.page
    visit(review, f"{base}/sessions/{s.pk}/replay/",
          ".replay-frame[data-as='trainer'] #replay-region-roster")
    review.select_option("#replay-as", f"seat:{police.seat.pk}")
    review.wait_for_selector(
        f".replay-frame[data-as='seat:{police.seat.pk}'] #replay-region-inbox")
    marker = review.locator(".replay__marker a[data-seq]").nth(1)
    seq = marker.get_attribute("data-seq")
    marker.click()
    review.wait_for_selector(f"#replay-status[data-seq='{seq}']")
    review.click("[data-replay='play']")
    review.wait_for_timeout(800)
    review.click("[data-replay='play']")
    visit(review, f"{base}/sessions/{s.pk}/report/", "#aar-objectives")
    watch.check("replay, after-action report")

    # The archive, as a course admin.
    admin = UserFactory(username="admin-csp", is_staff=True)
    admin.groups.add(Group.objects.get(name=COURSE_ADMIN_GROUP))
    admin_context = logged_in_context(stage, admin)
    page = admin_context.new_page()
    visit(page, f"{base}/sessions/archive/")
    page.fill("#f-q", s.code)
    page.click(".filters button[type=submit]")
    page.wait_for_selector(f"#archive [data-session='{s.pk}']")
    visit(page, f"{base}/sessions/{s.pk}/delete/")
    visit(page, f"{base}/sessions/archive/audit/?session={s.pk}")
    page.select_option("#a-action", "seat.assigned")
    page.click(".filters button[type=submit]")
    page.wait_for_selector("#audit [data-action='seat.assigned'], .empty")
    watch.check("archive")

    for context in (joy_context, observer_context, newcomer, admin_context):
        context.close()

    # Every HTML page carried the policy (checked as they came, in `watch.bad_headers`).
    visited = {re.sub(r"\?.*", "", url.removeprefix(base)) for url in watch.headers}
    for path in ("/login/", "/join/", "/scenarios/", f"/scenarios/{slug}/v{number}/",
                 "/scenarios/import/", f"/sessions/{s.pk}/", f"/sessions/{s.pk}/desk/",
                 f"/sessions/{s.pk}/tablet/", f"/sessions/{s.pk}/rate/",
                 f"/sessions/{s.pk}/room/", f"/sessions/{s.pk}/replay/",
                 f"/sessions/{s.pk}/report/", "/sessions/archive/",
                 "/sessions/archive/audit/"):
        assert path in visited, (path, sorted(visited))
    watch.check("the end")


def test_the_watch_catches_an_inline_script(stage, watch):
    """The negative control: an inline script added to a served page is refused, and
    the watch reports it (as the test above would)."""
    context = stage._context()
    page = context.new_page()
    visit(page, f"{stage.base}/login/")
    assert not watch.problems()
    # page.evaluate itself is exempt from the CSP; the <script> it adds is not.
    page.evaluate("""() => {
        const s = document.createElement('script');
        s.textContent = 'window.__inlineRan = true';
        document.body.append(s);
    }""")
    for _ in range(50):  # (not wait_for_function: it needs eval, which the CSP refuses)
        if watch.violations:
            break
        page.wait_for_timeout(100)
    assert page.evaluate("window.__inlineRan") is None
    assert any(v["directive"].startswith("script-src") for v in watch.violations), \
        watch.violations
    # Chromium says so in the console too.
    assert any("Content Security Policy" in m for m in watch.console), watch.console
    with pytest.raises(AssertionError, match="violation"):
        watch.check("an inline script")
    context.close()
