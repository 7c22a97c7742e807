"""A real Daphne process on a local port, against the database this process uses.

Rehearsals (`simulate_session`), the restart test and later chaos tests and benchmarks
need the whole stack as a trainer's laptop runs it: Daphne, the ASGI app, the embedded
scheduler, the channel layer. So we start it as a subprocess, hand it our database
(for tests: the *test* database, which is what `connection.settings_dict` names once
the test runner has set it up), wait until `/healthz` answers, and always stop it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

from django.conf import settings

HOST = "127.0.0.1"


class ServerError(RuntimeError):
    """The server did not come up (the message ends with the tail of its log)."""


def free_port(host: str = HOST) -> int:
    """A port nobody listens on right now (the usual bind-to-0 trick; racy but fine here)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def database_url(settings_dict: dict | None = None) -> str:
    """`DATABASE_URL` naming the database `settings_dict` (default: this process's) uses.

    At test time `connection.settings_dict["NAME"]` is already the test database, so a
    server started by a test reads and writes what the test sees.
    """
    if settings_dict is None:
        from django.db import connection

        settings_dict = connection.settings_dict
    engine = settings_dict["ENGINE"]
    name = str(settings_dict["NAME"])
    if engine == "django.db.backends.sqlite3":
        if name == ":memory:" or "mode=memory" in name:
            raise ServerError("an in-memory SQLite database cannot be shared with a server")
        return f"sqlite:///{Path(name).resolve()}"  # an absolute path: sqlite:////abs/path
    if engine == "django.db.backends.postgresql":
        user = quote(str(settings_dict.get("USER") or ""), safe="")
        password = quote(str(settings_dict.get("PASSWORD") or ""), safe="")
        host = str(settings_dict.get("HOST") or "")
        port = str(settings_dict.get("PORT") or "")
        auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
        netloc = host if not host.startswith("/") else ""
        url = f"postgres://{auth}{netloc}{':' + port if port and netloc else ''}/{quote(name)}"
        if host.startswith("/"):  # a Unix socket directory
            url += f"?host={quote(host, safe='')}" + (f"&port={port}" if port else "")
        return url
    raise ServerError(f"no DATABASE_URL for database engine {engine!r}")


def _http_ok(url: str, timeout: float = 1.0) -> bool:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=timeout) as response:
            return response.status == 200
    except (OSError, urllib.error.URLError):
        return False


class DaphneServer:
    """`simtrain.asgi:application` under Daphne, in a subprocess of its own.

    `start()` waits for `/healthz`; `stop()` asks politely then kills; `kill()` is a
    SIGKILL (crash tests); `start()` again restarts on the same port.
    """

    def __init__(
        self,
        *,
        port: int | None = None,
        host: str = HOST,
        db_url: str | None = None,
        env: dict[str, str] | None = None,
        scheduler: str = "embedded",
        ready_timeout: float = 30.0,
        log_path: str | os.PathLike | None = None,
    ):
        self.host = host
        self.port = port or free_port(host)
        self.db_url = db_url or database_url()
        self.extra_env = dict(env or {})
        self.scheduler = scheduler
        self.ready_timeout = ready_timeout
        self._own_log = log_path is None
        if log_path is None:
            handle, log_path = tempfile.mkstemp(prefix="simtrain-daphne-", suffix=".log")
            os.close(handle)
        self.log_path = Path(log_path)
        self.process: subprocess.Popen | None = None
        self.starts = 0

    # --- addresses ---------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def origin(self) -> str:
        return self.base_url

    def ws_url(self, path: str) -> str:
        return f"ws://{self.host}:{self.port}{path}"

    # --- life cycle --------------------------------------------------------------------

    def environment(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            {
                "DATABASE_URL": self.db_url,
                "SIMTRAIN_SCHEDULER": self.scheduler,
                "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE")
                or getattr(settings, "SETTINGS_MODULE", None)
                or "simtrain.settings",
                "PYTHONUNBUFFERED": "1",
            }
        )
        hosts = [h for h in env.get("DJANGO_ALLOWED_HOSTS", "").split(",") if h.strip()]
        if hosts and self.host not in hosts and "*" not in hosts:
            env["DJANGO_ALLOWED_HOSTS"] = ",".join([*hosts, self.host])
        env.update(self.extra_env)
        return env

    def command(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "daphne",
            "-b",
            self.host,
            "-p",
            str(self.port),
            "--access-log",
            os.devnull,
            "simtrain.asgi:application",
        ]

    def start(self) -> DaphneServer:
        if self.running:
            return self
        self.starts += 1
        with open(self.log_path, "ab") as log:
            log.write(f"\n=== start #{self.starts} on {self.base_url} ===\n".encode())
            log.flush()
            self.process = subprocess.Popen(
                self.command(),
                cwd=settings.BASE_DIR,
                env=self.environment(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                # Its own process group: a Ctrl-C in the terminal reaches us, and we stop
                # the server ourselves (in order, after the bots).
                start_new_session=True,
            )
        self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.ready_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServerError(
                    f"daphne exited with {self.process.returncode}\n{self.log_tail()}"
                )
            if _http_ok(f"{self.base_url}/healthz"):
                return
            time.sleep(0.1)
        self.stop()
        raise ServerError(
            f"daphne did not answer /healthz in {self.ready_timeout}s\n{self.log_tail()}"
        )

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL: the server dies mid-flight, as in a power cut of its process."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self, timeout: float = 5.0) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.send_signal(signal.SIGKILL)
                self.process.wait(timeout=10)

    def close(self) -> None:
        """Stop, and remove the log if we made it."""
        self.stop()
        if self._own_log:
            with contextlib.suppress(OSError):
                self.log_path.unlink()

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def __enter__(self) -> DaphneServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()


@contextlib.contextmanager
def running_server(**kwargs) -> Iterator[DaphneServer]:
    server = DaphneServer(**kwargs)
    try:
        yield server.start()
    finally:
        server.close()
