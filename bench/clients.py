"""The benchmark's clients: many WebSockets in one process, on a core of their own.

Run by bench/fanout.py as `python -m bench.clients SPEC.json`. It opens one socket per
entry of the spec (url, cookie), says `ready N` on stdout, then records, for every bench
event a socket receives, the delay between the server's stamp (`data-stamp-ms`, the
event's `created_at`) and its arrival. Commands on stdin, one per line:

    count      → `count N` (bench events received so far, all sockets)
    open       → `open N` (sockets still open)
    stop       → writes the results (JSON) to the spec's `out` path, then `done`

No Django here: the same clients measure simtrain and the bare baseline server.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import resource
import sys
import time
from array import array

import websockets

FRAME = re.compile(r'data-stamp-ms="(\d+)"[^>]*>.*?bench:(\w+):(\d+)', re.S)
SEQ = re.compile(r"^<!--seq:(\d+)-->")


def _raise_nofile(sockets: int) -> None:
    """One descriptor per socket, plus a margin for the interpreter's own files."""
    need = sockets + 100
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < need:
        sys.exit(f"open-file hard limit {hard} < {need} needed for {sockets} sockets")
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


class Seen:
    """Which event numbers arrived, one bit each: the recorder must stay flat itself.

    A set of (phase, number) tuples and lists of floats cost the soak's client process
    ~230 bytes per event and screen (+5.6 MiB over two hours, read as the clients'
    memory growing); a bit and an 8-byte double cost 8.
    """

    def __init__(self):
        self.bits = bytearray()

    def add(self, number: int) -> bool:
        """Record `number`; False if it was already there (a frame sent twice)."""
        byte, bit = divmod(number, 8)
        if byte >= len(self.bits):
            self.bits.extend(bytes(byte + 1 - len(self.bits) + len(self.bits) // 2))
        if self.bits[byte] >> bit & 1:
            return False
        self.bits[byte] |= 1 << bit
        return True


class Client:
    def __init__(self, index: int, url: str, cookie: str, origin: str):
        self.index, self.url, self.cookie, self.origin = index, url, cookie, origin
        self.seen: dict[str, Seen] = {}
        self.latencies: dict[str, array] = {}
        self.frames = 0
        self.bytes = 0
        self.closed: int | None = None
        self.retries = 0
        self.ws = None

    async def connect(self, attempts: int = 4) -> None:
        """Connect as the browser's client does: a failed handshake is retried with backoff."""
        headers = {"Cookie": self.cookie} if self.cookie else None
        for attempt in range(attempts):
            try:
                self.ws = await websockets.connect(
                    self.url,
                    origin=self.origin,
                    additional_headers=headers,
                    max_size=None,
                    ping_interval=None,
                    open_timeout=60,
                    compression=None,
                )
                return
            except (OSError, websockets.InvalidHandshake, TimeoutError):
                if attempt == attempts - 1:
                    raise
                self.retries += 1
                await asyncio.sleep(0.5 * 2**attempt)

    async def run(self, counter: list[int]) -> None:
        try:
            async for text in self.ws:
                now_ms = time.time() * 1000.0
                if not isinstance(text, str) or not SEQ.match(text):
                    continue
                found = FRAME.search(text)
                if found is None:
                    continue
                stamp, phase, number = int(found.group(1)), found.group(2), int(found.group(3))
                seen = self.seen.get(phase)
                if seen is None:
                    seen = self.seen[phase] = Seen()
                if not seen.add(number):  # at-least-once on the wire
                    continue
                self.latencies.setdefault(phase, array("d")).append(now_ms - stamp)
                self.frames += 1
                self.bytes += len(text)
                counter[0] += 1
        except websockets.ConnectionClosed as closed:
            self.closed = closed.rcvd.code if closed.rcvd else 1006
        else:
            self.closed = 1000


async def main(spec_path: str) -> None:
    with open(spec_path) as f:
        spec = json.load(f)
    _raise_nofile(len(spec["clients"]))
    origin = spec["origin"]
    clients = [
        Client(i, c["url"], c.get("cookie", ""), origin) for i, c in enumerate(spec["clients"])
    ]
    counter = [0]
    # Connect in waves: a real room does not connect 500 tablets in the same millisecond.
    wave = spec.get("wave", 50)
    started = time.monotonic()
    failed = 0
    for start in range(0, len(clients), wave):
        results = await asyncio.gather(
            *(c.connect() for c in clients[start : start + wave]), return_exceptions=True
        )
        for client, result in zip(clients[start : start + wave], results, strict=True):
            if isinstance(result, Exception):
                failed += 1
                client.closed = -1
                print(f"connect failed: {client.url}: {result!r}", file=sys.stderr)
    tasks = [asyncio.ensure_future(c.run(counter)) for c in clients if c.ws is not None]
    connect_s = time.monotonic() - started
    print(f"ready {len(tasks)} {failed} {connect_s:.2f}", flush=True)

    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while True:
        line = (await reader.readline()).decode().strip()
        if line == "count":
            print(f"count {counter[0]}", flush=True)
        elif line == "open":
            print(
                f"open {sum(1 for c in clients if c.ws is not None and c.closed is None)}",
                flush=True,
            )
        elif line in ("stop", ""):
            break
    result = {
        "clients": len(clients),
        "connected": len(tasks),
        "connect_failed": failed,
        "connect_s": round(connect_s, 3),
        "connect_retries": sum(c.retries for c in clients),
        "per_client": [
            {"received": {p: len(v) for p, v in c.latencies.items()}, "closed": c.closed}
            for c in clients
        ],
        "latencies": {},
        "frames": sum(c.frames for c in clients),
        "bytes": sum(c.bytes for c in clients),
    }
    for client in clients:
        for phase, values in client.latencies.items():
            result["latencies"].setdefault(phase, []).extend(round(v, 2) for v in values)
    with open(spec["out"], "w") as f:
        json.dump(result, f)
    await asyncio.gather(
        *(c.ws.close() for c in clients if c.ws is not None), return_exceptions=True
    )
    for task in tasks:
        task.cancel()
    print("done", flush=True)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m bench.clients SPEC.json")
    if os.environ.get("BENCH_CPU"):
        os.sched_setaffinity(0, {int(c) for c in os.environ["BENCH_CPU"].split(",")})
    asyncio.run(main(sys.argv[1]))
