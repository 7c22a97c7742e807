"""The readable diff between two versions of a scenario: items and fields, not lines.

Open to whoever may read the version history (trainers and course admins).
"""

from __future__ import annotations

from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from scenarios import selectors
from scenarios.version_diff import diff_versions
from scenarios.views import _version_context, _version_or_404, trainer_required


def _number(raw: str) -> int | None:
    """A version number as written in a link or typed: `2` or `v2`."""
    text = raw.strip().removeprefix("v").removeprefix("V")
    return int(text) if text.isascii() and text.isdigit() else None


def _bad_params(request) -> str | None:
    """Why the `from` and `to` parameters cannot be read, or None."""
    missing = [name for name in ("from", "to") if not request.GET.get(name, "").strip()]
    if missing:
        return _(
            "Indiquez les deux versions à comparer, par exemple « ?from=1&to=2 » "
            "(manquant : %(names)s)."
        ) % {"names": ", ".join(missing)}
    for name in ("from", "to"):
        raw = request.GET[name]
        if _number(raw) is None:
            return _(
                "« %(value)s » (paramètre %(name)s) n’est pas un numéro de version : "
                "écrivez par exemple 2 ou v2."
            ) % {"value": raw[:40], "name": name}
    return None


@require_GET
@trainer_required
def version_diff(request, slug: str):
    latest = _version_or_404(slug)  # an unknown scenario is a 404 before any parameter
    context = {
        **_version_context(latest),
        "versions": selectors.version_list(scenario=latest.scenario),
        "error": _bad_params(request),
        "diff": None,
    }
    if context["error"]:
        return render(request, "scenarios/diff.html", context, status=400)
    old = _version_or_404(slug, _number(request.GET["from"]))
    new = _version_or_404(slug, _number(request.GET["to"]))
    context.update(old=old, new=new, diff=diff_versions(old, new))
    return render(request, "scenarios/diff.html", context)
