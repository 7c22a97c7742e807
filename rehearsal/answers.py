"""What a bot sends: a planned act's command, a decision's answer, a request's outcome.

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


def act_command(what: tuple, rng: random.Random, text: Callable[[str], str]) -> dict:
    """The command of a planned act (`what`: its kind, then its arguments)."""
    kind = what[0]
    if kind in ("inject.fire", "inject.skip"):
        return {"cmd": kind, "inject": what[1]}
    if kind == "note.add":
        return {"cmd": kind, "text": text("Note du formateur")}
    if kind == "inject.adhoc":
        return {
            "cmd": kind,
            "roles": [what[1]],
            "kind": "message",
            "title": text("Inject ad hoc"),
            "body": "Écrit en direct.",
            "from": "Simulation",
        }
    if kind == "thread.write":
        return {"cmd": kind, "from": what[1], "to": what[2], "text": text("Relais")}
    if kind == "action.take":
        note = text("Note") if rng.random() < 0.3 else ""
        return {"cmd": kind, "action": what[1], **({"note": note} if note else {})}
    if kind == "message.send":
        return {"cmd": kind, "to": what[1], "text": text("Message")}
    if kind == "safety.stop":
        return {"cmd": kind, "note": "Pause nécessaire (simulation)."}
    if kind == "request.send":
        return {"cmd": kind, "request": what[1], "reason": text("Motif")}
    if kind == "note.private":
        return {"cmd": kind, "text": text("Note personnelle")}
    if kind == "objective.rate":
        command = {"cmd": kind, "objective": what[1], "level": what[2]}
        if rng.random() < 0.5:
            command["comment"] = text("Observation")
        return command
    if kind == "debrief.add":
        return {
            "cmd": kind,
            "kind": rng.choice(["plus", "delta", "takeaway"]),
            "text": text("Débriefing"),
        }
    raise ValueError(kind)
