"""The review queue: a second trainer approves a submitted version or sends it back.

The author sees their own pending versions in the queue too, marked as waiting for
someone else: the services refuse to let them decide (`own-work`).
"""

from __future__ import annotations

from django.contrib import messages
from django.core.cache import cache
from django.db.models import Count
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from rehearsal.preview import preview_run
from scenarios import authoring
from scenarios.drafts_views import own_draft, refusal_status
from scenarios.models import ScenarioVersion, VersionReview
from scenarios.selectors import runnable_versions
from scenarios.views import _version_or_404, trainer_required


def pending_count() -> int:
    return VersionReview.objects.filter(state=VersionReview.State.PENDING).count()


def previous_runnable(version: ScenarioVersion) -> ScenarioVersion | None:
    """What the version replaces: the latest earlier version that may run."""
    return (
        ScenarioVersion.objects.filter(scenario=version.scenario, number__lt=version.number)
        .filter(runnable_versions())
        .order_by("-number")
        .first()
    )


@require_GET
@trainer_required
def reviews(request):
    pending = (
        VersionReview.objects.filter(state=VersionReview.State.PENDING)
        .select_related("version__scenario", "submitted_by")
        .annotate(injects=Count("version__injects"))
        .order_by("submitted_at")
    )
    rows = [
        {
            "review": review,
            "version": review.version,
            "previous": previous_runnable(review.version),
            "own": review.submitted_by_id == request.user.pk,
        }
        for review in pending
    ]
    return render(request, "scenarios/drafts/reviews.html", {"rows": rows})


@require_POST
@trainer_required
def review_decide(request, slug: str, number: int):
    version = _version_or_404(slug, number)
    decision = request.POST.get("decision")
    comment = request.POST.get("comment", "")
    try:
        if decision == "approve":
            authoring.review_approve(version_id=version.pk, user=request.user, comment=comment)
            done = _("Version %(number)s approuvée : elle peut servir en session réelle.")
        elif decision == "return":
            authoring.review_return(version_id=version.pk, user=request.user, comment=comment)
            done = _("Version %(number)s renvoyée à son auteur avec votre commentaire.")
        else:
            raise authoring.AuthoringRefused(
                "bad-value", _("Choisissez : approuver ou renvoyer à l’auteur.")
            )
    except authoring.AuthoringRefused as refused:
        context = {"version": version, "refused": refused}
        return render(
            request,
            "scenarios/drafts/decide_refused.html",
            context,
            status=refusal_status(refused),
        )
    messages.success(request, done % {"number": version.number})
    return redirect("scenarios:reviews")


@require_POST
@trainer_required
def version_rehearse(request, slug: str, number: int):
    """A headless rehearsal of any version (pending ones too), run in the request.

    The shipped 130-inject scenario takes about 4 s (docs/performance.md): short enough
    to answer at once rather than poll; one run at a time per trainer keeps a double
    click from tying up two workers.
    """
    return rehearse(request, _version_or_404(slug, number))


def rehearse(request, version):
    """Run the rehearsal of `version` and show its report (one run per trainer at once)."""
    lock = f"rehearse-preview:{request.user.pk}"
    if not cache.add(lock, 1, timeout=120):
        context = {"version": version, "busy": True}
        return render(request, "scenarios/drafts/rehearsal.html", context, status=429)
    try:
        preview = preview_run(version=version, trainer=request.user)
    finally:
        cache.delete(lock)
    never = {}
    for item in preview.never_fired:
        never.setdefault(item["trigger"], []).append(item["inject"])
    context = {"version": version, "preview": preview, "never": sorted(never.items())}
    return render(request, "scenarios/drafts/rehearsal.html", context)


@require_POST
@trainer_required
def draft_preview(request, draft_id):
    """The last saved revision, before it is submitted: what each role receives, or a
    rehearsal (`then=rehearse`), on the draft's hidden preview version."""
    draft = own_draft(request, draft_id)
    try:
        version = authoring.draft_preview(
            draft_id=draft.pk, user=request.user, revision=request.POST.get("revision")
        )
    except authoring.AuthoringRefused as refused:
        context = {"draft": draft, "refused": refused}
        return render(
            request, "scenarios/drafts/refused.html", context, status=refusal_status(refused)
        )
    if request.POST.get("then") == "rehearse":
        return rehearse(request, version)
    return redirect("scenarios:receives", version.scenario.slug, version.number)
