"""Confidence against measure: per objective, what the participants felt (hot-wash,
1–5), what the log measured (met or not) and what the raters saw (rubric, 1–4).

The three are put on one 0–100 % scale so they sit side by side: confidence
(mean − 1) / 4, rubric (mean − 1) / 3, measure 100 % if met and 0 % if not (no bar
when the objective has no measure, nobody rated it, or the hot-wash is under its
threshold). The chart is server-rendered SVG; the table beside it gives the raw values.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from sessions.report.hotwash import HotwashAggregate
from sessions.report.svg import COLOURS, _attr, _num, _truncate


@dataclass(frozen=True)
class ConfidenceRow:
    ident: str
    title: str
    confidence: float | None  # mean self-rating, 1..5
    answers: int
    measured: bool | None  # None: no measure
    rubric: float | None  # mean of the raters' latest levels, 1..4

    def shares(self) -> list[tuple[str, float | None]]:
        return [
            ("confidence", None if self.confidence is None else (self.confidence - 1) / 4),
            ("measure", None if self.measured is None else float(self.measured)),
            ("rubric", None if self.rubric is None else (self.rubric - 1) / 3),
        ]


def confidence_rows(objectives: list, hotwash: HotwashAggregate) -> list[ConfidenceRow]:
    rows = []
    for objective in objectives:
        found = hotwash.confidence_of(objective.ident) if hotwash.shown else None
        rows.append(
            ConfidenceRow(
                ident=objective.ident,
                title=objective.spec.title,
                confidence=found.mean if found else None,
                answers=found.answers if found else 0,
                measured=None if objective.score is None else objective.score.met,
                rubric=objective.agreement.mean if objective.agreement else None,
            )
        )
    return rows


BAR_COLOURS = {
    "confidence": COLOURS["message"],
    "measure": COLOURS["action"],
    "rubric": COLOURS["decision"],
}


def bar_labels() -> dict[str, str]:
    return {
        "confidence": _("Confiance des participants"),
        "measure": _("Mesure du journal"),
        "rubric": _("Évaluation des formateurs"),
    }


def confidence_svg(rows: list[ConfidenceRow], *, ident: str = "confidence-chart") -> SafeString:
    labels = bar_labels()
    left, right, top, bar, gap = 230, 60, 44, 12, 18
    width = 780
    span = width - left - right
    height = top + len(rows) * (3 * bar + gap) + 10
    title = _("Confiance et mesure, par objectif")
    desc = _(
        "Pour %(n)d objectifs, trois barres sur une même échelle de 0 à 100 %% : la "
        "confiance déclarée au retour à chaud, la mesure du journal, l’évaluation des "
        "formateurs. Le tableau qui suit donne les valeurs."
    ) % {"n": len(rows)}
    parts = [
        f'<svg class="chart chart--confidence" viewBox="0 0 {width} {height}" role="img" '
        f'aria-labelledby="{ident}-title {ident}-desc" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{ident}-title">{_attr(title)}</title>',
        f'<desc id="{ident}-desc">{_attr(desc)}</desc>',
    ]
    x = left
    for key, label in labels.items():  # the legend
        parts.append(f'<rect x="{x}" y="8" width="12" height="12" fill="{BAR_COLOURS[key]}"/>')
        parts.append(
            f'<text x="{x + 16}" y="18" font-size="12" fill="{COLOURS["text"]}">'
            f"{_attr(label)}</text>"
        )
        x += 175
    for pct in (0, 50, 100):
        gx = _num(left + span * pct / 100)
        parts.append(
            f'<line x1="{gx}" x2="{gx}" y1="{top - 6}" y2="{height - 6}" '
            f'stroke="{COLOURS["grid"]}" stroke-width="1"/>'
            f'<text x="{gx}" y="{top - 9}" font-size="10" text-anchor="middle" '
            f'fill="{COLOURS["muted"]}">{pct} %</text>'
        )
    for i, row in enumerate(rows):
        y = top + i * (3 * bar + gap)
        parts.append(
            f'<text x="6" y="{y + 1.5 * bar + 4}" font-size="12" fill="{COLOURS["text"]}">'
            f"{_attr(_truncate(row.title, 34))}</text>"
        )
        for j, (key, share) in enumerate(row.shares()):
            by = y + j * bar
            if share is None:
                parts.append(
                    f'<text x="{left + 4}" y="{by + bar - 2}" font-size="10" '
                    f'fill="{COLOURS["muted"]}">—</text>'
                )
                continue
            w = max(2.0, span * share)
            parts.append(
                f'<rect x="{left}" y="{by + 1}" width="{_num(w)}" height="{bar - 2}" '
                f'fill="{BAR_COLOURS[key]}" data-bar="{key}" data-share="{share:.2f}">'
                f"<title>{_attr(labels[key])} : {round(share * 100)} %</title></rect>"
            )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every value above is escaped
