"""The law's measures in the after-action review: requests, countdowns, and their
combinations (`all`, `any`, `not`, `before`), scored over the log by
`scenarios.conditions.Timeline`.

The three base measures keep their own scorers (`sessions.report`), which say more
(who, which option, reopened); an objective written with a new form is scored here, on
the same log: its occurrences are what the conditions read.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext as _

from scenarios.conditions import (
    ACTION,
    DECISION,
    INJECT,
    MESSAGE,
    OPTION_NONE,
    Occurrence,
    Timeline,
    form,
)
from sessions.law import LawState, law_for
from simtrain.durations import format_duration

NEW_FORMS = ("request", "countdown", "combined")  # `Objective.measure` values scored here


def occurrences(events) -> list[Occurrence]:
    """What happened, in the log's order, as conditions and measures read it."""
    found: list[Occurrence] = []
    law = LawState()
    answered: set[str] = set()
    for e in events:
        p = e.payload
        if e.kind == "inject.fired" and not p.get("adhoc"):
            found.append(Occurrence(e.clock_ms, INJECT, p["inject"]))
        elif e.kind == "decision.answered":
            answered.add(p["inject"])
            found.append(Occurrence(e.clock_ms, DECISION, p["inject"], p.get("option", "")))
        elif e.kind == "decision.expired" and p["inject"] not in answered:
            found.append(Occurrence(e.clock_ms, DECISION, p["inject"], OPTION_NONE))
        elif e.kind == "action.taken":
            found.append(Occurrence(e.clock_ms, ACTION, p["action"]))
        elif e.kind == "message.sent" and not p.get("by_trainer") and p.get("from_role"):
            found.append(Occurrence(e.clock_ms, MESSAGE, p["from_role"], p.get("to_role", "")))
        elif (occurrence := law.apply(e)) is not None:
            found.append(occurrence)
    return found


def score(measure: dict, events):
    """(met, status, at_ms): status met, late (it happened after `within`) or never."""
    result = Timeline(occurrences(events)).score(measure)
    if result.met:
        return True, "met", result.at_ms
    if result.late_ms is not None:
        return False, "late", result.late_ms
    return False, "never", None


def text(measure: dict, plan, law) -> str:
    """A measure in words, with the scenario's names."""
    kind = form(measure)
    if kind in ("all", "any"):
        parts = [text(child, plan, law) for child in measure[kind]]
        joiner = _(" et ") if kind == "all" else _(" ou ")
        return "(" + joiner.join(parts) + ")"
    if kind == "not":
        return _("pas de %(measure)s") % {"measure": text(measure["not"], plan, law)}
    if kind == "before":
        first, second = measure["before"]
        return _("%(first)s avant %(second)s") % {
            "first": text(first, plan, law),
            "second": text(second, plan, law),
        }
    if kind == "countdown":
        countdown = law.countdown(measure["countdown"])
        title = countdown.title if countdown else measure["countdown"]
        if measure["expired"]:
            return _("délai « %(title)s » expiré") % {"title": title}
        return _("délai « %(title)s » tenu") % {"title": title}
    if kind == "request":
        words = {
            "approved": _("accordée"),
            "rejected": _("refusée"),
            "none": _("restée sans réponse"),
            "any": _("tranchée"),
            "sent": _("envoyée"),
        }
        said = _("demande « %(label)s » %(outcome)s") % {
            "label": getattr(law.request(measure["request"]), "label", measure["request"]),
            "outcome": words.get(measure["outcome"], measure["outcome"]),
        }
    elif kind == DECISION:
        inject = plan.inject(measure[DECISION])
        options = dict(getattr(inject, "options", ()) or ())
        said = _("réponse « %(option)s » à la décision « %(decision)s »") % {
            "option": options.get(measure["option"], measure["option"]),
            "decision": inject.title if inject else measure[DECISION],
        }
    elif kind == ACTION:
        said = _("acte « %(action)s »") % {"action": plan.action_label(measure[ACTION])}
    else:
        pair = measure[MESSAGE]
        said = _("message de « %(a)s » à « %(b)s »") % {
            "a": plan.role_title(pair["from"]),
            "b": plan.role_title(pair["to"]),
        }
    if measure.get("within_s") is not None:
        said += " " + _("dans les %(within)s de l’exercice") % {
            "within": format_duration(measure["within_s"])
        }
    return said


@dataclass(frozen=True)
class LawReview:
    """What became of each countdown and request, for the after-action review."""

    countdowns: list  # [(CountdownDef, CountdownRun | None)]
    requests: list  # [(RequestDef, [Sending, …])]

    @property
    def empty(self) -> bool:
        return not self.countdowns and not self.requests


def law_review(events, version_id: int) -> LawReview:
    state = LawState()
    for e in events:
        state.apply(e)
    law = law_for(version_id)
    return LawReview(
        countdowns=[(c, state.countdowns.get(c.ident)) for c in law.countdowns],
        requests=[(r, state.requests.get(r.ident, [])) for r in law.requests],
    )
