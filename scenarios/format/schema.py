"""The scenario format, `simtrain.scenario/1`, defined once as pydantic models.

These models are the shape of a scenario file: the importer validates against them,
the exporter writes them back in their field order (the order of the tables in the
spec), and `json_schema()` publishes them for authors' editors. Rules that relate one
part of a file to another (a role named in `to` exists, a cue goes to an actor …)
are in `validate.py`; what these models check is each value on its own.

Models are strict: `yes` is not `true` and `"12"` is not `12`, because the YAML
loader already gives each scalar its proper type and coercion would hide mistakes.
Keys starting with `x-` are author extensions: accepted anywhere a model is, and
dropped (they are not stored, so an export does not have them).
"""

from __future__ import annotations

import json
import posixpath
import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import PydanticCustomError

from simtrain.durations import format_duration, parse_duration

FORMAT = "simtrain.scenario/1"
SUPPORTED_FORMATS: tuple[str, ...] = (FORMAT,)
# A stable name for the schema; the web page that serves it may pass its own URL.
SCHEMA_ID = "urn:simtrain:schema:scenario:1"

ID_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"
SLUG_PATTERN = r"^[a-z0-9][a-z0-9-]{1,63}$"
LANGUAGE_PATTERN = r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$"
DURATION_PATTERN = r"^([0-9]+h([0-9]+m)?([0-9]+s)?|[0-9]+m([0-9]+s)?|[0-9]+s)$"

# What each pattern means, for error messages an author can act on.
PATTERN_HELP = {
    ID_PATTERN: "an id: 1 to 64 lowercase letters, digits, '-' or '_', "
    "starting with a letter or digit",
    SLUG_PATTERN: "a slug: 2 to 64 lowercase letters, digits or '-', "
    "starting with a letter or digit",
    LANGUAGE_PATTERN: "a BCP 47 language tag such as fr, en or fr-BE",
}

# Limits that keep every value storable (CharField lengths, PositiveIntegerField).
TITLE_MAX = 300
PATH_MAX = 500
MAX_DURATION_S = 7 * 24 * 3600
MAX_SEATS = 1000
MAX_AUTHOR_VERSION = 1_000_000


# --- value types ------------------------------------------------------------------------


def _blank_to_none(value: Any) -> Any:
    """An empty optional text is the same as no text: one canonical form for both."""
    if isinstance(value, str) and not value.strip():
        return None
    return value


def _not_blank(value: str) -> str:
    if not value.strip():
        raise PydanticCustomError("bad_value", "must not be empty")
    return value


def _to_seconds(value: Any) -> int:
    if not isinstance(value, int | str) or isinstance(value, bool):
        raise PydanticCustomError(
            "bad_type",
            "must be {expected}",
            {"expected": "a duration (90s, 12m, 1h30m or seconds)"},
        )
    try:
        seconds = parse_duration(value)
    except ValueError:
        raise PydanticCustomError(
            "bad_value",
            "must be a duration: seconds (90) or text like 90s, 12m, 1h30m; got {value}",
            {"value": repr(value)},
        ) from None
    if seconds > MAX_DURATION_S:
        raise PydanticCustomError(
            "bad_value", "must be at most 168h (7 days); got {value}", {"value": repr(value)}
        )
    return seconds


def _one_or_many(expected: str):
    # Authors write `to: police` as often as `to: [police]`: one id is a list of one.
    def coerce(value: Any) -> Any:
        if isinstance(value, str):
            return [value]
        if not isinstance(value, list):
            raise PydanticCustomError("bad_type", "must be {expected}", {"expected": expected})
        return value

    return BeforeValidator(coerce)


def _number_to_text(value: Any) -> Any:
    # `age: 15` is natural in a character sheet; the format stores text.
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return _blank_to_none(value)


def _manual(value: Any) -> Any:
    # `manual: false` says nothing more than leaving `manual` out.
    return None if value is False else value


def _normalise_path(value: str) -> str:
    # `./docs/pv.pdf` and `docs//pv.pdf` are `docs/pv.pdf`. Unsafe paths are left as
    # written: validate.py refuses them with their own code, and normpath would hide
    # a `..`.
    if unsafe_path_reason(value) is None:
        return posixpath.normpath(value)
    return value


def unsafe_path_reason(path: str) -> str | None:
    """Why `path` may not name a file inside a bundle, or None if it may."""
    if not path:
        return "is empty"
    if "\\" in path:
        return "uses '\\': write paths with '/'"
    if "\x00" in path:
        return "holds a NUL character"
    if path.startswith("/") or re.match(r"^[A-Za-z]:", path):
        return "is absolute: write it relative to scenario.yaml"
    if ".." in path.split("/"):
        return "climbs out of the bundle with '..'"
    return None


Id = Annotated[str, StringConstraints(pattern=ID_PATTERN)]
Slug = Annotated[str, StringConstraints(pattern=SLUG_PATTERN)]
Language = Annotated[str, StringConstraints(pattern=LANGUAGE_PATTERN, max_length=35)]
Title = Annotated[str, StringConstraints(max_length=TITLE_MAX), AfterValidator(_not_blank)]
# The length limit sits on the text branch: a blank value has become None by then.
ShortText = Annotated[
    Annotated[str, StringConstraints(max_length=TITLE_MAX)] | None,
    BeforeValidator(_blank_to_none),
]
Markdown = Annotated[
    str | None,
    BeforeValidator(_blank_to_none),
    WithJsonSchema({"type": ["string", "null"], "contentMediaType": "text/markdown"}),
]
CharacterText = Annotated[
    str | None,
    BeforeValidator(_number_to_text),
    WithJsonSchema({"type": ["string", "number", "null"]}),
]
Duration = Annotated[
    int,
    BeforeValidator(_to_seconds),
    PlainSerializer(format_duration, return_type=str),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "integer", "minimum": 0, "maximum": MAX_DURATION_S},
                {"type": "string", "pattern": DURATION_PATTERN},
            ],
            "examples": ["90s", "12m", "1h30m", 600],
        }
    ),
]
_ID_OR_IDS = {
    "anyOf": [
        {"type": "string", "pattern": ID_PATTERN},
        {"type": "array", "items": {"type": "string", "pattern": ID_PATTERN}},
    ]
}
Recipients = Annotated[
    list[Id],
    _one_or_many("all, a role id or a list of role ids"),
    WithJsonSchema({**_ID_OR_IDS, "examples": ["all", "police", ["police", "parquet"]]}),
]
RoleIds = Annotated[
    list[Id],
    _one_or_many("a role id or a list of role ids"),
    WithJsonSchema({**_ID_OR_IDS, "examples": ["police", ["police", "parquet"]]}),
]
FilePath = Annotated[str, StringConstraints(max_length=PATH_MAX), AfterValidator(_normalise_path)]


def _schema_extra(**extra: Any):
    """JSON Schema additions for a model: `x-` keys allowed, plus `extra`."""

    def apply(schema: dict[str, Any], model: type) -> None:
        schema["patternProperties"] = {"^x-": {"description": "author extension, ignored"}}
        schema.update(extra)

    return apply


class Block(BaseModel):
    """A mapping with a fixed set of keys (plus `x-` extensions, which are dropped)."""

    model_config = ConfigDict(strict=True, extra="forbid", json_schema_extra=_schema_extra())

    @model_validator(mode="before")
    @classmethod
    def _drop_extensions(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if not str(k).startswith("x-")}
        return data


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


class When(Block):
    """Fires when a trainee answers decision `decision` with `option` (`any`: any answer;
    `none`: its deadline passed unanswered), or takes action `action`."""

    model_config = ConfigDict(
        json_schema_extra=_schema_extra(
            oneOf=[
                {"required": ["decision", "option"], "not": {"required": ["action"]}},
                {
                    "required": ["action"],
                    "not": {"anyOf": [{"required": ["decision"]}, {"required": ["option"]}]},
                },
            ]
        )
    )

    decision: Id | None = None
    option: Id | None = Field(None, description="an option id of the decision, any or none")
    action: Id | None = None


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
        json_schema_extra=_schema_extra(
            allOf=[
                {
                    "if": {"required": ["kind"], "properties": {"kind": {"const": "broadcast"}}},
                    "else": {"required": ["to"]},
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
        "(a broadcast without `to` reaches everyone)",
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
    manual: Annotated[bool | None, BeforeValidator(_manual)] = Field(
        None, description="true: waits for the trainer (the default without a trigger)"
    )
    cue: Cue | None = Field(None, description="kind cue only")
    options: list[Option] | None = Field(
        None, description="kind decision only; at least 2 unless free_text is true"
    )
    free_text: bool = Field(False, description="kind decision only: trainees may write an answer")
    deadline: Duration | None = Field(
        None, description="kind decision only: time to answer after it fired"
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
        answer); on a cue, every actor role (only actors get cues).
        """
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


class Measure(Block):
    """How the after-action review scores the objective from the event log: the right
    answer to a decision, an action taken, or two roles that talked; each `within` a
    duration of the start if given."""

    model_config = ConfigDict(
        json_schema_extra=_schema_extra(
            oneOf=[
                {"required": ["decision", "option"]},
                {"required": ["action"]},
                {"required": ["message"]},
            ]
        )
    )

    decision: Id | None = None
    option: Id | None = None
    action: Id | None = None
    message: MessageMeasure | None = None
    within: Duration | None = None


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
        json_schema_extra=_schema_extra(),
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
    objectives: list[Objective] = []
    roles: list[Role] = Field(description="at least one trainee role")
    phases: list[Phase] = []
    actions: list[Action] = []
    injects: list[Inject]


# Each top-level list and the model of its items; also what an item is called.
LISTS: dict[str, tuple[type[Block], str]] = {
    "objectives": (Objective, "objective"),
    "roles": (Role, "role"),
    "phases": (Phase, "phase"),
    "actions": (Action, "action"),
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
