"""Events rendered to HTML for one perspective, on the server.

A frame on the wire is `<!--seq:N-->` followed by htmx out-of-band fragments. The
comment lets the client drop a seq it already holds before htmx swaps anything; the
fragments are rendered from the same partials the full pages use. Content is chosen
per perspective here, so what a role may not see never leaves the server.
"""

from __future__ import annotations

from django.template.loader import render_to_string
from django.utils import translation

from sessions.audience import Perspective
from sessions.models import Event

FEED_TEMPLATE = "sessions/events.html#feed_item"
CLOCK_TEMPLATE = "sessions/events.html#clock"
TOAST_TEMPLATE = "sessions/events.html#toast"

CLOCK_KINDS = {
    "clock.started", "clock.paused", "clock.resumed", "clock.speed", "clock.jumped",
    "session.ended",
}


def event_context(event: Event, perspective: Perspective) -> dict:
    return {
        "event": event,
        "payload": event.payload,
        "kind": event.kind,
        "perspective": perspective,
        "is_trainer": perspective.kind == "trainer",
        "mine": perspective.seat_id is not None
        and event.actor == f"seat:{perspective.seat_id}",
    }


def render_event(event: Event, perspective: Perspective) -> str:
    """The out-of-band fragments for one event (no seq marker)."""
    context = event_context(event, perspective)
    parts = [
        '<div hx-swap-oob="afterbegin:#feed">',
        render_to_string(FEED_TEMPLATE, context),
        "</div>",
    ]
    if event.kind in CLOCK_KINDS:
        parts.append(render_to_string(CLOCK_TEMPLATE, {**context, "oob": True}))
    return "".join(parts)


def frame(event: Event, perspective: Perspective, *, language: str = "fr") -> str:
    with translation.override(language):
        return f"<!--seq:{event.seq}-->" + render_event(event, perspective)


def error_frame(code: str, message: str, *, language: str = "fr") -> str:
    with translation.override(language):
        toast = render_to_string(TOAST_TEMPLATE, {"code": code, "message": message})
    return f"<!--error:{code}-->" + f'<div hx-swap-oob="beforeend:#toasts">{toast}</div>'


def reload_frame() -> str:
    """The client's cursor is ahead of the log (the session was restored): reload."""
    return "<!--reload-->"
