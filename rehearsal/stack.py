"""The processes a rehearsal runs against, and the faults chaos can inject into them.

- `EmbeddedStack`: one Daphne process with the embedded scheduler (a trainer's laptop,
  `make run`). Fault: `kill_server()` (SIGKILL) then `restart_server()` on the same port.
- `ScaleoutStack`: the production shape without the proxy — a private Redis, two Daphne
  workers with `SIMTRAIN_SCHEDULER=external` and one `manage.py run_scheduler`, on the
  PostgreSQL database this process uses. Faults: `stop_redis()` / `start_redis()`
  (a restart: it comes back empty) and `kill_worker()` (SIGKILL, not restarted).

Bots get `urls`: one per worker. They start on one (spread round-robin) and move to the
next when a connection or a page load fails, as a browser behind nginx's
`proxy_next_upstream` ends up on a live worker.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from django.conf import settings
from django.db import connection

from rehearsal.server import DaphneServer, ServerError, database_url, free_port


class EmbeddedStack:
    shape = "embedded"

    def __init__(self, *, port: int | None = None):
        self.server = DaphneServer(port=port)

    @property
    def urls(self) -> list[str]:
        return [self.server.base_url]

    @property
    def port(self) -> int:
        return self.server.port

    def start(self) -> None:
        self.server.start()

    def close(self) -> None:
        self.server.close()

    def describe(self) -> str:
        return f"daphne on {self.server.base_url}"

    def log_tail(self, lines: int = 60) -> str:
        return f"--- daphne log (tail) ---\n{self.server.log_tail(lines)}"

    # --- faults ---------------------------------------------------------------------------

    def kill_server(self) -> None:
        self.server.kill()

    def restart_server(self) -> None:
        self.server.start()  # the same port; waits for /healthz


class RedisServer:
    """A private, non-persistent Redis on a free loopback port (as `scripts/redis.sh`)."""

    def __init__(self):
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="simtrain-chaos-redis-"))

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        subprocess.run(
            [
                "redis-server",
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--daemonize",
                "yes",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.dir),
                "--logfile",
                str(self.dir / "redis.log"),
            ],
            check=True,
            capture_output=True,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.ping():
                return self
            time.sleep(0.05)
        raise ServerError(f"redis did not start on port {self.port}")

    def ping(self) -> bool:
        done = subprocess.run(
            ["redis-cli", "-p", str(self.port), "ping"], capture_output=True, text=True
        )
        return done.stdout.strip() == "PONG"

    def stop(self) -> None:
        subprocess.run(
            ["redis-cli", "-p", str(self.port), "shutdown", "nosave"], capture_output=True
        )
        deadline = time.monotonic() + 10
        while self.ping() and time.monotonic() < deadline:
            time.sleep(0.05)

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class ScaleoutStack:
    shape = "scaleout"

    def __init__(self, *, workers: int = 2, live_check_s: float = 2.0):
        if connection.vendor != "postgresql":
            raise ServerError(
                "the scale-out shape runs on PostgreSQL (DATABASE_URL=postgres://…; "
                'eval "$(scripts/postgres.sh start)")'
            )
        if not shutil.which("redis-server") or not shutil.which("redis-cli"):
            raise ServerError("redis-server is not installed (apt-get install redis-server)")
        self.redis = RedisServer()
        self.env = {
            "REDIS_URL": self.redis.url,
            "SIMTRAIN_LIVE_CHECK_S": str(live_check_s),
            "DJANGO_DEBUG": "0",
        }
        self.workers = [
            DaphneServer(scheduler="external", env=self.env, ready_timeout=60)
            for _ in range(workers)
        ]
        self.scheduler: subprocess.Popen | None = None
        self.scheduler_log = Path(tempfile.mkstemp(prefix="simtrain-scheduler-", suffix=".log")[1])
        self.killed: list[DaphneServer] = []

    @property
    def urls(self) -> list[str]:
        return [w.base_url for w in self.workers]

    @property
    def port(self) -> int:
        return self.workers[0].port

    def start(self) -> None:
        self.redis.start()
        for worker in self.workers:
            worker.start()
        env = {
            **os.environ,
            "DATABASE_URL": database_url(),
            "PYTHONUNBUFFERED": "1",
            "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE")
            or getattr(settings, "SETTINGS_MODULE", None)
            or "simtrain.settings",
            **self.env,
        }
        with open(self.scheduler_log, "ab") as log:
            self.scheduler = subprocess.Popen(
                [sys.executable, "manage.py", "run_scheduler", "--interval", "0.05"],
                cwd=settings.BASE_DIR,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def close(self) -> None:
        if self.scheduler is not None and self.scheduler.poll() is None:
            self.scheduler.send_signal(signal.SIGTERM)
            try:
                self.scheduler.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.scheduler.kill()
                self.scheduler.wait(timeout=10)
        for worker in self.workers:
            worker.close()
        self.redis.close()
        with contextlib.suppress(OSError):
            self.scheduler_log.unlink()

    def describe(self) -> str:
        return (
            f"{len(self.workers)} daphne workers on "
            + ", ".join(w.base_url for w in self.workers)
            + f", redis :{self.redis.port}, 1 scheduler"
        )

    def log_tail(self, lines: int = 30) -> str:
        parts = [f"--- worker :{w.port} ---\n{w.log_tail(lines)}" for w in self.workers]
        try:
            text = self.scheduler_log.read_text(errors="replace")
        except OSError:
            text = ""
        parts.append("--- scheduler ---\n" + "\n".join(text.splitlines()[-lines:]))
        return "\n".join(parts)

    @property
    def scheduler_alive(self) -> bool:
        return self.scheduler is not None and self.scheduler.poll() is None

    # --- faults ---------------------------------------------------------------------------

    def stop_redis(self) -> None:
        self.redis.stop()

    def start_redis(self) -> None:
        self.redis.start()  # empty: no groups; the workers re-join theirs

    def kill_worker(self) -> str:
        """SIGKILL the first live worker; it stays dead. Returns its URL."""
        victim = next(w for w in self.workers if w.running and w not in self.killed)
        victim.kill()
        self.killed.append(victim)
        return victim.base_url
