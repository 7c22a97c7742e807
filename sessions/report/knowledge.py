"""Who knew what when: for the facts that matter, the moment each role first had them.

Pure: a function of the log (`LogEvent` rows), the plan and the list of key facts.

- The facts: the injects the author flagged `key_fact: true`; in a scenario with no
  flag, every document, call and message inject. A fact is known from its first firing.
- Directly: a role has a fact once it was delivered to it (the role is among the
  firing's `roles`, or the inject went to everyone); its moment is when a seat of the
  role first opened the item (`item.opened`), or the delivery if nobody opened it
  (marked "not opened": it was on the screen, unread).
- Passed on: a message from role A to role B (written from A's seat, not by the
  trainer) passes on every fact A had at that moment, so B has it from the message's
  moment, "via A". This over-counts on purpose: the log does not say what a message
  was about, only that someone who knew talked to someone who did not. It is transitive
  (B may pass it on in turn).
- A gap: a role answered a decision without a fact that another role had held for at
  least `GAP_MS` (20 minutes) by then.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from sessions.audience import EVERYONE
from sessions.layout import Plan
from sessions.replay import LogEvent
from sessions.report.scoring import role_name
from sessions.report.svg import COLOURS, _attr, _truncate
from simtrain.durations import format_clock

GAP_MS = 20 * 60_000
FACT_KINDS = ("document", "call", "message")


@dataclass(frozen=True)
class Knew:
    at_ms: int
    how: str  # direct | unopened | relayed
    via: str = ""  # relayed: the role whose message passed it on


@dataclass(frozen=True)
class Gap:
    role: str
    fact: str
    decision: str  # the decision's title
    at_ms: int
    holder: str  # a role that had the fact
    held_ms: int  # for how long by then


@dataclass
class Knowledge:
    roles: list[str]
    facts: list[tuple[str, str]]  # (inject ident, title), in firing order
    knew: dict[tuple[str, str], Knew] = field(default_factory=dict)  # (role, fact)
    gaps: list[Gap] = field(default_factory=list)

    def cell(self, role: str, fact: str) -> Knew | None:
        return self.knew.get((role, fact))

    def rows(self) -> list[tuple[str, list[Knew | None]]]:
        return [(r, [self.cell(r, f) for f, _t in self.facts]) for r in self.roles]

    def gap_at(self, role: str, fact: str) -> bool:
        return any(g.role == role and g.fact == fact for g in self.gaps)


def knowledge(events: list[LogEvent], plan: Plan, key_facts: set[str]) -> Knowledge:
    roles = [ident for ident, role in plan.roles.items() if role.kind == "trainee"]
    wanted = key_facts or {i.ident for i in plan.injects if i.kind in FACT_KINDS}
    found = Knowledge(roles=roles, facts=[])
    delivered: dict[int, str] = {}  # the firing's seq -> fact
    for e in events:
        p = e.payload
        if e.kind == "inject.fired" and p.get("inject") in wanted and not p.get("adhoc"):
            fact = p["inject"]
            if fact not in {f for f, _t in found.facts}:
                found.facts.append((fact, p.get("title", "")))
            delivered[e.seq] = fact
            to = roles if EVERYONE in e.audience else [r for r in p.get("roles", []) if r in roles]
            for role in to:
                found.knew.setdefault((role, fact), Knew(e.clock_ms, "unopened"))
        elif e.kind == "item.opened" and p.get("item") in delivered:
            key = (p.get("role", ""), delivered[p["item"]])
            if key in found.knew and found.knew[key].how == "unopened":
                found.knew[key] = Knew(e.clock_ms, "direct")
        elif e.kind == "message.sent" and not p.get("by_trainer") and p.get("from_role"):
            sender, to = p["from_role"], p.get("to_role", "")
            if to not in roles:
                continue
            for fact, _title in found.facts:
                if (sender, fact) in found.knew and (to, fact) not in found.knew:
                    found.knew[(to, fact)] = Knew(e.clock_ms, "relayed", sender)
        elif e.kind == "decision.answered" and p.get("role") in roles:
            found.gaps += _gaps(found, p["role"], p.get("title", ""), e.clock_ms)
    return found


def _gaps(found: Knowledge, role: str, decision: str, at_ms: int) -> list[Gap]:
    out = []
    for fact, _title in found.facts:
        if (role, fact) in found.knew:
            continue
        holders = [(k.at_ms, r) for (r, f), k in found.knew.items() if f == fact and r != role]
        if holders:
            since, holder = min(holders)
            if at_ms - since >= GAP_MS:
                out.append(Gap(role, fact, decision, at_ms, holder, at_ms - since))
    return out


def knowledge_svg(found: Knowledge, plan: Plan, *, ident: str = "knowledge") -> SafeString:
    """Roles down, facts across; a cell's shade says how the role had it, and when."""
    left, top, cell_w, cell_h = 180, 110, 92, 30
    width = left + cell_w * max(len(found.facts), 1) + 10
    height = top + cell_h * max(len(found.roles), 1) + 30
    fills = {"direct": COLOURS["primary"], "unopened": "#8da2c9", "relayed": COLOURS["action"]}
    title = _("Qui savait quoi, et quand")
    desc = _(
        "%(roles)d rôles, %(facts)d faits ; case foncée : reçu et ouvert ; claire : reçu, "
        "non ouvert ; verte : transmis par un message ; vide : jamais su ; bord rouge : "
        "décision prise sans ce fait. Le tableau qui suit donne les mêmes données."
    ) % {"roles": len(found.roles), "facts": len(found.facts)}
    parts = [
        f'<svg class="chart chart--knowledge" viewBox="0 0 {width} {height}" role="img" '
        f'aria-labelledby="{ident}-title {ident}-desc" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{ident}-title">{_attr(title)}</title>',
        f'<desc id="{ident}-desc">{_attr(desc)}</desc>',
    ]
    for j, (_fact, fact_title) in enumerate(found.facts):
        x = left + j * cell_w + cell_w / 2
        parts.append(
            f'<text x="{x}" y="{top - 8}" font-size="11" fill="{COLOURS["text"]}" '
            f'transform="rotate(-30 {x} {top - 8})">{_attr(_truncate(fact_title, 22))}</text>'
        )
    for i, (role, cells) in enumerate(found.rows()):
        y = top + i * cell_h
        parts.append(
            f'<text x="6" y="{y + cell_h / 2 + 4}" font-size="12" fill="{COLOURS["text"]}">'
            f"{_attr(_truncate(role_name(plan, role), 24))}</text>"
        )
        for j, known in enumerate(cells):
            fact = found.facts[j][0]
            x = left + j * cell_w
            gap = found.gap_at(role, fact)
            fill = fills[known.how] if known else "#ffffff"
            stroke = COLOURS["danger"] if gap else COLOURS["grid"]
            label = _("jamais su") if known is None else format_clock(known.at_ms // 1000)
            parts.append(
                f'<g data-role="{_attr(role)}" data-fact="{_attr(fact)}" '
                f'data-how="{known.how if known else "never"}"><title>'
                f"{_attr(role_name(plan, role))} — {_attr(found.facts[j][1])} : {_attr(label)}"
                f'</title><rect x="{x + 2}" y="{y + 2}" width="{cell_w - 4}" height="{cell_h - 4}" '
                f'fill="{fill}" stroke="{stroke}" stroke-width="{3 if gap else 1}"/>'
            )
            if known:
                colour = "#ffffff" if known.how != "unopened" else COLOURS["text"]
                parts.append(
                    f'<text x="{x + cell_w / 2}" y="{y + cell_h / 2 + 4}" font-size="11" '
                    f'text-anchor="middle" fill="{colour}">{format_clock(known.at_ms // 1000)}'
                    "</text>"
                )
            parts.append("</g>")
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every value above is escaped or ours
