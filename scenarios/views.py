"""The scenario library pages: for trainers and course admins only (the JSON Schema of
the format is public: authors need it in their editor).

htmx requests re-render only the region they target, from the same partial as the full
page (`template.html#partial`), so the two cannot drift.
"""

from __future__ import annotations

import zipfile
from functools import wraps
from io import BytesIO
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import cache_control
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods
from django_htmx.http import HttpResponseClientRedirect

from scenarios import selectors, services
from scenarios.format.errors import ScenarioInvalid
from scenarios.format.schema import json_schema
from scenarios.format.xlsx import (
    XLSX_CONTENT_TYPE,
    WorkbookUnfit,
    exported_workbook,
    exported_workbook_zip,
)
from scenarios.forms import (
    MAX_BUNDLE_BYTES,
    MAX_YAML_BYTES,
    UPLOAD_ACCEPT,
    LibraryFilterForm,
    ScenarioUploadForm,
)
from scenarios.models import Inject, Scenario, ScenarioVersion, VersionReview
from scenarios.services import scenario_import as import_service
from simtrain.permissions import is_trainer

# --- access ----------------------------------------------------------------------------


def trainer_required(view):
    """Trainers and course admins only: others are sent to log in, or refused (403).

    An htmx request from a page whose login has expired is told to load the login page
    as a whole, rather than have the login form swapped into a table.
    """

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            if request.htmx:
                page = request.htmx.current_url_abs_path or request.get_full_path()
                login_url = resolve_url(settings.LOGIN_URL)
                return HttpResponseClientRedirect(f"{login_url}?{urlencode({'next': page})}")
            return redirect_to_login(request.get_full_path())
        if not is_trainer(request.user):
            raise PermissionDenied(
                _("Cette page est réservée aux formateurs et aux administrateurs de formation.")
            )
        return view(request, *args, **kwargs)

    return wrapper


def _version_or_404(slug: str, number: int | None = None) -> ScenarioVersion:
    """The version, or a 404 saying exactly what was not found (stale links)."""
    try:
        return selectors.version_get(slug=slug, number=number)
    except ScenarioVersion.DoesNotExist:
        pass
    try:
        scenario = selectors.scenario_get(slug=slug)
    except Scenario.DoesNotExist:
        raise Http404(
            _("Aucun scénario n’a l’identifiant « %(slug)s ».") % {"slug": slug}
        ) from None
    numbers = sorted(scenario.versions.values_list("number", flat=True))
    if not numbers:
        raise Http404(_("Le scénario « %(slug)s » n’a aucune version.") % {"slug": slug})
    raise Http404(
        _(
            "Le scénario « %(slug)s » n’a pas de version %(number)s "
            "(versions existantes : %(numbers)s)."
        )
        % {"slug": slug, "number": number, "numbers": ", ".join(f"v{n}" for n in numbers)}
    )


def _partial(request, template: str, partials: set[str]) -> str:
    """`template#target` for an htmx request aimed at one of `partials`, else the page."""
    if request.htmx and not request.htmx.history_restore_request:
        target = request.htmx.target or ""
        if target in partials:
            return f"{template}#{target}"
    return template


# --- library ---------------------------------------------------------------------------


@require_GET
@trainer_required
def library(request):
    facets = selectors.scenario_facets()
    form = LibraryFilterForm(request.GET or None, tags=facets.tags, languages=facets.languages)
    filters = form.filters()
    versions = selectors.scenario_list(**filters)
    context = {
        "form": form,
        "versions": versions,
        "filtered": any(filters.values()),
        "total": None,
        "reviews_pending": VersionReview.objects.filter(state=VersionReview.State.PENDING).count(),
    }
    if context["filtered"]:
        context["total"] = len(selectors.scenario_list())
    return render(request, _partial(request, "scenarios/library.html", {"results"}), context)


# --- one version -----------------------------------------------------------------------


def _msel_state(request, roles) -> dict[str, str]:
    """The MSEL's GET parameters, with stale values (unknown role or kind) dropped."""
    idents = {role.ident for role in roles}
    role = request.GET.get("role", "")
    kind = request.GET.get("kind", "")
    key, descending = selectors.parse_sort(request.GET.get("sort", ""))
    return {
        "role": role if role in idents else "",
        "kind": kind if kind in Inject.Kind.values else "",
        # Time order is the default and needs no parameter.
        "sort": "" if (key, descending) == ("time", False) else ("-" if descending else "") + key,
    }


def _query(state: dict[str, str], **overrides: str) -> str:
    merged = {**state, **overrides}
    return urlencode({k: v for k, v in merged.items() if v})


def _msel_columns(state: dict[str, str], base: str) -> list[dict]:
    """The sortable headers: a click sorts ascending, a second click descending."""
    key, descending = selectors.parse_sort(state["sort"])
    labels = {
        "time": _("Déclenchement"),
        "phase": _("Phase"),
        "kind": _("Type"),
        "to": _("Destinataires"),
        "title": _("Titre"),
    }
    columns = []
    for column in selectors.SORT_KEYS:
        current = column == key
        next_sort = f"-{column}" if current and not descending else column
        query = _query(state, sort="" if next_sort == "time" else next_sort)
        columns.append(
            {
                "key": column,
                "label": labels[column],
                "aria_sort": ("descending" if descending else "ascending") if current else "",
                "url": f"{base}?{query}" if query else base,
            }
        )
    return columns


def _version_context(version: ScenarioVersion) -> dict:
    latest = selectors.version_get(slug=version.scenario.slug)
    return {
        "version": version,
        "scenario": version.scenario,
        "latest": latest,
        "is_latest": latest.pk == version.pk,
    }


@require_GET
@trainer_required
def version_detail(request, slug: str, number: int | None = None):
    version = _version_or_404(slug, number)
    base = reverse("scenarios:version", args=[slug, version.number])
    roles = selectors.role_choices(version=version)
    state = _msel_state(request, roles)
    context = {
        **_version_context(version),
        "base_url": base,
        "state": state,
        "roles": roles,
        "kinds": [
            (kind, Inject.Kind(kind).label)
            for kind in selectors.version_inject_kinds(version=version)
        ],
        "msel": selectors.inject_timeline(
            version=version, role=state["role"], kind=state["kind"], sort=state["sort"]
        ),
        "msel_total": version.injects.count(),
        "msel_columns": _msel_columns(state, base),
    }
    template = _partial(request, "scenarios/version.html", {"msel"})
    if "#" not in template:  # the whole page: everything else too
        context.update(
            role_groups=selectors.version_roles(version=version),
            timeline=selectors.phase_timeline(version=version),
            objectives=selectors.objective_list(version=version),
            actions=selectors.action_list(version=version),
            attachments=selectors.attachment_list(version=version),
        )
    return render(request, template, context)


@require_GET
@trainer_required
def role_receives(request, slug: str, number: int):
    """What one role gets during a session, in timeline order, bodies rendered."""
    version = _version_or_404(slug, number)
    roles = selectors.role_choices(version=version)
    ident = request.GET.get("role", "")
    role = next((r for r in roles if r.ident == ident), None)
    context = {
        **_version_context(version),
        "roles": sorted(roles, key=lambda r: (selectors.ROLE_KIND_ORDER.index(r.kind), r.order)),
        "role": role,
        "unknown_role": ident if ident and role is None else "",
        "received": selectors.role_receives(version=version, role=role) if role else [],
    }
    template = _partial(request, "scenarios/receives.html", {"received"})
    return render(request, template, context)


@require_GET
@trainer_required
def attachment_download(request, slug: str, number: int, attachment_id: int):
    version = _version_or_404(slug, number)
    try:
        attachment = selectors.attachment_get(version=version, attachment_id=attachment_id)
    except selectors.Attachment.DoesNotExist:
        raise Http404(
            _("La version %(number)s du scénario « %(slug)s » n’a pas de pièce jointe n° %(id)s.")
            % {"number": number, "slug": slug, "id": attachment_id}
        ) from None
    blob = attachment.blob
    response = HttpResponse(bytes(blob.data), content_type=blob.content_type)
    response["Content-Disposition"] = content_disposition_header(
        as_attachment=True, filename=attachment.path.rsplit("/", 1)[-1]
    )
    response["Content-Length"] = str(blob.size)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, max-age=3600"
    return response


# --- export ----------------------------------------------------------------------------


def _export(version: ScenarioVersion):
    return services.scenario_export(version=version)


def _export_filename(version: ScenarioVersion, suffix: str) -> str:
    return f"{version.scenario.slug}-v{version.number}.{suffix}"


@require_GET
@trainer_required
def export_yaml(request, slug: str, number: int):
    version = _version_or_404(slug, number)
    exported = _export(version)
    if _export_files(exported):
        context = {"version": version, "scenario": version.scenario}
        return render(request, "scenarios/export_needs_zip.html", context, status=409)
    response = HttpResponse(_export_yaml(exported), content_type="application/yaml; charset=utf-8")
    response["Content-Disposition"] = content_disposition_header(
        as_attachment=True, filename=_export_filename(version, "yaml")
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response


@require_GET
@trainer_required
def export_zip(request, slug: str, number: int):
    version = _version_or_404(slug, number)
    exported = _export(version)
    response = HttpResponse(_export_zip(exported), content_type="application/zip")
    response["Content-Disposition"] = content_disposition_header(
        as_attachment=True, filename=_export_filename(version, "zip")
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response


@require_GET
@trainer_required
def export_xlsx(request, slug: str, number: int):
    """The version as a workbook; one with attachments needs the zip (as for YAML)."""
    version = _version_or_404(slug, number)
    exported = _export(version)
    if _export_files(exported):
        context = {"version": version, "scenario": version.scenario, "workbook": True}
        return render(request, "scenarios/export_needs_zip.html", context, status=409)
    return _workbook_response(request, version, exported, "xlsx")


@require_GET
@trainer_required
def export_xlsx_zip(request, slug: str, number: int):
    """scenario.xlsx and the attachments, in a zip that imports back as it is."""
    version = _version_or_404(slug, number)
    return _workbook_response(request, version, _export(version), "zip")


def _workbook_response(request, version: ScenarioVersion, exported, suffix: str):
    try:
        if suffix == "zip":
            content, content_type = exported_workbook_zip(exported), "application/zip"
        else:
            content, content_type = exported_workbook(exported), XLSX_CONTENT_TYPE
    except WorkbookUnfit as unfit:
        messages.error(
            request,
            _(
                "Cette version ne peut pas être exportée en classeur : %(reason)s. "
                "Exportez-la en YAML."
            )
            % {"reason": unfit},
        )
        return redirect("scenarios:version", version.scenario.slug, version.number)
    response = HttpResponse(content, content_type=content_type)
    name = f"{version.scenario.slug}-v{version.number}-xlsx.zip" if suffix == "zip" else None
    response["Content-Disposition"] = content_disposition_header(
        as_attachment=True, filename=name or _export_filename(version, "xlsx")
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _export_yaml(exported) -> str:
    return exported.yaml


def _export_files(exported) -> dict[str, bytes]:
    return dict(getattr(exported, "files", None) or {})


def _export_zip(exported) -> bytes:
    to_zip = getattr(exported, "to_zip", None)
    if callable(to_zip):
        return to_zip()
    buffer = BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as bundle:
        bundle.writestr("scenario.yaml", _export_yaml(exported))
        for path, data in _export_files(exported).items():
            bundle.writestr(path, data)
    return buffer.getvalue()


# --- history ---------------------------------------------------------------------------


def _version_number(raw: str | None, numbers: list[int]) -> int | None:
    try:
        value = int((raw or "").lstrip("v"))
    except ValueError:
        return None
    return value if value in numbers else None


@require_GET
@trainer_required
def history(request, slug: str):
    latest = _version_or_404(slug)
    versions = selectors.version_list(scenario=latest.scenario)
    for newer, older in zip(versions, versions[1:], strict=False):
        newer.previous_number = older.number  # its "compare" link
    numbers = [v.number for v in versions]
    a = _version_number(request.GET.get("a"), numbers)
    b = _version_number(request.GET.get("b"), numbers)
    if a is None and b is None and len(numbers) >= 2:
        a, b = numbers[1], numbers[0]  # by default: what the latest import changed
    diff = None
    if a is not None and b is not None:
        by_number = {v.number: v for v in versions}
        old, new = _export(by_number[a]), _export(by_number[b])
        lines = selectors.text_diff(old=_export_yaml(old), new=_export_yaml(new))
        added, removed = selectors.diff_stats(lines)
        diff = {
            "a": by_number[a],
            "b": by_number[b],
            "lines": lines,
            "added": added,
            "removed": removed,
            "files_changed": sorted(
                path
                for path in set(_export_files(old)) | set(_export_files(new))
                if _export_files(old).get(path) != _export_files(new).get(path)
            ),
        }
    context = {
        **_version_context(latest),
        "versions": versions,
        "a": a,
        "b": b,
        "diff": diff,
    }
    return render(request, _partial(request, "scenarios/history.html", {"diff"}), context)


# --- import ----------------------------------------------------------------------------


class _UploadLimitHandler(FileUploadHandler):
    """Stops storing an uploaded file once it passes the bundle limit.

    The fields before the file (the CSRF token) are kept, the rest of the body is
    drained, and the view reports the file as too large instead of spooling it.
    """

    def __init__(self, request, limit: int):
        super().__init__(request)
        self.limit = limit
        self.received = 0
        self.exceeded = False

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > self.limit:
            self.exceeded = True
            raise StopUpload(connection_reset=False)
        return raw_data

    def file_complete(self, file_size):
        return None


@csrf_exempt  # the check is done by _scenario_import, after the upload handlers are set
@require_http_methods(["GET", "POST"])
@trainer_required
def scenario_import(request):
    limiter = _UploadLimitHandler(request, limit=MAX_BUNDLE_BYTES)
    request.upload_handlers.insert(0, limiter)
    return _scenario_import(request, limiter)


@csrf_protect
def _scenario_import(request, limiter: _UploadLimitHandler):
    context: dict = {"diagnostics": [], "checked": None, "upload_accept": UPLOAD_ACCEPT}
    if request.method != "POST":
        context["form"] = ScenarioUploadForm()
        return render(request, "scenarios/import.html", context)

    form = ScenarioUploadForm(request.POST, request.FILES)
    context["form"] = form
    if limiter.exceeded:
        form.add_error(
            "file",
            _("Le fichier dépasse la limite de 50 Mio d’une archive de scénario."),
        )
    if not form.is_valid():
        return render(request, "scenarios/import.html", context, status=400)

    upload = form.cleaned_data["file"]
    data = upload.read()
    check_only = form.cleaned_data.get("check_only", False)
    try:
        result = import_service(
            source=(upload.name, data), user=request.user, check_only=check_only
        )
    except ScenarioInvalid as invalid:
        context["diagnostics"] = _diagnostic_rows(invalid.diagnostics, upload.name, data)
        context["source_name"] = upload.name
        return render(request, "scenarios/import.html", context, status=400)

    warnings = list(result.warnings)
    if check_only:
        context["checked"] = result
        context["source_name"] = upload.name
        context["diagnostics"] = _diagnostic_rows(warnings, upload.name, data)
        return render(request, "scenarios/import.html", context)

    version = result.version
    if not result.unchanged:
        messages.success(
            request,
            _("Version %(number)s de « %(title)s » importée.")
            % {"number": version.number, "title": version.title},
        )
    else:
        messages.info(
            request,
            _(
                "Ce fichier est identique à la version %(number)s : aucune nouvelle version "
                "n’a été créée."
            )
            % {"number": version.number},
        )
    if warnings:
        heading = ngettext(
            "%(count)d avertissement à l’import :",
            "%(count)d avertissements à l’import :",
            len(warnings),
        ) % {"count": len(warnings)}
        items = format_html_join("", "<li><code>{}</code></li>", ((str(w),) for w in warnings))
        messages.warning(
            request, format_html('{}<ul class="diagnostic-list">{}</ul>', heading, items)
        )
    return redirect("scenarios:version", version.scenario.slug, version.number)


def _source_lines(name: str, data: bytes) -> dict[str, list[str]]:
    """The text lines of the uploaded YAML files, to quote them next to diagnostics."""
    texts: dict[str, bytes] = {}
    if name.lower().endswith(".zip"):
        try:
            with zipfile.ZipFile(BytesIO(data)) as bundle:
                for info in bundle.infolist():
                    is_yaml = info.filename.lower().endswith((".yaml", ".yml"))
                    if is_yaml and info.file_size <= MAX_YAML_BYTES:
                        # The importer names a file inside a zip "bundle.zip/path".
                        texts[f"{name}/{info.filename}"] = texts[info.filename] = bundle.read(info)
        except (zipfile.BadZipFile, OSError, RuntimeError):
            pass
    elif name.lower().endswith((".yaml", ".yml")):
        texts[name] = data  # a workbook has no lines to quote: its cells are named
    lines = {}
    for path, raw in texts.items():
        text = raw.decode("utf-8", errors="replace").splitlines()
        lines[path] = text
        lines.setdefault(path.rsplit("/", 1)[-1], text)
    return lines


def _diagnostic_rows(diagnostics, name: str, data: bytes) -> list[dict]:
    sources = _source_lines(name, data)
    rows = []
    for diagnostic in diagnostics:
        file = getattr(diagnostic, "file", "") or ""
        line = getattr(diagnostic, "line", None)
        col = getattr(diagnostic, "col", None)
        text = sources.get(file) or sources.get(file.rsplit("/", 1)[-1])
        if text is None and len(sources) == 1 and not name.lower().endswith(".zip"):
            text = next(iter(sources.values()))
        excerpt = text[line - 1] if text and line and 0 < line <= len(text) else None
        if getattr(diagnostic, "sheet", ""):  # a workbook's cell: file.xlsx:Injects!C12
            excerpt, position = None, diagnostic.where
        else:
            position = ":".join(str(p) for p in (file, line, col) if p not in (None, ""))
        rows.append(
            {
                "severity": str(getattr(diagnostic, "severity", "error")),
                "code": getattr(diagnostic, "code", ""),
                "message": getattr(diagnostic, "message", str(diagnostic)),
                "position": position,
                "line": line,
                "col": col,
                "excerpt": excerpt,
                "text": str(diagnostic),
            }
        )
    return rows


# --- the format's JSON Schema ----------------------------------------------------------


@require_GET
@cache_control(public=True, max_age=3600)
def schema(request):
    """The JSON Schema of `simtrain.scenario/1`, public: editors fetch it by URL."""
    response = JsonResponse(
        json_schema(),
        content_type="application/schema+json",
        json_dumps_params={"indent": 2, "ensure_ascii": False},
    )
    response["Access-Control-Allow-Origin"] = "*"
    response["Content-Disposition"] = 'inline; filename="simtrain.scenario-1.schema.json"'
    return response
