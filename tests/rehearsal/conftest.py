"""Rehearsal tests play the same hand-built live scenario as the sessions tests."""

from tests.sessions.conftest import (  # noqa: F401
    boss,
    law_session,
    law_version,
    live_version,
    seated,
    session,
    wall,
)
