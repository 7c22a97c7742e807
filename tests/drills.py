"""The one builder of the small YAML scenarios that rehearsals and drills play.

Every drill has the same cast (two police seats, a prosecutor, an actor, an observer),
the same actions, a decision with a deadline and its branches, an action-triggered
inject, a manual inject with an `after` follower and a closing broadcast; what differs
is the timeline around them.
"""

from __future__ import annotations

HEAD = """\
format: simtrain.scenario/1
slug: {slug}
title: {title}
language: fr
duration: {duration}
roles:
  - {{id: police, title: Police, kind: trainee, profession: police, seats: 2}}
  - {{id: parquet, title: Parquet, kind: trainee, profession: prosecutor}}
  - {{id: joy, title: Joy, kind: actor, contacts: [police]}}
  - {{id: obs, title: Observatrice, kind: observer}}
actions:
  - {{id: interprete, roles: [police], label: Demander un interprète}}
  - {{id: note, roles: [police, parquet], label: Noter, once: false}}
injects:
  - {{id: ouverture, kind: broadcast, title: Début, at: 0s}}
"""

DECISION = """\
  - id: garde
    kind: decision
    to: [parquet, police]
    title: Garde à vue ?
    at: {at}
    deadline: 2m
    free_text: true
    options: [{{id: oui, label: Oui}}, {{id: non, label: Non}}]
"""

BRANCHES = {
    "oui": "  - {id: si-oui, kind: message, to: [police], title: Oui,"
           " when: {decision: garde, option: oui}}\n",
    "non": "  - {id: si-non, kind: message, to: [parquet], title: Non,"
           " when: {decision: garde, option: non}}\n",
    "none": "  - {id: sans, kind: message, to: [police, parquet], title: Sans réponse,\n"
            "     when: {decision: garde, option: none}}\n",
}

TAIL = """\
  - {{id: interprete-la, kind: message, to: [police], title: Interprète,
     when: {{action: interprete}}}}
  - {{id: fugue, kind: scene, to: [police, parquet], title: Fugue, manual: true}}
  - {{id: relance, kind: message, to: [parquet], title: Relance,
     after: {{inject: fugue, delay: 30s}}}}
  - {{id: fin, kind: broadcast, title: Fin, at: {end}}}
"""


def drill(*, slug: str, title: str, duration: str, before: list[str], decision_at: str,
          branches: tuple[str, ...], after: list[str], end: str) -> str:
    """A drill's YAML. `before`/`after`: inject lines (YAML flow mappings) placed before
    and after the decision and its branches."""
    lines = [HEAD.format(slug=slug, title=title, duration=duration)]
    lines += [f"  - {line}\n" for line in before]
    lines.append(DECISION.format(at=decision_at))
    lines += [BRANCHES[option] for option in branches]
    lines += [f"  - {line}\n" for line in after]
    lines.append(TAIL.format(end=end))
    return "".join(lines)


# A drill with the law's keys: a story calendar with a jump, a countdown that a request
# extends and an action stops, a request with a deadline, injects on both.
LAW = """\
format: simtrain.scenario/1
slug: law-drill
title: Garde à vue
language: fr
fiction:
  starts: 2026-03-15T22:40
  jumps:
    - {at: 10m, to: 2026-03-16T20:00}
objectives:
  - {id: tenue, title: GAV tenue, measure: {countdown: gav, expired: false}}
  - {id: accord, title: Accord, measure: {request: prolongation, outcome: approved, within: 5m}}
  - id: ordre
    title: Demander avant de lever
    measure: {before: [{request: prolongation, outcome: sent}, {action: lever-gav}]}
roles:
  - {id: police, title: Police, kind: trainee, profession: police, seats: 2}
  - {id: parquet, title: Parquet, kind: trainee, profession: prosecutor}
  - {id: obs, title: Observatrice, kind: observer}
actions:
  - {id: lever-gav, roles: [police], label: Lever la garde à vue}
requests:
  - id: prolongation
    label: Demander la prolongation
    from: [police]
    to: parquet
    description: Article 63 CPP.
    deadline: 2m
    once: false
  - {id: perquisition, label: Perquisitionner, from: [police], to: parquet}
countdowns:
  - id: gav
    title: Garde à vue
    description: "**Article 63 CPP** : 24 heures."
    roles: [police, parquet]
    limit: 24h
    starts: {inject: placement}
    stops: {action: lever-gav}
    extends:
      - {when: {request: prolongation, outcome: approved}, by: 24h}
    warn: [2h]
injects:
  - {id: ouverture, kind: broadcast, title: Début, at: 0s}
  - {id: placement, kind: message, to: [police], title: Placement en GAV, at: 1m}
  - {id: fin-gav, kind: message, to: [police, parquet], title: GAV expirée,
     when: {countdown: gav, state: expired}}
  - {id: accord, kind: message, to: [police], title: Accord,
     when: {request: prolongation, outcome: approved}}
  - {id: sans-reponse, kind: message, to: [police], title: Sans réponse,
     when: {request: prolongation, outcome: none}}
"""
