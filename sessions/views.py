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
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from scenarios.models import Role, ScenarioVersion, version_is_approved
from sessions import engine, joinguard, replay, selectors
from sessions import projections as P
from sessions.access import (
    may_steer,
    read_pass,
    seat_for_pass,
    set_pass,
    trainer_viewer,
    viewer_for,
)
from sessions.exercises import selectors as exercise_selectors
from sessions.exercises import services as exercise_services
from sessions.forms import CodeForm, NameForm, SessionForm
from sessions.models import LobbyEntry, Seat, Session, new_secret
from sessions.qr import qr_svg
from sessions.render import SCREENS, region_context, screen_for
from simtrain.clientip import client_ip
from simtrain.markdown import render_markdown
from simtrain.pdf import pdf_response
from simtrain.permissions import is_course_admin, is_trainer
from simtrain.ratelimit import LimiterUnavailable


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
    return render(request, "sessions/list.html", {
        "sessions": sessions[:200],
        "exercises": exercise_selectors.exercises_for(request.user)[:50],
    })


@login_required
@require_http_methods(["GET", "POST"])
def session_new(request, version_id: int):
    if not is_trainer(request.user):
        raise PermissionDenied
    version = get_object_or_404(ScenarioVersion.objects.select_related("scenario"), pk=version_id)
    if not version_is_approved(version):
        # Say why now, rather than offer a form the engine would refuse (`not-approved`).
        return render(request, "sessions/not_approved.html", {"version": version}, status=409)
    form = SessionForm(request.POST or None, initial={"title": version.title})
    if request.method == "POST" and form.is_valid() and form.cleaned_data["syndicates"] > 1:
        try:
            exercise = exercise_services.exercise_create(
                version=version, trainer=request.user, title=form.cleaned_data["title"],
                cohort=form.cleaned_data["cohort"], join_mode=form.cleaned_data["join_mode"],
                syndicates=form.cleaned_data["syndicates"],
                placement=form.cleaned_data["placement"] or "codes",
            )
        except exercise_services.ExerciseError as err:
            form.add_error(None, err.message)
        else:
            return redirect("sessions:exercise", exercise_id=exercise.pk)
    elif request.method == "POST" and form.is_valid():
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
    context.update(selectors.control_extras(session=session))
    context["room_url"] = reverse("sessions:room", args=[session.pk])
    # A syndicate of an exercise: back to the control room across the teams.
    context["syndicate"] = exercise_selectors.syndicate_of(session)
    return render(request, "sessions/control.html", context)


@login_required
def room_display(request, session_id: int):
    """The projector in the training room: clock, phase and public broadcasts only.

    It opens its own socket (`?screen=room`), whose perspective sees only what every
    seat sees; the page is rendered from that same perspective.
    """
    session = _steerable(request, session_id)
    viewer = selectors.room_viewer(request.user)
    context = selectors.screen_context(session=session, viewer=viewer)
    return render(request, "sessions/room.html", context)


@login_required
@require_POST
def adhoc_inject(request, session_id: int):
    """The trainer's ad-hoc inject composer (htmx, multipart: it may carry files).

    Files are checked by content in the engine (a renamed executable is no PDF); the
    new inject reaches every screen through the log, like any other event.
    """
    session = _steerable(request, session_id)
    viewer = trainer_viewer(request.user)
    uploads = request.FILES.getlist("files")
    files = [(f.name, f.read()) for f in uploads]
    status, error = 200, ""
    try:
        engine.inject_adhoc(
            session_id=session.pk,
            principal=viewer.principal,
            roles=request.POST.getlist("roles"),
            title=request.POST.get("title", ""),
            body=request.POST.get("body", ""),
            kind=request.POST.get("kind") or "message",
            sender=request.POST.get("from", ""),
            files=files,
        )
    except engine.EngineError as err:
        status, error = 400, err.message
    context = {
        "session": session,
        **selectors.control_extras(session=session),
        "composer_error": error,
        "composer_sent": not error,
        "values": {**request.POST.dict(), "roles": request.POST.getlist("roles")} if error else {},
    }
    # htmx swaps error responses too (see the composer's hx-target-error handling).
    return render(request, "sessions/_composer.html", context, status=status)


@login_required
def seat_invitation(request, session_id: int, seat_id: int):
    """The invitation of one actor/observer seat: its link and QR code (a fragment)."""
    session = _steerable(request, session_id)
    seat = get_object_or_404(Seat.objects.select_related("role"), pk=seat_id, session=session)
    url = request.build_absolute_uri(reverse("sessions:invite", args=[seat.invite_token]))
    response = render(request, "sessions/invitation.html",
                      {"session": session, "seat": seat, "url": url})
    response["Cache-Control"] = "no-store"
    return response


@login_required
def pack(request, session_id: int):
    """The printable pack for when the Wi-Fi dies: cue cards, briefings, the MSEL."""
    session = _steerable(request, session_id)
    return render(request, "sessions/pack.html", selectors.pack_context(session=session))


@login_required
def pack_pdf(request, session_id: int):
    session = _steerable(request, session_id)
    context = {**selectors.pack_context(session=session), "pdf": True}
    html = render(request, "sessions/pack.html", context).content.decode()
    return pdf_response(html, filename=f"simtrain-{session.code}-pack.pdf",
                        base_url=request.build_absolute_uri("/"))


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
    """Enter the session code read aloud by the trainer (limits: `sessions.joinguard`)."""
    form = CodeForm(request.POST or None)
    if request.method == "POST":
        if not form.is_valid():  # not even the shape of a code: nothing to look up
            return render(request, "sessions/join.html", {"form": form}, status=400)
        try:
            entry = joinguard.enter(form.cleaned_data["code"], client_ip(request))
        except LimiterUnavailable as error:
            form.add_error(None, str(error.message))
            return render(request, "sessions/join.html", {"form": form}, status=503)
        if entry.throttled:
            form.add_error(None, _("Trop de codes erronés depuis ce réseau. Patientez quelques "
                                   "minutes puis réessayez, ou prévenez le formateur."))
            return render(request, "sessions/join.html", {"form": form}, status=429)
        if entry.exercise is not None:
            joined = set(request.session.get("joined_exercises", []))
            joined.add(entry.exercise.pk)
            request.session["joined_exercises"] = sorted(joined)
            return redirect("sessions:exercise_join", exercise_id=entry.exercise.pk)
        if entry.session is not None:
            joined = set(request.session.get("joined_sessions", []))
            joined.add(entry.session.pk)
            request.session["joined_sessions"] = sorted(joined)
            return redirect("sessions:seats", session_id=entry.session.pk)
        form.add_error("code", _("Aucune session en cours avec ce code. Vérifiez-le."))
        return render(request, "sessions/join.html", {"form": form}, status=400)
    return render(request, "sessions/join.html", {"form": form})


def _participant_home(session: Session, seat: Seat) -> str:
    name = "actors:tablet" if seat.role.kind == Role.Kind.ACTOR else "sessions:desk"
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
        # A fresh pass for every seat taken or lobby entry made: a pass planted in this
        # browser beforehand (by someone who kept its key) opens nothing.
        pass_key = new_secret()
        try:
            target = _take_place(request, session, form, pass_key)
        except (engine.EngineError, joinguard.Refused) as err:
            form.add_error(None, err.message)
        except LimiterUnavailable as error:
            form.add_error(None, str(error.message))
        else:
            response = redirect(target)
            set_pass(response, session.pk, pass_key, secure=_secure_cookies(request))
            return response
    return render(request, "sessions/seats.html", {"session": session, "form": form,
                                                   "free": free},
                  status=400 if form.errors else 200)


def _take_place(request, session: Session, form: NameForm, pass_key: str) -> str:
    """Claim the chosen seat or join the lobby with `pass_key`; the page to go to."""
    previous = read_pass(request.COOKIES, session.pk) or ""
    if session.join_mode == Session.JoinMode.APPROVAL:
        if not joinguard.lobby_attempt(session, client_ip(request)).allowed:
            raise joinguard.Refused(_(
                "Trop de demandes d'accès depuis ce réseau pour cette session. Adressez-vous "
                "au formateur."))
        engine.lobby_join(session_id=session.pk, name=form.cleaned_data["name"],
                          pass_key=pass_key, previous_pass=previous,
                          wanted_role=form.cleaned_data.get("role") or "")
        return reverse("sessions:lobby", args=[session.pk])
    held = joinguard.browser_seat(request, session)
    if held is not None:  # the pass cookie was dropped ("leave"), the seat was not
        raise joinguard.Refused(_(
            "Ce navigateur occupe déjà une place dans cette session (%(seat)s). Demandez au "
            "formateur de la libérer pour en prendre une autre.") % {"seat": held.label})
    seat = engine.seat_claim(session_id=session.pk, seat_id=int(form.cleaned_data["seat"]),
                             name=form.cleaned_data["name"], pass_key=pass_key,
                             previous_pass=previous)
    joinguard.note_browser_seat(request, seat)
    return _participant_home(session, seat)


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
        LobbyEntry.objects.filter(session=session, pass_key=pass_key)
        .order_by("-created_at")
        .first()
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
        raise Http404(
            _("Ce lien d'invitation n'est plus valable. Demandez-en un nouveau au formateur.")
        )
    session = seat.session
    previous = read_pass(request.COOKIES, session.pk)
    if seat.holder_key and seat.holder_key == previous:
        return redirect(_participant_home(session, seat))
    form = NameForm(request.POST or None, seats=None)
    if request.method == "POST" and form.is_valid():
        pass_key = new_secret()  # never the browser's current pass: it may be planted
        try:
            engine.seat_claim(session_id=session.pk, seat_id=seat.pk,
                              name=form.cleaned_data["name"], pass_key=pass_key,
                              previous_pass=previous or "")
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


def participant(request, session_id: int):
    """(session, seat viewer) for a participant page; (session, None) for its trainer."""
    session = get_object_or_404(Session.objects.select_related("version"), pk=session_id)
    viewer = viewer_for(session, user=request.user, cookies=request.COOKIES, prefer_seat=True)
    if viewer is None or viewer.seat is None:
        if may_steer(request.user, session):
            return session, None
        raise PermissionDenied
    return session, viewer


def desk(request, session_id: int):
    session, viewer = participant(request, session_id)
    if viewer is None:
        return redirect("sessions:control", session_id=session.pk)
    if viewer.seat.role.kind == Role.Kind.ACTOR:
        return redirect("actors:tablet", session_id=session.pk)
    context = selectors.screen_context(session=session, viewer=viewer)
    if viewer.seat.role.kind == Role.Kind.OBSERVER:
        context.update(selectors.annotation_choices(session=session))
    return render(request, "sessions/desk.html", context)


@require_GET
def region_all(request, session_id: int, region: str):
    """Every entry of a capped list: one thread's messages, or the notes (htmx fragment).

    The regions show the last `projections.SHOWN` entries and link here for the rest
    (`?upto=<seq of the newest shown>`, `&thread=<key>` for a thread): the answer is the
    list as it stood at that seq, for the same perspective, so it serves the live
    screens and the replay alike. Who is looking is decided as on those pages: with
    `as` (the replay's perspective, or `trainer` from the control room) whoever may
    steer the session, as on the replay; without, the viewer of the live screens (the
    seat of the pass cookie, else the trainer). Only a region the viewer's screen shows,
    and only a thread that screen lists, are answered.
    """
    session = get_object_or_404(Session.objects.select_related("version"), pk=session_id)
    token = request.GET.get("as")
    if token:
        if not may_steer(request.user, session):
            raise PermissionDenied
        view = replay.viewpoint(session, token)
        if view is None:
            raise Http404(_("Point de vue inconnu."))
        perspective, screen = view.perspective, view.screen
    else:
        viewer = viewer_for(session, user=request.user, cookies=request.COOKIES,
                            prefer_seat=True)
        if viewer is None:
            raise PermissionDenied
        perspective = viewer.perspective
        screen = screen_for(perspective, viewer.seat.role.kind if viewer.seat else "")
    if region not in (P.THREADS, P.NOTES) or region not in SCREENS[screen]:
        raise Http404
    try:
        upto = int(request.GET.get("upto", session.last_seq))
    except ValueError:
        upto = session.last_seq
    state = replay.state_at(session, perspective, max(0, min(upto, session.last_seq)))
    # `refresh`: the page reloads a list it had shown whole after a push (live.js); the
    # focus stays where the user is.
    context = {**region_context(state), "full": True,
               "refresh": request.GET.get("refresh") == "1"}
    if region == P.THREADS:
        key = request.GET.get("thread", "")
        if key not in state.shown_threads():
            raise Http404
        context.update(key=key, shown=P.Shown.of(state.threads.get(key, []), capped=False))
        template = "thread_messages"
    else:
        context["shown"] = state.notes_shown(capped=False)
        template = "notes_list"
    response = render(request, f"sessions/regions.html#{template}", context)
    response["Cache-Control"] = "private, no-store"
    return response


def _attachment_for(request, session_id: int, attachment_id: str) -> selectors.FoundAttachment:
    session = get_object_or_404(Session, pk=session_id)
    viewer = viewer_for(session, user=request.user, cookies=request.COOKIES, prefer_seat=True)
    if viewer is None:
        raise PermissionDenied
    found = selectors.attachment_find(session=session, viewer=viewer, attachment_id=attachment_id)
    if found is None:
        # The same answer for "no such file" and "not yours": nothing hints at other
        # roles' documents.
        raise Http404(_("Pièce jointe introuvable."))
    return found


@xframe_options_sameorigin  # the desk shows PDFs in an <iframe> of this very site
@require_GET
def attachment(request, session_id: int, attachment_id: str):
    """An attachment of an inject this viewer has received (the trainer: any of them).

    Scenario attachments are named by their id; ad-hoc ones (`adhoc-N-i`) by the id
    the engine gave them in the inject's payload, and are served only to its recipients.
    """
    found = _attachment_for(request, session_id, attachment_id)
    response = HttpResponse(found.data, content_type=found.content_type)
    response["Content-Disposition"] = f'inline; filename="{found.safe_filename}"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


@require_GET
def attachment_text(request, session_id: int, attachment_id: str):
    """A .md or .txt attachment as sanitised HTML, for the in-page viewer."""
    found = _attachment_for(request, session_id, attachment_id)
    if not found.is_text:
        raise Http404(_("Ce document ne s'affiche pas comme du texte."))
    text = found.data.decode("utf-8", errors="replace")
    if found.is_markdown:
        html = render_markdown(text)
    else:
        html = render_to_string("sessions/_plain_text.html", {"text": text})
    response = HttpResponse(html, content_type="text/html; charset=utf-8")
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


@require_POST
def leave(request, session_id: int):
    """Forget this browser's pass (the seat stays held until the trainer frees it)."""
    response = redirect("sessions:join")
    response.delete_cookie(f"simtrain_pass_{session_id}")
    return response
