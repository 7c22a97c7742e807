"""Reading what the server sends, the way the browser client does (static/simtrain/live.js).

Frames: `<!--seq:N-->` + htmx out-of-band fragments, `<!--error:code-->` + a toast,
`<!--pong-->`, `<!--reload-->`. The machine-readable part of an event is the
`data-*` attributes of its feed line (`templates/sessions/events.html#feed_item`);
the clock is the `#clock` element's data attributes. Pages carry the same feed lines
inside `#feed` and the cursor the client resumes from in `#live[data-last-seq]`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from html.parser import HTMLParser

SEQ = re.compile(r"^<!--seq:(\d+)-->")
ERROR = re.compile(r"^<!--error:([A-Za-z0-9_.-]+)-->")
PONG = "<!--pong-->"
RELOAD = "<!--reload-->"


@dataclass(frozen=True)
class FeedItem:
    """One event as the client sees it: the data attributes of its feed line."""

    seq: int
    kind: str
    inject: str = ""
    inject_kind: str = ""
    options: tuple[str, ...] = ()
    free_text: bool = False
    action: str = ""
    thread: str = ""
    role: str = ""
    # When the event was appended, in ms (`data-stamp-ms`): with seq and kind, what tells
    # one session's event from another's (rehearsal.exercise: cross-syndicate leaks).
    stamp_ms: str = ""
    request: str = ""  # request.sent / request.decided
    outcome: str = ""
    sent_seq: int = 0

    @classmethod
    def from_attrs(cls, attrs: dict[str, str]) -> FeedItem:
        return cls(
            seq=int(attrs["data-seq"]),
            kind=attrs.get("data-kind", ""),
            inject=attrs.get("data-inject", ""),
            inject_kind=attrs.get("data-inject-kind", ""),
            options=tuple((attrs.get("data-options") or "").split()),
            free_text="data-free-text" in attrs,
            action=attrs.get("data-action", ""),
            thread=attrs.get("data-thread", ""),
            role=attrs.get("data-role", ""),
            stamp_ms=attrs.get("data-stamp-ms", ""),
            request=attrs.get("data-request", ""),
            outcome=attrs.get("data-outcome", ""),
            sent_seq=int(attrs.get("data-sent-seq") or 0),
        )


@dataclass(frozen=True)
class ClockState:
    """The exercise clock as the server last described it (`#clock` data attributes)."""

    state: str
    speed: float
    anchor_clock_ms: int
    anchor_at: datetime | None

    @classmethod
    def from_attrs(cls, attrs: dict[str, str]) -> ClockState:
        try:
            speed = float((attrs.get("data-speed") or "1").replace(",", "."))
        except ValueError:
            speed = 1.0
        try:
            anchor_ms = int(float(attrs.get("data-anchor-clock-ms") or 0))
        except ValueError:
            anchor_ms = 0
        raw = attrs.get("data-anchor-at") or ""
        try:
            anchor_at = datetime.fromisoformat(raw) if raw else None
        except ValueError:
            anchor_at = None
        return cls(attrs.get("data-state", ""), speed, anchor_ms, anchor_at)

    def now_ms(self, now: datetime) -> int:
        """The clock at `now` (server and bots share the machine: no skew to measure)."""
        if self.state != "running" or self.anchor_at is None:
            return self.anchor_clock_ms
        elapsed = (now - self.anchor_at).total_seconds() * 1000.0
        return self.anchor_clock_ms + max(0, int(elapsed * self.speed))


def _is_feed_line(attrs: dict[str, str]) -> bool:
    return "data-seq" in attrs and "feed-item" in (attrs.get("class") or "").split()


@dataclass
class _Found:
    items: list[FeedItem] = field(default_factory=list)
    clock: ClockState | None = None
    last_seq: int | None = None


class _Scanner(HTMLParser):
    """Feed lines inside a container (`#feed` on a page, the oob feed div in a frame)."""

    def __init__(self, is_container):
        super().__init__(convert_charrefs=True)
        self.is_container = is_container
        self.depth = 0  # <div> nesting inside the container; 0 = outside
        self.found = _Found()

    def handle_starttag(self, tag, attrs):
        attrs = {k: (v if v is not None else "") for k, v in attrs}
        if tag == "div":
            if self.depth:
                self.depth += 1
            elif self.is_container(attrs):
                self.depth = 1
            if attrs.get("id") == "clock":
                self.found.clock = ClockState.from_attrs(attrs)
            if attrs.get("id") == "live" and "data-last-seq" in attrs:
                try:
                    self.found.last_seq = int(attrs["data-last-seq"])
                except ValueError:
                    pass
        elif tag == "article" and self.depth and _is_feed_line(attrs):
            self.found.items.append(FeedItem.from_attrs(attrs))

    def handle_endtag(self, tag):
        if tag == "div" and self.depth:
            self.depth -= 1


def _scan(html: str, is_container) -> _Found:
    scanner = _Scanner(is_container)
    scanner.feed(html)
    scanner.close()
    return scanner.found


@dataclass(frozen=True)
class Frame:
    kind: str  # "event" | "error" | "pong" | "reload" | "other"
    seq: int | None = None
    item: FeedItem | None = None
    clock: ClockState | None = None
    error: str = ""
    text: str = ""


def parse_frame(text: str) -> Frame:
    if text == PONG:
        return Frame("pong", text=text)
    if text == RELOAD:
        return Frame("reload", text=text)
    if match := ERROR.match(text):
        return Frame("error", error=match.group(1), text=text)
    if match := SEQ.match(text):
        seq = int(match.group(1))
        found = _scan(
            text[match.end() :],
            lambda attrs: (attrs.get("hx-swap-oob") or "").endswith("#feed"),
        )
        item = next((i for i in found.items if i.seq == seq), None)
        return Frame("event", seq=seq, item=item, clock=found.clock, text=text)
    return Frame("other", text=text)


@dataclass(frozen=True)
class Page:
    """A live page: its feed, its clock and the cursor the client resumes from."""

    items: tuple[FeedItem, ...]
    clock: ClockState | None
    last_seq: int

    @property
    def seqs(self) -> list[int]:
        return [item.seq for item in self.items]


def parse_page(html: str) -> Page:
    found = _scan(html, lambda attrs: attrs.get("id") == "feed")
    if found.last_seq is None:
        raise ValueError("not a live page: no #live[data-last-seq]")
    return Page(tuple(found.items), found.clock, found.last_seq)
