"""Writes of an exercise: create it in one step, drive its syndicates, place trainees.

Everything a syndicate's session records goes through `sessions.engine`, one command
per session with that session's own checks: a command to all syndicates is N engine
commands, and each one is accepted or refused on its own (`Outcome`). Nothing here
appends an event or touches a session row.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction
from django.utils.translation import gettext as _

from scenarios.models import Role
from sessions import engine
from sessions.exercises.models import (
    MAX_SYNDICATES,
    MIN_SYNDICATES,
    Exercise,
    ExerciseEntry,
    Syndicate,
)
from sessions.models import LobbyEntry, Seat, Session, new_session_code
from simtrain.text import is_valid as is_valid_text


class ExerciseError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def _free_code() -> str:
    """A code that is neither an exercise's nor a session's: the join page takes both."""
    while True:
        code = new_session_code()
        if not (
            Exercise.objects.filter(code=code).exists()
            or Session.objects.filter(code=code).exists()
        ):
            return code


def exercise_create(
    *,
    version,
    trainer,
    title: str,
    syndicates: int,
    cohort: str = "",
    join_mode: str = Session.JoinMode.OPEN,
    placement: str = Exercise.Placement.CODES,
) -> Exercise:
    """An exercise of `syndicates` full sessions on `version`, all or nothing."""
    if not MIN_SYNDICATES <= syndicates <= MAX_SYNDICATES:
        raise ExerciseError(
            "bad-count",
            _("De %(min)d à %(max)d équipes.") % {"min": MIN_SYNDICATES, "max": MAX_SYNDICATES},
        )
    if placement not in Exercise.Placement.values:
        raise ExerciseError("bad-value", _("Mode de répartition inconnu."))
    # Before the exercise's own row: PostgreSQL refuses some characters (NUL) at write,
    # where the engine would refuse them too, with a clear message, for each team.
    for text, what in ((title, _("Le titre")), (cohort, _("La promotion"))):
        if not is_valid_text(text or ""):
            raise ExerciseError(
                "bad-text", _("%(what)s contient des caractères invalides.") % {"what": what}
            )
    if placement == Exercise.Placement.ASSIGN:
        join_mode = Session.JoinMode.APPROVAL  # the trainer seats whom they sent to a team
    try:
        with transaction.atomic():
            exercise = Exercise.objects.create(
                version=version,
                trainer=trainer,
                title=title,
                cohort=cohort,
                placement=placement,
                code=_free_code(),
            )
            for number in range(1, syndicates + 1):
                session = engine.session_create(
                    version=version,
                    trainer=trainer,
                    cohort=cohort,
                    join_mode=join_mode,
                    title=f"{title} — " + _("Équipe %(n)d") % {"n": number},
                )
                Syndicate.objects.create(exercise=exercise, session=session, number=number)
    except engine.EngineError as err:
        raise ExerciseError(err.code, err.message) from None
    return exercise


def syndicates_of(exercise: Exercise) -> list[Syndicate]:
    return list(exercise.syndicates.select_related("session__version").order_by("number"))


# --- Driving them: all or one ----------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    syndicate: Syndicate
    ok: bool
    code: str = ""
    message: str = ""


def _speed(args: dict) -> dict:
    return {"speed": args.get("speed")}


# What the control room sends to every syndicate, as engine services and their arguments.
COMMANDS: dict[str, tuple[Callable, Callable[[dict], dict]]] = {
    "start": (engine.session_start, lambda a: {}),
    "pause": (engine.session_pause, lambda a: {}),
    "resume": (engine.session_resume, lambda a: {}),
    "end": (engine.session_end, lambda a: {}),
    "speed": (engine.clock_set_speed, _speed),
    "jump": (engine.clock_jump_to_phase, lambda a: {"phase_ident": a.get("phase", "")}),
    "fire": (engine.inject_fire, lambda a: {"inject_ident": a.get("inject", "")}),
    "broadcast": (
        engine.inject_adhoc,
        lambda a: {
            "roles": [],
            "kind": "broadcast",
            "title": a.get("title", ""),
            "body": a.get("body", ""),
        },
    ),
}


def exercise_command(
    *,
    exercise: Exercise,
    principal: engine.TrainerPrincipal,
    command: str,
    args: dict,
    only: int | None = None,
) -> list[Outcome]:
    """Send `command` to every syndicate (or syndicate number `only`), one engine command
    per session, in team order; a refusal by one never stops the others."""
    if command not in COMMANDS:
        raise ExerciseError("unknown-command", _("Commande inconnue."))
    service, arguments = COMMANDS[command]
    targets = [s for s in syndicates_of(exercise) if only is None or s.number == only]
    if not targets:
        raise ExerciseError("unknown-syndicate", _("Cette équipe n'existe pas."))
    outcomes = []
    for syndicate in targets:
        try:
            service(session_id=syndicate.session_id, principal=principal, **arguments(args))
        except engine.EngineError as err:
            outcomes.append(Outcome(syndicate, False, err.code, err.message))
        else:
            outcomes.append(Outcome(syndicate, True))
    if command == "end":
        _forget_waiting(exercise)
    return outcomes


def _forget_waiting(exercise: Exercise) -> None:
    """Once every team has ended nobody can be placed: the names still waiting go."""
    if (
        not Session.objects.filter(syndicate__exercise=exercise)
        .exclude(state=Session.State.ENDED)
        .exists()
    ):
        ExerciseEntry.objects.filter(exercise=exercise).delete()


# --- Placing trainees who came in with the one exercise code -------------------------------------


def held_seat(exercise: Exercise, pass_keys) -> Seat | None:
    """The seat of any syndicate one of these passes holds."""
    keys = [k for k in pass_keys if k]
    if not keys:
        return None
    return (
        Seat.objects.select_related("role", "session")
        .filter(session__syndicate__exercise=exercise, holder_key__in=keys)
        .first()
    )


def balance_order(exercise: Exercise, role: Role) -> list[tuple[Syndicate, Seat]]:
    """Where a trainee of `role` goes first: the live team with a free seat of that role
    and the fewest of that profession seated, then the fewest trainees, then the lowest
    number. One free seat per team, in that order (the next ones are for a race lost)."""
    choices = []
    for syndicate in syndicates_of(exercise):
        if syndicate.session.state == Session.State.ENDED:
            continue
        seats = list(
            Seat.objects.filter(
                session_id=syndicate.session_id, role__kind=Role.Kind.TRAINEE
            ).select_related("role")
        )
        free = [s for s in seats if s.role_id == role.pk and not s.holder_key]
        if not free:
            continue
        same = sum(1 for s in seats if s.holder_key and s.role.profession == role.profession)
        held = sum(1 for s in seats if s.holder_key)
        choices.append(((same, held, syndicate.number), syndicate, free[0]))
    return [(syndicate, seat) for _key, syndicate, seat in sorted(choices, key=lambda c: c[0])]


def place_balanced(
    *, exercise: Exercise, role_ident: str, name: str, pass_key: str, previous_pass: str = ""
) -> Seat:
    """Seat a trainee in the team that needs their profession most (`balance_order`).

    The claim is the engine's `seat_claim`, with its checks; a seat taken meanwhile by
    someone else moves on to the next team in the order."""
    role = Role.objects.filter(
        version_id=exercise.version_id, ident=role_ident, kind=Role.Kind.TRAINEE
    ).first()
    if role is None:
        raise ExerciseError("unknown-role", _("Choisissez votre profession."))
    last = None
    for syndicate, seat in balance_order(exercise, role):
        try:
            return engine.seat_claim(
                session_id=syndicate.session_id,
                seat_id=seat.pk,
                name=name,
                pass_key=pass_key,
                previous_pass=previous_pass,
            )
        except engine.EngineError as err:
            if err.code != "seat-taken":
                raise ExerciseError(err.code, err.message) from None
            last = err
    if last is not None:
        raise ExerciseError("seat-taken", _("Ces places viennent d'être prises : réessayez."))
    raise ExerciseError("no-seat", _("Plus aucune place pour ce rôle dans les équipes."))


def entry_wait(
    *, exercise: Exercise, name: str, pass_key: str, role_ident: str = "", previous_pass: str = ""
) -> ExerciseEntry:
    """Wait to be sent to a team (placement `assign`): one entry per browser."""
    name = (name or "").strip()[:100]
    if not name:
        raise ExerciseError("empty", _("Le nom est vide."))
    role = None
    if role_ident:
        role = Role.objects.filter(
            version_id=exercise.version_id, ident=role_ident, kind=Role.Kind.TRAINEE
        ).first()
        if role is None:
            raise ExerciseError("unknown-role", _("Rôle inconnu."))
    entry = ExerciseEntry.objects.filter(
        exercise=exercise, pass_key__in={pass_key, previous_pass or pass_key}
    ).first()
    if entry is None:
        return ExerciseEntry.objects.create(
            exercise=exercise, name=name, pass_key=pass_key, wanted_role=role
        )
    entry.pass_key, entry.name, entry.wanted_role = pass_key, name, role
    entry.save(update_fields=["pass_key", "name", "wanted_role"])
    return entry


def entry_send(
    *, exercise: Exercise, principal: engine.TrainerPrincipal, entry_id: int, number: int
) -> LobbyEntry:
    """The trainer sends a waiting trainee to team `number`: into that session's lobby,
    through the engine, where the trainer seats them as in any session. The exercise
    forgets the entry (and its name) once it is in the session."""
    entry = (
        ExerciseEntry.objects.filter(pk=entry_id, exercise=exercise)
        .select_related("wanted_role")
        .first()
    )
    syndicate = exercise.syndicates.filter(number=number).first()
    if entry is None or syndicate is None:
        raise ExerciseError("unknown-entry", _("Participant ou équipe introuvable."))
    try:
        lobby = engine.lobby_join(
            session_id=syndicate.session_id,
            name=entry.name,
            pass_key=entry.pass_key,
            wanted_role=entry.wanted_role.ident if entry.wanted_role else "",
        )
    except engine.EngineError as err:
        raise ExerciseError(err.code, err.message) from None
    entry.delete()
    return lobby


def syndicate_for_pass(exercise: Exercise, pass_key: str) -> Syndicate | None:
    """The team whose lobby or seat this pass reached (placement `assign`)."""
    if not pass_key:
        return None
    session_ids = set(
        LobbyEntry.objects.filter(
            session__syndicate__exercise=exercise, pass_key=pass_key
        ).values_list("session_id", flat=True)
    )
    session_ids |= set(
        Seat.objects.filter(session__syndicate__exercise=exercise, holder_key=pass_key).values_list(
            "session_id", flat=True
        )
    )
    if not session_ids:
        return None
    return exercise.syndicates.filter(session_id__in=session_ids).order_by("number").first()
