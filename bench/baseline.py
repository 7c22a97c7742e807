"""The baseline: a bare `websockets` broadcast server, the physical limit of Python here.

No Django, no database, no channel layer, no rendering: a "trainer" socket sends the
same `inject.adhoc` command the simtrain benchmark sends; the server stamps it, builds
a frame of the size simtrain's frames had in the same case, and broadcasts it to the
sockets of that session with `websockets.broadcast` (no per-socket await). Whatever
simtrain spends above this is ours to explain.

    python -m bench.baseline PORT PAYLOAD_BYTES
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import signal
import sys
import time
from collections import defaultdict

from websockets.asyncio.server import broadcast, serve


class Broadcaster:
    def __init__(self, payload_bytes: int):
        self.payload_bytes = payload_bytes
        self.rooms: dict[str, set] = defaultdict(set)
        self.seq: dict[str, int] = defaultdict(int)

    def frame(self, session: str, title: str) -> str:
        self.seq[session] += 1
        stamp = int(time.time() * 1000)
        head = (
            f"<!--seq:{self.seq[session]}-->"
            f'<div hx-swap-oob="afterbegin:#feed"><article class="feed-item" '
            f'data-seq="{self.seq[session]}" data-kind="inject.fired" data-stamp-ms="{stamp}">'
            f"<h3>{title}</h3></article></div>"
        )
        return head + "<!--" + "x" * max(0, self.payload_bytes - len(head) - 7) + "-->"

    async def handler(self, ws) -> None:
        path = ws.request.path
        session = path.split("?")[0]
        trainer = "role=trainer" in path
        if not trainer:
            self.rooms[session].add(ws)
        try:
            async for message in ws:
                if not trainer:
                    continue
                try:
                    data = json.loads(message)
                except ValueError:
                    continue
                if data.get("cmd") == "inject.adhoc":
                    broadcast(self.rooms[session], self.frame(session, data.get("title", "")))
        finally:
            self.rooms[session].discard(ws)


async def main(port: int, payload_bytes: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    server = Broadcaster(payload_bytes)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with serve(
        server.handler, "127.0.0.1", port, max_size=2**20, ping_interval=20, compression=None
    ):
        print(f"baseline listening on 127.0.0.1:{port}", flush=True)
        await stop.wait()


if __name__ == "__main__":
    if os.environ.get("BENCH_CPU"):
        os.sched_setaffinity(0, {int(c) for c in os.environ["BENCH_CPU"].split(",")})
    asyncio.run(main(int(sys.argv[1]), int(sys.argv[2])))
