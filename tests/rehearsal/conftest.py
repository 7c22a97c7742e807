"""Rehearsal tests play the same hand-built live scenario as the sessions tests."""

from tests.sessions.conftest import boss, live_version, seated, session, wall  # noqa: F401
