"""The normalised JSON a version stores for the law keys, and back to the file's form.

The shapes are documented where they are read: conditions and measures in
`scenarios.conditions`, `when` in `scenarios.triggers`, fiction in `scenarios.fiction`.
They are the file's forms, with every duration as whole seconds under a key ending in
`_s` (`delay_s`, `within_s`, `by_s`, `at_s`) and story date-times as ISO text with
seconds (`2026-03-15T22:40:00`). Keys with no value are left out.

`lenient=True` serves the checks, which see documents with mistakes in them: a node
that is not exactly one form is left out instead of raising (one whose second key is
missing is kept, with None there: `{"decision": "d", "option": None}`).
"""

from __future__ import annotations

from typing import Any

from scenarios.format.law import CONDITION_FORMS, Condition, Countdown, Fiction, key_values
from scenarios.format.schema import MEASURE_FORMS, WHEN_FORMS, Measure, When

Json = dict[str, Any]


class NotOneForm(ValueError):
    """A condition, `when` or measure with no form or several (validation refuses it)."""


def _form(model: Condition | When | Measure, lenient: bool) -> str | None:
    forms = model.forms()
    if len(forms) == 1:
        return forms[0]
    if lenient:
        return None
    raise NotOneForm(f"{type(model).__name__} with forms {forms}")


def _all_of(models: list, convert, lenient: bool) -> list[Json]:
    converted = [convert(model, lenient=lenient) for model in models]
    return [item for item in converted if item is not None]


def condition_json(condition: Condition, *, lenient: bool = False) -> Json | None:
    kind = _form(condition, lenient)
    if kind is None:
        return None
    values = key_values(condition)
    if kind in ("all", "any"):
        return {kind: _all_of(values[kind], condition_json, lenient)}
    if kind == "not":
        inner = condition_json(condition.not_, lenient=lenient)
        return {"not": inner} if inner is not None else None
    return {key: values[key] for key in CONDITION_FORMS[kind]}


def when_json(when: When, *, lenient: bool = False) -> Json | None:
    kind = _form(when, lenient)
    if kind is None:
        return None
    values = key_values(when)
    if kind == "any":
        out: Json = {"any": _all_of(values["any"], when_json, lenient)}
    else:
        out = {key: values[key] for key in WHEN_FORMS[kind]}
    if when.delay:
        out["delay_s"] = when.delay
    return out


def measure_json(measure: Measure, *, lenient: bool = False) -> Json | None:
    kind = _form(measure, lenient)
    if kind is None:
        return None
    values = key_values(measure)
    if kind in ("all", "any", "before"):
        out: Json = {kind: _all_of(values[kind], measure_json, lenient)}
    elif kind == "not":
        inner = measure_json(measure.not_, lenient=lenient)
        if inner is None:
            return None
        out = {"not": inner}
    elif kind == "message":
        out = {"message": {"from": measure.message.sender, "to": measure.message.to}}
    else:
        out = {key: values[key] for key in MEASURE_FORMS[kind]}
    if measure.within is not None:
        out["within_s"] = measure.within
    return out


def fiction_json(fiction: Fiction) -> Json:
    return {
        "starts": fiction.starts.isoformat(timespec="seconds"),
        "jumps": [
            {"at_s": jump.at, "to": jump.to.isoformat(timespec="seconds")} for jump in fiction.jumps
        ],
    }


def extends_json(countdown: Countdown) -> list[Json]:
    return [{"when": condition_json(ext.when), "by_s": ext.by} for ext in countdown.extends]


# --- back to the file's form (durations as seconds, which the models read) -----------------


def _renamed(data: Any, names: dict[str, str]) -> Any:
    if isinstance(data, dict):
        return {names.get(key, key): _renamed(value, names) for key, value in data.items()}
    if isinstance(data, list):
        return [_renamed(item, names) for item in data]
    return data


def when_file(data: Json) -> Json:
    return _renamed(data, {"delay_s": "delay"})


def measure_file(data: Json) -> Json:
    return _renamed(data, {"within_s": "within"})


def fiction_file(data: Json) -> Json:
    return {
        "starts": data["starts"],
        "jumps": [{"at": jump["at_s"], "to": jump["to"]} for jump in data.get("jumps", [])],
    }


def extends_file(data: list[Json]) -> list[Json]:
    return [{"when": item["when"], "by": item["by_s"]} for item in data]
