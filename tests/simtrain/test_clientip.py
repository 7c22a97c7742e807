"""simtrain.clientip: the one place that decides a client's address."""

from __future__ import annotations

import pytest
from django.test import RequestFactory

from simtrain.clientip import client_ip, resolve, scope_client_ip


@pytest.fixture
def behind_nginx(settings):
    settings.SIMTRAIN_TRUSTED_PROXIES = ["127.0.0.1", "10.0.0.0/8"]


def test_without_a_trusted_proxy_the_peer_is_the_client_whatever_the_headers(settings):
    settings.SIMTRAIN_TRUSTED_PROXIES = []
    headers = {"x-real-ip": "198.51.100.7", "x-forwarded-for": "198.51.100.8"}
    assert resolve("203.0.113.5", headers) == "203.0.113.5"


def test_behind_a_trusted_proxy_its_x_real_ip_counts(behind_nginx):
    assert resolve("127.0.0.1", {"x-real-ip": "203.0.113.5"}) == "203.0.113.5"


def test_a_header_from_an_untrusted_peer_is_ignored(behind_nginx):
    assert resolve("198.51.100.1", {"x-real-ip": "203.0.113.5"}) == "198.51.100.1"


def test_only_the_right_most_untrusted_hop_of_x_forwarded_for_counts(behind_nginx):
    # The client wrote "6.6.6.6" (a fresh one each try, to dodge a limit); nginx
    # appended the real peer, then an inner proxy of ours appended its own.
    headers = {"x-forwarded-for": "6.6.6.6, 203.0.113.5, 10.1.2.3"}
    assert resolve("127.0.0.1", headers) == "203.0.113.5"


def test_garbage_where_the_proxy_writes_falls_back_to_the_peer(behind_nginx):
    assert resolve("127.0.0.1", {"x-forwarded-for": "not-an-ip"}) == "127.0.0.1"
    assert resolve("127.0.0.1", {"x-real-ip": "evil"}) == "127.0.0.1"


def test_ports_brackets_and_mapped_addresses(behind_nginx):
    assert resolve("127.0.0.1", {"x-real-ip": "[2001:db8::1]:443"}) == "2001:db8::1"
    assert resolve("127.0.0.1", {"x-real-ip": "203.0.113.5:5123"}) == "203.0.113.5"
    assert resolve("::ffff:127.0.0.1", {"x-real-ip": "203.0.113.9"}) == "203.0.113.9"
    assert resolve("", {}) == "unknown"


def test_a_repeated_x_real_ip_reads_the_last_value(behind_nginx):
    assert resolve("127.0.0.1", {"x-real-ip": "6.6.6.6,203.0.113.5"}) == "203.0.113.5"


def test_django_requests_and_asgi_scopes_read_the_same(behind_nginx):
    request = RequestFactory().get("/", REMOTE_ADDR="127.0.0.1",
                                   HTTP_X_REAL_IP="203.0.113.5",
                                   HTTP_X_FORWARDED_FOR="6.6.6.6")
    scope = {"client": ("127.0.0.1", 5000),
             "headers": [(b"x-forwarded-for", b"6.6.6.6"), (b"X-Real-IP", b"203.0.113.5")]}
    assert client_ip(request) == scope_client_ip(scope) == "203.0.113.5"
    assert scope_client_ip({"client": None, "headers": []}) == "unknown"
