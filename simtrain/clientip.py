"""Who is on the other end: the one place that decides a client's IP address.

Rate limits and connection caps count per IP, so the address must be one the client
cannot choose. `X-Forwarded-For` as a client sends it is anything it likes, and a
proxy that appends to it (`$proxy_add_x_forwarded_for`) keeps the client's entries on
the left — where `daphne --proxy-headers` reads. So:

- the peer of the TCP connection (`REMOTE_ADDR`, the ASGI scope's `client`) is the
  address, unless that peer is a proxy we trust (`SIMTRAIN_TRUSTED_PROXIES`: IPs or
  networks, none by default);
- behind a trusted proxy, the address is the one the proxy itself set: `X-Real-IP`
  (nginx: `proxy_set_header X-Real-IP $remote_addr`), else the right-most hop of
  `X-Forwarded-For` that is not itself a trusted proxy. Anything to the left of that
  was written by the client and is never read.

Daphne must run without `--proxy-headers` (scripts/run-scaled.sh), so that the peer is
the proxy and this function does the reading.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from functools import lru_cache

from django.conf import settings

UNKNOWN = "unknown"
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def _networks(spec: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(item.strip(), strict=False) for item in spec if item.strip())


def trusted_proxies() -> tuple[Network, ...]:
    return _networks(tuple(getattr(settings, "SIMTRAIN_TRUSTED_PROXIES", ()) or ()))


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = (text or "").strip()
    if text.startswith("[") and "]" in text:  # [::1]:443
        text = text[1:text.index("]")]
    elif text.count(":") == 1:  # 203.0.113.9:5123
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    mapped = getattr(address, "ipv4_mapped", None)
    return mapped or address


def _trusted(address, networks: Iterable[Network]) -> bool:
    return address is not None and any(address in network for network in networks)


def resolve(peer: str, headers: Mapping[str, str]) -> str:
    """The client's address from the TCP peer and the (lower-case) request headers."""
    networks = trusted_proxies()
    peer_address = _address(peer)
    if peer_address is None:
        return peer or UNKNOWN
    if not _trusted(peer_address, networks):
        return str(peer_address)
    real = _address(headers.get("x-real-ip", "").split(",")[-1])
    if real is not None:
        return str(real)
    hops = [hop for hop in headers.get("x-forwarded-for", "").split(",") if hop.strip()]
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:
            break  # garbage where the proxy should have written: trust nothing further
        if not _trusted(address, networks):
            return str(address)
    return str(peer_address)


def client_ip(request) -> str:
    """The client's address for a Django request."""
    meta = request.META
    headers = {
        "x-real-ip": meta.get("HTTP_X_REAL_IP", ""),
        "x-forwarded-for": meta.get("HTTP_X_FORWARDED_FOR", ""),
    }
    return resolve(meta.get("REMOTE_ADDR", ""), headers)


def scope_client_ip(scope) -> str:
    """The client's address for an ASGI scope (WebSocket handshakes)."""
    client = scope.get("client") or ("", 0)
    wanted = {b"x-real-ip", b"x-forwarded-for"}
    headers: dict[str, str] = {}
    for name, value in scope.get("headers") or ():
        name = name.lower()
        if name in wanted:
            text = value.decode("latin-1")
            key = name.decode("ascii")
            # Repeated headers are joined, as Django does: the last value is read.
            headers[key] = f"{headers[key]},{text}" if key in headers else text
    return resolve(str(client[0] or ""), headers)
