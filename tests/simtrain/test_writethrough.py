"""Twisted's TCP transport writes through when nothing is pending, and never reorders."""

from __future__ import annotations

import socket

import pytest
from twisted.internet import tcp
from twisted.internet.protocol import Protocol

from simtrain import writethrough


class Reactor:
    """What a connection asks of its reactor: here, only (un)registering for writes."""

    def __init__(self):
        self.writers = set()
        self.registrations = 0

    def addWriter(self, selectable):  # noqa: N802 (Twisted's interface)
        self.registrations += selectable not in self.writers
        self.writers.add(selectable)

    def removeWriter(self, selectable):  # noqa: N802
        self.writers.discard(selectable)


@pytest.fixture
def pair():
    writethrough.install_in_daphne()
    ours, theirs = socket.socketpair()
    ours.setblocking(False)
    ours.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    theirs.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    reactor = Reactor()
    transport = tcp.Connection(ours, Protocol(), reactor)
    transport.connected = True
    yield transport, theirs, reactor
    ours.close()
    theirs.close()


def read_all(sock, size: int) -> bytes:
    sock.settimeout(2)
    got = b""
    while len(got) < size:
        got += sock.recv(size - len(got))
    return got


def test_a_frame_goes_out_at_once_without_registering_for_writes(pair):
    transport, theirs, reactor = pair
    transport.write(b"frame one")
    transport.write(b"frame two")
    assert read_all(theirs, 18) == b"frame oneframe two"
    assert reactor.registrations == 0 and not transport._tempDataBuffer


def test_what_the_socket_cannot_take_is_buffered_and_nothing_overtakes_it(pair):
    transport, theirs, reactor = pair
    big = bytes(range(256)) * 4096  # 1 MiB: far more than the socket buffers take
    transport.write(big)
    assert reactor.registrations == 1 and transport._tempDataBuffer  # the rest waits
    transport.write(b"after")  # must not jump the queue, though it would fit now
    theirs.setblocking(False)
    got = b""
    while transport in reactor.writers or len(got) < len(big) + 5:
        try:
            got += theirs.recv(65536)
        except BlockingIOError:
            pass
        if transport in reactor.writers:
            transport.doWrite()
    assert got == big + b"after"


def test_a_lost_connection_is_left_to_twisted(pair):
    transport, theirs, reactor = pair
    theirs.close()
    transport.write(b"into the void")  # the send fails: buffered, Twisted's doWrite sees it
    assert reactor.registrations == 1
    assert transport.doWrite() is not None  # the loss Twisted then handles


def test_a_tls_transport_keeps_twisted_path():
    class Transport:
        TLS = True

    assert writethrough.write_through(Transport(), b"x") == b"x"
