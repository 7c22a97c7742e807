"""A real Daphne subprocess on a free port against the test database, for tests.

    pytestmark = pytest.mark.django_db(transaction=True)  # the server must see our rows

    def test_something(daphne):          # started; stopped after the test
        Browser(daphne.base_url).get("/healthz")

    with live_server() as server:        # or by hand
        server.kill(); server.start()    # SIGKILL and restart on the same port

The server gets `DATABASE_URL` for the database the test runner set up (SQLite: the
file `var/test-<pid>.sqlite3`; PostgreSQL: `test_<name>`), so tests that use it need
`transaction=True`: rows a test writes must be committed for another process to read.
It runs the embedded scheduler, whatever `SIMTRAIN_SCHEDULER` the suite uses.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest

from rehearsal.server import DaphneServer, ServerError, database_url, free_port

__all__ = ["DaphneServer", "ServerError", "daphne", "database_url", "free_port", "live_server"]


@contextlib.contextmanager
def live_server(**kwargs) -> Iterator[DaphneServer]:
    server = DaphneServer(**kwargs)
    try:
        yield server.start()
    except BaseException:
        print(f"--- daphne log ({server.log_path}) ---\n{server.log_tail(80)}")
        raise
    finally:
        server.close()


@pytest.fixture
def daphne(transactional_db) -> Iterator[DaphneServer]:
    with live_server() as server:
        yield server
