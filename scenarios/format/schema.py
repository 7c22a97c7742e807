"""The scenario format, `simtrain.scenario/1`, defined once as pydantic models.

These models are the shape of a scenario file: the importer validates against them,
the exporter writes them back in their field order (the order of the tables in the
spec), and `json_schema()` publishes them for authors' editors. Rules that relate one
part of a file to another (a role named in `to` exists, a cue goes to an actor …)
are in `validate.py`; what these models check is each value on its own. The value
types are in `values.py`; the keys added for story time, countdowns, requests and
conditions in `law.py`.

Models are strict: `yes` is not `true` and `"12"` is not `12`, because the YAML
loader already gives each scalar its proper type and coercion would hide mistakes.
Keys starting with `x-` are author extensions: accepted anywhere a model is, and
dropped (they are not stored, so an export does not have them).
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, ConfigDict, Field, StringConstraints, model_validator

from scenarios.format.law import (
    Condition,
    Countdown,
    Fiction,
    Request,
    RequestOutcome,
    Safety,
    forms_schema,
    given_forms,
    key_values,
)
from scenarios.format.values import (
    DURATION_PATTERN,
    ID_PATTERN,
    LANGUAGE_PATTERN,
    MAX_AUTHOR_VERSION,
    MAX_DURATION_S,
    MAX_SEATS,
    PATH_MAX,
    PATTERN_HELP,
    SLUG_PATTERN,
    TITLE_MAX,
    Block,
    CharacterText,
    Duration,
    FilePath,
    Id,
    Language,
    Markdown,
    Recipients,
    RoleIds,
    ShortText,
    Slug,
    Title,
    manual_flag,
    schema_extra,
    unsafe_path_reason,
)

FORMAT = "simtrain.scenario/1"
SUPPORTED_FORMATS: tuple[str, ...] = (FORMAT,)
# A stable name for the schema; the web page that serves it may pass its own URL.
SCHEMA_ID = "urn:simtrain:schema:scenario:1"

# --- roles --------------------------------------------------------------------------------

RoleKind = Literal["trainee", "actor", "observer"]
Profession = Literal[
    "police", "prosecutor", "judge", "lawyer", "social_worker", "interpreter", "medical", "other"
]


class Character(Block):
    """An actor's character sheet. Never shown to trainees."""

    age: CharacterText = None
    origin: CharacterText = None
    languages: CharacterText = None
    backstory: CharacterText = Field(None, description="markdown")
    secrets: CharacterText = Field(
        None, description="markdown; what the actor reveals only if asked well"
    )
    demeanour: CharacterText = None
    boundaries: CharacterText = Field(None, description="what the actor must not do or say")

    def is_empty(self) -> bool:
        return not any(getattr(self, name) for name in type(self).model_fields)


class Role(Block):
    """Who plays: a trainee (a professional in training), an actor (played from cue
    cards) or an observer (an evaluator: sees everything, acts on nothing)."""

    id: Id = Field(description="e.g. police, parquet, avocat")
    title: Title = Field(description='e.g. "Enquêtrice OCLDI"')
    kind: RoleKind
    profession: Profession | None = Field(None, description="required on trainee roles, only there")
    seats: int = Field(
        1, ge=1, le=MAX_SEATS, description="how many people may hold the role at once"
    )
    briefing: Markdown = Field(None, description="shown only to this role when it joins")
    character: Character | None = Field(None, description="actor roles only")
    contacts: RoleIds | None = Field(
        None, description="role ids this role may message live; default: every trainee role"
    )

    @model_validator(mode="after")
    def _empty_character(self) -> Role:
        if self.character is not None and self.character.is_empty():
            self.character = None
        return self


# --- phases and actions -------------------------------------------------------------------


class Phase(Block):
    """An act of the exercise, in order."""

    id: Id
    title: Title
    description: Markdown = None
    starts: Duration | None = Field(
        None, description="planned clock time: the trainer's timeline and 'jump to phase'"
    )


class Action(Block):
    """An act a trainee may take at any time from their screen (request an interpreter,
    order a medical exam …). Taking it is an event and can trigger injects."""

    id: Id
    roles: RoleIds = Field(description="the trainee roles that may take it")
    label: Title = Field(description="the button's text")
    description: Markdown = None
    once: bool = Field(True, description="false: it may be taken again")


# --- injects ------------------------------------------------------------------------------

InjectKind = Literal["message", "document", "call", "scene", "cue", "decision", "broadcast"]
TRIGGER_KEYS = ("at", "after", "when", "manual")


class AttachmentRef(Block):
    """A file inside the bundle, relative to scenario.yaml."""

    file: FilePath = Field(
        description="pdf, png, jpg/jpeg, webp, txt, md, mp3 or ogg; relative, no '..'"
    )
    title: ShortText = None


class After(Block):
    """Fires `delay` after inject `inject` fired."""

    inject: Id
    delay: Duration = 0


# Each form of a `when` and its keys; any of them may add `delay`.
WHEN_FORMS: dict[str, tuple[str, ...]] = {
    "decision": ("decision", "option"),
    "action": ("action",),
    "request": ("request", "outcome"),
    "countdown": ("countdown", "state"),
    "any": ("any",),
}
# The keys of the forms added after the first two (decision, action).
NEW_WHEN_KEYS = ("request", "outcome", "countdown", "state", "any", "delay")


class When(Block):
    """Fires when a trainee answers decision `decision` with `option` (`any`: any answer;
    `none`: its deadline passed unanswered), takes action `action`, when request
    `request` has `outcome`, when countdown `countdown` enters `state`, or on the first
    of the `any` list; `delay` (clock time) after that cause."""

    model_config = ConfigDict(json_schema_extra=schema_extra(oneOf=forms_schema(WHEN_FORMS)))

    decision: Id | None = None
    option: Id | None = Field(None, description="an option id of the decision, any or none")
    action: Id | None = None
    request: Id | None = None
    outcome: RequestOutcome | None = Field(
        None, description="approved, rejected, none (unanswered in time), any (decided), sent"
    )
    countdown: Id | None = None
    state: Literal["running", "expired", "stopped"] | None = Field(
        None, description="running: it starts; expired: it runs out; stopped: it is stopped"
    )
    any_: Annotated[list[When], Field(min_length=1)] | None = Field(
        None, alias="any", description="the first of these causes"
    )
    delay: Duration = Field(0, description="clock time to wait after the cause")

    def forms(self) -> list[str]:
        return given_forms(self, WHEN_FORMS)

    @property
    def uses_new_keys(self) -> bool:
        """Whether any key added with the law keys is written (delay: 0 included)."""
        fields = type(self).model_fields
        given = {fields[name].alias or name for name in self.model_fields_set}
        return bool(given & set(NEW_WHEN_KEYS))


class Cue(Block):
    """What an actor is told to do: shown on their tablet."""

    say: Markdown = None
    do: Markdown = None
    emotion: ShortText = None
    if_: dict[str, str] | None = Field(
        None,
        alias="if",
        description="situation: reaction, e.g. 'asked about her age': 'says 19' "
        "(kept in alphabetical order of the situations)",
    )

    @model_validator(mode="after")
    def _canonical_if(self) -> Cue:
        # Situations are kept in sorted order: PostgreSQL's jsonb does not keep the
        # order of an object's keys, and a stored version must export to the same text
        # on every database.
        self.if_ = dict(sorted(self.if_.items())) if self.if_ else None
        return self

    def is_empty(self) -> bool:
        return not (self.say or self.do or self.emotion or self.if_)


class Option(Block):
    id: Id
    label: Title


_PAIRS = [(a, b) for i, a in enumerate(TRIGGER_KEYS) for b in TRIGGER_KEYS[i + 1 :]]


def _only_for(kind: str, keys: list[str]) -> dict:
    return {
        "if": {"required": ["kind"], "properties": {"kind": {"not": {"const": kind}}}},
        "then": {"not": {"anyOf": [{"required": [key]} for key in keys]}},
    }


class Inject(Block):
    """A scenario event. Give at most one trigger (at, after, when, manual); none means
    the trainer fires it by hand. Every inject fires at most once per session."""

    model_config = ConfigDict(
        json_schema_extra=schema_extra(
            allOf=[
                {
                    "if": {"required": ["kind"], "properties": {"kind": {"const": "broadcast"}}},
                    "else": {
                        "anyOf": [
                            {"required": ["to"]},
                            {"required": ["reply"], "properties": {"reply": {"const": True}}},
                        ]
                    },
                },
                {
                    "if": {"required": ["repeat"], "properties": {"repeat": {"const": True}}},
                    "then": {"required": ["when"]},
                },
                _only_for("decision", ["options", "free_text", "deadline"]),
                _only_for("cue", ["cue"]),
                {
                    "not": {
                        "anyOf": [
                            {
                                "required": [a, b],
                                "properties": {"manual": {"const": True}},
                            }
                            for a, b in _PAIRS
                        ]
                    }
                },
            ]
        )
    )

    id: Id
    kind: InjectKind
    to: Recipients | None = Field(
        None,
        description="role ids, one role id, or all; required except on a broadcast "
        "(a broadcast without `to` reaches everyone) and with reply: true",
    )
    phase: Id | None = None
    title: Title
    body: Markdown = None
    sender: ShortText = Field(
        None, alias="from", description='displayed sender ("Commissariat du 18e")'
    )
    attachments: list[AttachmentRef] = []
    at: Duration | None = Field(None, description="fires when the exercise clock reaches it")
    after: After | None = None
    when: When | None = None
    manual: Annotated[bool | None, BeforeValidator(manual_flag)] = Field(
        None, description="true: waits for the trainer (the default without a trigger)"
    )
    repeat: bool = Field(
        False,
        description="with when: {action: ID} on an action with once: false: "
        "fires each time the action is taken",
    )
    if_: Condition | None = Field(
        None,
        alias="if",
        description="checked when the trigger comes; if it does not hold, the inject is "
        "withheld (the trainer may still fire it)",
    )
    reply: bool = Field(False, description="also send it to the role whose act triggered it")
    cue: Cue | None = Field(None, description="kind cue only")
    options: list[Option] | None = Field(
        None, description="kind decision only; at least 2 unless free_text is true"
    )
    free_text: bool = Field(False, description="kind decision only: trainees may write an answer")
    deadline: Duration | None = Field(
        None, description="kind decision only: time to answer after it fired"
    )
    key_fact: bool = Field(
        False,
        description="it carries a fact that matters: the debrief's 'who knew what when' "
        "follows who saw it, and who was told",
    )

    @model_validator(mode="after")
    def _empty_cue(self) -> Inject:
        if self.cue is not None and self.cue.is_empty():
            self.cue = None
        return self

    @property
    def to_all(self) -> bool:
        return self.to == ["all"]

    @property
    def triggers(self) -> list[str]:
        """The trigger keys given, in file-format order."""
        return [key for key in TRIGGER_KEYS if getattr(self, key) is not None]

    def recipient_ids(self, roles: list[Role]) -> list[str]:
        """Who receives it, with `to: all` and a broadcast without `to` expanded.

        `all` means every role; on a decision, every trainee role (only trainees
        answer); on a cue, every actor role (only actors get cues). The role a
        `reply: true` also reaches is known only when the inject fires.
        """
        if self.to is None and self.kind != "broadcast":
            return []
        if self.to is not None and not self.to_all:
            return list(dict.fromkeys(self.to))
        if self.to is not None and self.kind == "decision":
            return [role.id for role in roles if role.kind == "trainee"]
        if self.to is not None and self.kind == "cue":
            return [role.id for role in roles if role.kind == "actor"]
        return [role.id for role in roles]


# --- objectives ---------------------------------------------------------------------------


class MessageMeasure(Block):
    sender: Id = Field(alias="from")
    to: Id


# Each form of a measure and its keys.
MEASURE_FORMS: dict[str, tuple[str, ...]] = {
    "decision": ("decision", "option"),
    "action": ("action",),
    "message": ("message",),
    "request": ("request", "outcome"),
    "countdown": ("countdown", "expired"),
    "all": ("all",),
    "any": ("any",),
    "not": ("not",),
    "before": ("before",),
}
# The forms `within` may go with (it counts from clock 0).
TIMED_MEASURES = ("decision", "action", "message", "request")
NEW_MEASURE_KEYS = ("request", "outcome", "countdown", "expired", "all", "any", "not", "before")


class Measure(Block):
    """How the after-action review scores the objective from the event log: the right
    answer to a decision, an action taken, two roles that talked, a request's outcome,
    each `within` a duration of the start if given; a countdown that did or did not
    expire; or a combination of measures."""

    model_config = ConfigDict(json_schema_extra=schema_extra(oneOf=forms_schema(MEASURE_FORMS)))

    decision: Id | None = None
    option: Id | None = None
    action: Id | None = None
    message: MessageMeasure | None = None
    request: Id | None = None
    outcome: RequestOutcome | None = None
    countdown: Id | None = None
    expired: bool | None = Field(None, description="false: it was stopped in time or never ran out")
    all_: Annotated[list[Measure], Field(min_length=1)] | None = Field(
        None, alias="all", description="every one of these is met"
    )
    any_: Annotated[list[Measure], Field(min_length=1)] | None = Field(
        None, alias="any", description="at least one of these is met"
    )
    not_: Measure | None = Field(None, alias="not", description="this is not met")
    before: Annotated[list[Measure], Field(min_length=2, max_length=2)] | None = Field(
        None, description="[M1, M2]: M1 is met, and M2 was not met before it"
    )
    within: Duration | None = None

    def forms(self) -> list[str]:
        return given_forms(self, MEASURE_FORMS)

    @property
    def uses_new_keys(self) -> bool:
        """Whether any key added with the law keys is written."""
        values = key_values(self)
        return any(values[key] is not None for key in NEW_MEASURE_KEYS)


class Objective(Block):
    """A learning objective. Without `measure`, trainers and observers rate it."""

    id: Id
    title: Title
    description: Markdown = None
    roles: RoleIds | None = None
    measure: Measure | None = None

    @model_validator(mode="after")
    def _no_roles(self) -> Objective:
        # `roles: []` names no role, as leaving it out does: one canonical form.
        if not self.roles:
            self.roles = None
        return self


# --- the scenario -------------------------------------------------------------------------


class Scenario(Block):
    """A simtrain scenario: the script of one live exercise (who plays, what happens
    when, what actors are told, what trainees must decide, what it teaches)."""

    model_config = ConfigDict(
        title=f"simtrain scenario ({FORMAT})",
        json_schema_extra=schema_extra(),
    )

    format: Literal["simtrain.scenario/1"] = Field(description="format and version")
    slug: Slug = Field(
        description="stable identity; re-importing the same slug makes a new version"
    )
    title: Title
    language: Language = Field(description="language of the content (BCP 47)")
    version: int | None = Field(
        None, ge=1, le=MAX_AUTHOR_VERSION, description="the author's own revision number"
    )
    summary: Markdown = Field(None, description="shown to trainers in the library")
    duration: Duration | None = Field(None, description="planned length")
    authors: list[Annotated[str, StringConstraints(max_length=TITLE_MAX)]] = []
    tags: list[Annotated[str, StringConstraints(max_length=TITLE_MAX)]] = []
    safety: Safety = Field(
        Safety(), description="what the safety stop does; default: hold the exercise"
    )
    fiction: Fiction | None = Field(
        None, description="the story's calendar; without it, story time is the exercise clock"
    )
    objectives: list[Objective] = []
    roles: list[Role] = Field(description="at least one trainee role")
    phases: list[Phase] = []
    actions: list[Action] = []
    requests: list[Request] = Field([], description="acts that need someone's authorisation")
    countdowns: list[Countdown] = Field([], description="statutory time limits, in story time")
    injects: list[Inject]


# Each top-level list and the model of its items; also what an item is called.
LISTS: dict[str, tuple[type[Block], str]] = {
    "objectives": (Objective, "objective"),
    "roles": (Role, "role"),
    "phases": (Phase, "phase"),
    "actions": (Action, "action"),
    "requests": (Request, "request"),
    "countdowns": (Countdown, "countdown"),
    "injects": (Inject, "inject"),
}


def json_schema(schema_id: str = SCHEMA_ID) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of `simtrain.scenario/1`, generated from the
    models above. Served at /scenarios/schema.json and committed as
    docs/scenario.schema.json (`python manage.py scenario_schema -o …`)."""
    schema = Scenario.model_json_schema(by_alias=True)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": schema_id,
        **schema,
    }


def json_schema_text() -> str:
    """The schema as committed in docs/scenario.schema.json."""
    return json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"


__all__ = [
    "DURATION_PATTERN",
    "FORMAT",
    "ID_PATTERN",
    "LANGUAGE_PATTERN",
    "LISTS",
    "MAX_AUTHOR_VERSION",
    "MAX_DURATION_S",
    "MAX_SEATS",
    "PATH_MAX",
    "PATTERN_HELP",
    "SCHEMA_ID",
    "SLUG_PATTERN",
    "SUPPORTED_FORMATS",
    "TITLE_MAX",
    "Action",
    "After",
    "AttachmentRef",
    "Character",
    "Condition",
    "Countdown",
    "Cue",
    "Fiction",
    "Inject",
    "Measure",
    "MessageMeasure",
    "Objective",
    "Option",
    "Phase",
    "Request",
    "Role",
    "Safety",
    "Scenario",
    "When",
    "json_schema",
    "json_schema_text",
    "unsafe_path_reason",
]
