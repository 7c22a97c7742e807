"""The report's charts: server-rendered SVG, no script, no inline style (PDF-safe)."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from sessions.audience import EVERYONE, role_token
from sessions.layout import Plan
from sessions.replay import LogEvent
from sessions.report.scoring import role_name
from sessions.report.timeline import Communication
from simtrain.durations import format_clock

# --- SVG (server-rendered, no script, no inline style) --------------------------------------------

COLOURS = {  # the stylesheet's tokens, as SVG presentation attributes (PDF-safe)
    "text": "#1b1c21",
    "muted": "#54585f",
    "grid": "#d5d8de",
    "lane": "#eef0f3",
    "primary": "#1f3c78",
    "danger": "#b01f27",
    "inject": "#0f5d6b",
    "action": "#176148",
    "decision": "#a1202a",
    "message": "#1c4f91",
    "silent": "#fbe9ea",
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
        role: (
            centre + radius * math.cos(2 * math.pi * i / n - math.pi / 2),
            middle + radius * math.sin(2 * math.pi * i / n - math.pi / 2),
        )
        for i, role in enumerate(comm.roles)
    }
    most = max([p["ab"] + p["ba"] for p in comm.pairs()] or [1])
    title = _("Qui a écrit à qui")
    desc = _(
        "%(roles)d rôles, %(pairs)d paires en contact, %(silent)d rôle(s) silencieux. "
        "Le tableau qui suit donne les mêmes données."
    ) % {"roles": len(comm.roles), "pairs": len(comm.pairs()), "silent": len(comm.silent)}
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
            "a": role_name(plan, pair["a"]),
            "b": role_name(plan, pair["b"]),
            "ab": pair["ab"],
            "ba": pair["ba"],
            "t": format_clock(pair["first_ms"] // 1000),
        }
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
            f"<g><title>{_attr(label)} — {_attr(_('%(n)d message(s) envoyé(s)') % {'n': sent})}"
            f"</title>",
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
            receivers = (
                lanes
                if EVERYONE in e.audience
                else [r for r in lanes if role_token(r) in e.audience]
            )
            marks += [
                LaneMark(r, "inject", e.clock_ms, p.get("title", ""), e.seq) for r in receivers
            ]
        elif e.kind == "action.taken" and p.get("role") in plan.roles:
            marks.append(LaneMark(p["role"], "action", e.clock_ms, p.get("label", ""), e.seq))
        elif e.kind == "decision.answered" and p.get("role") in plan.roles:
            answer = p.get("label") or p.get("option") or _("réponse libre")
            marks.append(
                LaneMark(
                    p["role"], "decision", e.clock_ms, f"{p.get('title', '')} → {answer}", e.seq
                )
            )
        elif e.kind == "message.sent" and not p.get("by_trainer") and p.get("from_role"):
            marks.append(
                LaneMark(
                    p["from_role"],
                    "message",
                    e.clock_ms,
                    _("à %(role)s") % {"role": role_name(plan, p["to_role"])},
                    e.seq,
                )
            )
    return marks


def swimlane_svg(
    marks: list[LaneMark], plan: Plan, end_ms: int, *, ident: str = "swimlane"
) -> SafeString:
    lanes = [r for r, role in plan.roles.items() if role.kind != "observer"]
    width, left, right, lane_h, top = 1000, 170, 12, 30, 26
    height = top + lane_h * len(lanes) + 8
    span = max(end_ms, 60_000)

    def x_of(ms: int) -> float:
        return left + (width - left - right) * ms / span

    counts = Counter(m.kind for m in marks)
    title = _("Couloirs par rôle")
    desc = _(
        "Chronologie de %(lanes)d rôles sur %(length)s : %(i)d injects reçus, "
        "%(a)d actes, %(d)d décisions, %(m)d messages envoyés. Le tableau des données "
        "suit le graphique."
    ) % {
        "lanes": len(lanes),
        "length": format_clock(end_ms // 1000),
        "i": counts["inject"],
        "a": counts["action"],
        "d": counts["decision"],
        "m": counts["message"],
    }
    parts = [
        f'<svg class="chart chart--swimlane" viewBox="0 0 {width} {height}" role="img" '
        f'aria-labelledby="{ident}-title {ident}-desc" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{ident}-title">{_attr(title)}</title>',
        f'<desc id="{ident}-desc">{_attr(desc)}</desc>',
    ]
    step = _tick_step(span)
    for ms in range(0, span + 1, step):
        x = _num(x_of(ms))
        parts.append(
            f'<line x1="{x}" x2="{x}" y1="{top - 6}" y2="{height - 8}" '
            f'stroke="{COLOURS["grid"]}" stroke-width="1"/>'
        )
        parts.append(
            f'<text x="{x}" y="{top - 10}" text-anchor="middle" font-size="11" '
            f'fill="{COLOURS["muted"]}">{format_clock(ms // 1000)}</text>'
        )
    row = {role: i for i, role in enumerate(lanes)}
    for role, i in row.items():
        y = top + i * lane_h
        if i % 2 == 0:
            parts.append(
                f'<rect x="0" y="{y}" width="{width}" height="{lane_h}" '
                f'fill="{COLOURS["lane"]}" fill-opacity="0.6"/>'
            )
        parts.append(
            f'<text x="6" y="{y + lane_h / 2 + 4}" font-size="12" '
            f'fill="{COLOURS["text"]}">{_attr(_truncate(role_name(plan, role), 24))}'
            "</text>"
        )
    for mark in marks:
        if mark.role not in row:
            continue
        x, y = x_of(mark.at_ms), top + row[mark.role] * lane_h + lane_h / 2
        tip = (
            f"<title>{format_clock(mark.at_ms // 1000)} — {_attr(role_name(plan, mark.role))}"
            f" : {_attr(_KIND_LABELS[mark.kind]())} — {_attr(mark.label)}</title>"
        )
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
        pts = (
            f"{_num(x)},{_num(y - 7)} {_num(x + 6)},{_num(y)} {_num(x)},{_num(y + 7)} "
            f"{_num(x - 6)},{_num(y)}"
        )
        return f'<polygon points="{pts}" fill="{c}">{tip}</polygon>'
    if kind == "action":  # a square
        return (
            f'<rect x="{_num(x - 5)}" y="{_num(y - 5)}" width="10" height="10" '
            f'fill="{c}">{tip}</rect>'
        )
    if kind == "decision":  # a triangle
        pts = f"{_num(x)},{_num(y - 8)} {_num(x + 7)},{_num(y + 6)} {_num(x - 7)},{_num(y + 6)}"
        return f'<polygon points="{pts}" fill="{c}">{tip}</polygon>'
    return (
        f'<line x1="{_num(x)}" x2="{_num(x)}" y1="{_num(y - 9)}" y2="{_num(y + 9)}" '
        f'stroke="{c}" stroke-width="2" stroke-opacity="0.7">{tip}</line>'
    )


def _tick_step(span_ms: int) -> int:
    for minutes in (1, 2, 5, 10, 15, 20, 30, 60, 120):
        if span_ms / (minutes * 60_000) <= 12:
            return minutes * 60_000
    return 240 * 60_000


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- The whole report -----------------------------------------------------------------------------
