"""The keys that put the law in a scenario: story time, statutory countdowns,
authorisation requests, conditions, and the safety stop's behaviour.

They are optional and additive (see "Additions to simtrain.scenario/1" in the spec):
a file without them is read exactly as before. Like `schema.py`, these models check
each value on its own; how the parts refer to one another is checked in
`check_law.py`, and the trigger graph they take part in in `trigger_graph.py`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, ConfigDict, Field
from pydantic_core import PydanticCustomError

from scenarios.format.values import (
    Block,
    Duration,
    Id,
    Markdown,
    RoleIds,
    StoryDateTime,
    StoryDuration,
    Title,
    schema_extra,
)

RequestOutcome = Literal["approved", "rejected", "none", "any", "sent"]
CountdownState = Literal["running", "expired", "stopped"]
SafetyStop = Literal["hold", "alert"]


def forms_schema(forms: dict[str, tuple[str, ...]]) -> list[dict[str, Any]]:
    """JSON Schema `oneOf` branches: each form's keys, and no key of another form."""
    branches = []
    for name, keys in forms.items():
        others = [key for other, keys_ in forms.items() if other != name for key in keys_]
        branches.append(
            {"required": list(keys), "not": {"anyOf": [{"required": [key]} for key in others]}}
        )
    return branches


def key_values(model: Block) -> dict[str, Any]:
    """The model's values by the keys a file writes (aliases: `if`, `from`, `all` …)."""
    return {
        field.alias or name: getattr(model, name)
        for name, field in type(model).model_fields.items()
    }


def given_forms(model: Block, forms: dict[str, tuple[str, ...]]) -> list[str]:
    """The forms of `forms` that `model` has at least one key of, in the forms' order."""
    values = key_values(model)
    return [name for name, keys in forms.items() if any(values[key] is not None for key in keys)]


# --- conditions -----------------------------------------------------------------------------

# Each form of a condition and its keys; the first key names the form.
CONDITION_FORMS: dict[str, tuple[str, ...]] = {
    "inject": ("inject",),
    "decision": ("decision", "option"),
    "action": ("action",),
    "request": ("request", "outcome"),
    "countdown": ("countdown", "state"),
    "all": ("all",),
    "any": ("any",),
    "not": ("not",),
}


class Condition(Block):
    """A state of the session, checked when needed: `if`, a countdown's `starts`,
    `stops` and `extends[].when`. Exactly one form."""

    model_config = ConfigDict(json_schema_extra=schema_extra(oneOf=forms_schema(CONDITION_FORMS)))

    inject: Id | None = Field(None, description="this inject has fired")
    decision: Id | None = Field(None, description="this decision was answered with `option`")
    option: Id | None = Field(None, description="an option id of the decision, any or none")
    action: Id | None = Field(None, description="this action was taken")
    request: Id | None = Field(None, description="this request had `outcome`")
    outcome: RequestOutcome | None = None
    countdown: Id | None = Field(None, description="this countdown is in `state`")
    state: CountdownState | None = None
    all_: Annotated[list[Condition], Field(min_length=1)] | None = Field(
        None, alias="all", description="every one of these holds"
    )
    any_: Annotated[list[Condition], Field(min_length=1)] | None = Field(
        None, alias="any", description="at least one of these holds"
    )
    not_: Condition | None = Field(None, alias="not", description="this does not hold")

    def forms(self) -> list[str]:
        return given_forms(self, CONDITION_FORMS)


# --- fiction --------------------------------------------------------------------------------


class Jump(Block):
    """The story skips ahead: at clock `at`, story time becomes `to`."""

    at: Duration = Field(description="the exercise clock time of the jump")
    to: StoryDateTime = Field(description="the story date and time it jumps to")


class Fiction(Block):
    """The story's calendar: story time at clock t is `starts + t`, or, after the last
    jump with `at ≤ t`, that jump's `to + (t − at)`."""

    starts: StoryDateTime = Field(description="the story date and time at exercise clock 0")
    jumps: list[Jump] = Field([], description="in clock order; the story never goes back")


# --- countdowns -----------------------------------------------------------------------------


class Extension(Block):
    """When `when` first holds, the countdown gets `by` more (once)."""

    when: Condition
    by: StoryDuration


class Countdown(Block):
    """A statutory time limit (garde à vue, rétention …), counted in story time from the
    first moment `starts` holds."""

    id: Id
    title: Title
    description: Markdown = Field(None, description="its legal basis, shown to its holders")
    roles: RoleIds = Field(description="who sees it; the trainer always does")
    limit: StoryDuration = Field(description="how long it runs, in story time")
    starts: Condition = Field(description="it starts the first moment this holds")
    stops: Condition | None = Field(None, description="it stops the first moment this holds")
    extends: list[Extension] = Field([], description="each applies once")
    warn: list[StoryDuration] = Field(
        [], description="warn this long before expiry (kept longest first, each once)"
    )


# --- requests -------------------------------------------------------------------------------


def _one_role(value: Any) -> Any:
    if not isinstance(value, str):
        raise PydanticCustomError(
            "bad_type", "must be {expected}", {"expected": "one role id (the role that decides)"}
        )
    return value


class Request(Block):
    """An act that needs someone's authorisation: a `from` role sends it with its
    reasons, the `to` role approves or rejects it with theirs."""

    id: Id
    label: Title = Field(description="the sender's button")
    senders: RoleIds = Field(alias="from", description="the roles that may send it")
    to: Annotated[Id, BeforeValidator(_one_role)] = Field(description="the role that decides")
    description: Markdown = Field(None, description="shown to both sides")
    deadline: Duration | None = Field(
        None, description="clock time after sending; unanswered by then, the outcome is none"
    )
    once: bool = Field(True, description="false: it may be sent again after a decision")


# --- safety ---------------------------------------------------------------------------------


class Safety(Block):
    """What the safety stop does: `hold` pauses the exercise for everyone until the
    trainer resumes it; `alert` only alerts the trainer (the behaviour before hold)."""

    stop: SafetyStop = "hold"
