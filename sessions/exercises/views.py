"""Pages of an exercise of syndicates: its control room, displays, plenary, one-code join.

Only the exercise's own trainer drives it (control room, commands, placing, displays);
course admins review it (plenary, exports). Each syndicate's own pages stay those of a
session (`sessions.views`), with the session's own permissions.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from scenarios.models import Role
from sessions import joinguard
from sessions.access import read_pass, set_pass, trainer_viewer
from sessions.audit import audit_record
from sessions.exercises import plenary as plenaries
from sessions.exercises import selectors, services
from sessions.exercises.models import Exercise
from sessions.forms import TeamJoinForm
from sessions.models import AuditEntry, new_secret
from simtrain.clientip import client_ip
from simtrain.pdf import pdf_response
from simtrain.ratelimit import LimiterUnavailable


def _driven(request, exercise_id: int) -> Exercise:
    exercise = get_object_or_404(
        Exercise.objects.select_related("version__scenario"), pk=exercise_id
    )
    if not selectors.may_drive(request.user, exercise):
        raise PermissionDenied
    return exercise


def _reviewed(request, exercise_id: int) -> Exercise:
    exercise = get_object_or_404(
        Exercise.objects.select_related("version__scenario"), pk=exercise_id
    )
    if not selectors.may_review(request.user, exercise):
        raise PermissionDenied
    return exercise


# --- The trainer's control room across the syndicates ------------------------------------------


@login_required
def control(request, exercise_id: int):
    exercise = _driven(request, exercise_id)
    return render(request, "sessions/exercise.html", selectors.overview(exercise))


@login_required
def overview(request, exercise_id: int):
    """The side-by-side panel alone: the control room polls it (htmx)."""
    exercise = _driven(request, exercise_id)
    response = render(request, "sessions/exercise.html#overview", selectors.overview(exercise))
    response["Cache-Control"] = "no-store"
    return response


def _target(request) -> int | None:
    raw = request.POST.get("syndicate", "all")
    if raw in ("", "all"):
        return None
    try:
        return int(raw)
    except ValueError:
        return -1  # no such team: refused by the service


@login_required
@require_POST
def command(request, exercise_id: int):
    """Start, pause, speed, jump, fire or broadcast: to every syndicate or to one.

    One engine command per session; the answer says, per team, what was refused."""
    exercise = _driven(request, exercise_id)
    principal = trainer_viewer(request.user).principal
    status, outcomes, error = 200, [], ""
    try:
        outcomes = services.exercise_command(
            exercise=exercise,
            principal=principal,
            command=request.POST.get("command", ""),
            args=request.POST.dict(),
            only=_target(request),
        )
    except services.ExerciseError as err:
        status, error = 400, err.message
    context = {
        **selectors.overview(exercise),
        "selected": request.POST.get("syndicate", "all"),  # the target stays chosen
        "outcomes": outcomes,
        "error": error,
        "refused": [o for o in outcomes if not o.ok],
    }
    if request.htmx:
        return render(request, "sessions/exercise.html#panel", context, status=status)
    return render(request, "sessions/exercise.html", context, status=status)


@login_required
@require_POST
def place(request, exercise_id: int):
    """Send a trainee waiting with the exercise code to a team (placement `assign`)."""
    exercise = _driven(request, exercise_id)
    status, error = 200, ""
    try:
        services.entry_send(
            exercise=exercise,
            principal=trainer_viewer(request.user).principal,
            entry_id=int(request.POST.get("entry") or 0),
            number=int(request.POST.get("syndicate") or 0),
        )
    except (ValueError, services.ExerciseError) as err:
        status, error = 400, getattr(err, "message", _("Équipe inconnue."))
    context = {**selectors.overview(exercise), "error": error}
    if request.htmx:
        return render(request, "sessions/exercise.html#panel", context, status=status)
    return render(request, "sessions/exercise.html", context, status=status)


# --- After the exercise: the plenary ------------------------------------------------------------


@login_required
def plenary(request, exercise_id: int):
    exercise = _reviewed(request, exercise_id)
    return render(
        request,
        "sessions/plenary.html",
        {"exercise": exercise, "plenary": plenaries.build(exercise)},
    )


@login_required
def plenary_display(request, exercise_id: int):
    """The projector of the plenary: every team's clock, then the comparison, large."""
    exercise = _reviewed(request, exercise_id)
    return render(
        request,
        "sessions/plenary.html",
        {
            "exercise": exercise,
            "plenary": plenaries.build(exercise),
            "display": True,
            # A course admin's projector shows the teams as they stood (the live
            # overview is the driving trainer's).
            "drives": selectors.may_drive(request.user, exercise),
            **selectors.overview(exercise),
        },
    )


def _audit_export(request, exercise: Exercise, fmt: str) -> None:
    for syndicate in services.syndicates_of(exercise):
        audit_record(
            user=request.user,
            action=AuditEntry.Action.SESSION_EXPORTED,
            session=syndicate.session,
            details={"format": f"plenary-{fmt}", "exercise": exercise.pk},
        )


@login_required
def plenary_pdf(request, exercise_id: int):
    exercise = _reviewed(request, exercise_id)
    html = render(
        request,
        "sessions/plenary.html",
        {"exercise": exercise, "plenary": plenaries.build(exercise), "pdf": True},
    ).content.decode()
    _audit_export(request, exercise, "pdf")
    return pdf_response(
        html,
        filename=f"simtrain-{exercise.code}-pleniere.pdf",
        base_url=request.build_absolute_uri("/"),
    )


@login_required
def plenary_csv(request, exercise_id: int):
    exercise = _reviewed(request, exercise_id)
    _audit_export(request, exercise, "csv")
    response = HttpResponse(
        plenaries.plenary_csv(plenaries.build(exercise)), content_type="text/csv; charset=utf-8"
    )
    name = f"simtrain-{exercise.code}-pleniere.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


# --- Trainees with the one exercise code --------------------------------------------------------


def _secure(request) -> bool:
    return request.is_secure() or getattr(settings, "SESSION_COOKIE_SECURE", False)


def _home(seat) -> str:
    name = "actors:tablet" if seat.role.kind == Role.Kind.ACTOR else "sessions:desk"
    return reverse(name, args=[seat.session_id])


def _browser_seat(request, exercise: Exercise):
    """A seat this browser took with a code in any team of the exercise."""
    for syndicate in services.syndicates_of(exercise):
        seat = joinguard.browser_seat(request, syndicate.session)
        if seat is not None:
            return seat
    return None


def _passes(request, exercise: Exercise) -> list[str]:
    keys = [read_pass(request.COOKIES, s.session_id) for s in services.syndicates_of(exercise)]
    return [k for k in keys if k]


@require_http_methods(["GET", "POST"])
def join(request, exercise_id: int):
    """After the exercise code (`sessions.views.join`, its limits): name and profession."""
    exercise = get_object_or_404(Exercise, pk=exercise_id)
    if exercise.pk not in request.session.get("joined_exercises", []) or not exercise.one_code:
        return redirect("sessions:join")
    current = services.held_seat(exercise, _passes(request, exercise))
    if current is not None:
        return redirect(_home(current))
    assign = exercise.placement == Exercise.Placement.ASSIGN
    roles = list(exercise.version.roles.filter(kind=Role.Kind.TRAINEE).order_by("order"))
    form = TeamJoinForm(request.POST or None, roles=roles, required_role=not assign)
    if request.method == "POST" and form.is_valid():
        pass_key = new_secret()  # a pass planted in this browser opens nothing
        try:
            if assign:
                if not joinguard.lobby_attempt(
                    services.syndicates_of(exercise)[0].session, client_ip(request)
                ).allowed:
                    raise joinguard.Refused(
                        _("Trop de demandes d'accès depuis ce réseau. Adressez-vous au formateur.")
                    )
                services.entry_wait(
                    exercise=exercise,
                    name=form.cleaned_data["name"],
                    pass_key=pass_key,
                    role_ident=form.cleaned_data["role"],
                    previous_pass=request.session.get(_wait_key(exercise), ""),
                )
                request.session[_wait_key(exercise)] = pass_key
                return redirect("sessions:exercise_wait", exercise_id=exercise.pk)
            held = _browser_seat(request, exercise)
            if held is not None:
                raise joinguard.Refused(
                    _(
                        "Ce navigateur occupe déjà une place dans cet exercice (%(seat)s). "
                        "Demandez "
                        "au formateur de la libérer pour en prendre une autre."
                    )
                    % {"seat": held.label}
                )
            seat = services.place_balanced(
                exercise=exercise,
                role_ident=form.cleaned_data["role"],
                name=form.cleaned_data["name"],
                pass_key=pass_key,
            )
        except (services.ExerciseError, joinguard.Refused) as err:
            form.add_error(None, err.message)
        except LimiterUnavailable as error:
            form.add_error(None, str(error.message))
        else:
            joinguard.note_browser_seat(request, seat)
            response = redirect(_home(seat))
            set_pass(response, seat.session_id, pass_key, secure=_secure(request))
            return response
    return render(
        request,
        "sessions/exercise_join.html",
        {"exercise": exercise, "form": form, "assign": assign},
        status=400 if form.errors else 200,
    )


def _wait_key(exercise: Exercise) -> str:
    return f"simtrain_exercise_wait_{exercise.pk}"


def wait(request, exercise_id: int):
    """Wait to be sent to a team; htmx polls, and once sent this opens that team's lobby."""
    exercise = get_object_or_404(Exercise, pk=exercise_id)
    pass_key = request.session.get(_wait_key(exercise), "")
    if not pass_key:
        return redirect("sessions:join")
    syndicate = services.syndicate_for_pass(exercise, pass_key)
    if syndicate is not None:
        target = reverse("sessions:lobby", args=[syndicate.session_id])
        response = HttpResponse(status=204) if request.htmx else redirect(target)
        if request.htmx:
            response["HX-Redirect"] = target
        set_pass(response, syndicate.session_id, pass_key, secure=_secure(request))
        return response
    entry = exercise.entries.filter(pass_key=pass_key).first()
    if entry is None:
        raise Http404(_("Vous n’êtes plus en attente : adressez-vous au formateur."))
    return render(request, "sessions/exercise_wait.html", {"exercise": exercise, "entry": entry})
