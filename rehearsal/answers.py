"""What a bot answers: a decision (an option, or free text) and a request it decides.

Pure functions of the bot's random generator, so a seed replays the same answers.
"""

from __future__ import annotations

import random
from collections.abc import Callable


def decision_answer(
    rng: random.Random, inject: str, options, free: bool, text: Callable[[str], str]
) -> dict:
    """A random option, or free text where allowed, with a rationale now and then."""
    if options and (not free or rng.random() < 0.7):
        command = {"cmd": "decision.answer", "inject": inject, "option": rng.choice(options)}
        if rng.random() < 0.4:
            command["rationale"] = text("Parce que")
        return command
    return {"cmd": "decision.answer", "inject": inject, "rationale": text("Réponse libre")}


def request_outcome(rng: random.Random, approve_ratio: float, reject_ratio: float) -> str:
    """How the deciding role answers: approved, rejected, or "" (the deadline runs out)."""
    roll = rng.random()
    if roll < approve_ratio:
        return "approved"
    return "rejected" if roll < approve_ratio + reject_ratio else ""
