"""simtrain.origin: a WebSocket handshake's Origin must be this site, port and scheme too."""

from __future__ import annotations

import pytest

from simtrain.origin import expected_origin, origin_allowed


def scope(origin: str | None, host: str = "127.0.0.1:8000", scheme: str = "ws", **headers):
    found = [(b"host", host.encode())] if host else []
    if origin is not None:
        found.append((b"origin", origin.encode()))
    found += [(k.replace("_", "-").encode(), v.encode()) for k, v in headers.items()]
    return {"type": "websocket", "scheme": scheme, "headers": found}


@pytest.fixture(autouse=True)
def hosts(settings):
    settings.ALLOWED_HOSTS = ["127.0.0.1", "localhost", "simtrain.example"]
    settings.CSRF_TRUSTED_ORIGINS = []


def test_the_page_of_this_very_site_is_accepted():
    assert origin_allowed(scope("http://127.0.0.1:8000"))
    assert origin_allowed(scope("http://LOCALHOST", host="localhost:80"))


@pytest.mark.parametrize("origin", [
    "http://127.0.0.1:9999",  # another port of the same machine got the trainer's stream
    "https://127.0.0.1:8000",  # another scheme
    "http://127.0.0.1",  # port 80 is not 8000
    "http://evil.example:8000",
    "http://127.0.0.1.evil.example:8000",
    "null",
    "",
    "file://",
    "http://user@127.0.0.1:8000",
])
def test_any_other_origin_is_refused(origin):
    assert not origin_allowed(scope(origin))


def test_no_origin_or_no_host_or_a_host_not_allowed_is_refused():
    assert not origin_allowed(scope(None))
    assert not origin_allowed(scope("http://127.0.0.1:8000", host=""))
    assert not origin_allowed(scope("http://evil.example:8000", host="evil.example:8000"))


def test_behind_a_tls_proxy_the_scheme_comes_from_the_trusted_header(settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    https = scope("https://simtrain.example", host="simtrain.example", x_forwarded_proto="https")
    assert expected_origin(https) == "https://simtrain.example"
    assert origin_allowed(https)
    plain = scope("http://simtrain.example", host="simtrain.example", x_forwarded_proto="https")
    assert not origin_allowed(plain)
    assert origin_allowed(scope("https://simtrain.example", host="simtrain.example",
                                scheme="wss"))


def test_trusted_origins_are_accepted_exactly(settings):
    settings.CSRF_TRUSTED_ORIGINS = ["https://console.example:8443"]
    assert origin_allowed(scope("https://console.example:8443"))
    assert not origin_allowed(scope("https://console.example"))
