"""The server side of the fan-out benchmark: each simtrain shape's processes, pinned.

Servers run on CPU 0 (`pin`), clients and the driver on CPU 1. `shape_environment`
gives a shape a fresh database (and Redis); `Servers` starts its Daphne worker(s), and
for scale-out the scheduler and nginx; `machine` describes the box for the report.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
TMP = RESULTS / "tmp"
PY = sys.executable
SERVER_CPU = "0"
CLIENT_CPU = "1"


def worker_cpus(shape: str) -> list[str]:
    """The CPU of each Daphne worker: BENCH_WORKER_CPUS ("0,1": two workers, one per core);
    by default one worker (embedded) or two (scale-out), all on SERVER_CPU."""
    spec = os.environ.get("BENCH_WORKER_CPUS", "")
    cpus = [c.strip() for c in spec.split(",") if c.strip()]
    if cpus:
        return cpus[:1] if shape == "embedded" else cpus
    return [SERVER_CPU] if shape == "embedded" else [SERVER_CPU, SERVER_CPU]


def pin(cpu: str) -> list[str]:
    """`taskset -c CPU` when the machine has that CPU, else nothing.

    The machine's count, not this process's affinity: the driver itself is pinned to one CPU.
    """
    if shutil.which("taskset") and (os.cpu_count() or 1) > int(cpu):
        return ["taskset", "-c", cpu]
    return []


def machine() -> dict:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_kib = 0
    try:
        mem_kib = int(Path("/proc/meminfo").read_text().split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(mem_kib / 1024 / 1024, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
        "load_before": os.getloadavg(),
    }


class Servers:
    """The server side of a shape: Daphne worker(s), and for scale-out a scheduler + nginx."""

    def __init__(self, shape: str):
        self.shape = shape
        self.workers = []
        self.others: list[subprocess.Popen] = []
        self.port = None

    def start(self) -> str:
        """Start the shape; on a failure, stop what did start (no orphan workers) and raise."""
        try:
            return self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> str:
        from rehearsal.server import DaphneServer, free_port

        class PinnedDaphne(DaphneServer):
            cpu = SERVER_CPU

            def command(self):
                return [*pin(self.cpu), *super().command()]

        # Every bench client comes from 127.0.0.1, and one trainer login watches every
        # session: lift the per-address and per-login socket caps (sessions/sockets.py),
        # which would otherwise refuse the 151st client and the 13th control room.
        env = {
            "DJANGO_DEBUG": "0",
            "SIMTRAIN_WEBSOCKET_TIMEOUT": "86400",
            "SIMTRAIN_SOCKETS_PER_IP": "100000",
            "SIMTRAIN_SOCKETS_PER_USER": "100000",
        }
        TMP.mkdir(parents=True, exist_ok=True)
        cpus = worker_cpus(self.shape)
        if self.shape == "embedded":
            worker = PinnedDaphne(
                scheduler="embedded",
                env=env,
                ready_timeout=60,
                log_path=TMP / "embedded-daphne.log",
            )
            worker.cpu = cpus[0]
            self.workers = [worker.start()]
            self.port = worker.port
            return worker.base_url
        env["REDIS_URL"] = os.environ["REDIS_URL"]
        for n, cpu in enumerate(cpus):
            worker = PinnedDaphne(
                scheduler="external",
                env=env,
                ready_timeout=60,
                log_path=TMP / f"scaleout-daphne-{n}.log",
            )
            worker.cpu = cpu
            self.workers.append(worker.start())
        full_env = {**self.workers[0].environment()}
        log = open(TMP / "scaleout-scheduler.log", "ab")
        self.others.append(
            subprocess.Popen(
                [*pin(SERVER_CPU), PY, "manage.py", "run_scheduler"],
                cwd=ROOT,
                env=full_env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )
        self.port = free_port()
        self.others.append(start_nginx(self.port, [w.port for w in self.workers]))
        return f"http://127.0.0.1:{self.port}"

    def rss_kib(self) -> list[int]:
        return [rss_kib(w.process.pid) for w in self.workers]

    def stop(self) -> None:
        for proc in reversed(self.others):
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
        for worker in self.workers:
            worker.stop()


def start_nginx(port: int, worker_ports: list[int]) -> subprocess.Popen:
    run = TMP / "nginx"
    (run / "tmp").mkdir(parents=True, exist_ok=True)
    upstreams = " ".join(f"server 127.0.0.1:{p} max_fails=1 fail_timeout=5s;" for p in worker_ports)
    conf = (ROOT / "scripts" / "nginx.conf.template").read_text()
    for key, value in {
        "@RUN@": str(run),
        "@PORT@": str(port),
        "@UPSTREAMS@": upstreams,
        "@STATIC@": str(ROOT / "static"),
        "@WS_TIMEOUT@": "86400",
        "@USER@": nginx_user_line(ROOT / "static"),
    }.items():
        conf = conf.replace(key, value)
    (run / "nginx.conf").write_text(conf)
    proc = subprocess.Popen(
        [
            *pin(SERVER_CPU),
            "nginx",
            "-c",
            str(run / "nginx.conf"),
            "-p",
            str(run),
            "-g",
            "daemon off;",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
            with opener.open(f"http://127.0.0.1:{port}/healthz", timeout=1):
                return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"nginx did not come up; see {run / 'nginx-error.log'}")


def nginx_user_line(static: Path) -> str:
    """As root, nginx's workers would be `nobody`: keep them as the files' owner (as
    scripts/run-scaled.sh does); otherwise no `user` directive."""
    if os.geteuid() != 0:
        return ""
    import grp
    import pwd

    st = static.stat()
    return f"user {pwd.getpwuid(st.st_uid).pw_name} {grp.getgrgid(st.st_gid).gr_name};"


def raise_nofile(need: int) -> int:
    """Lift this process's open-file limit to its hard limit (children inherit it).

    Every socket is a file descriptor: a worker holding 5,000 screens needs more than the
    usual soft limit of 1,024. Fails with what to do when even the hard limit is too low.
    """
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < need:
        raise SystemExit(
            f"open-file hard limit {hard} < {need} needed: raise it (`ulimit -Hn {need}` as "
            "root, or LimitNOFILE= in the service) and run again"
        )
    if soft < hard or soft == resource.RLIM_INFINITY:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def shape_environment(shape: str) -> dict[str, str]:
    """A fresh database (and Redis) for one shape; returns the environment to run it with."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DJANGO_DEBUG": "0"}
    env.pop("REDIS_URL", None)
    TMP.mkdir(parents=True, exist_ok=True)
    if shape == "embedded":
        db = TMP / "embedded.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
        env["DATABASE_URL"] = f"sqlite:///{db}"
        return env
    # As root with apt they are installed; otherwise this says which apt command to run.
    subprocess.run(
        ["scripts/ensure-system.sh", "postgresql", "redis-server", "nginx"], cwd=ROOT, check=True
    )
    started = subprocess.run(
        ["scripts/postgres.sh", "start"], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout
    url = started.strip().split("=", 1)[1]
    bench_url = url.rsplit("/", 1)[0] + "/simtrain_bench"
    drop = "DROP DATABASE IF EXISTS simtrain_bench WITH (FORCE)"
    subprocess.run(
        ["su", "postgres", "-c", f'psql -q -c "{drop}"'], check=True, capture_output=True
    )
    subprocess.run(
        ["su", "postgres", "-c", "createdb -O simtrain simtrain_bench"],
        check=True,
        capture_output=True,
    )
    env["DATABASE_URL"] = bench_url
    redis = subprocess.run(
        [*pin(SERVER_CPU), "scripts/redis.sh", "start", "6391"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "REDIS_RUN_DIR": str(TMP / "redis")},
    ).stdout
    env["REDIS_URL"] = redis.strip().split("=", 1)[1]
    return env
