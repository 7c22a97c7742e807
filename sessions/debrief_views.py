"""The debrief's pages: the participants' hot-wash, its aggregate for the room, and
"restart from here".

Writes go through the engine. The hot-wash page is a participant's (trainees and
actors, from their pass cookie); its aggregate is the trainer's, for the plenary.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from scenarios.models import Objective, Role
from scenarios.views import _version_context, _version_or_404, trainer_required
from sessions import engine
from sessions.access import may_steer, trainer_viewer
from sessions.forms import ImprovementForm
from sessions.models import ImprovementItem, Seat, Session
from sessions.report.hotwash import aggregate
from sessions.report.lessons import measures
from sessions.review_views import _reviewable
from sessions.views import participant
from simtrain.permissions import is_trainer


@require_http_methods(["GET", "POST"])
def hotwash(request, session_id: int):
    """The survey on a participant's screen once the session has ended."""
    session, viewer = participant(request, session_id)
    if viewer is None:  # the trainer: the aggregate
        return redirect("sessions:hotwash_results", session_id=session.pk)
    if viewer.seat.role.kind == Role.Kind.OBSERVER:
        raise PermissionDenied
    objectives = list(Objective.objects.filter(version_id=session.version_id).order_by("order"))
    answered = Seat.objects.filter(pk=viewer.seat.pk, hotwash_answered=True).exists()
    error, status, values = "", 200, {}
    if request.method == "POST" and not answered:
        values = {
            name: request.POST.get(name, "") for name in ("worked", "not_worked", "free_text")
        }
        confidence = {
            o.ident: request.POST[f"confidence-{o.ident}"]
            for o in objectives
            if request.POST.get(f"confidence-{o.ident}")
        }
        try:
            engine.hotwash_answer(
                session_id=session.pk, principal=viewer.principal, confidence=confidence, **values
            )
        except engine.EngineError as err:
            error, status = err.message, 400
        else:
            answered = True
    return render(
        request,
        "sessions/hotwash.html",
        {
            "session": session,
            "role": viewer.seat.role,
            "objectives": objectives,
            "answered": answered,
            "ended": session.state == Session.State.ENDED,
            "levels": engine.CONFIDENCE_LEVELS,
            "error": error,
            "values": values,
        },
        status=status,
    )


@login_required
def hotwash_results(request, session_id: int):
    """The aggregate, for the room display: nothing before three answers."""
    session = _reviewable(request, session_id)
    return render(
        request,
        "sessions/hotwash_room.html",
        {
            "session": session,
            "hotwash": aggregate(session),
            "threshold": engine.HOTWASH_MIN_ANSWERS,
        },
    )


@login_required
@require_POST
def fork(request, session_id: int):
    """ "Restart from here": a new session replaying this one up to the seq shown."""
    session = _reviewable(request, session_id)
    viewer = trainer_viewer(request.user)
    try:
        new = engine.session_fork(
            session_id=session.pk, principal=viewer.principal, at_seq=request.POST.get("at_seq", "")
        )
    except engine.EngineError as err:
        messages.error(request, err.message)
        return redirect("sessions:replay", session_id=session.pk)
    return redirect("sessions:control", session_id=new.pk)


# --- Lessons learned ------------------------------------------------------------------------


@trainer_required
def lessons(request, slug: str):
    """The scenario's sessions (those the viewer may open) side by side, and its items."""
    latest = _version_or_404(slug)
    sessions = [
        s
        for s in Session.objects.filter(version__scenario=latest.scenario)
        .select_related("version", "trainer")
        .order_by("-created_at")
        if may_steer(request.user, s)
    ]
    columns, rows = measures(sessions)
    items = ImprovementItem.objects.filter(scenario=latest.scenario).select_related("session")
    return render(
        request,
        "sessions/lessons.html",
        {
            **_version_context(latest),
            "tab": "lessons",
            "columns": columns,
            "rows": rows,
            "open_items": [i for i in items if i.is_open],
            "closed_items": [i for i in items if not i.is_open],
            "statuses": ImprovementItem.Status.choices,
        },
    )


@login_required
@require_POST
def improvement_add(request, session_id: int):
    """From the report: a finding becomes an item of the scenario."""
    session = _reviewable(request, session_id)
    form = ImprovementForm(request.POST)
    if form.is_valid():
        item = form.save(commit=False)
        item.scenario, item.session = session.version.scenario, session
        item.save()
        messages.success(request, _("Piste d’amélioration ajoutée au scénario."))
    else:
        messages.error(request, " ".join(e for errs in form.errors.values() for e in errs))
    return redirect(reverse("sessions:report", args=[session.pk]) + "#improvements")


@login_required
@require_POST
def improvement_status(request, item_id: int):
    item = get_object_or_404(ImprovementItem.objects.select_related("scenario"), pk=item_id)
    if not is_trainer(request.user):
        raise PermissionDenied
    status = request.POST.get("status", "")
    if status not in ImprovementItem.Status.values:
        messages.error(request, _("Statut inconnu."))
    else:
        item.status = status
        item.save(update_fields=["status"])
    return redirect("sessions:lessons", slug=item.scenario.slug)
