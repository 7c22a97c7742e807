"""After the exercise: replay, after-action report, exports, and the course archive.

Views read and render; every write (ratings, debrief lines, pseudonymisation,
deletion) goes through the engine. The replay and the report are open to whoever may
steer the session (its trainer, course admins); the archive to course admins only.
Observers rate objectives from their own seat (`rate_page`).
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from scenarios.models import Role
from sessions import engine, exports, layout, replay, report, retention
from sessions.access import may_steer, trainer_viewer, viewer_for
from sessions.audit import audit_record, trail
from sessions.models import AuditEntry, Session
from simtrain.pdf import pdf_response
from simtrain.permissions import is_course_admin

SPEEDS = (1, 4, 16)


def _reviewable(request, session_id: int) -> Session:
    session = get_object_or_404(
        Session.objects.select_related("version__scenario", "trainer"), pk=session_id
    )
    if not may_steer(request.user, session):
        raise PermissionDenied
    return session


def _int(value, default: int | None = None) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


# --- Replay ---------------------------------------------------------------------------------


def _have(raw: str) -> dict[str, int] | None:
    """`threads:812,notes:640`: the region versions the browser shows (None: nothing)."""
    if not raw:
        return None
    have = {}
    for part in raw.split(",")[:32]:
        name, _sep, version = part.partition(":")
        if name and version.isdigit():
            have[name] = int(version)
    return have


def _frame(request, session: Session, end_ms: int, *, partial: bool = False) -> replay.Frame:
    view = replay.viewpoint(session, request.GET.get("as", "trainer"))
    if view is None:
        raise Http404(_("Point de vue inconnu."))
    seq = _int(request.GET.get("seq"))
    t_ms = _int(request.GET.get("t"))
    if t_ms is not None:
        t_ms = max(0, min(t_ms, end_ms))
    if seq is None and t_ms is None:
        t_ms = 0
    have = _have(request.GET.get("have", "")) if partial else None
    return replay.frame_at(session, view, t_ms=t_ms, seq=seq, have=have)


def _frame_context(session: Session, frame: replay.Frame, *, quiet: bool = False) -> dict:
    return {
        "session": session,
        "frame": frame,
        "view": frame.viewpoint,
        "screen": frame.viewpoint.screen,
        "quiet": quiet,
    }


@login_required
def replay_page(request, session_id: int):
    session = _reviewable(request, session_id)
    # The scrubber steps by whole seconds: its end is the next one, so that End reaches
    # the last event.
    end_ms = -(-replay.clock_end(session) // 1000) * 1000
    frame = _frame(request, session, end_ms)
    found = replay.markers(session, end_ms)
    present = {m.kind for m in found}
    context = {
        **_frame_context(session, frame),
        "end_ms": end_ms,
        "views": replay.viewpoints(session),
        "markers": found,
        "marker_items": replay.marker_list_html(found, frame.viewpoint.token),
        "marker_ticks": replay.marker_strip_svg(found, end_ms),
        "marker_groups": [(g, replay.MARKER_LABELS[g][1]) for g in replay.MARKER_GROUPS
                          if g in present],
        "speeds": SPEEDS,
        **_knowledge_at(session, frame.seq),
    }
    return render(request, "sessions/replay.html", context)


def _knowledge_at(session: Session, seq: int) -> dict:
    """Who knew what at the replayed moment (the report draws it at the end)."""
    plan = layout.plan_for(session.version_id)
    events = replay.log_events(session.pk, upto=seq)
    known = report.knowledge(events, plan, report.key_facts(session.version_id))
    svg = report.knowledge_svg(known, plan, ident="replay-knowledge") if known.facts else ""
    return {"knowledge": known, "knowledge_svg": svg, "plan": plan}


@login_required
def replay_frame(request, session_id: int):
    """The screen of one perspective at T (htmx swaps it into the replay page)."""
    session = _reviewable(request, session_id)
    frame = _frame(request, session, -(-replay.clock_end(session) // 1000) * 1000,
                   partial=True)
    template = "update" if frame.partial else "frame"
    response = render(request, f"sessions/replay_frame.html#{template}",
                      _frame_context(session, frame, quiet=request.GET.get("quiet") == "1"))
    response["Cache-Control"] = "private, no-store"
    return response


# --- After-action report --------------------------------------------------------------------


def _report_context(request, session: Session) -> dict:
    data = report.build(session)
    return {"session": session, "report": data, "levels": report.LEVELS,
            "debrief_kinds": report.DEBRIEF_KINDS}


@login_required
def report_page(request, session_id: int):
    session = _reviewable(request, session_id)
    return render(request, "sessions/report.html", _report_context(request, session))


@login_required
def report_pdf(request, session_id: int):
    session = _reviewable(request, session_id)
    html = render(request, "sessions/report_print.html",
                  _report_context(request, session)).content.decode()
    audit_record(user=request.user, action=AuditEntry.Action.SESSION_EXPORTED,
                 session=session, details={"format": "pdf"})
    return pdf_response(html, filename=f"{exports.file_stem(session)}-compte-rendu.pdf",
                        base_url=request.build_absolute_uri("/"))


def _back_to_report(request, session: Session, anchor: str):
    return redirect(reverse("sessions:report", args=[session.pk]) + anchor)


@login_required
@require_POST
def report_rate(request, session_id: int):
    """The trainer rates an objective from the report (htmx: the objective is re-rendered)."""
    session = _reviewable(request, session_id)
    ident = request.POST.get("objective", "")
    error = ""
    try:
        engine.objective_rate(
            session_id=session.pk, principal=trainer_viewer(request.user).principal,
            objective_ident=ident, level=_int(request.POST.get("level"), 0) or 0,
            comment=request.POST.get("comment", ""),
        )
    except engine.EngineError as err:
        error = err.message
    if request.htmx:
        data = report.build(session)
        objective = next((o for o in data.objectives if o.ident == ident), None)
        if objective is None:
            raise Http404(_("Objectif inconnu."))
        return render(request, "sessions/report_body.html#objective",
                      {"session": session, "report": data, "objective": objective,
                       "levels": report.LEVELS, "error": error, "printable": False},
                      status=400 if error else 200)
    if error:
        messages.error(request, error)
    return _back_to_report(request, session, f"#objective-{ident}")


@login_required
@require_POST
def report_debrief(request, session_id: int):
    session = _reviewable(request, session_id)
    error = ""
    try:
        engine.debrief_add(
            session_id=session.pk, principal=trainer_viewer(request.user).principal,
            kind=request.POST.get("kind", ""), text=request.POST.get("text", ""),
        )
    except engine.EngineError as err:
        error = err.message
    if request.htmx:
        context = _report_context(request, session)
        context.update(error=error, printable=False)
        return render(request, "sessions/report_body.html#debrief", context,
                      status=400 if error else 200)
    if error:
        messages.error(request, error)
    return _back_to_report(request, session, "#debrief")


@require_http_methods(["GET", "POST"])
def rate_page(request, session_id: int):
    """Objectives and the rubric, for an observer's seat (or the trainer)."""
    session = get_object_or_404(Session.objects.select_related("version"), pk=session_id)
    viewer = viewer_for(session, user=request.user, cookies=request.COOKIES, prefer_seat=True)
    if viewer is None or (viewer.seat is not None and viewer.seat.role.kind != Role.Kind.OBSERVER):
        raise PermissionDenied
    error = ""
    if request.method == "POST":
        try:
            engine.objective_rate(
                session_id=session.pk, principal=viewer.principal,
                objective_ident=request.POST.get("objective", ""),
                level=_int(request.POST.get("level"), 0) or 0,
                comment=request.POST.get("comment", ""),
            )
        except engine.EngineError as err:
            error = err.message
        else:
            messages.success(request, _("Évaluation enregistrée."))
            return redirect("sessions:rate", session_id=session.pk)
    data = report.build(session, rater=viewer.principal.actor)
    return render(request, "sessions/report_rate.html",
                  {"session": session, "report": data, "levels": report.LEVELS,
                   "viewer": viewer, "error": error}, status=400 if error else 200)


# --- Exports ------------------------------------------------------------------------------------


@login_required
def export_json(request, session_id: int):
    session = _reviewable(request, session_id)
    data = exports.export_session(session)
    audit_record(user=request.user, action=AuditEntry.Action.SESSION_EXPORTED,
                 session=session, details={"format": "json"})
    response = HttpResponse(exports.dumps(data), content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{exports.file_stem(session)}.json"'
    return response


@login_required
def export_csv(request, session_id: int):
    session = _reviewable(request, session_id)
    audit_record(user=request.user, action=AuditEntry.Action.SESSION_EXPORTED,
                 session=session, details={"format": "csv"})
    response = HttpResponse(exports.events_csv(session), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="{exports.file_stem(session)}-evenements.csv"'
    )
    return response


# --- Archive (course admins) ---------------------------------------------------------------------


def _course_admin(request) -> None:
    if not is_course_admin(request.user):
        raise PermissionDenied


@login_required
def archive(request):
    _course_admin(request)
    filters = retention.ArchiveFilters.from_query(request.GET)
    sessions = retention.archive_sessions(filters)
    return render(request, "sessions/archive.html", {
        "sessions": sessions[:500],
        "total": len(sessions),
        "filters": filters,
        "choices": retention.archive_choices(),
        "retention_days": retention.retention_days(),
        "due": retention.due_sessions(now=timezone.now()).count(),
        "query": urlencode({k: v for k, v in request.GET.items() if v}),
    })


@login_required
def audit_trail(request):
    """Who changed access or data, when, and what: for course admins only."""
    _course_admin(request)
    action = request.GET.get("action", "")
    if action not in AuditEntry.Action.values:
        action = ""
    session_id = request.GET.get("session", "")
    session_id = int(session_id) if session_id.isdigit() else None
    q = request.GET.get("q", "").strip()[:100]
    lines = trail(action=action, q=q, session_id=session_id)
    shown = list(lines[:500])
    return render(request, "sessions/audit_trail.html", {
        "lines": shown,
        "total": lines.count() if len(shown) == 500 else len(shown),
        "actions": AuditEntry.Action.choices,
        "filters": {"action": action, "q": q, "session": session_id},
        "active": bool(action or q or session_id),
    })


@login_required
@require_POST
def archive_retention(request):
    _course_admin(request)
    done = retention.apply_retention(now=timezone.now(), user=request.user)
    if done:
        messages.success(request, _("%(n)d session(s) pseudonymisée(s).") % {"n": len(done)})
    else:
        messages.info(request, _("Aucune session n’a dépassé la durée de conservation."))
    return redirect("sessions:archive")


@login_required
@require_http_methods(["GET", "POST"])
def session_delete(request, session_id: int):
    """Delete a session after typing its title; the deletion is kept in the audit trail."""
    _course_admin(request)
    session = get_object_or_404(Session.objects.select_related("version__scenario", "trainer"),
                                pk=session_id)
    error = ""
    if request.method == "POST":
        try:
            engine.session_delete(session_id=session.pk, user=request.user,
                                  confirm_title=request.POST.get("confirm_title", ""))
        except engine.EngineError as err:
            error = err.message
        else:
            messages.success(request, _("La session « %(title)s » a été supprimée.")
                             % {"title": session.title})
            return redirect("sessions:archive")
    return render(request, "sessions/archive_delete.html",
                  {"session": session, "error": error}, status=400 if error else 200)
