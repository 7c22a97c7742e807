"""A minimal browser for bots: cookies, CSRF, redirects, and the pages of the join flow.

Plain `urllib` (blocking: bots call it through `asyncio.to_thread`). It does what a
browser does for the pages a participant goes through — keep cookies, send the CSRF
token and an `Origin`, follow redirects — and nothing more.
"""

from __future__ import annotations

import http.cookiejar
import re
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

CSRF_COOKIE = "csrftoken"


@dataclass
class Response:
    status: int
    url: str  # after redirects
    text: str

    @property
    def path(self) -> str:
        return urllib.parse.urlsplit(self.url).path


class HttpError(RuntimeError):
    def __init__(self, what: str, response: Response):
        detail = ""
        if match := re.search(r'<pre class="exception_value">(.*?)</pre>', response.text, re.S):
            detail = f" ({match.group(1).strip()[:300]})"  # Django's debug page
        super().__init__(f"{what}: HTTP {response.status} at {response.path}{detail}")
        self.response = response


class Browser:
    def __init__(self, base_url: str, *, timeout: float = 20.0):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}),  # 127.0.0.1 never goes through a proxy
            urllib.request.HTTPCookieProcessor(self.jar),
        )

    def cookie(self, name: str) -> str | None:
        return next((c.value for c in self.jar if c.name == name), None)

    def cookie_header(self) -> str:
        return "; ".join(f"{c.name}={c.value}" for c in self.jar)

    def set_cookie(self, name: str, value: str) -> None:
        host = urllib.parse.urlsplit(self.base_url).hostname or ""
        self.jar.set_cookie(
            http.cookiejar.Cookie(
                version=0,
                name=name,
                value=value,
                port=None,
                port_specified=False,
                domain=host,
                domain_specified=False,
                domain_initial_dot=False,
                path="/",
                path_specified=True,
                secure=False,
                expires=None,
                discard=True,
                comment=None,
                comment_url=None,
                rest={"HttpOnly": ""},
            )
        )

    def request(self, method: str, path: str, data: dict | None = None) -> Response:
        url = path if path.startswith("http") else f"{self.base_url}{path}"
        body = None
        headers = {"Origin": self.base_url, "Accept": "text/html", "Accept-Language": "fr"}
        if data is not None:
            token = self.cookie(CSRF_COOKIE) or ""
            body = urllib.parse.urlencode({"csrfmiddlewaretoken": token, **data}).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["X-CSRFToken"] = token
        request = urllib.request.Request(url, data=body, headers=headers, method=method)
        try:
            with self.opener.open(request, timeout=self.timeout) as raw:
                return Response(raw.status, raw.geturl(), raw.read().decode("utf-8", "replace"))
        except urllib.error.HTTPError as err:
            text = err.read().decode("utf-8", "replace") if err.fp else ""
            return Response(err.code, err.geturl() or url, text)

    def get(self, path: str) -> Response:
        return self.request("GET", path)

    def post(self, path: str, data: dict) -> Response:
        return self.request("POST", path, data)


SEAT_CHOICE = re.compile(r'name="seat"\s+value="(\d+)"')


def seat_choices(html: str) -> list[int]:
    """The seat ids a join page offers (radio buttons named `seat`)."""
    return [int(v) for v in SEAT_CHOICE.findall(html)]
