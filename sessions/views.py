"""Pages of a live session: launching it, joining it, and the screens that stream it.

Views read and render; every write goes through the engine. Who is looking is decided
by `sessions.access` (trainer login or signed seat pass), never by the URL.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from scenarios.models import Attachment, Role, ScenarioVersion
from sessions import engine, selectors
from sessions.access import (
    may_steer,
    read_pass,
    seat_for_pass,
    set_pass,
    trainer_viewer,
    viewer_for,
)
from sessions.forms import CodeForm, NameForm, SessionForm
from sessions.models import LobbyEntry, Seat, Session, new_secret
from sessions.qr import qr_svg
from simtrain.permissions import is_course_admin, is_trainer
from simtrain.ratelimit import client_ip, is_limited, record_failure

CODE_FAILURES_LIMIT = 10  # wrong codes per IP …
CODE_WINDOW_S = 300  # … per five minutes


def _secure_cookies(request) -> bool:
    return request.is_secure() or getattr(settings, "SESSION_COOKIE_SECURE", False)


def _steerable(request, session_id: int) -> Session:
    session = get_object_or_404(Session.objects.select_related("version__scenario"), pk=session_id)
    if not may_steer(request.user, session):
        raise PermissionDenied
    return session


# --- Trainers --------------------------------------------------------------------------


@login_required
def session_list(request):
    if not is_trainer(request.user):
        raise PermissionDenied
    sessions = Session.objects.select_related("version__scenario", "trainer")
    if not is_course_admin(request.user):
        sessions = sessions.filter(trainer=request.user)
    return render(request, "sessions/list.html", {"sessions": sessions[:200]})


@login_required
@require_http_methods(["GET", "POST"])
def session_new(request, version_id: int):
    if not is_trainer(request.user):
        raise PermissionDenied
    version = get_object_or_404(ScenarioVersion.objects.select_related("scenario"), pk=version_id)
    form = SessionForm(request.POST or None, initial={"title": version.title})
    if request.method == "POST" and form.is_valid():
        try:
            session = engine.session_create(
                version=version,
                trainer=request.user,
                title=form.cleaned_data["title"],
                cohort=form.cleaned_data["cohort"],
                join_mode=form.cleaned_data["join_mode"],
            )
        except engine.EngineError as err:
            form.add_error(None, err.message)
        else:
            return redirect("sessions:control", session_id=session.pk)
    return render(request, "sessions/new.html", {"form": form, "version": version},
                  status=400 if form.errors else 200)


@login_required
def control_room(request, session_id: int):
    session = _steerable(request, session_id)
    viewer = trainer_viewer(request.user)
    context = selectors.screen_context(session=session, viewer=viewer)
    context["roster"] = selectors.roster(session=session, request=request)
    return render(request, "sessions/control.html", context)


@login_required
def seat_qr(request, session_id: int, seat_id: int):
    session = _steerable(request, session_id)
    seat = get_object_or_404(Seat, pk=seat_id, session=session)
    url = request.build_absolute_uri(reverse("sessions:invite", args=[seat.invite_token]))
    response = HttpResponse(qr_svg(url), content_type="image/svg+xml")
    response["Cache-Control"] = "no-store"
    return response


# --- Joining ------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def join(request):
    """Enter the session code read aloud by the trainer."""
    form = CodeForm(request.POST or None)
    ip = client_ip(request)
    if request.method == "POST":
        if is_limited("join-code", ip, limit=CODE_FAILURES_LIMIT, window=CODE_WINDOW_S):
            form.add_error(None, _("Trop d'essais. Patientez quelques minutes puis réessayez."))
            return render(request, "sessions/join.html", {"form": form}, status=429)
        if form.is_valid():
            session = (
                Session.objects.filter(code=form.cleaned_data["code"])
                .exclude(state=Session.State.ENDED)
                .first()
            )
            if session is not None:
                joined = set(request.session.get("joined_sessions", []))
                joined.add(session.pk)
                request.session["joined_sessions"] = sorted(joined)
                return redirect("sessions:seats", session_id=session.pk)
            record_failure("join-code", ip, window=CODE_WINDOW_S)
            form.add_error("code", _("Aucune session en cours avec ce code. Vérifiez-le."))
        return render(request, "sessions/join.html", {"form": form}, status=400)
    return render(request, "sessions/join.html", {"form": form})


def _participant_home(session: Session, seat: Seat) -> str:
    name = "sessions:tablet" if seat.role.kind == Role.Kind.ACTOR else "sessions:desk"
    return reverse(name, args=[session.pk])


@require_http_methods(["GET", "POST"])
def seats(request, session_id: int):
    """Pick a free trainee seat (open mode) or wait in the lobby (approval mode)."""
    session = get_object_or_404(Session, pk=session_id)
    current = seat_for_pass(session, read_pass(request.COOKIES, session.pk))
    if current is not None:
        return redirect(_participant_home(session, current))
    if session.pk not in request.session.get("joined_sessions", []):
        messages.info(request, _("Entrez d'abord le code de la session."))
        return redirect("sessions:join")
    if session.state == Session.State.ENDED:
        raise Http404(_("Cette session est terminée."))
    free = selectors.free_trainee_seats(session=session)
    form = NameForm(request.POST or None, seats=free, approval=session.join_mode == "approval",
                    roles=selectors.trainee_roles(session=session))
    if request.method == "POST" and form.is_valid():
        pass_key = read_pass(request.COOKIES, session.pk) or new_secret()
        try:
            if session.join_mode == Session.JoinMode.APPROVAL:
                engine.lobby_join(
                    session_id=session.pk, name=form.cleaned_data["name"], pass_key=pass_key,
                    wanted_role=form.cleaned_data.get("role") or "",
                )
                target = reverse("sessions:lobby", args=[session.pk])
            else:
                seat = engine.seat_claim(
                    session_id=session.pk, seat_id=int(form.cleaned_data["seat"]),
                    name=form.cleaned_data["name"], pass_key=pass_key,
                )
                target = _participant_home(session, seat)
        except engine.EngineError as err:
            form.add_error(None, err.message)
        else:
            response = redirect(target)
            set_pass(response, session.pk, pass_key, secure=_secure_cookies(request))
            return response
    return render(request, "sessions/seats.html", {"session": session, "form": form,
                                                   "free": free},
                  status=400 if form.errors else 200)


def lobby(request, session_id: int):
    """Wait for the trainer; htmx polls this page, which redirects once seated."""
    session = get_object_or_404(Session, pk=session_id)
    pass_key = read_pass(request.COOKIES, session.pk)
    seat = seat_for_pass(session, pass_key)
    if seat is not None:
        target = _participant_home(session, seat)
        if request.htmx:
            response = HttpResponse(status=204)
            response["HX-Redirect"] = target
            return response
        return redirect(target)
    entry = (
        LobbyEntry.objects.filter(session=session, pass_key=pass_key).order_by("-created_at").first()
        if pass_key
        else None
    )
    if entry is None:
        return redirect("sessions:join")
    return render(request, "sessions/lobby.html", {"session": session, "entry": entry})


@require_http_methods(["GET", "POST"])
def invite(request, token: str):
    """Actor and observer seats: only through their own link (the code never opens them)."""
    seat = Seat.objects.select_related("session", "role").filter(invite_token=token).first()
    if seat is None:
        raise Http404(_("Ce lien d'invitation n'est plus valable. Demandez-en un nouveau au formateur."))
    session = seat.session
    pass_key = read_pass(request.COOKIES, session.pk)
    if seat.holder_key and seat.holder_key == pass_key:
        return redirect(_participant_home(session, seat))
    form = NameForm(request.POST or None, seats=None)
    if request.method == "POST" and form.is_valid():
        pass_key = pass_key or new_secret()
        try:
            engine.seat_claim(session_id=session.pk, seat_id=seat.pk,
                              name=form.cleaned_data["name"], pass_key=pass_key)
        except engine.EngineError as err:
            form.add_error(None, err.message)
        else:
            response = redirect(_participant_home(session, seat))
            set_pass(response, session.pk, pass_key, secure=_secure_cookies(request))
            return response
    return render(request, "sessions/invite.html", {"seat": seat, "session": session,
                                                    "form": form},
                  status=400 if form.errors else 200)


# --- Participant screens ------------------------------------------------------------------


def _participant(request, session_id: int):
    session = get_object_or_404(Session.objects.select_related("version"), pk=session_id)
    viewer = viewer_for(session, user=request.user, cookies=request.COOKIES, prefer_seat=True)
    if viewer is None or viewer.seat is None:
        if may_steer(request.user, session):
            return session, None
        raise PermissionDenied
    return session, viewer


def desk(request, session_id: int):
    session, viewer = _participant(request, session_id)
    if viewer is None:
        return redirect("sessions:control", session_id=session.pk)
    if viewer.seat.role.kind == Role.Kind.ACTOR:
        return redirect("sessions:tablet", session_id=session.pk)
    return render(request, "sessions/desk.html",
                  selectors.screen_context(session=session, viewer=viewer))


def tablet(request, session_id: int):
    session, viewer = _participant(request, session_id)
    if viewer is None:
        return redirect("sessions:control", session_id=session.pk)
    if viewer.seat.role.kind != Role.Kind.ACTOR:
        return redirect("sessions:desk", session_id=session.pk)
    return render(request, "sessions/tablet.html",
                  selectors.screen_context(session=session, viewer=viewer))


def attachment(request, session_id: int, attachment_id: int):
    """An attachment of an inject this viewer has received (the trainer: any of the version)."""
    session = get_object_or_404(Session, pk=session_id)
    viewer = viewer_for(session, user=request.user, cookies=request.COOKIES)
    if viewer is None:
        raise PermissionDenied
    found = Attachment.objects.select_related("blob").filter(
        pk=attachment_id, inject__version_id=session.version_id
    ).first()
    if found is None or not (
        viewer.is_trainer or selectors.has_received_attachment(
            session=session, viewer=viewer, attachment_id=attachment_id
        )
    ):
        raise Http404(_("Pièce jointe introuvable."))
    response = HttpResponse(bytes(found.blob.data), content_type=found.blob.content_type)
    response["Content-Disposition"] = f'inline; filename="{found.path.rsplit("/", 1)[-1]}"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


@require_POST
def leave(request, session_id: int):
    """Forget this browser's pass (the seat stays held until the trainer frees it)."""
    response = redirect("sessions:join")
    response.delete_cookie(f"simtrain_pass_{session_id}")
    return response
