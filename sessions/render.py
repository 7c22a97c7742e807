"""Events rendered to HTML for one perspective, on the server.

A frame on the wire is `<!--seq:N-->` followed by htmx out-of-band fragments: the
event's line in the feed, then every region of the viewer's screen that the event
changed, rendered whole from the viewer's `ScreenState` with the same partials the
full pages use. Content is chosen per perspective here, so what a role may not see
never leaves the server.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import OrderedDict

from django.template.loader import render_to_string
from django.utils import translation

from sessions import projections as P
from sessions.audience import Perspective, thread_key
from sessions.models import Event
from sessions.templatetags.screens import thread_anchor

FEED_TEMPLATE = "sessions/events.html#feed_item"
CLOCK_TEMPLATE = "sessions/events.html#clock"
TOAST_TEMPLATE = "sessions/events.html#toast"
REGIONS_TEMPLATE = "sessions/regions.html"

# Which regions each screen shows (and so which pushed updates it wants).
SCREENS: dict[str, tuple[str, ...]] = {
    # Broadcasts reach the control room through its feed (it has no broadcasts panel).
    "control": (P.CLOCK, P.CONSOLE, P.ALERTS, P.TIMELINE, P.ROSTER, P.BOARD, P.THREADS,
                P.NOTES, P.LAW),
    "desk": (P.CLOCK, P.INBOX, P.DECISIONS, P.ACTIONS, P.THREADS, P.NOTES, P.LAW),
    "observer": (P.CLOCK, P.INBOX, P.BOARD, P.THREADS, P.BROADCASTS, P.LAW),
    # An actor sees a countdown its role holds (the client in garde à vue, say).
    "tablet": (P.CLOCK, P.CUES, P.INBOX, P.ALERTS, P.LAW),
    # The projector in the training room: public things only, and no feed.
    "room": (P.CLOCK, P.BROADCASTS),
}
# Screens without a feed get no feed line in their frames (just the seq and regions).
NO_FEED = {"room"}

# The room display's perspective: it sees what every seat sees ("*") and nothing else,
# so even a mistake in a template could not put a role's content on the projector.
ROOM = Perspective(kind="room")


def screen_for(perspective: Perspective, role_kind: str = "") -> str:
    if perspective.kind == "room":
        return "room"
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


def inbox_delta(event: Event, state: P.ScreenState) -> str | None:
    """The inbox's change as item-sized fragments, or None if it must be sent whole.

    A new item goes on top of the list and a read item is replaced, each with the
    unread counter: a few hundred bytes instead of the whole inbox, rendered in O(1),
    and an item the participant has open stays open. Deltas compose: in a batch each
    event's item is rendered from the batch's final state, and a later event that
    changes the item again carries it again. Not for the first item ever: the region's
    "nothing yet" text gives way to the list (`batch_frames` then sends it whole).
    """
    if event.kind == "inject.fired":
        seq, new = event.seq, True
    elif event.kind == "item.opened":
        seq, new = event.payload.get("item"), False
    else:
        return None
    item = next((e for e in state.inbox if e.seq == seq), None)
    if item is None or (new and item is state.inbox[0]):
        return None
    context = region_context(state) | {"oob_part": True} | _row(state, item)
    html = render_to_string(f"{REGIONS_TEMPLATE}#inbox_item", context)
    if new:
        html = f'<div hx-swap-oob="afterbegin:#inbox-list">{html}</div>'
    return html + render_to_string(f"{REGIONS_TEMPLATE}#inbox_unread", context)


# --- Threads and notes: one new message, one small frame -------------------------------------
#
# A new message is appended to its thread (`beforeend`), a new note put on top of the
# notes (`afterbegin`), with what the cap then changes, all server-side: the entry that
# fell out of the last SHOWN is deleted (`delete`), and the "show all" link is added
# or replaced. So after N appends the list is exactly what a whole render shows (the
# replay's). Each delta depends only on the log up to its event, never on the batch's
# final state. A list the user expanded ("show all", `data-full`) keeps its entries:
# live.js skips the fragments marked `data-trim` there. Whole renders stay for the
# first page, a (re)connect's catch-up when a delta cannot apply (`_sent_whole`), and
# the trainer's threads when a message reorders them (most recently active first).


def _thread_place(event: Event, state: P.ScreenState):
    """(key, messages up to this one, index) of a message this screen shows, or None."""
    key = event.payload.get("thread", "")
    messages = state.threads.get(key, [])
    index = next((i for i, m in enumerate(messages) if m.seq == event.seq), None)
    if index is None or key not in state.shown_threads():
        return None
    return key, messages[: index + 1], index


def _thread_delta_ok(event: Event, state: P.ScreenState) -> bool:
    """Can this message go as a delta? Not a thread's first (its list is not on screen
    yet, or says "no message"); for the trainer, only if its thread was already on top."""
    place = _thread_place(event, state)
    if place is None or place[2] == 0:
        return False
    if not state.is_trainer:
        return True
    since = place[1][-2].seq  # the thread's message before this one
    return not any(  # no other thread spoke in between: this one is still on top
        (found := bisect_left(messages, event.seq, key=_seq)) and messages[found - 1].seq > since
        for other, messages in state.threads.items()
        if other != place[0]
    )


def _seq(message) -> int:
    return message.seq


def thread_delta(event: Event, state: P.ScreenState) -> str | None:
    if event.kind != "message.sent" or not _thread_delta_ok(event, state):
        return None
    key, messages, index = _thread_place(event, state)
    a, _sep, b = key.partition("|")
    other = next((o for o in state.contacts() if thread_key(state.role, o) == key), "")
    shown = P.Shown.of(messages)
    context = region_context(state) | {"oob_part": True, "key": key, "a": a, "b": b,
                                       "other": other, "shown": shown, "m": messages[-1]}
    anchor = f"{thread_anchor(key)}-messages"
    parts = [render_to_string(f"{REGIONS_TEMPLATE}#thread_summary", context),
             f'<div hx-swap-oob="beforeend:#{anchor}">',
             render_to_string(f"{REGIONS_TEMPLATE}#message_item", context), "</div>"]
    parts += _trim(context, shown, messages, "thread_more",
                   f'<div hx-swap-oob="afterbegin:#{anchor}" data-trim>', "message")
    return "".join(parts)


def note_delta(event: Event, state: P.ScreenState) -> str | None:
    index = next((i for i, e in enumerate(state.notes) if e.seq == event.seq), None)
    if index is None:
        return None
    notes = state.notes[: index + 1]
    shown = P.Shown.of(notes, newest_first=True)
    context = region_context(state) | {"oob_part": True, "shown": shown, "note": event}
    parts = ['<div hx-swap-oob="afterbegin:#notes-list">',
             render_to_string(f"{REGIONS_TEMPLATE}#note_item", context), "</div>"]
    parts += _trim(context, shown, notes, "notes_more",
                   '<div hx-swap-oob="beforeend:#notes-list" data-trim>', "note")
    return "".join(parts)


def _trim(context: dict, shown: P.Shown, entries: list, more: str, insert: str,
          prefix: str) -> list[str]:
    """What the cap changes after one append: the entry that fell out, and the link."""
    if not shown.hidden:
        return []
    gone = entries[-P.SHOWN - 1].seq
    parts = [f'<li id="{prefix}-{gone}" hx-swap-oob="delete" data-trim></li>']
    if shown.hidden == 1:  # the link is new: inserted, not replacing
        link = render_to_string(f"{REGIONS_TEMPLATE}#{more}", context | {"oob_part": False})
        parts += [insert, link, "</div>"]
    else:
        parts.append(render_to_string(f"{REGIONS_TEMPLATE}#{more}", context))
    return parts


def _row(state: P.ScreenState, item: Event) -> dict:
    event, unread, fingerprint = state.inbox_row(item)
    return {"event": event, "unread": unread, "fingerprint": fingerprint}


def region_delta(name: str, event: Event, state: P.ScreenState) -> str | None:
    """The region's change as a small fragment, or None if it must be sent whole."""
    if name == P.INBOX:
        return inbox_delta(event, state)
    if name == P.THREADS:
        return thread_delta(event, state)
    if name == P.NOTES:
        return note_delta(event, state)
    return None


def frame(event: Event, state: P.ScreenState, changed: set[str], screen: str,
          *, language: str = "fr", whole: frozenset[str] = frozenset(),
          feed_item: str | None = None) -> str:
    """The frame for one visible event, after it was folded into `state`.

    `whole`: regions to send whole even where a delta exists (see `batch_frames`);
    `feed_item`: the event's feed line, if already rendered (`FrameCache.feed_item`).
    """
    with translation.override(language):
        parts = [f"<!--seq:{event.seq}-->"]
        if screen not in NO_FEED:
            if feed_item is None:
                feed_item = render_feed_item(event, state.perspective)
            parts += ['<div hx-swap-oob="afterbegin:#feed">', feed_item, "</div>"]
        for name in SCREENS[screen]:
            if name not in changed:
                continue
            delta = region_delta(name, event, state) if name not in whole else None
            parts.append(delta if delta is not None else render_region(state, name, oob=True))
    return "".join(parts)


# --- Frames shared by equivalent viewers ---------------------------------------------------
#
# Two viewers of one session see the same frame for an event when they have the same
# screen, language and role and have folded in the same events. Seats of one role fold
# in the same events except those addressed to one seat (`seat:<id>`: private notes,
# opened items); so the class of a viewer is its role plus the seqs of the seat-only
# events it has seen. The trainer's screens are all alike. Rendering once per class
# instead of once per connection is what lets one process serve hundreds of sockets.


def seat_only(perspective: Perspective, audience) -> bool:
    """Visible to this seat, but not to every seat of its role."""
    return perspective.seat_id is not None and not perspective.role_sees(audience)


def viewer_class(perspective: Perspective, screen: str, language: str,
                 private: tuple[int, ...]) -> tuple:
    if perspective.kind == "trainer":
        return ("trainer", screen, language)
    return (perspective.kind, perspective.role_ident, screen, language, private)


FEED_ITEMS = 256  # feed lines kept: only the last events' are asked for again

# Regions whose changes can go as deltas (`region_delta`), one per event, in a batch too.
DELTA_REGIONS = frozenset({P.INBOX, P.THREADS, P.NOTES})


def _sent_whole(folded: list[tuple[Event, set[str]]], state: P.ScreenState) -> frozenset[str]:
    """Delta regions a batch must send whole: the inbox, if its first item is in it; the
    threads, if one of its messages cannot go as a delta (a whole render is of the
    batch's final state: later deltas would repeat what it holds)."""
    seqs = {event.seq for event, _ in folded}
    whole = set()
    if state.inbox and state.inbox[0].seq in seqs:
        whole.add(P.INBOX)
    if any(
        P.THREADS in changed
        and not (event.kind == "message.sent" and _thread_delta_ok(event, state))
        for event, changed in folded
    ):
        whole.add(P.THREADS)
    return frozenset(whole)


def batch_frames(folded: list[tuple[Event, set[str]]], state: P.ScreenState, screen: str, *,
                 language: str, render=None) -> list[str]:
    """Frames for events already folded into `state`, each region rendered once.

    A region changed by several events of the batch goes only in the frame of the last
    of them, rendered from `state` (which no later event of the batch changed for that
    region, so it is exactly the region as of that event). A client that applies all
    frames ends with the same screen; one cut off midway resumes after its last seq
    and is sent the later frames, which carry the region. Catching up 1,000 roster
    events thus renders the 500-seat roster once, not 1,000 times. Delta regions (the
    inbox) instead go in every frame that changed them, as their small deltas.
    """
    last: dict[str, int] = {}
    for index, (_, changed) in enumerate(folded):
        for region in changed:
            last[region] = index
    whole = _sent_whole(folded, state)
    deltas = DELTA_REGIONS - whole
    render = render or (lambda event, regions, whole: frame(event, state, regions, screen,
                                                            language=language, whole=whole))
    return [
        render(event, {region for region in changed
                       if last[region] == index or region in deltas}, whole)
        for index, (event, changed) in enumerate(folded)
    ]


class FrameCache:
    """Rendered frames of one session keyed by (seq, viewer class, regions); LRU.

    Bounded in entries and in bytes (regions such as the roster or threads grow with the
    session): only the last few events' frames are ever asked for again, by
    sockets a little behind; an evicted frame is simply rendered again.
    """

    def __init__(self, size: int = 2048, max_bytes: int = 8 * 1024 * 1024):
        self.size, self.max_bytes = size, max_bytes
        self.frames: OrderedDict[tuple, str] = OrderedDict()
        self.bytes = 0
        self.hits = self.misses = 0
        # An event's feed line reads only the event and whether the viewer is the
        # trainer: one render per language serves every viewer class. Seats that opened
        # an item are each a class of their own (`viewer_class`), so without this an
        # event seen by 500 such seats rendered its feed line 500 times.
        self.items: OrderedDict[tuple, str] = OrderedDict()
        self.item_renders = 0

    def feed_item(self, event: Event, perspective: Perspective, language: str) -> str:
        key = (event.seq, perspective.kind == "trainer", language)
        text = self.items.get(key)
        if text is None:
            self.item_renders += 1
            with translation.override(language):
                text = self.items[key] = render_feed_item(event, perspective)
            while len(self.items) > FEED_ITEMS:
                self.items.popitem(last=False)
        return text

    def frame(self, event: Event, state: P.ScreenState, changed: set[str], screen: str, *,
              language: str, private: tuple[int, ...],
              whole: frozenset[str] = frozenset()) -> str:
        regions = frozenset(name for name in SCREENS[screen] if name in changed)
        key = (event.seq, viewer_class(state.perspective, screen, language, private), regions,
               whole & regions)
        text = self.frames.get(key)
        if text is not None:
            self.hits += 1
            self.frames.move_to_end(key)
            return text
        self.misses += 1
        item = None if screen in NO_FEED else self.feed_item(event, state.perspective, language)
        text = self.frames[key] = frame(event, state, regions, screen, language=language,
                                        whole=whole, feed_item=item)
        self.bytes += len(text)
        while len(self.frames) > self.size or self.bytes > self.max_bytes:
            _, evicted = self.frames.popitem(last=False)
            self.bytes -= len(evicted)
        return text

    def forget_before(self, seq: int) -> None:
        for key in [k for k in self.frames if k[0] < seq]:
            self.bytes -= len(self.frames.pop(key))
        for key in [k for k in self.items if k[0] < seq]:
            del self.items[key]


def error_frame(code: str, message: str, *, language: str = "fr") -> str:
    with translation.override(language):
        toast = render_to_string(TOAST_TEMPLATE, {"code": code, "message": message})
    return f"<!--error:{code}-->" + f'<div hx-swap-oob="beforeend:#toasts">{toast}</div>'


def reload_frame() -> str:
    """The client's cursor is ahead of the log (the session was restored): reload."""
    return "<!--reload-->"
