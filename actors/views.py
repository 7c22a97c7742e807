"""What actors get: the cue-card tablet screen, with their character sheet.

The tablet is a live screen like the desk (same socket, same region partials); it
lives here because it is the actors' tool, not the trainees'.
"""

from __future__ import annotations

from django.shortcuts import redirect, render

from actors.sheets import character_sheet
from scenarios.models import Role
from sessions import selectors
from sessions.views import participant


def tablet(request, session_id: int):
    session, viewer = participant(request, session_id)
    if viewer is None:  # the trainer, checking what an actor sees: back to the console
        return redirect("sessions:control", session_id=session.pk)
    if viewer.seat.role.kind != Role.Kind.ACTOR:
        return redirect("sessions:desk", session_id=session.pk)
    context = selectors.screen_context(session=session, viewer=viewer)
    context["character"] = character_sheet(viewer.seat.role)
    return render(request, "actors/tablet.html", context)
