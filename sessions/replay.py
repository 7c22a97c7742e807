"""Replay: any session, running or ended, from any perspective, at any moment.

A replay is one more projection of the log. The screen of a perspective at a moment
is `projections.apply` folded over the events up to that moment, rendered with the
live region partials (`render.render_region` over `render.SCREENS`): the very code the
live screens run, so a replay at T shows what the live screen showed at T.

The moment. The scrubber moves over the exercise clock, in ms. A moment T stands for
the longest prefix of the log whose events all have `clock_ms <= T` (`seq_at`): the
events stamped at or before T, in seq order. The clock never runs backwards within a
session, so this is every event with `clock_ms <= T`; if a wall clock ever stepped
back, the prefix stops at the first event stamped after T, so a replay never shows a
state that no screen ever held. Several events share one clock reading (one command
appends several; messages are sent while the clock is paused), so markers seek to a
seq, which is exact.

Speed, by design:

- Rows are read as `LogEvent`s (`values_list`, no model instances) through the
  (session, seq) and (session, clock_ms, seq) indexes.
- Every `SNAPSHOT_EVERY` events, the projected state of a perspective is pickled
  into `ReplaySnapshot` the first time a replay passes there. A seek loads the
  nearest snapshot at or before its seq and folds at most `SNAPSHOT_EVERY` events.
  The log is append-only, so snapshots never go stale (pseudonymisation, the one
  sanctioned rewrite, drops them); `SNAPSHOT_FORMAT` changes with the projection code,
  so a deploy that changes the shape of the state ignores older rows. The cyclic
  garbage collector is paused while a state is unpickled, folded or pickled: those
  make tens of thousands of objects and no cycles, and its passes would double the time.
- Each region's HTML depends only on the state, and `apply` says which regions an
  event changes, so the replay keeps, per region, the seq of its last change (its
  version). Rendered regions are cached by (perspective, region, version, language);
  the browser says which versions it holds and gets only the regions that differ.
  Playing or scrubbing then renders little; a seek far away renders what changed.
  The keys carry the session's `log_revision`, bumped by the sanctioned rewrites
  (pseudonymisation, text repair), so no process serves a region rendered before one.
- The live feed list (`ScreenState.feed`) is not a region and is not kept in
  snapshots; the replay shows the last few events with its own query.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import inspect
import pickle
from collections.abc import Iterator
from dataclasses import dataclass, field, replace

from django.core.cache import cache
from django.db.models import Min
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from sessions import law, layout
from sessions import projections as P
from sessions.annotation_tags import tag_label
from sessions.audience import Perspective
from sessions.models import Event, ReplaySnapshot, Seat, Session
from sessions.render import CLOCK_TEMPLATE, SCREENS, region_context, render_region, screen_for
from simtrain.durations import format_clock

SNAPSHOT_EVERY = 1000  # events of the log (any audience) between two snapshots
RECENT = 12  # events listed under the screen: what just happened
REGION_CACHE_S = 3600  # rendered regions are kept an hour (they never go stale)
REPLAY_VERSION = "1"  # bump when the pickled state changes meaning without changing code


def _format() -> str:
    """Names the shape of a pickled state: the projection code (and the law's state it
    holds) plus this module's rows."""
    try:
        source = inspect.getsource(P) + inspect.getsource(law) + inspect.getsource(LogEvent)
    except OSError:  # installed without sources: the version bump is all we have
        source = P.__name__
    return hashlib.sha256((source + REPLAY_VERSION).encode()).hexdigest()[:16]


# --- Reading the log --------------------------------------------------------------------------


@dataclass(slots=True)
class LogEvent:
    """A row of the log, read-only and light. The region partials and `apply` read only
    these attributes, so they take it in place of an `Event` (20,000 rows fold in a
    fraction of the time model instances would take)."""

    seq: int
    kind: str
    audience: list
    actor: str
    clock_ms: int
    created_at: object
    payload: dict

    def __reduce__(self):
        # Snapshots hold thousands (notes, inbox, alerts): as a tuple they load faster.
        return (LogEvent, (self.seq, self.kind, self.audience, self.actor, self.clock_ms,
                           self.created_at, self.payload))


LOG_FIELDS = ("seq", "kind", "audience", "actor", "clock_ms", "created_at", "payload")
SNAPSHOT_FORMAT = _format()


def log_events(
    session_id: int, *, after: int = 0, upto: int | None = None, kinds=None
) -> list[LogEvent]:
    rows = Event.objects.filter(session_id=session_id, seq__gt=after)
    if upto is not None:
        rows = rows.filter(seq__lte=upto)
    if kinds is not None:
        rows = rows.filter(kind__in=list(kinds))
    return [LogEvent(*row) for row in rows.order_by("seq").values_list(*LOG_FIELDS)]


def seq_at(session: Session, t_ms: int) -> int:
    """The seq bound of moment T: the longest prefix of the log stamped at or before T."""
    first_after = Event.objects.filter(session=session, clock_ms__gt=t_ms).aggregate(
        first=Min("seq")
    )["first"]
    return session.last_seq if first_after is None else first_after - 1


def clock_at_seq(session: Session, seq: int) -> int:
    if seq <= 0:
        return 0
    found = (
        Event.objects.filter(session=session, seq=seq).values_list("clock_ms", flat=True).first()
    )
    return found or 0


def clock_end(session: Session) -> int:
    """The scrubber's length: the clock now (running) or where it stopped."""
    last = (
        Event.objects.filter(session=session, seq=session.last_seq)
        .values_list("clock_ms", flat=True)
        .first()
        or 0
    )
    return max(last, session.clock_ms(timezone.now()))


# --- Perspectives -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Viewpoint:
    """A perspective offered by the replay: `token` in URLs, a label, the screen it gets."""

    token: str  # "trainer" | "seat:<id>"
    label: str
    perspective: Perspective
    screen: str


def _fixed_viewpoints() -> list[Viewpoint]:
    out = [Viewpoint("trainer", _("Salle de contrôle (formateur)"), Perspective.trainer(),
                     "control")]
    if "room" in SCREENS:  # the projector in the training room: public things only
        out.append(Viewpoint("room", _("Écran de la salle (projection)"),
                             Perspective(kind="room"), "room"))
    return out


def viewpoints(session: Session) -> list[Viewpoint]:
    out = _fixed_viewpoints()
    for seat in Seat.objects.filter(session=session).select_related("role").order_by(
        "role__order", "number"
    ):
        out.append(_seat_viewpoint(seat))
    return out


def _seat_viewpoint(seat: Seat) -> Viewpoint:
    perspective = Perspective.for_seat(seat)
    label = layout.short_title(seat.role.title) + (f" {seat.number}" if seat.role.seats > 1 else "")
    if seat.holder_name:
        label += f" — {seat.holder_name}"
    return Viewpoint(f"seat:{seat.pk}", label, perspective, screen_for(perspective,
                                                                       seat.role.kind))


def viewpoint(session: Session, token: str) -> Viewpoint | None:
    """The viewpoint a URL names; None for anything that is not one of this session's."""
    token = (token or "trainer").strip()
    fixed = next((v for v in _fixed_viewpoints() if v.token == token), None)
    if fixed is not None:
        return fixed
    if not token.startswith("seat:") or not token[5:].isdigit():
        return None
    seat = Seat.objects.filter(session=session, pk=int(token[5:])).select_related("role").first()
    return _seat_viewpoint(seat) if seat is not None else None


# --- State at a seq, through snapshots -------------------------------------------------------


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@dataclass
class Replayed:
    """A perspective's state after a prefix of the log, and each region's version."""

    state: P.ScreenState
    versions: dict[str, int] = field(default_factory=dict)  # region -> seq of last change


def _dump(replayed: Replayed) -> bytes:
    # The plan is shared and cached per version (`plan_for`); the feed is not a region.
    state = replace(replayed.state, plan=None, feed=[])
    return pickle.dumps((state, replayed.versions), protocol=pickle.HIGHEST_PROTOCOL)


def _load(data: bytes, session: Session) -> Replayed:
    # Our own rows, written by `_dump` above: never bytes that came from a user.
    state, versions = pickle.loads(bytes(data))  # noqa: S301
    state.plan = layout.plan_for(session.version_id)
    return Replayed(state, versions)


def replayed_at(session: Session, perspective: Perspective, seq: int) -> Replayed:
    """The perspective's state after the events up to `seq`, with region versions.

    Starts from the nearest snapshot at or before `seq` and saves the snapshots it
    passes, so any later seek folds at most SNAPSHOT_EVERY events.
    """
    seq = max(0, min(seq, session.last_seq))
    snapshot = (
        ReplaySnapshot.objects.filter(
            session=session, perspective=perspective.key, format=SNAPSHOT_FORMAT, seq__lte=seq
        )
        .order_by("-seq")
        .values_list("seq", "state")
        .first()
    )
    new: list[ReplaySnapshot] = []
    with _gc_paused():
        if snapshot is not None:
            start, replayed = snapshot[0], _load(snapshot[1], session)
        else:
            start = 0
            replayed = Replayed(P.new_state(perspective, session.version_id, session.pk))
        state, versions = replayed.state, replayed.versions
        for event in log_events(session.pk, after=start, upto=seq):
            if perspective.sees_event(event):
                for region in P.apply(state, event):
                    versions[region] = event.seq
                state.feed.clear()
            else:
                state.last_seq = event.seq
            if event.seq % SNAPSHOT_EVERY == 0:
                new.append(ReplaySnapshot(session=session, perspective=perspective.key,
                                          format=SNAPSHOT_FORMAT, seq=event.seq,
                                          state=_dump(replayed)))
    if new:
        # Two viewers may build the same snapshot at once: either copy will do.
        ReplaySnapshot.objects.bulk_create(new, ignore_conflicts=True)
    state.last_seq = seq
    return replayed


def state_at(session: Session, perspective: Perspective, seq: int) -> P.ScreenState:
    return replayed_at(session, perspective, seq).state


def forget(session_id: int) -> None:
    """Drop the snapshots of a session (after its events were rewritten).

    Rendered regions are cached in every process under the session's `log_revision`,
    which the rewrite bumps in the database: no process can serve them again.
    """
    ReplaySnapshot.objects.filter(session_id=session_id).delete()


def on_rewritten(sender, *, session_id: int, **kwargs) -> None:
    """`signals.session_rewritten`: the archive rewrote this session's log in place."""
    forget(session_id)


# --- What a frame shows ------------------------------------------------------------------------


def recent_events(session: Session, perspective: Perspective, seq: int,
                  count: int = RECENT) -> list[LogEvent]:
    """The last `count` events this perspective saw up to `seq`, newest first."""
    found: list[LogEvent] = []
    upto = seq
    window = count * 8
    while upto > 0 and len(found) < count:
        rows = log_events(session.pk, after=max(0, upto - window), upto=upto)
        found.extend(e for e in reversed(rows) if perspective.sees_event(e))
        upto -= window
        window *= 4  # a seat sees few of the trainer-only events: widen quickly
    return found[:count]


def render_clock(state: P.ScreenState, t_ms: int) -> str:
    """The live clock partial, stopped at T (the replay has no running clock)."""
    context = region_context(state)
    context["payload"] = {**state.clock, "anchor_clock_ms": t_ms, "anchor_at": None}
    return render_to_string(CLOCK_TEMPLATE, context)


def render_regions(session: Session, replayed: Replayed, screen: str, *,
                   only: set[str] | None = None) -> dict[str, str]:
    """The screen's regions but the clock, from the cache when that version was rendered.

    `only`: render just these (the ones the browser does not hold in this version).
    """
    state = replayed.state
    names = [n for n in SCREENS[screen] if n != P.CLOCK and (only is None or n in only)]
    # The revision is read from the database, now: a rewrite done by another process
    # (apply_retention from cron) reaches this one at once. The creation time guards
    # against an id reused after a deletion.
    revision = Session.objects.filter(pk=session.pk).values_list("log_revision", flat=True)
    generation = f"{revision.first() or 0}.{session.created_at.timestamp():.0f}"
    language = translation.get_language() or "fr"
    keys = {
        name: f"replay:{session.pk}:{generation}:{SNAPSHOT_FORMAT}:{language}:"
              f"{state.perspective.key}:{name}:{replayed.versions.get(name, 0)}"
        for name in names
    }
    found = cache.get_many(list(keys.values()))
    out, fresh = {}, {}
    for name in names:
        html = found.get(keys[name])
        if html is None:
            html = fresh[keys[name]] = render_region(state, name)
        out[name] = html
    if fresh:
        cache.set_many(fresh, REGION_CACHE_S)
    return out


@dataclass
class Frame:
    viewpoint: Viewpoint
    t_ms: int
    seq: int
    state: P.ScreenState
    versions: dict[str, int]
    regions: dict[str, str]  # the regions rendered (all, or those the browser lacks)
    clock_html: str
    recent: list[LogEvent]
    partial: bool = False  # True: `regions` holds only what changed for the browser

    @property
    def region_versions(self) -> list[tuple[str, int, str]]:
        return [(name, self.versions.get(name, 0), html) for name, html in self.regions.items()]


def frame_at(session: Session, view: Viewpoint, *, t_ms: int | None = None,
             seq: int | None = None, have: dict[str, int] | None = None) -> Frame:
    """The screen of `view` at moment `t_ms`, or right after event `seq` (exact).

    `have`: region → version the browser shows for this view; only regions whose
    version differs are rendered (the browser swaps them in place).
    """
    if seq is not None:
        seq = max(0, min(int(seq), session.last_seq))
        if t_ms is None:
            t_ms = clock_at_seq(session, seq)
    else:
        t_ms = max(0, int(t_ms or 0))
        seq = seq_at(session, t_ms)
    replayed = replayed_at(session, view.perspective, seq)
    only = None
    if have is not None:
        only = {n for n in SCREENS[view.screen]
                if have.get(n) != replayed.versions.get(n, 0)}
    return Frame(
        viewpoint=view,
        t_ms=t_ms,
        seq=seq,
        state=replayed.state,
        versions=replayed.versions,
        regions=render_regions(session, replayed, view.screen, only=only),
        clock_html=render_clock(replayed.state, t_ms),
        recent=recent_events(session, view.perspective, seq),
        partial=have is not None,
    )


# --- Markers: where to jump -----------------------------------------------------------------------


@dataclass(frozen=True)
class Marker:
    kind: str  # phase | inject | decision | note | safety | rating | debrief | clock
    t_ms: int
    seq: int | None  # None: a moment (a phase's planned start), not an event
    label: str


MARKER_KINDS = {
    "clock.started": "clock", "clock.paused": "clock", "clock.resumed": "clock",
    "clock.jumped": "phase", "session.ended": "clock",
    "inject.fired": "inject", "inject.skipped": "inject", "inject.withheld": "inject",
    "decision.answered": "decision", "decision.expired": "decision",
    "decision.reopened": "decision",
    "note.added": "note", "safety.stop": "safety",
    "objective.rated": "rating", "debrief.added": "debrief",
    "request.sent": "law", "request.decided": "law", "countdown.started": "law",
    "countdown.extended": "law", "countdown.expired": "law", "countdown.stopped": "law",
    "annotation.added": "annotation",
}
MARKER_GROUPS = ("phase", "inject", "decision", "law", "note", "annotation", "safety", "rating",
                 "debrief", "clock")
MARKER_LABELS = {  # one marker's kind, and (plural) the filter button of its group
    "phase": (gettext_lazy("Phase"), gettext_lazy("Phases")),
    "inject": (gettext_lazy("Inject"), gettext_lazy("Injects")),
    "decision": (gettext_lazy("Décision"), gettext_lazy("Décisions")),
    "law": (gettext_lazy("Délai ou demande"), gettext_lazy("Délais et demandes")),
    "note": (gettext_lazy("Note"), gettext_lazy("Notes")),
    "annotation": (gettext_lazy("Annotation"), gettext_lazy("Annotations")),
    "safety": (gettext_lazy("Sécurité"), gettext_lazy("Arrêts de sécurité")),
    "rating": (gettext_lazy("Évaluation"), gettext_lazy("Évaluations")),
    "debrief": (gettext_lazy("Débriefing"), gettext_lazy("Débriefing")),
    "clock": (gettext_lazy("Horloge"), gettext_lazy("Horloge")),
}


def _shorten(text: str, limit: int = 70) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _marker_label(event: LogEvent, plan: layout.Plan) -> str:
    p, kind = event.payload, event.kind
    role = plan.role_title(p.get("role", "")) if p.get("role") else ""
    if kind == "inject.fired":
        return p.get("title", "")
    if kind == "inject.skipped":
        return _("Ignoré : %(title)s") % {"title": p.get("title", "")}
    if kind == "inject.withheld":
        return _("Retenu : %(title)s") % {"title": p.get("title", "")}
    if kind == "decision.answered":
        answer = p.get("label") or p.get("option") or _shorten(p.get("rationale", ""), 40)
        return f"{role} : {p.get('title', '')} → {answer}"
    if kind == "decision.expired":
        return _("Délai dépassé : %(title)s") % {"title": p.get("title", "")}
    if kind == "decision.reopened":
        return _("Rouverte (%(role)s) : %(title)s") % {"role": role, "title": p.get("title", "")}
    if kind == "request.sent":
        return f"{role} : {p.get('label', '')}"
    if kind == "request.decided":
        return f"{p.get('label', '')} → {p.get('outcome', '')}"
    if kind.startswith("countdown."):
        return f"{p.get('countdown', '')} : {kind.partition('.')[2]}"
    if kind == "note.added":
        return _shorten(p.get("text", ""))
    if kind == "safety.stop":
        return _("Arrêt de sécurité : %(name)s (%(role)s)") % {"name": p.get("name", ""),
                                                               "role": role}
    if kind == "objective.rated":
        return _("%(name)s note « %(title)s » : %(level)s/4") % {
            "name": p.get("name", ""), "title": p.get("title", ""), "level": p.get("level")}
    if kind == "debrief.added":
        return _shorten(p.get("text", ""))
    if kind == "annotation.added":
        return f"[{tag_label(p)}] {_shorten(p.get('text', ''))}"
    if kind == "clock.jumped":
        return _("Saut à la phase « %(title)s »") % {"title": p.get("title", "")}
    return {
        "clock.started": _("Démarrage"),
        "clock.paused": _("Pause"),
        "clock.resumed": _("Reprise"),
        "session.ended": _("Fin de session"),
    }.get(kind, kind)


def markers(session: Session, end_ms: int | None = None) -> list[Marker]:
    """Phases, injects, decisions, notes, safety stops, ratings: the review's landmarks."""
    plan = layout.plan_for(session.version_id)
    end_ms = clock_end(session) if end_ms is None else end_ms
    events = log_events(session.pk, kinds=MARKER_KINDS)
    found = [Marker(MARKER_KINDS[e.kind], e.clock_ms, e.seq, _marker_label(e, plan))
             for e in events]
    if any(e.kind == "clock.started" for e in events):
        found += [
            Marker("phase", starts_ms, None, _("Phase « %(title)s »") % {"title": title})
            for _ident, title, starts_ms in plan.phases
            if starts_ms is not None and starts_ms <= end_ms
        ]
    return sorted(found, key=lambda m: (m.t_ms, m.seq if m.seq is not None else -1))


# A long session has thousands of markers (every trainer note, every rating): they are
# written here rather than through a template loop, which would cost more than the
# rest of the page together.


def marker_list_html(found: list[Marker], token: str) -> SafeString:
    """The `<li>` of each marker: a link to its moment (works without JavaScript)."""
    from urllib.parse import quote

    kinds = {kind: escape(labels[0]) for kind, labels in MARKER_LABELS.items()}
    who = escape(quote(token, safe=":"))
    items = []
    for m in found:
        seq = f"&amp;seq={m.seq}" if m.seq is not None else ""
        data_seq = f' data-seq="{m.seq}"' if m.seq is not None else ""
        items.append(
            f'<li class="replay__marker replay__marker--{m.kind}" data-kind="{m.kind}">'
            f'<a href="?as={who}&amp;t={m.t_ms}{seq}" data-t="{m.t_ms}"{data_seq}>'
            f'<time class="clock-stamp">{format_clock(m.t_ms // 1000)}</time> '
            f'<span class="replay__marker-kind">{kinds[m.kind]}</span> {escape(m.label)}</a></li>'
        )
    # Every value above is escaped or a number.
    return mark_safe("\n".join(items))  # noqa: S308


def marker_strip_svg(found: list[Marker], end_ms: int) -> SafeString:
    """Ticks over the scrubber, one per marker, on a 0–1000 scale (decorative)."""
    span = max(end_ms, 1)
    return mark_safe("".join(  # noqa: S308 - kinds are our constants, x a number
        f'<line class="replay__tick replay__tick--{m.kind}" x1="{x:.1f}" x2="{x:.1f}" '
        f'y1="2" y2="18"/>'
        for m in found for x in [m.t_ms * 1000 / span]
    ))
