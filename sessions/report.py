"""The after-action report: pure functions over a session's event log.

Everything here is computed from the log (`replay.LogEvent` rows) and the scenario
plan; only `build()` touches the database, to load them. So the report of a session
is the same today, after an export and import, or after pseudonymisation (names
aside), and every rule is testable on a hand-built log.

Scoring rules (the scenario format: "each `within` a duration of the start"):

- `within` counts from the start of the exercise (clock 0), for every kind of
  measure. The shipped scenario writes its objectives that way ("avant la 20e
  minute"). No `within`: any time before the end counts.
- decision + option: met by the first answer with that option, by any role, stamped
  within the window. An answer the trainer reopened later still counts, at the time it
  was given: the trainee did decide it then, and reopening is a teaching move; the
  report flags it. An answer with that option after the window: "late", not met. The
  decision never fired, or never answered that way: not met.
- action: the first time any role took the action, within the window.
- message {from, to}: the first message from a seat of role `from` to role `to` within
  the window; the trainer writing in a thread on a role's behalf does not count.

Ratings: each trainer or observer's latest rating of an objective (1–4) counts; the
log keeps every one. Agreement between raters: the share of rater pairs giving the
same level (exact) or levels one apart (adjacent), and the spread (max − min).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from itertools import combinations

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from sessions.audience import EVERYONE, role_token
from sessions.projections import Plan, plan_for, short_title
from sessions.replay import LogEvent, clock_end, log_events
from simtrain.durations import format_clock, format_duration

LEVELS = (
    (1, gettext_lazy("Non atteint")),
    (2, gettext_lazy("Partiellement atteint")),
    (3, gettext_lazy("Atteint")),
    (4, gettext_lazy("Dépassé")),
)
DEBRIEF_KINDS = (
    ("plus", gettext_lazy("Ce qui a bien fonctionné (+)")),
    ("delta", gettext_lazy("Ce qu’il faudrait changer (Δ)")),
    ("takeaway", gettext_lazy("Points à retenir")),
)


def role_name(plan: Plan, ident: str) -> str:
    """Short enough for a chart or a table header: the role's title up to its first comma."""
    return short_title(plan.role_title(ident)) if ident else ""


# --- Objectives and their measures -------------------------------------------------------------


@dataclass(frozen=True)
class ObjectiveSpec:
    ident: str
    title: str
    description: str = ""
    roles: tuple[str, ...] = ()
    measure: str = ""  # "" | decision | action | message
    decision: str = ""
    option: str = ""
    action: str = ""
    from_role: str = ""
    to_role: str = ""
    within_ms: int | None = None

    @classmethod
    def from_model(cls, objective) -> ObjectiveSpec:
        return cls(
            ident=objective.ident,
            title=objective.title,
            description=objective.description,
            roles=tuple(r.ident for r in objective.roles.all()),
            measure=objective.measure or "",
            decision=objective.measure_decision.ident if objective.measure_decision else "",
            option=objective.measure_option or "",
            action=objective.measure_action.ident if objective.measure_action else "",
            from_role=objective.measure_from.ident if objective.measure_from else "",
            to_role=objective.measure_to.ident if objective.measure_to else "",
            within_ms=objective.within_s * 1000 if objective.within_s is not None else None,
        )


@dataclass(frozen=True)
class Score:
    """How the log measures one objective."""

    met: bool
    status: str  # met | late | never | not-fired
    at_ms: int | None = None  # when it was met (or, "late", when it happened)
    seq: int | None = None
    name: str = ""
    role: str = ""
    option_label: str = ""
    reopened: bool = False  # decisions: the answer was reopened afterwards


def _in_window(spec: ObjectiveSpec, clock_ms: int) -> bool:
    """`within` counts from the start of the exercise (clock 0), for every measure."""
    return spec.within_ms is None or clock_ms <= spec.within_ms


def _first(spec: ObjectiveSpec, candidates: list[LogEvent]) -> Score:
    """Met by the first candidate inside the window; else late (a later one) or never."""
    for event in candidates:
        if _in_window(spec, event.clock_ms):
            return _score(True, "met", event)
    if candidates:
        return _score(False, "late", candidates[0])
    return Score(met=False, status="never")


def _score(met: bool, status: str, event: LogEvent, **extra) -> Score:
    p = event.payload
    return Score(met=met, status=status, at_ms=event.clock_ms, seq=event.seq,
                 name=p.get("name", ""), role=p.get("role") or p.get("from_role", ""),
                 option_label=p.get("label", ""), **extra)


def score_decision(spec: ObjectiveSpec, events: list[LogEvent]) -> Score:
    fired = any(
        e.kind == "inject.fired" and e.payload.get("inject") == spec.decision
        and not e.payload.get("adhoc")
        for e in events
    )
    if not fired:
        return Score(met=False, status="not-fired")
    answers = [
        e for e in events
        if e.kind == "decision.answered" and e.payload.get("inject") == spec.decision
        and e.payload.get("option") == spec.option
    ]
    reopened = {
        (e.payload.get("role"), e.seq) for e in events
        if e.kind == "decision.reopened" and e.payload.get("inject") == spec.decision
    }
    score = _first(spec, answers)
    if score.seq is not None and any(
        role == score.role and seq > score.seq for role, seq in reopened
    ):
        score = Score(**{**score.__dict__, "reopened": True})
    return score


def score_action(spec: ObjectiveSpec, events: list[LogEvent]) -> Score:
    return _first(spec, [
        e for e in events if e.kind == "action.taken" and e.payload.get("action") == spec.action
    ])


def score_message(spec: ObjectiveSpec, events: list[LogEvent]) -> Score:
    return _first(spec, [
        e for e in events
        if e.kind == "message.sent" and not e.payload.get("by_trainer")
        and e.payload.get("from_role") == spec.from_role
        and e.payload.get("to_role") == spec.to_role
    ])


SCORERS = {"decision": score_decision, "action": score_action, "message": score_message}


def score_objective(spec: ObjectiveSpec, events: list[LogEvent]) -> Score | None:
    """None for an objective without a measure: trainers and observers rate it."""
    scorer = SCORERS.get(spec.measure)
    return scorer(spec, events) if scorer else None


# --- Ratings ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rating:
    rater: str  # the actor: "trainer:<id>" | "seat:<id>"
    name: str
    kind: str  # trainer | observer
    level: int
    comment: str
    at_ms: int
    seq: int


@dataclass(frozen=True)
class Agreement:
    raters: int
    exact: float | None  # share of rater pairs with the same level, 0..1
    adjacent: float | None  # … with levels at most one apart
    spread: int  # max − min
    mean: float


def latest_ratings(events: list[LogEvent]) -> dict[str, list[Rating]]:
    """Objective ident -> each rater's latest rating, in the order raters first rated."""
    latest: dict[str, dict[str, Rating]] = defaultdict(dict)
    for e in events:
        if e.kind != "objective.rated":
            continue
        p = e.payload
        latest[p["objective"]][e.actor] = Rating(
            rater=e.actor, name=p.get("name", ""), kind=p.get("rater", ""),
            level=int(p.get("level", 0)), comment=p.get("comment", ""),
            at_ms=e.clock_ms, seq=e.seq,
        )
    return {ident: list(by_rater.values()) for ident, by_rater in latest.items()}


def agreement(levels: list[int]) -> Agreement | None:
    if not levels:
        return None
    pairs = list(combinations(levels, 2))
    return Agreement(
        raters=len(levels),
        exact=sum(a == b for a, b in pairs) / len(pairs) if pairs else None,
        adjacent=sum(abs(a - b) <= 1 for a, b in pairs) / len(pairs) if pairs else None,
        spread=max(levels) - min(levels),
        mean=sum(levels) / len(levels),
    )


# --- Decisions ------------------------------------------------------------------------------------


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
                inject=p["inject"], title=p.get("title", ""), asked_ms=e.clock_ms, seq=e.seq,
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
        row.rows.sort(key=lambda a: (role_order.get(a.role, len(role_order)),
                                     a.at_ms is None, a.at_ms or 0))
    unfired = [
        DecisionRow(inject=i.ident, title=i.title, asked_ms=None)
        for i in plan.injects if i.kind == "decision" and i.ident not in rows
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
            out.append({
                "a": a, "b": b, "ab": ab, "ba": ba, "first_ms": min(firsts),
                "first_ab": self.first.get((a, b)), "first_ba": self.first.get((b, a)),
                "after_inject_ms": self.after_inject(min(firsts)),
                # each role's own first word to the other, counted from the first inject
                "after_ab": self.after_inject(self.first.get((a, b))),
                "after_ba": self.after_inject(self.first.get((b, a))),
            })
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
        ident for ident, role in plan.roles.items()
        if role.kind == "trainee" or (role.kind == "actor" and ident in speaking)
    ]
    silent = [r for r in roles if plan.roles[r].kind == "trainee"
              and not any(counts[(r, other)] for other in roles)]
    missing = []
    for a, b in combinations(roles, 2):
        may_talk = b in plan.contacts.get(a, ()) or a in plan.contacts.get(b, ())
        if may_talk and not counts[(a, b)] and not counts[(b, a)]:
            missing.append((a, b))
    return Communication(roles=roles, counts=dict(counts), first=first,
                         first_inject_ms=first_inject, trainer_messages=trainer_messages,
                         silent=silent, missing=missing)


# --- SVG (server-rendered, no script, no inline style) --------------------------------------------

COLOURS = {  # the stylesheet's tokens, as SVG presentation attributes (PDF-safe)
    "text": "#1b1c21", "muted": "#54585f", "grid": "#d5d8de", "lane": "#eef0f3",
    "primary": "#1f3c78", "danger": "#b01f27", "inject": "#0f5d6b", "action": "#176148",
    "decision": "#a1202a", "message": "#1c4f91", "silent": "#fbe9ea",
}


def _attr(value) -> str:
    return escape(str(value))


def _num(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def comm_graph_svg(comm: Communication, plan: Plan, *, ident: str = "comm-graph") -> SafeString:
    """Roles on a circle; a line per pair that talked, thicker with more messages."""
    # Wider than tall: the labels sit left and right of the circle.
    width, height, radius = 780, 540, 210
    centre, middle = width / 2, height / 2
    n = max(len(comm.roles), 1)
    pos = {
        role: (centre + radius * math.cos(2 * math.pi * i / n - math.pi / 2),
               middle + radius * math.sin(2 * math.pi * i / n - math.pi / 2))
        for i, role in enumerate(comm.roles)
    }
    most = max([p["ab"] + p["ba"] for p in comm.pairs()] or [1])
    title = _("Qui a écrit à qui")
    desc = _("%(roles)d rôles, %(pairs)d paires en contact, %(silent)d rôle(s) silencieux. "
             "Le tableau qui suit donne les mêmes données.") % {
        "roles": len(comm.roles), "pairs": len(comm.pairs()), "silent": len(comm.silent)}
    parts = [
        f'<svg class="chart chart--graph" viewBox="0 0 {width} {height}" role="img" '
        f'aria-labelledby="{ident}-title {ident}-desc" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{ident}-title">{_attr(title)}</title>',
        f'<desc id="{ident}-desc">{_attr(desc)}</desc>',
    ]
    for pair in comm.pairs():
        (x1, y1), (x2, y2) = pos[pair["a"]], pos[pair["b"]]
        total = pair["ab"] + pair["ba"]
        width = 1 + 7 * total / most
        label = _("%(a)s → %(b)s : %(ab)d ; %(b)s → %(a)s : %(ba)d ; premier contact %(t)s") % {
            "a": role_name(plan, pair["a"]), "b": role_name(plan, pair["b"]),
            "ab": pair["ab"], "ba": pair["ba"], "t": format_clock(pair["first_ms"] // 1000)}
        parts.append(
            f'<line x1="{_num(x1)}" y1="{_num(y1)}" x2="{_num(x2)}" y2="{_num(y2)}" '
            f'stroke="{COLOURS["primary"]}" stroke-opacity="0.55" '
            f'stroke-width="{_num(width)}" stroke-linecap="round"><title>{_attr(label)}</title>'
            "</line>"
        )
    for role, (x, y) in pos.items():
        silent = role in comm.silent
        sent = sum(comm.count(role, other) for other in comm.roles)
        label = role_name(plan, role)
        anchor = "middle" if abs(x - centre) < 20 else ("start" if x > centre else "end")
        tx = x + (0 if anchor == "middle" else (14 if anchor == "start" else -14))
        ty = y + (-16 if y < middle - radius + 20 else (24 if y > middle + radius - 20 else 4))
        parts += [
            f'<g><title>{_attr(label)} — {_attr(_("%(n)d message(s) envoyé(s)") % {"n": sent})}'
            f'</title>',
            f'<circle cx="{_num(x)}" cy="{_num(y)}" r="10" '
            f'fill="{COLOURS["silent"] if silent else COLOURS["primary"]}" '
            f'stroke="{COLOURS["danger"] if silent else COLOURS["primary"]}" stroke-width="2"/>',
            f'<text x="{_num(tx)}" y="{_num(ty)}" text-anchor="{anchor}" font-size="13" '
            f'fill="{COLOURS["text"]}">{_attr(_truncate(label, 26))}{" ⚠" if silent else ""}'
            "</text></g>",
        ]
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every value above is escaped


@dataclass(frozen=True)
class LaneMark:
    role: str
    kind: str  # inject | action | decision | message
    at_ms: int
    label: str
    seq: int


def swimlane_marks(events: list[LogEvent], plan: Plan) -> list[LaneMark]:
    """What happened to and by each role: injects received, actions, decisions, messages."""
    lanes = [r for r, role in plan.roles.items() if role.kind != "observer"]
    marks: list[LaneMark] = []
    for e in events:
        p = e.payload
        if e.kind == "inject.fired":
            receivers = lanes if EVERYONE in e.audience else [
                r for r in lanes if role_token(r) in e.audience]
            marks += [LaneMark(r, "inject", e.clock_ms, p.get("title", ""), e.seq)
                      for r in receivers]
        elif e.kind == "action.taken" and p.get("role") in plan.roles:
            marks.append(LaneMark(p["role"], "action", e.clock_ms, p.get("label", ""), e.seq))
        elif e.kind == "decision.answered" and p.get("role") in plan.roles:
            answer = p.get("label") or p.get("option") or _("réponse libre")
            marks.append(LaneMark(p["role"], "decision", e.clock_ms,
                                  f"{p.get('title', '')} → {answer}", e.seq))
        elif e.kind == "message.sent" and not p.get("by_trainer") and p.get("from_role"):
            marks.append(LaneMark(p["from_role"], "message", e.clock_ms,
                                  _("à %(role)s") % {"role": role_name(plan, p["to_role"])},
                                  e.seq))
    return marks


def swimlane_svg(marks: list[LaneMark], plan: Plan, end_ms: int, *,
                 ident: str = "swimlane") -> SafeString:
    lanes = [r for r, role in plan.roles.items() if role.kind != "observer"]
    width, left, right, lane_h, top = 1000, 170, 12, 30, 26
    height = top + lane_h * len(lanes) + 8
    span = max(end_ms, 60_000)

    def x_of(ms: int) -> float:
        return left + (width - left - right) * ms / span

    counts = Counter(m.kind for m in marks)
    title = _("Couloirs par rôle")
    desc = _("Chronologie de %(lanes)d rôles sur %(length)s : %(i)d injects reçus, "
             "%(a)d actes, %(d)d décisions, %(m)d messages envoyés. Le tableau des données "
             "suit le graphique.") % {
        "lanes": len(lanes), "length": format_clock(end_ms // 1000), "i": counts["inject"],
        "a": counts["action"], "d": counts["decision"], "m": counts["message"]}
    parts = [
        f'<svg class="chart chart--swimlane" viewBox="0 0 {width} {height}" role="img" '
        f'aria-labelledby="{ident}-title {ident}-desc" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{ident}-title">{_attr(title)}</title>',
        f'<desc id="{ident}-desc">{_attr(desc)}</desc>',
    ]
    step = _tick_step(span)
    for ms in range(0, span + 1, step):
        x = _num(x_of(ms))
        parts.append(f'<line x1="{x}" x2="{x}" y1="{top - 6}" y2="{height - 8}" '
                     f'stroke="{COLOURS["grid"]}" stroke-width="1"/>')
        parts.append(f'<text x="{x}" y="{top - 10}" text-anchor="middle" font-size="11" '
                     f'fill="{COLOURS["muted"]}">{format_clock(ms // 1000)}</text>')
    row = {role: i for i, role in enumerate(lanes)}
    for role, i in row.items():
        y = top + i * lane_h
        if i % 2 == 0:
            parts.append(f'<rect x="0" y="{y}" width="{width}" height="{lane_h}" '
                         f'fill="{COLOURS["lane"]}" fill-opacity="0.6"/>')
        parts.append(f'<text x="6" y="{y + lane_h / 2 + 4}" font-size="12" '
                     f'fill="{COLOURS["text"]}">{_attr(_truncate(role_name(plan, role), 24))}'
                     "</text>")
    for mark in marks:
        if mark.role not in row:
            continue
        x, y = x_of(mark.at_ms), top + row[mark.role] * lane_h + lane_h / 2
        tip = f"<title>{format_clock(mark.at_ms // 1000)} — {_attr(role_name(plan, mark.role))}" \
              f" : {_attr(_KIND_LABELS[mark.kind]())} — {_attr(mark.label)}</title>"
        parts.append(_shape(mark.kind, x, y, tip))
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every value above is escaped


_KIND_LABELS = {
    "inject": lambda: _("inject reçu"),
    "action": lambda: _("acte"),
    "decision": lambda: _("décision"),
    "message": lambda: _("message envoyé"),
}


def _shape(kind: str, x: float, y: float, tip: str) -> str:
    c = COLOURS[kind]
    if kind == "inject":  # a diamond
        pts = f"{_num(x)},{_num(y - 7)} {_num(x + 6)},{_num(y)} {_num(x)},{_num(y + 7)} " \
              f"{_num(x - 6)},{_num(y)}"
        return f'<polygon points="{pts}" fill="{c}">{tip}</polygon>'
    if kind == "action":  # a square
        return (f'<rect x="{_num(x - 5)}" y="{_num(y - 5)}" width="10" height="10" '
                f'fill="{c}">{tip}</rect>')
    if kind == "decision":  # a triangle
        pts = f"{_num(x)},{_num(y - 8)} {_num(x + 7)},{_num(y + 6)} {_num(x - 7)},{_num(y + 6)}"
        return f'<polygon points="{pts}" fill="{c}">{tip}</polygon>'
    return (f'<line x1="{_num(x)}" x2="{_num(x)}" y1="{_num(y - 9)}" y2="{_num(y + 9)}" '
            f'stroke="{c}" stroke-width="2" stroke-opacity="0.7">{tip}</line>')


def _tick_step(span_ms: int) -> int:
    for minutes in (1, 2, 5, 10, 15, 20, 30, 60, 120):
        if span_ms / (minutes * 60_000) <= 12:
            return minutes * 60_000
    return 240 * 60_000


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- The whole report -----------------------------------------------------------------------------


@dataclass
class ObjectiveReport:
    spec: ObjectiveSpec
    score: Score | None
    ratings: list[Rating]
    agreement: Agreement | None
    measure: str = ""  # the measure in words
    mine: Rating | None = None  # the viewing rater's latest rating

    @property
    def ident(self) -> str:
        return self.spec.ident


@dataclass
class Report:
    plan: Plan
    end_ms: int
    started: bool
    objectives: list[ObjectiveReport]
    decisions: list[DecisionRow]
    comm: Communication
    comm_svg: SafeString
    lanes: list[LaneMark]
    swimlane_svg: SafeString
    debrief: list[tuple[str, str, list[LogEvent]]]  # (kind, heading, entries)
    notes: list[LogEvent]
    safety: list[LogEvent]

    @property
    def met(self) -> int:
        return sum(1 for o in self.objectives if o.score is not None and o.score.met)

    @property
    def measured(self) -> int:
        return sum(1 for o in self.objectives if o.score is not None)


def build(session, *, rater: str | None = None) -> Report:
    """The report of a session, from its log and its scenario version."""
    from scenarios.models import Objective

    plan = plan_for(session.version_id)
    events = log_events(session.pk)
    specs = [
        ObjectiveSpec.from_model(o)
        for o in Objective.objects.filter(version_id=session.version_id)
        .select_related("measure_decision", "measure_action", "measure_from", "measure_to")
        .prefetch_related("roles").order_by("order")
    ]
    ratings = latest_ratings(events)
    objectives = []
    for spec in specs:
        given = ratings.get(spec.ident, [])
        objectives.append(ObjectiveReport(
            spec=spec, score=score_objective(spec, events), ratings=given,
            agreement=agreement([r.level for r in given]),
            measure=measure_text(spec, plan),
            mine=next((r for r in given if r.rater == rater), None) if rater else None,
        ))
    end_ms = clock_end(session)
    comm = communication(events, plan)
    lanes = swimlane_marks(events, plan)
    debrief_entries = [e for e in events if e.kind == "debrief.added"]
    return Report(
        plan=plan,
        end_ms=end_ms,
        started=any(e.kind == "clock.started" for e in events),
        objectives=objectives,
        decisions=decision_timeline(events, plan),
        comm=comm,
        comm_svg=comm_graph_svg(comm, plan),
        lanes=lanes,
        swimlane_svg=swimlane_svg(lanes, plan, end_ms),
        debrief=[(kind, str(heading), [e for e in debrief_entries if e.payload["kind"] == kind])
                 for kind, heading in DEBRIEF_KINDS],
        notes=[e for e in events if e.kind == "note.added"],
        safety=[e for e in events if e.kind == "safety.stop"],
    )


def measure_text(spec: ObjectiveSpec, plan: Plan) -> str:
    """The measure in words, with the scenario's names (not its ids)."""
    if spec.measure == "decision":
        inject = plan.inject(spec.decision)
        options = dict(getattr(inject, "options", ()) or ())
        text = _("réponse « %(option)s » à la décision « %(decision)s »") % {
            "option": options.get(spec.option, spec.option),
            "decision": inject.title if inject else spec.decision}
    elif spec.measure == "action":
        text = _("acte « %(action)s »") % {"action": plan.action_label(spec.action)}
    elif spec.measure == "message":
        text = _("message de « %(a)s » à « %(b)s »") % {
            "a": role_name(plan, spec.from_role), "b": role_name(plan, spec.to_role)}
    else:
        return _("évalué par les formateurs et les observateurs")
    if spec.within_ms is not None:
        text += " " + _("dans les %(within)s de l’exercice") % {
            "within": format_duration(spec.within_ms // 1000)}
    return text
