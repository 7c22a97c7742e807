"""Decisions as they were asked and answered, and who talked to whom."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from itertools import combinations

from sessions.layout import Plan
from sessions.replay import LogEvent


@dataclass
class AnswerRow:
    role: str
    state: str  # answered | expired | pending
    at_ms: int | None = None
    took_ms: int | None = None
    option: str = ""
    label: str = ""
    rationale: str = ""
    name: str = ""
    reopened_ms: int | None = None  # the trainer reopened this answer at …


@dataclass
class DecisionRow:
    inject: str
    title: str
    asked_ms: int | None  # None: never fired
    seq: int | None = None
    deadline_ms: int | None = None
    options: list = field(default_factory=list)
    rows: list[AnswerRow] = field(default_factory=list)


def decision_timeline(events: list[LogEvent], plan: Plan) -> list[DecisionRow]:
    """Each decision: when asked, and per role how and when it was answered (or not)."""
    rows: dict[str, DecisionRow] = {}
    open_rows: dict[tuple[str, str], AnswerRow] = {}
    for e in events:
        p = e.payload
        if e.kind == "inject.fired" and p.get("kind") == "decision":
            deadline = p.get("deadline_s")
            row = rows[p["inject"]] = DecisionRow(
                inject=p["inject"],
                title=p.get("title", ""),
                asked_ms=e.clock_ms,
                seq=e.seq,
                deadline_ms=e.clock_ms + deadline * 1000 if deadline is not None else None,
                options=p.get("options") or [],
            )
            for role in p.get("roles", []):
                open_rows[(p["inject"], role)] = AnswerRow(role=role, state="pending")
        elif e.kind in ("decision.answered", "decision.expired", "decision.reopened"):
            row = rows.get(p.get("inject", ""))
            if row is None:
                continue
            if e.kind == "decision.answered":
                answer = open_rows.get((row.inject, p.get("role", "")))
                if answer is None or answer.state != "pending":
                    continue
                answer.state, answer.at_ms = "answered", e.clock_ms
                answer.took_ms = e.clock_ms - row.asked_ms
                answer.option, answer.label = p.get("option", ""), p.get("label", "")
                answer.rationale, answer.name = p.get("rationale", ""), p.get("name", "")
            elif e.kind == "decision.expired":
                for role in p.get("roles", []):
                    answer = open_rows.get((row.inject, role))
                    if answer is not None and answer.state == "pending":
                        answer.state, answer.at_ms = "expired", e.clock_ms
            else:  # reopened: keep the answer on record, start a fresh one
                key = (row.inject, p.get("role", ""))
                answer = open_rows.get(key)
                if answer is not None and answer.state != "pending":
                    answer.reopened_ms = e.clock_ms
                    row.rows.append(answer)
                    open_rows[key] = AnswerRow(role=key[1], state="pending")
    for (inject, _role), answer in open_rows.items():
        rows[inject].rows.append(answer)
    order = {i.ident: i.order for i in plan.injects}
    role_order = {ident: n for n, ident in enumerate(plan.roles)}
    for row in rows.values():
        row.rows.sort(
            key=lambda a: (role_order.get(a.role, len(role_order)), a.at_ms is None, a.at_ms or 0)
        )
    unfired = [
        DecisionRow(inject=i.ident, title=i.title, asked_ms=None)
        for i in plan.injects
        if i.kind == "decision" and i.ident not in rows
    ]
    fired = sorted(rows.values(), key=lambda r: (r.asked_ms, r.seq))
    return fired + sorted(unfired, key=lambda r: order.get(r.inject, 0))


# --- Who talked to whom ---------------------------------------------------------------------------


@dataclass
class Communication:
    roles: list[str]
    counts: dict[tuple[str, str], int]
    first: dict[tuple[str, str], int]  # (from, to) -> clock of the first message
    first_inject_ms: int | None
    trainer_messages: int
    silent: list[str]  # trainee roles that never wrote to anyone
    missing: list[tuple[str, str]]  # pairs of contacts that never exchanged a word

    def count(self, a: str, b: str) -> int:
        return self.counts.get((a, b), 0)

    def after_inject(self, clock_ms: int | None) -> int | None:
        """How long after the first inject (negative: before it)."""
        if clock_ms is None or self.first_inject_ms is None:
            return None
        return clock_ms - self.first_inject_ms

    def matrix(self) -> list[tuple[str, list[int]]]:
        return [(a, [self.count(a, b) for b in self.roles]) for a in self.roles]

    def pairs(self) -> list[dict]:
        """Every pair that exchanged: counts both ways, first contact, delay after T0."""
        out = []
        for a, b in combinations(self.roles, 2):
            ab, ba = self.count(a, b), self.count(b, a)
            if not ab and not ba:
                continue
            firsts = [self.first[k] for k in ((a, b), (b, a)) if k in self.first]
            out.append(
                {
                    "a": a,
                    "b": b,
                    "ab": ab,
                    "ba": ba,
                    "first_ms": min(firsts),
                    "first_ab": self.first.get((a, b)),
                    "first_ba": self.first.get((b, a)),
                    "after_inject_ms": self.after_inject(min(firsts)),
                    # each role's own first word to the other, counted from the first inject
                    "after_ab": self.after_inject(self.first.get((a, b))),
                    "after_ba": self.after_inject(self.first.get((b, a))),
                }
            )
        return sorted(out, key=lambda r: r["first_ms"])


def communication(events: list[LogEvent], plan: Plan) -> Communication:
    counts: Counter = Counter()
    first: dict[tuple[str, str], int] = {}
    first_inject = None
    trainer_messages = 0
    for e in events:
        if e.kind == "inject.fired" and first_inject is None:
            first_inject = e.clock_ms
        if e.kind != "message.sent":
            continue
        p = e.payload
        if p.get("by_trainer"):
            trainer_messages += 1
            continue
        key = (p.get("from_role", ""), p.get("to_role", ""))
        counts[key] += 1
        first.setdefault(key, e.clock_ms)
    speaking = {r for pair in counts for r in pair}
    roles = [
        ident
        for ident, role in plan.roles.items()
        if role.kind == "trainee" or (role.kind == "actor" and ident in speaking)
    ]
    silent = [
        r
        for r in roles
        if plan.roles[r].kind == "trainee" and not any(counts[(r, other)] for other in roles)
    ]
    missing = []
    for a, b in combinations(roles, 2):
        may_talk = b in plan.contacts.get(a, ()) or a in plan.contacts.get(b, ())
        if may_talk and not counts[(a, b)] and not counts[(b, a)]:
            missing.append((a, b))
    return Communication(
        roles=roles,
        counts=dict(counts),
        first=first,
        first_inject_ms=first_inject,
        trainer_messages=trainer_messages,
        silent=silent,
        missing=missing,
    )
