"""The scenario editor: one page per draft, for its author only.

The page posts the whole form: to `draft_check` as the author types (the import's own
validator answers, field by field), and to `draft_save`, which stores it as the next
revision unless someone saved in between. Attachments are uploaded, previewed and
removed beside it.
"""

from __future__ import annotations

from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from scenarios import authoring
from scenarios.drafts_views import own_draft
from scenarios.editor.fields import from_fields, unknown_keys
from scenarios.editor.page import inject_rows, sections, timeline
from scenarios.editor.render import Form, render_datalists, render_templates
from scenarios.format import MAX_BUNDLE_BYTES
from scenarios.models import Draft
from scenarios.views import trainer_required

# Shown in the page rather than downloaded: what a browser renders without running it.
INLINE_TYPES = {"image/png", "image/jpeg", "image/webp", "application/pdf"}


def _posted_document(request) -> dict:
    return from_fields(
        (name, value) for name in request.POST for value in request.POST.getlist(name)
    )


def _overview(draft: Draft) -> dict:
    """The inject table and timeline of the draft as saved."""
    document = draft.document if isinstance(draft.document, dict) else {}
    rows = inject_rows(document)
    lanes, span = timeline(document, rows)
    editable = draft.state == Draft.State.EDITING
    return {"draft": draft, "editable": editable, "rows": rows, "lanes": lanes, "span": span}


@require_GET
@trainer_required
def draft_edit(request, draft_id):
    draft = own_draft(request, draft_id)
    document = draft.document if isinstance(draft.document, dict) else {}
    form = Form.of(document)
    context = {
        **_overview(draft),
        "sections": sections(document),
        "templates": render_templates(form),
        "datalists": render_datalists(form),
        "files": draft.files.select_related("blob").order_by("path"),
        "check": authoring.draft_check(draft),
        "unknown": unknown_keys(document),
    }
    return render(request, "scenarios/editor/page.html", context)


@require_POST
@trainer_required
def draft_check(request, draft_id):
    draft = own_draft(request, draft_id)
    check = authoring.draft_check(draft, _posted_document(request))
    return render(request, "scenarios/editor/_check.html", {"check": check})


@require_POST
@trainer_required
def draft_save(request, draft_id):
    draft = own_draft(request, draft_id)
    try:
        draft = authoring.draft_save(
            draft_id=draft.pk,
            user=request.user,
            document=_posted_document(request),
            revision=request.POST.get("revision"),
        )
    except authoring.AuthoringRefused as refused:
        status = 409 if isinstance(refused, authoring.DraftConflict) else 400
        if not request.htmx:
            return _refused(request, draft, refused, status, "")
        context = {
            "draft": draft,
            "error": refused.message,
            "conflict": isinstance(refused, authoring.DraftConflict),
        }
        return render(request, "scenarios/editor/_saved.html", context, status=status)
    if not request.htmx:
        return redirect("scenarios:draft_edit", draft_id=draft.pk)
    context = {**_overview(draft), "saved": True}
    return render(request, "scenarios/editor/_saved.html", context)


def _files_page(draft: Draft) -> str:
    return reverse("scenarios:draft_edit", kwargs={"draft_id": draft.pk}) + "#s-files"


def _refused(request, draft: Draft, refused, status: int, section: str):
    """A whole page saying why (a form posted without htmx), with the way back."""
    back = reverse("scenarios:draft_edit", kwargs={"draft_id": draft.pk}) + section
    context = {"draft": draft, "error": refused.message, "back": back}
    return render(request, "scenarios/editor/refused.html", context, status=status)


@require_POST
@trainer_required
def draft_files(request, draft_id):
    """Upload (`file`, named `path` or its own name) or remove (`remove`: a path)."""
    draft = own_draft(request, draft_id)
    try:
        if "remove" in request.POST:
            authoring.draft_remove_file(
                draft_id=draft.pk, user=request.user, path=request.POST["remove"]
            )
        else:
            upload = request.FILES.get("file")
            if upload is None:
                raise authoring.AuthoringRefused("no-file", _("Choisissez un fichier à envoyer."))
            if upload.size > MAX_BUNDLE_BYTES:  # refused before it is read into memory
                raise authoring.AuthoringRefused(
                    "too-large", _("Les pièces jointes dépassent la taille permise.")
                )
            path = request.POST.get("path", "").strip() or upload.name
            authoring.draft_put_file(
                draft_id=draft.pk, user=request.user, path=path, data=upload.read()
            )
    except authoring.AuthoringRefused as refused:
        return _refused(request, draft, refused, 400, "#s-files")
    return redirect(_files_page(draft))


@require_GET
@trainer_required
def draft_file(request, draft_id, path: str):
    draft = own_draft(request, draft_id)
    row = draft.files.select_related("blob").filter(path=path).first()
    if row is None:
        raise Http404(_("Ce fichier n’est pas dans le brouillon."))
    blob = row.blob
    inline = blob.content_type in INLINE_TYPES
    response = HttpResponse(bytes(blob.data), content_type=blob.content_type)
    response["Content-Disposition"] = content_disposition_header(
        as_attachment=not inline, filename=path.rsplit("/", 1)[-1]
    )
    response["Content-Length"] = str(blob.size)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response
