"""Read-side queries for the session pages (HackSoft style: reads here, writes in engine)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.urls import reverse

from scenarios import selectors as library
from scenarios.format.bundle import ATTACHMENT_TYPES
from scenarios.models import Attachment, Blob, Inject, Role
from sessions import engine
from sessions.access import Viewer, trainer_viewer
from sessions.annotation_tags import TAG_LABELS
from sessions.models import Event, LobbyEntry, Seat, Session
from sessions.projections import project_session
from sessions.render import ROOM, region_context, screen_for


def visible_events(*, session: Session, viewer: Viewer, upto_seq: int | None = None) -> list[Event]:
    events = Event.objects.filter(session=session).order_by("seq")
    if upto_seq is not None:
        events = events.filter(seq__lte=upto_seq)
    return [e for e in events if viewer.perspective.sees_event(e)]


def screen_context(*, session: Session, viewer: Viewer) -> dict:
    """What every live page needs: the screen's state at the head of the log, and more."""
    session.refresh_from_db()  # the cursor and the state must agree
    state = project_session(session, viewer.perspective, upto_seq=session.last_seq)
    events = state.feed
    return {
        **region_context(state),
        "screen": screen_for(viewer.perspective, viewer.seat.role.kind if viewer.seat else ""),
        "session": session,
        "viewer": viewer,
        "seat": viewer.seat,
        "role": viewer.seat.role if viewer.seat else None,
        "perspective": viewer.perspective,
        "is_trainer": viewer.is_trainer,
        "feed": list(reversed(events)),
        # The client resumes from the last seq of the log, visible or not: everything
        # up to here was considered when the page was rendered.
        "last_seq": session.last_seq,
        "clock": state.clock,
        "phases": list(session.version.phases.all()),
    }


def free_trainee_seats(*, session: Session) -> list[Seat]:
    return list(
        Seat.objects.select_related("role")
        .filter(session=session, holder_key="", role__kind=Role.Kind.TRAINEE)
        .order_by("role__order", "number")
    )


def trainee_roles(*, session: Session) -> list[Role]:
    return list(session.version.roles.filter(kind=Role.Kind.TRAINEE).order_by("order"))


@dataclass
class RosterSeat:
    seat: Seat
    connections: int
    presence_since: datetime | None
    invite_url: str

    @property
    def presence(self) -> str:
        if not self.seat.is_held:
            return "free"
        if self.connections > 0:
            return "connected"
        return "gone" if self.presence_since else "never"


def roster(*, session: Session, request=None) -> dict:
    """Every seat with its holder and presence, plus the lobby."""
    seats = list(Seat.objects.select_related("role").filter(session=session))
    presence: dict[int, tuple[int, datetime | None]] = {}
    for event in Event.objects.filter(
        session=session, kind__in=["presence.connected", "presence.left", "seat.freed"]
    ).order_by("seq"):
        seat_id = event.payload.get("seat")
        count, _ = presence.get(seat_id, (0, None))
        if event.kind == "presence.connected":
            count += 1
        elif event.kind == "presence.left":
            count = max(0, count - 1)
        else:  # a new holder starts from nothing
            count = 0
        presence[seat_id] = (count, event.created_at)
    rows = []
    for seat in seats:
        count, since = presence.get(seat.pk, (0, None))
        path = reverse("sessions:invite", args=[seat.invite_token])
        rows.append(
            RosterSeat(
                seat=seat,
                connections=count,
                presence_since=since,
                invite_url=request.build_absolute_uri(path) if request else path,
            )
        )
    return {
        "seats": rows,
        "lobby": list(LobbyEntry.objects.filter(session=session, state=LobbyEntry.State.WAITING)),
    }


def has_received_attachment(*, session: Session, viewer: Viewer, attachment_id: int) -> bool:
    """Whether an inject carrying this attachment reached the viewer."""
    for event in Event.objects.filter(session=session, kind="inject.fired"):
        if viewer.perspective.sees_event(event) and any(
            a.get("id") == attachment_id for a in event.payload.get("attachments", [])
        ):
            return True
    return False


# --- The live screens ---------------------------------------------------------------------


def room_viewer(user) -> Viewer:
    """The projector's view: the trainer's login, the public perspective (render.ROOM)."""
    return Viewer(ROOM, trainer_viewer(user).principal)


def control_extras(*, session: Session) -> dict:
    """What the control room needs beside the screen state: choices for its forms."""
    version = session.version
    roles = list(version.roles.order_by("order"))
    senders = sorted(
        {s for s in version.injects.exclude(sender="").values_list("sender", flat=True)}
    )
    return {
        "speeds": [(s, f"{s:g}") for s in engine.SPEED_CHOICES],
        "adhoc_kinds": [(k, Inject.Kind(k).label) for k in engine.ADHOC_KINDS],
        "adhoc_roles": [r for r in roles if r.kind != Role.Kind.OBSERVER],
        "adhoc_senders": senders,
        "adhoc_accept": ",".join(f".{ext}" for ext in ATTACHMENT_TYPES),
        "adhoc_max_files": engine.MAX_ADHOC_FILES,
        **annotation_choices(session=session),
    }


def annotation_choices(*, session: Session) -> dict:
    """The annotation dialog's choices: the tags, the scenario's objectives, the roles."""
    version = session.version
    tags = [(tag, label) for tag, label in TAG_LABELS.items() if tag != "objective"]
    tags += [(f"objective:{o.ident}", o.title) for o in version.objectives.order_by("order")]
    roles = [r for r in version.roles.order_by("order") if r.kind != Role.Kind.OBSERVER]
    return {"annotation_tags": tags, "annotation_roles": roles}


@dataclass(frozen=True)
class FoundAttachment:
    data: bytes
    content_type: str
    filename: str

    @property
    def is_markdown(self) -> bool:
        return self.content_type.startswith("text/markdown")

    @property
    def is_text(self) -> bool:
        return self.content_type.startswith("text/")

    @property
    def safe_filename(self) -> str:
        name = self.filename.rsplit("/", 1)[-1]
        return "".join(ch if ch.isalnum() or ch in "._- " else "_" for ch in name) or "file"


def _found(attachment: dict, version_id: int) -> FoundAttachment | None:
    if attachment.get("blob"):  # ad hoc: the payload names the content itself
        blob = Blob.objects.filter(pk=attachment["blob"]).first()
        if blob is None:
            return None
        name = attachment.get("path") or attachment.get("title") or "file"
        return FoundAttachment(bytes(blob.data), blob.content_type, name)
    try:
        pk = int(attachment.get("id"))
    except (TypeError, ValueError):
        return None
    row = Attachment.objects.select_related("blob").filter(
        pk=pk, inject__version_id=version_id
    ).first()
    if row is None:
        return None
    return FoundAttachment(bytes(row.blob.data), row.blob.content_type, row.path)


def attachment_find(*, session: Session, viewer: Viewer, attachment_id: str
                    ) -> FoundAttachment | None:
    """An attachment of an inject that reached this viewer (the trainer: of any inject
    of the session, or of the scenario version), else None."""
    attachment_id = str(attachment_id)
    for event in Event.objects.filter(session=session, kind="inject.fired").order_by("seq"):
        if not viewer.perspective.sees_event(event):
            continue
        for attachment in event.payload.get("attachments") or []:
            if str(attachment.get("id")) == attachment_id:
                return _found(attachment, session.version_id)
    if viewer.is_trainer and attachment_id.isdigit():
        return _found({"id": attachment_id}, session.version_id)
    return None


def pack_context(*, session: Session) -> dict:
    """The printable pack: the MSEL, each trainee role's briefing, each actor's cards."""
    version = session.version
    roles = list(version.roles.order_by("order").prefetch_related("actions"))
    cues_by_role = {
        role.pk: [row for row in library.role_receives(version=version, role=role)
                  if row.inject.kind == "cue"]
        for role in roles
        if role.kind == Role.Kind.ACTOR
    }
    return {
        "session": session,
        "version": version,
        "phases": list(version.phases.order_by("order")),
        "trainee_roles": [r for r in roles if r.kind == Role.Kind.TRAINEE],
        "actors": [(r, cues_by_role[r.pk]) for r in roles if r.kind == Role.Kind.ACTOR],
        "observer_roles": [r for r in roles if r.kind == Role.Kind.OBSERVER],
        "msel": library.inject_timeline(version=version),
    }
