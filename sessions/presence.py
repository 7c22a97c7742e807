"""Presence that survives a dead worker: heartbeat leases and the scheduler's sweep.

A Daphne worker killed with SIGKILL never runs its consumers' `disconnect`, so their
`presence.left` was never recorded and the trainer's roster showed people connected
who were gone. So:

- every seat socket is recorded against its worker (`LiveSocket`, written with its
  `presence.connected` and deleted with its `presence.left`, `engine.presence_set`);
- each worker holds a lease (`WorkerLease`), renewed every `HEARTBEAT_S` by its hub
  while it serves sockets (`sessions.hub`);
- the scheduler (embedded or `run_scheduler`) sweeps every `SWEEP_EVERY_S`: the sockets
  of workers whose lease is older than `GRACE_S` (or gone) get their `presence.left`
  (reason "worker-lost", `engine.presence_sweep`), and stale leases are deleted.

A death shows on the roster within GRACE_S + SWEEP_EVERY_S + a tick (about 20 s). A
worker that was only stalled past the grace finds, at its next heartbeat, which of its
sockets the database lost, and records their presence again (`Hub._heartbeat`).
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import time
from datetime import timedelta

from django.utils import timezone

from sessions import engine
from sessions.models import LiveSocket, WorkerLease
from simtrain.env import env_int

log = logging.getLogger(__name__)

HEARTBEAT_S = env_int("SIMTRAIN_HEARTBEAT_S", 5)
GRACE_S = env_int("SIMTRAIN_WORKER_GRACE_S", 15)
SWEEP_EVERY_S = env_int("SIMTRAIN_PRESENCE_SWEEP_S", 5)

# This process, as its leases and sockets name it (a restarted pid is another worker).
WORKER_ID = f"{socket.gethostname()[:80]}:{os.getpid()}:{secrets.token_hex(4)}"


def new_socket_id() -> str:
    return secrets.token_hex(16)


def renew(worker: str) -> set[str]:
    """Renew this worker's lease; the ids of its sockets the database still holds.

    A socket the worker serves but the database lacks was closed by a sweep (the
    process stalled past the grace, or renewed its lease just as a sweep ran): the hub
    records it again.
    """
    now = timezone.now()
    if not WorkerLease.objects.filter(pk=worker).update(heartbeat_at=now):
        WorkerLease.objects.update_or_create(pk=worker, defaults={"heartbeat_at": now})
    return set(LiveSocket.objects.filter(worker=worker).values_list("pk", flat=True))


def forget_socket(socket_id: str) -> None:
    """A socket closed without a presence event (its seat was freed meanwhile)."""
    LiveSocket.objects.filter(pk=socket_id).delete()


def sweep(now=None) -> int:
    """Close the sockets of lost workers, then drop stale leases. Returns sockets closed."""
    cutoff = (now or timezone.now()) - timedelta(seconds=GRACE_S)
    alive = WorkerLease.objects.filter(heartbeat_at__gte=cutoff).values("pk")
    sessions = set(
        LiveSocket.objects.exclude(worker__in=alive).values_list("session_id", flat=True)
    )
    closed, failed = 0, False
    for session_id in sorted(sessions):
        try:
            closed += engine.presence_sweep(session_id=session_id, cutoff=cutoff)
        except Exception:  # one broken session must not keep the others' roster wrong
            failed = True
            log.exception("presence sweep failed for session %s", session_id)
    if not failed:  # a lease goes only once its sockets are closed
        WorkerLease.objects.filter(heartbeat_at__lt=cutoff).delete()
    if closed:
        log.info("presence: closed %s socket(s) of lost workers", closed)
    return closed


_last_sweep = 0.0


def sweep_if_due() -> int:
    """`sweep()` at most every SWEEP_EVERY_S (the scheduler ticks every 0.25 s)."""
    global _last_sweep
    if time.monotonic() - _last_sweep < SWEEP_EVERY_S:
        return 0
    _last_sweep = time.monotonic()
    return sweep()
