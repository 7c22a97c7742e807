"""The WebSocket handshake's Origin must be this very site: scheme, host and port.

Channels' `AllowedHostsOriginValidator` compares only the Origin's host with
ALLOWED_HOSTS, so a page served from another port of the same machine (another app,
a developer's server — `http://127.0.0.1:9999`) or over plain HTTP next to HTTPS could
open a trainer's socket with the trainer's cookies (cross-site WebSocket hijacking).
Here, as Django's CSRF check does for forms, the Origin must equal the origin of the
handshake request itself — `https` if the socket is `wss` (or the trusted proxy says
so, `SECURE_PROXY_SSL_HEADER`), and the Host header with its port, which must be an
allowed host — or be listed in CSRF_TRUSTED_ORIGINS. Behind nginx, the Host header
must be passed with its port (`proxy_set_header Host $http_host`).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host

DEFAULT_PORTS = {"http": 80, "https": 443}


def _normalise(origin: str) -> str | None:
    """`scheme://host[:port]`, lower-case, without a default port; None if malformed."""
    try:
        parts = urlsplit(origin.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname or parts.path not in ("", "/"):
        return None
    if parts.username or parts.password or parts.query or parts.fragment:
        return None
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    port = port if port and port != DEFAULT_PORTS[parts.scheme] else None
    return f"{parts.scheme}://{host}" + (f":{port}" if port else "")


def _headers(scope) -> dict[str, str]:
    found: dict[str, str] = {}
    for name, value in scope.get("headers") or ():
        # A repeated header: the last one counts (as for Origin in Channels).
        found[name.decode("latin-1").lower()] = value.decode("latin-1")
    return found


def _secure(scope, headers: dict[str, str]) -> bool:
    if scope.get("scheme") in ("wss", "https"):
        return True
    proxy = getattr(settings, "SECURE_PROXY_SSL_HEADER", None)
    if proxy:
        name, value = proxy
        header = name.lower().removeprefix("http_").replace("_", "-")
        return headers.get(header, "").split(",")[0].strip() == value
    return False


def expected_origin(scope) -> str | None:
    """The origin of the handshake request itself, if its Host is an allowed host."""
    headers = _headers(scope)
    host = headers.get("host", "")
    if not host:
        return None
    domain, _port = split_domain_port(host)
    allowed = settings.ALLOWED_HOSTS or ([".localhost", "127.0.0.1", "[::1]"]
                                         if settings.DEBUG else [])
    if not domain or not validate_host(domain, allowed):
        return None
    return _normalise(("https" if _secure(scope, headers) else "http") + "://" + host)


def origin_allowed(scope) -> bool:
    headers = _headers(scope)
    origin = _normalise(headers.get("origin", ""))
    if origin is None:  # missing, "null", or not an http(s) origin
        return False
    expected = expected_origin(scope)
    if expected is not None and origin == expected:
        return True
    trusted = {_normalise(o) for o in getattr(settings, "CSRF_TRUSTED_ORIGINS", [])}
    return origin in trusted - {None}


class SameOriginValidator:
    """ASGI middleware: refuse WebSocket handshakes from any other origin."""

    def __init__(self, application):
        self.application = application

    async def __call__(self, scope, receive, send):
        if scope["type"] == "websocket" and not origin_allowed(scope):
            denier = WebsocketDenier()
            return await denier(scope, receive, send)
        return await self.application(scope, receive, send)
