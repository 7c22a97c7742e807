"""Session codes and secrets: what a trainer reads aloud and what a link or a pass holds.

Kept apart from the models so that the exercise models (`sessions.exercises.models`)
mint codes from the same alphabet without importing `sessions.models`.
"""

from __future__ import annotations

import secrets

# Read aloud in a training room: no 0/O, 1/I/L, 5/S, 2/Z, 8/B.
CODE_ALPHABET = "ACDEFGHJKMNPQRTUVWXY34679"
CODE_LENGTH = 7


def new_session_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def new_secret() -> str:
    """A 256-bit URL-safe secret, for invitation links and participant passes."""
    return secrets.token_urlsafe(32)
