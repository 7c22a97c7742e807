"""What the editor page shows beside the form: its sections, the inject list and timeline."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from scenarios.editor.fields import MISSING
from scenarios.editor.nodes import ROOT, fields_of
from scenarios.editor.render import Form, render_value
from simtrain.durations import format_duration, parse_duration

# The page's sections and the top-level keys each holds; a key of the format not named
# here (a future one) goes to the first section, so it is never left out.
SECTIONS: tuple[tuple[str, Any, tuple[str, ...]], ...] = (
    ("metadata", _("Métadonnées"), ()),
    ("roles", _("Rôles"), ("roles",)),
    ("phases", _("Phases"), ("phases",)),
    ("actions", _("Actions"), ("actions",)),
    ("objectives", _("Objectifs"), ("objectives",)),
    ("law", _("Récit et droit"), ("fiction", "countdowns", "requests")),
    ("injects", _("Injects"), ("injects",)),
)
EVERYONE_LANE = "all"


@dataclass(frozen=True)
class Section:
    slug: str
    title: str
    html: str


def sections(document: dict[str, Any]) -> list[Section]:
    form = Form.of(document)
    placed = {key for _slug, _title, keys in SECTIONS for key in keys}
    out = []
    for slug, title, keys in SECTIONS:
        parts = []
        for key, node in fields_of(ROOT):
            if key in keys or (not keys and key not in placed):
                parts.append(render_value(node, key, document.get(key, MISSING), (key,), form))
        out.append(Section(slug, title, mark_safe("".join(parts))))
    return out


@dataclass(frozen=True)
class InjectRow:
    index: int
    ident: str
    kind: str
    title: str
    to: str
    lane: str
    seconds: int | None  # its `at`, when it has a plain clock time
    time: str
    trigger: str


def _trigger(inject: dict[str, Any]) -> str:
    if isinstance(inject.get("after"), dict):
        after = inject["after"]
        return f"after {after.get('inject', '?')} +{after.get('delay', 0)}"
    if isinstance(inject.get("when"), dict):
        return "when " + ", ".join(f"{k}: {v}" for k, v in inject["when"].items() if k != "any")
    return "manual"


def inject_rows(document: dict[str, Any]) -> list[InjectRow]:
    injects = document.get("injects") if isinstance(document, dict) else None
    rows = []
    for index, inject in enumerate(injects if isinstance(injects, list) else []):
        if not isinstance(inject, dict):
            continue
        try:
            seconds = parse_duration(inject["at"]) if "at" in inject else None
        except ValueError:
            seconds = None
        to = inject.get("to")
        recipients = to if isinstance(to, list) else [to] if isinstance(to, str) else []
        lane = str(recipients[0]) if recipients else EVERYONE_LANE
        rows.append(
            InjectRow(
                index=index,
                ident=str(inject.get("id", "")),
                kind=str(inject.get("kind", "")),
                title=str(inject.get("title", "")),
                to=", ".join(str(r) for r in recipients) or EVERYONE_LANE,
                lane=lane,
                seconds=seconds,
                time=format_duration(seconds) if seconds is not None else "",
                trigger="" if seconds is not None else _trigger(inject),
            )
        )
    return rows


@dataclass(frozen=True)
class Lane:
    role: str
    rows: list[InjectRow]


def timeline(document: dict[str, Any], rows: list[InjectRow]) -> tuple[list[Lane], int]:
    """One lane per role (and one for everyone), and the clock span it shows, in seconds."""
    roles = document.get("roles") if isinstance(document, dict) else None
    order = [str(r.get("id")) for r in (roles or []) if isinstance(r, dict) and r.get("id")]
    timed = [row for row in rows if row.seconds is not None]
    for row in timed:
        if row.lane not in order:
            order.append(row.lane)
    try:
        planned = parse_duration(document.get("duration", 0))
    except ValueError:
        planned = 0
    span = max([planned, *(row.seconds + 600 for row in timed), 3600])
    return [Lane(role, [row for row in timed if row.lane == role]) for role in order], span
