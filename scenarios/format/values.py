"""The value types of the scenario format: ids, texts, durations, story date-times.

Each type is a pydantic `Annotated` type that checks one value on its own and says what
it expects in words an author can act on; `schema.py` and `law.py` build the format's
models from them. `Block` is the base of every mapping the format defines.
"""

from __future__ import annotations

import posixpath
import re
from datetime import datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    PlainSerializer,
    StringConstraints,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import PydanticCustomError

from simtrain.durations import format_duration, parse_duration

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
# Story-time limits (a countdown's `limit`) run longer: a placement lasts days.
MAX_STORY_DURATION_S = 366 * 24 * 3600
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


def _seconds(value: Any, maximum: int, bound: str) -> int:
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
    if seconds > maximum:
        raise PydanticCustomError(
            "bad_value",
            "must be at most {bound}; got {value}",
            {"bound": bound, "value": repr(value)},
        )
    return seconds


def _to_seconds(value: Any) -> int:
    return _seconds(value, MAX_DURATION_S, "168h (7 days)")


def _to_story_seconds(value: Any) -> int:
    return _seconds(value, MAX_STORY_DURATION_S, "8784h (366 days)")


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


def manual_flag(value: Any) -> Any:
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
# Story time (`fiction`, countdowns) is the calendar of the case, not the clock.
StoryDuration = Annotated[
    int,
    BeforeValidator(_to_story_seconds),
    PlainSerializer(format_duration, return_type=str),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "integer", "minimum": 0, "maximum": MAX_STORY_DURATION_S},
                {"type": "string", "pattern": DURATION_PATTERN},
            ],
            "description": "a duration in story time, at most 8784h (366 days)",
            "examples": ["24h", "48h", "2h", 7200],
        }
    ),
]

STORY_TIME_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2})?$"
STORY_YEARS = (1000, 9000)


def _to_story_time(value: Any) -> datetime:
    if not isinstance(value, str):
        raise PydanticCustomError(
            "bad_type",
            "must be {expected}",
            {"expected": "a date and time such as 2026-03-15T22:40"},
        )
    if not re.match(STORY_TIME_PATTERN, value):
        raise PydanticCustomError(
            "bad_value",
            "must be a local date and time written 2026-03-15T22:40 (seconds optional, "
            "no time zone); got {value}",
            {"value": repr(value)},
        )
    try:
        moment = datetime.fromisoformat(value.replace(" ", "T"))
    except ValueError:
        raise PydanticCustomError(
            "bad_value", "is not a real date and time: {value}", {"value": repr(value)}
        ) from None
    if not STORY_YEARS[0] <= moment.year <= STORY_YEARS[1]:
        raise PydanticCustomError(
            "bad_value",
            "must be a date between the years {low} and {high}; got {value}",
            {"low": STORY_YEARS[0], "high": STORY_YEARS[1], "value": repr(value)},
        )
    return moment


def format_story_time(moment: datetime) -> str:
    """The canonical written form: `2026-03-15T22:40`, with `:SS` only when not zero."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S" if moment.second else "%Y-%m-%dT%H:%M")


StoryDateTime = Annotated[
    datetime,
    BeforeValidator(_to_story_time),
    PlainSerializer(format_story_time, return_type=str),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": STORY_TIME_PATTERN,
            "description": "a local date and time in the story, no time zone",
            "examples": ["2026-03-15T22:40"],
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


def schema_extra(**extra: Any):
    """JSON Schema additions for a model: `x-` keys allowed, plus `extra`."""

    def apply(schema: dict[str, Any], model: type) -> None:
        schema["patternProperties"] = {"^x-": {"description": "author extension, ignored"}}
        schema.update(extra)

    return apply


class Block(BaseModel):
    """A mapping with a fixed set of keys (plus `x-` extensions, which are dropped)."""

    model_config = ConfigDict(strict=True, extra="forbid", json_schema_extra=schema_extra())

    @model_validator(mode="before")
    @classmethod
    def _drop_extensions(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if not str(k).startswith("x-")}
        return data
