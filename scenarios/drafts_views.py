"""A trainer's drafts: starting one, the list of their own, submitting it for review.

The editor page itself lives in `scenarios.editor`; these views only start, list,
submit and discard drafts. A draft is its author's alone: anyone else gets a 404.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from scenarios import authoring
from scenarios.models import Draft, VersionReview
from scenarios.views import _version_or_404, trainer_required

LANGUAGES = (("fr", "Français"), ("en", "English"))

# What each refusal of the services is, as an HTTP status.
STATUS = {
    "not-found": 404,
    "forbidden": 403,
    "own-work": 403,
    "conflict": 409,
    "not-editing": 409,
    "decided": 409,
}


def refusal_status(refused: authoring.AuthoringRefused) -> int:
    return STATUS.get(refused.code, 400)


def edit_url(draft: Draft) -> str:
    return reverse("scenarios:draft_edit", args=[draft.pk])


@require_http_methods(["GET"])
@trainer_required
def drafts(request):
    """The user's drafts (with the reviewer's word on a returned one) and their
    submitted versions still awaiting a second trainer."""
    own = list(
        Draft.objects.filter(author=request.user)
        .exclude(state=Draft.State.PUBLISHED)
        .select_related("base_version")
    )
    returned = {}
    for review in (
        VersionReview.objects.filter(draft__in=own, state=VersionReview.State.RETURNED)
        .select_related("version", "reviewed_by")
        .order_by("reviewed_at")
    ):
        returned[review.draft_id] = review  # the latest decision wins
    rows = [
        {"draft": d, "returned": returned.get(d.pk) if d.state == Draft.State.EDITING else None}
        for d in own
    ]
    waiting = VersionReview.objects.filter(
        submitted_by=request.user, state=VersionReview.State.PENDING
    ).select_related("version__scenario")
    return render(request, "scenarios/drafts/list.html", {"rows": rows, "waiting": waiting})


@require_http_methods(["GET", "POST"])
@trainer_required
def draft_new(request):
    values = {"slug": "", "title": "", "language": "fr"}
    error = ""
    if request.method == "POST":
        values = {key: request.POST.get(key, "").strip() for key in values}
        if values["language"] not in dict(LANGUAGES):
            error = _("Choisissez la langue du scénario.")
        else:
            try:
                draft = authoring.draft_new(user=request.user, **values)
            except authoring.AuthoringRefused as refused:
                error = refused.message
            else:
                return redirect(edit_url(draft))
    context = {"values": values, "error": error, "language_choices": LANGUAGES}
    return render(request, "scenarios/drafts/new.html", context, status=400 if error else 200)


@require_POST
@trainer_required
def draft_from_version(request, slug: str, number: int):
    version = _version_or_404(slug, number)
    draft = authoring.draft_from_version(user=request.user, version=version)
    return redirect(edit_url(draft))


@require_http_methods(["GET", "POST"])
@trainer_required
def draft_duplicate(request, slug: str, number: int):
    version = _version_or_404(slug, number)
    values = {"slug": f"{slug}-copie", "title": ""}
    error = ""
    if request.method == "POST":
        values = {key: request.POST.get(key, "").strip() for key in values}
        try:
            draft = authoring.draft_duplicate(user=request.user, version=version, **values)
        except authoring.AuthoringRefused as refused:
            error = refused.message
        else:
            return redirect(edit_url(draft))
    context = {"version": version, "values": values, "error": error}
    return render(request, "scenarios/drafts/duplicate.html", context, status=400 if error else 200)


def own_draft(request, draft_id) -> Draft:
    draft = Draft.objects.filter(pk=draft_id, author=request.user).first()
    if draft is None:
        raise Http404(_("Ce brouillon n’existe pas ou n’est pas le vôtre."))
    return draft


@require_POST
@trainer_required
def draft_submit(request, draft_id):
    draft = own_draft(request, draft_id)
    try:
        version = authoring.draft_submit(
            draft_id=draft.pk,
            user=request.user,
            revision=request.POST.get("revision"),
            note=request.POST.get("note", ""),
        )
    except authoring.AuthoringRefused as refused:
        context = {"draft": draft, "refused": refused}
        return render(
            request, "scenarios/drafts/refused.html", context, status=refusal_status(refused)
        )
    messages.success(
        request,
        _(
            "Version %(number)s soumise : un autre formateur doit l’approuver avant "
            "qu’elle serve en session réelle."
        )
        % {"number": version.number},
    )
    return redirect("scenarios:version", version.scenario.slug, version.number)


@require_POST
@trainer_required
def draft_discard(request, draft_id):
    draft = own_draft(request, draft_id)
    if request.POST.get("confirm") != "yes":
        context = {
            "draft": draft,
            "refused": authoring.AuthoringRefused(
                "not-confirmed", _("Cochez la confirmation pour supprimer ce brouillon.")
            ),
        }
        return render(request, "scenarios/drafts/refused.html", context, status=400)
    try:
        authoring.draft_discard(draft_id=draft.pk, user=request.user)
    except authoring.AuthoringRefused as refused:
        context = {"draft": draft, "refused": refused}
        return render(
            request, "scenarios/drafts/refused.html", context, status=refusal_status(refused)
        )
    messages.success(request, _("Brouillon « %(title)s » supprimé.") % {"title": draft.title})
    return redirect("scenarios:drafts")
