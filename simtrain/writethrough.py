"""Frames go on the wire as they are written, not at the event loop's next pass.

Twisted's TCP transport buffers every `write` and registers the socket for writability
(`epoll_ctl`), sends at the loop's next pass, then unregisters it (`epoll_ctl` again).
For a fan-out to 500 screens that is two system calls and a loop callback per frame and
screen — ~14 % of the worker's busy time in a profile (docs/performance.md) — and no
screen gets its frame before the last one is built. `install_in_daphne` sends at once
what the kernel takes when nothing is waiting in the transport's buffers, as asyncio's
own transports do, and leaves the rest (a full socket buffer, a lost connection, TLS)
to Twisted's path; bytes never overtake those already buffered.
"""

from __future__ import annotations

_installed = False


def write_through(transport, data: bytes) -> bytes:
    """Send what the socket takes now if the transport has nothing pending; the rest."""
    if (
        data
        and not transport.TLS
        and transport.connected
        and not transport._writeDisconnected
        and not transport._tempDataBuffer
        and transport.offset == len(transport.dataBuffer)
    ):
        sent = transport.writeSomeData(data)
        if isinstance(sent, int) and sent > 0:  # 0: would block; an exception: lost
            return data[sent:]
    return data


def install_in_daphne() -> None:
    """Make Twisted's TCP connections (Daphne's sockets) write through; idempotent."""
    global _installed
    if _installed:
        return
    from twisted.internet import tcp

    buffered = tcp.Connection.write

    def write(self, data: bytes) -> None:
        rest = write_through(self, data)
        if rest:
            buffered(self, rest)

    tcp.Connection.write = write
    _installed = True
