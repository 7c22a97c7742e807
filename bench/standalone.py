"""What the single-process benchmarks share: a Django of their own on a scratch SQLite
database, their latency summary and the machine's load (`python -m bench.editor`,
`python -m bench.replay_bench`)."""

from __future__ import annotations

import os
import statistics
import time
from pathlib import Path


def setup_django(db: Path, *, fresh: bool = False) -> None:
    """Configure Django on `db` (emptied first when `fresh`) and migrate it."""
    if fresh:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
    os.environ["DATABASE_URL"] = f"sqlite:///{db}"
    os.environ["DJANGO_SETTINGS_MODULE"] = "simtrain.settings"
    os.environ["SIMTRAIN_SCHEDULER"] = "external"
    os.environ["DJANGO_ALLOWED_HOSTS"] = "testserver,localhost,127.0.0.1"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def latency_stats(samples: list[float]) -> dict:
    """n, median, p95 (nearest rank) and max of samples in milliseconds."""
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, max(0, round(0.95 * len(ordered)) - 1))]
    return {
        "n": len(ordered),
        "median_ms": round(statistics.median(ordered), 1),
        "p95_ms": round(p95, 1),
        "max_ms": round(ordered[-1], 1),
    }


def timed(call) -> tuple[float, object]:
    """(milliseconds it took, what it returned)."""
    start = time.perf_counter()
    result = call()
    return (time.perf_counter() - start) * 1000, result


def load_per_cpu() -> float | None:
    """The 1-minute load average per core (None where the system does not say)."""
    try:
        return round(os.getloadavg()[0] / (os.cpu_count() or 1), 2)
    except OSError:
        return None
