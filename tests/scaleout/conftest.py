"""The scale-out shape for real: PostgreSQL, a private Redis, Daphne workers, schedulers.

These tests start their own processes (`make test-scaleout`; CI runs them). They need
PostgreSQL as the test database and `redis-server` on the machine; when either is
missing they fail, saying what to run — they never skip.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect as ws_connect

from rehearsal.stack import RedisServer
from tests.live_server import DaphneServer, database_url

ROOT = Path(settings.BASE_DIR)
INSTALL_REDIS = "apt-get update && apt-get install -y redis-server"
USE_POSTGRES = (
    'eval "$(scripts/postgres.sh start)" && '
    "DATABASE_URL=$DATABASE_URL .venv/bin/pytest -m scaleout tests/scaleout"
)
SEQ = re.compile(r"^<!--seq:(\d+)-->")


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "scaleout: starts PostgreSQL-backed Daphne workers, Redis and schedulers"
    )
    config.addinivalue_line(
        "markers", "live_check(seconds): the workers' periodic check of last_seq (scaleout)"
    )


@pytest.fixture(autouse=True)
def _services_present():
    if connection.vendor != "postgresql":
        pytest.fail(
            "the scale-out tests run on PostgreSQL (this run's database is "
            f"{connection.vendor}); run:  {USE_POSTGRES}   (or: make test-scaleout)",
            pytrace=False,
        )
    if not shutil.which("redis-server") or not shutil.which("redis-cli"):
        pytest.fail(f"redis-server is not installed; run:  {INSTALL_REDIS}", pytrace=False)


# --- Redis ------------------------------------------------------------------------------


# One private Redis, as the chaos rehearsal starts it (`sessions/simulation/stack.py`).
Redis = RedisServer


@pytest.fixture
def redis() -> Iterator[Redis]:
    server = Redis()
    server.start()
    try:
        yield server
    finally:
        server.close()


# --- Workers and schedulers ----------------------------------------------------------------


class Cluster:
    """Daphne workers (scheduler external) and `run_scheduler` processes on one Redis."""

    def __init__(self, redis: Redis, live_check_s: float = 2.0):
        self.redis = redis
        self.env = {
            "REDIS_URL": redis.url,
            "SIMTRAIN_LIVE_CHECK_S": str(live_check_s),
            "DJANGO_DEBUG": "0",
        }
        self.workers: list[DaphneServer] = []
        self.schedulers: list[subprocess.Popen] = []
        self.logs: list[Path] = []

    def worker(self) -> DaphneServer:
        server = DaphneServer(scheduler="external", env=self.env, ready_timeout=60)
        self.workers.append(server)
        return server.start()

    def scheduler(self) -> subprocess.Popen:
        handle, log_path = tempfile.mkstemp(prefix="simtrain-scheduler-", suffix=".log")
        self.logs.append(Path(log_path))
        env = {
            **os.environ,
            "DATABASE_URL": database_url(),
            "PYTHONUNBUFFERED": "1",
            "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "simtrain.settings"),
            **self.env,
        }
        proc = subprocess.Popen(
            [sys.executable, "manage.py", "run_scheduler", "--interval", "0.05"],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        os.close(handle)
        self.schedulers.append(proc)
        return proc

    def logs_tail(self) -> str:
        parts = [f"--- worker :{w.port} ---\n{w.log_tail(30)}" for w in self.workers]
        parts += [
            f"--- {p.name} ---\n" + "\n".join(p.read_text(errors="replace").splitlines()[-30:])
            for p in self.logs
        ]
        return "\n".join(parts)

    def close(self) -> None:
        for proc in self.schedulers:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=10)
        for worker in self.workers:
            worker.close()
        for path in self.logs:
            with contextlib.suppress(OSError):
                path.unlink()


@pytest.fixture
def cluster(redis, transactional_db, request) -> Iterator[Cluster]:
    """`@pytest.mark.live_check(seconds)` sets the workers' periodic check (default 2 s)."""
    marker = request.node.get_closest_marker("live_check")
    built = Cluster(redis, live_check_s=marker.args[0] if marker else 2.0)
    yield built
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        print(built.logs_tail())
    built.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


# --- A screen: one WebSocket, read by a thread, as a browser would hold it -------------------


class Screen:
    """One participant's socket. Keeps every frame; drops a seq it already holds."""

    def __init__(self, server: DaphneServer, session_id: int, cookie: str, *, after: int = 0):
        self.session_id, self.cookie = session_id, cookie
        self.frames: list[str] = []
        self.seqs: list[int] = []
        self.lock = threading.Condition()
        self.closed_code: int | None = None
        self.connect(server, after=after)

    def connect(self, server: DaphneServer, *, after: int | None = None) -> None:
        after = self.last_seq if after is None else after
        self.closed_code = None
        self.ws = ws_connect(
            server.ws_url(f"/ws/sessions/{self.session_id}/?after={after}"),
            origin=server.origin,
            additional_headers={"Cookie": self.cookie},
            open_timeout=20,
            max_size=None,
        ).__enter__()  # (websockets 17: a connection used outside `with` says so)
        self.reader = threading.Thread(target=self._read, args=(self.ws,), daemon=True)
        self.reader.start()

    @property
    def last_seq(self) -> int:
        with self.lock:
            return max(self.seqs, default=0)

    def _read(self, ws) -> None:
        try:
            for text in ws:
                match = SEQ.match(text) if isinstance(text, str) else None
                with self.lock:
                    self.frames.append(text)
                    if match:
                        seq = int(match.group(1))
                        if seq not in self.seqs:  # exactly once on screen
                            self.seqs.append(seq)
                    self.lock.notify_all()
        except ConnectionClosed as closed:
            code = closed.rcvd.code if closed.rcvd else 1006
            with self.lock:
                self.closed_code = code
                self.lock.notify_all()
        except OSError:
            with self.lock:
                self.closed_code = 1006
                self.lock.notify_all()

    def wait_for(self, predicate, timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        with self.lock:
            while not predicate(self):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self.lock.wait(remaining)
            return True

    def has_all(self, wanted) -> bool:
        return set(wanted) <= set(self.seqs)

    def text(self) -> str:
        with self.lock:
            return "".join(self.frames)

    def send(self, **command) -> None:
        self.ws.send(json.dumps(command))

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.ws.close()
