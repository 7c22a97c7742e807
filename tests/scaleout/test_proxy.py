"""The client's address behind the shipped nginx config, in the scale-out shape.

The probe: nginx appended to X-Forwarded-For and `daphne --proxy-headers` took the
left-most entry, which the client writes: with a fresh header each try, 60 of 60 wrong
join codes were checked instead of 10, and any chosen address could be locked out.
Here nginx runs with scripts/nginx.conf.template in front of two Daphne workers
(started as scripts/run-scaled.sh starts them: no --proxy-headers,
SIMTRAIN_TRUSTED_PROXIES=127.0.0.1) on one Redis, and the clients come from two
loopback addresses (127.0.0.1 and 127.0.0.2).
"""

from __future__ import annotations

import http.client
import os
import pwd
import shutil
import subprocess
import tempfile
import time
import urllib.parse
from http.cookies import SimpleCookie
from pathlib import Path

import pytest
from django.conf import settings

from sessions import engine
from sessions.access import pass_cookie_name, sign_pass
from sessions.joinguard import CODE_FAILURES_LIMIT
from sessions.models import Seat
from tests.factories import RoleFactory, ScenarioVersionFactory
from tests.live_server import free_port
from tests.scaleout.conftest import Screen

pytestmark = [
    pytest.mark.scaleout,
    pytest.mark.django_db(transaction=True),
    pytest.mark.timeout(180),
]

ROOT = Path(settings.BASE_DIR)
INSTALL_NGINX = "apt-get install -y nginx"


class Nginx:
    """nginx from the shipped template, in front of the given workers."""

    def __init__(self, worker_ports: list[int]):
        if not shutil.which("nginx"):
            pytest.fail(f"nginx is not installed; run:  {INSTALL_NGINX}", pytrace=False)
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="simtrain-nginx-"))
        (self.dir / "tmp").mkdir()
        static = ROOT / "static"
        user = ""
        if os.getuid() == 0:  # as run-scaled.sh: workers run as the files' owner
            owner = pwd.getpwuid(static.stat().st_uid).pw_name
            user = f"user {owner};"
        upstreams = " ".join(f"server 127.0.0.1:{p} max_fails=1 fail_timeout=5s;"
                             for p in worker_ports)
        text = (ROOT / "scripts" / "nginx.conf.template").read_text()
        for key, value in {"@RUN@": str(self.dir), "@PORT@": str(self.port),
                           "@STATIC@": str(static), "@UPSTREAMS@": upstreams,
                           "@WS_TIMEOUT@": "60", "@USER@": user}.items():
            text = text.replace(key, value)
        self.conf = self.dir / "nginx.conf"
        self.conf.write_text(text)
        self.process = subprocess.Popen(
            ["nginx", "-c", str(self.conf), "-p", str(self.dir), "-g", "daemon off;"],
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True,
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                if self.request("GET", "/healthz")[0] == 200:
                    return
            except OSError:
                time.sleep(0.1)
        self.close()
        raise RuntimeError(f"nginx did not answer on {self.port}: "
                           f"{(self.dir / 'nginx-error.log').read_text(errors='replace')}")

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    origin = base_url

    def ws_url(self, path: str) -> str:
        return f"ws://127.0.0.1:{self.port}{path}"

    def request(self, method: str, path: str, *, body: str = "", headers=None,
                source: str = "127.0.0.1") -> tuple[int, dict[str, str], str]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10,
                                          source_address=(source, 0))
        try:
            conn.request(method, path, body=body.encode() or None, headers=headers or {})
            response = conn.getresponse()
            cookies = SimpleCookie()
            for value in response.headers.get_all("Set-Cookie") or []:
                cookies.load(value)
            return response.status, {k: m.value for k, m in cookies.items()}, \
                response.read().decode(errors="replace")
        finally:
            conn.close()

    def join(self, code: str, *, source: str = "127.0.0.1", forged: str | None = None) -> int:
        """POST the join form as a browser would, with a forged address if asked."""
        _status, cookies, _ = self.request("GET", "/join/", source=source)
        token = cookies["csrftoken"]
        headers = {"Cookie": f"csrftoken={token}", "Origin": self.origin,
                   "Content-Type": "application/x-www-form-urlencoded"}
        if forged:
            headers |= {"X-Forwarded-For": forged, "X-Real-IP": forged}
        body = urllib.parse.urlencode({"code": code, "csrfmiddlewaretoken": token})
        return self.request("POST", "/join/", body=body, headers=headers, source=source)[0]

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def proxy(cluster):
    cluster.env["SIMTRAIN_TRUSTED_PROXIES"] = "127.0.0.1"
    workers = [cluster.worker(), cluster.worker()]
    server = Nginx([w.port for w in workers])
    yield server
    server.close()


def wrong(n: int) -> str:
    return "AAA" + "".join("ACDEFGHJKMNPQRTUVWXY34679"[(n // 25**i) % 25] for i in range(4))


def test_a_fresh_forwarded_header_each_try_does_not_dodge_the_limit(proxy, trainer):
    version = ScenarioVersionFactory()
    RoleFactory(version=version, ident="police")
    session = engine.session_create(version=version, trainer=trainer, title="Proxy")
    statuses = [proxy.join(wrong(n), forged=f"10.{n}.0.1") for n in range(60)]
    assert statuses[:CODE_FAILURES_LIMIT] == [400] * CODE_FAILURES_LIMIT
    assert set(statuses[CODE_FAILURES_LIMIT:]) == {429}  # 10 checked, not 60
    # The client at 127.0.0.2 was named in every forged header: it is not locked out.
    assert proxy.join(session.code, source="127.0.0.2") == 302
    assert proxy.join(session.code, source="127.0.0.1") == 429


def test_sockets_pass_the_origin_check_through_the_proxy(proxy, trainer):
    """nginx passes Host with its port, so the same-origin check holds behind it."""
    version = ScenarioVersionFactory()
    RoleFactory(version=version, ident="police")
    session = engine.session_create(version=version, trainer=trainer, title="Proxy")
    seat = Seat.objects.get(session=session)
    engine.seat_claim(session_id=session.pk, seat_id=seat.pk, name="Chloé", pass_key="k-px")
    cookie = f"{pass_cookie_name(session.pk)}={sign_pass(session.pk, 'k-px')}"
    screen = Screen(proxy, session.pk, cookie)
    try:
        screen.send(cmd="ping")
        assert screen.wait_for(lambda s: "<!--pong-->" in s.text(), timeout=10)
        assert screen.closed_code is None
    finally:
        screen.close()
