"""Events rendered to HTML for one perspective, on the server.

A frame on the wire is `<!--seq:N-->` followed by htmx out-of-band fragments: the
event's line in the feed, then every region of the viewer's screen that the event
changed, rendered whole from the viewer's `ScreenState` with the same partials the
full pages use. Content is chosen per perspective here, so what a role may not see
never leaves the server.
"""

from __future__ import annotations

from django.template.loader import render_to_string
from django.utils import translation

from sessions import projections as P
from sessions.audience import Perspective
from sessions.models import Event

FEED_TEMPLATE = "sessions/events.html#feed_item"
CLOCK_TEMPLATE = "sessions/events.html#clock"
TOAST_TEMPLATE = "sessions/events.html#toast"
REGIONS_TEMPLATE = "sessions/regions.html"

# Which regions each screen shows (and so which pushed updates it wants).
SCREENS: dict[str, tuple[str, ...]] = {
    "control": (P.CLOCK, P.ALERTS, P.TIMELINE, P.ROSTER, P.BOARD, P.THREADS, P.NOTES,
                P.BROADCASTS),
    "desk": (P.CLOCK, P.INBOX, P.DECISIONS, P.ACTIONS, P.THREADS, P.NOTES),
    "observer": (P.CLOCK, P.INBOX, P.BOARD, P.THREADS, P.BROADCASTS),
    "tablet": (P.CLOCK, P.CUES, P.INBOX),
}


def screen_for(perspective: Perspective, role_kind: str = "") -> str:
    if perspective.kind == "trainer":
        return "control"
    if perspective.kind == "observer":
        return "observer"
    return "tablet" if role_kind == "actor" else "desk"


def region_context(state: P.ScreenState, *, oob: bool = False) -> dict:
    return {
        "state": state,
        "plan": state.plan,
        "perspective": state.perspective,
        "is_trainer": state.is_trainer,
        "payload": state.clock,  # the clock partial reads `payload`
        "oob": oob,
    }


def render_region(state: P.ScreenState, name: str, *, oob: bool = False) -> str:
    context = region_context(state, oob=oob)
    if name == P.CLOCK:
        return render_to_string(CLOCK_TEMPLATE, context)
    return render_to_string(f"{REGIONS_TEMPLATE}#{name}", context)


def render_feed_item(event: Event, perspective: Perspective) -> str:
    return render_to_string(
        FEED_TEMPLATE,
        {
            "event": event,
            "payload": event.payload,
            "kind": event.kind,
            "perspective": perspective,
            "is_trainer": perspective.kind == "trainer",
        },
    )


def frame(event: Event, state: P.ScreenState, changed: set[str], screen: str,
          *, language: str = "fr") -> str:
    """The frame for one visible event, after it was folded into `state`."""
    with translation.override(language):
        parts = [
            f"<!--seq:{event.seq}-->",
            '<div hx-swap-oob="afterbegin:#feed">',
            render_feed_item(event, state.perspective),
            "</div>",
        ]
        parts += [
            render_region(state, name, oob=True) for name in SCREENS[screen] if name in changed
        ]
    return "".join(parts)


def error_frame(code: str, message: str, *, language: str = "fr") -> str:
    with translation.override(language):
        toast = render_to_string(TOAST_TEMPLATE, {"code": code, "message": message})
    return f"<!--error:{code}-->" + f'<div hx-swap-oob="beforeend:#toasts">{toast}</div>'


def reload_frame() -> str:
    """The client's cursor is ahead of the log (the session was restored): reload."""
    return "<!--reload-->"
