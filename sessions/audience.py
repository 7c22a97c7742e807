"""Who may see an event, and who may talk to whom. The single place for both rules.

An event's audience is a list of tokens: "*" (every seat), "role:<ident>",
"seat:<id>". An empty list means the trainer only. The trainer sees everything;
an observer sees everything a seat may see, but nothing meant for the trainer alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Set
from dataclasses import dataclass

from scenarios.models import Role

EVERYONE = "*"


def role_token(ident: str) -> str:
    return f"role:{ident}"


def seat_token(seat_id: int) -> str:
    return f"seat:{seat_id}"


def contacts_of(role: Role) -> list[Role]:
    """Roles this role may message: its `contacts`, or by default every trainee role."""
    if role.contacts_explicit:
        return [r for r in role.contacts.all() if r.pk != role.pk]
    return list(
        Role.objects.filter(version_id=role.version_id, kind=Role.Kind.TRAINEE).exclude(pk=role.pk)
    )


def thread_key(a: str, b: str) -> str:
    """One thread per pair of roles, whoever writes first."""
    return "|".join(sorted((a, b)))


@dataclass(frozen=True)
class Perspective:
    """Whose screen: the trainer's, or one seat's (observer or not)."""

    kind: str  # "trainer" | "observer" | "seat"
    role_ident: str = ""
    seat_id: int | None = None
    # Events addressed to the seat (`seat:<id>`: private notes, opened items, a safety
    # stop) belong to the person holding it: a later holder does not see those from
    # before their `seat.taken` / `seat.assigned` event, whose seq this is.
    since_seq: int = 0

    @classmethod
    def trainer(cls) -> Perspective:
        return cls(kind="trainer")

    @classmethod
    def for_seat(cls, seat) -> Perspective:
        kind = "observer" if seat.role.kind == "observer" else "seat"
        return cls(kind=kind, role_ident=seat.role.ident, seat_id=seat.pk,
                   since_seq=seat.held_from_seq)

    @property
    def key(self) -> str:
        """Stable name, e.g. for caches of rendered fragments."""
        if self.kind == "trainer":
            return "trainer"
        holder = f":{self.since_seq}" if self.since_seq else ""
        return f"{self.kind}:{self.role_ident}:{self.seat_id}{holder}"

    def sees_event(self, event) -> bool:
        """The rule for one event of the log (use this wherever the event is at hand)."""
        return self.sees(event.audience, seq=event.seq)

    def may_see_any(self, tokens: Set[str]) -> bool:
        """Whether some event addressed to these tokens (the union of a batch's
        audiences) may be for this perspective: one set lookup per viewer, where asking
        `sees` of every audience cost a pass over each. The holder rule is left to
        `sees_event`, applied when the events are folded in."""
        if self.kind == "trainer":
            return True
        if self.seat_id is not None and seat_token(self.seat_id) in tokens:
            return True
        if self.kind == "observer":
            return any(token == EVERYONE or token.startswith("role:") for token in tokens)
        return EVERYONE in tokens or role_token(self.role_ident) in tokens

    def sees(self, audience: Iterable[str], *, seq: int | None = None) -> bool:
        """Whether an audience includes this perspective; `seq` applies the holder rule."""
        audience = list(audience)
        if self.kind == "trainer":
            return True
        if (
            self.seat_id is not None
            and seat_token(self.seat_id) in audience
            and (seq is None or seq >= self.since_seq)
        ):
            return True
        return self.role_sees(audience)

    def role_sees(self, audience: Iterable[str]) -> bool:
        """Whether every seat of this role sees an audience: `sees` without the seat's
        own token (what a seat sees beyond this is for it alone)."""
        if self.kind == "trainer":
            return True
        if self.kind == "observer":
            return any(token == EVERYONE or token.startswith("role:") for token in audience)
        return EVERYONE in audience or role_token(self.role_ident) in audience
