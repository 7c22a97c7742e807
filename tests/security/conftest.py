# The live-session personas and scenario (trainer, seated roles, wall clock).
from tests.sessions.conftest import boss, live_version, seated, session, wall  # noqa: F401
