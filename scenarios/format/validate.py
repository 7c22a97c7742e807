"""Validation of a loaded scenario: its shape (pydantic) and its meaning (this module).

Everything wrong is reported at once, compiler style, each problem at the line and
column of the key or value concerned. Only two things stop early: a file that is not
YAML at all (the loader) and a `format` this platform does not read (nothing else can
be judged against the wrong rules).

When some items of a list are malformed, the rest are still checked: each item is
validated on its own; an item whose malformed keys are all optional is checked
without them; references to an item that could not be read at all (its id is
"tainted") are not reported as dangling, since the author's real mistake is that item.
Warnings are only worked out for a document whose shape is entirely valid.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any, get_args, get_origin

from pydantic import BaseModel, ValidationError

from scenarios.format.bundle import ATTACHMENT_TYPES, AttachmentProblem, Bundle
from scenarios.format.errors import Diagnostic, Reporter
from scenarios.format.loader import DataPath, LoadedYaml
from scenarios.format.schema import (
    FORMAT,
    LISTS,
    PATTERN_HELP,
    SUPPORTED_FORMATS,
    Action,
    Inject,
    Role,
    Scenario,
    unsafe_path_reason,
)

OPTION_ANY, OPTION_NONE = "any", "none"
ALL = "all"


@dataclass
class Validated:
    doc: Scenario
    files: dict[str, bytes]  # attachment path -> content, for every attachment named
    warnings: list[Diagnostic] = field(default_factory=list)


# --- describing where and what ----------------------------------------------------------


def _owner(path: DataPath, data: Any) -> tuple[str | None, DataPath]:
    """("inject 'call-ase'", rest of the path) for a path inside a top-level list item."""
    if len(path) >= 2 and path[0] in LISTS and isinstance(path[1], int):
        noun = LISTS[path[0]][1]
        item = None
        if isinstance(data, dict) and isinstance(data.get(path[0]), list):
            items = data[path[0]]
            item = items[path[1]] if path[1] < len(items) else None
        ident = item.get("id") if isinstance(item, dict) else None
        if isinstance(ident, str) and ident:
            return f"{noun} '{ident}'", path[2:]
        return f"{noun} #{path[1] + 1}", path[2:]
    return None, path


def _field(path: DataPath) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _subject(path: DataPath, data: Any) -> str:
    """Who and which key, for messages: `inject 'x': 'after.delay'`."""
    owner, rest = _owner(path, data)
    if owner and rest:
        return f"{owner}: '{_field(rest)}'"
    if owner:
        return owner
    return f"'{_field(rest)}'" if rest else "the scenario"


def _show(value: Any) -> str:
    if value is None:
        return "an empty value"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "…"
        return repr(shown)
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def _choices(expected: str) -> str:
    # pydantic says "'message', 'document' or 'broadcast'"; authors read a plain list.
    return expected.replace("'", "").replace(" or ", ", ")


def _a(word: str) -> str:
    return f"an {word}" if word[0] in "aeiou" else f"a {word}"


def _suggest(word: str, known: list[str]) -> str:
    close = difflib.get_close_matches(word, known, n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _known(idents: list[str], none: str = "none are defined") -> str:
    return f"known: {', '.join(idents)}" if idents else none


def _unwrap(annotation: Any) -> Any:
    """The item type behind Optional[X], list[X], dict[K, X] and Annotated[X, …]."""
    while get_origin(annotation) is not None:
        args = [a for a in get_args(annotation) if a is not type(None)]
        if not args:
            return None
        annotation = args[-1] if get_origin(annotation) is dict else args[0]
    return annotation


def _model_at(path: DataPath) -> type[BaseModel] | None:
    """The model whose keys are valid at `path` (a mapping in the document)."""
    model: Any = Scenario
    for part in path:
        if isinstance(part, int):
            continue
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return None
        fields = {f.alias or name: f for name, f in model.model_fields.items()}
        if part not in fields:
            return None
        model = _unwrap(fields[part].annotation)
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


_TYPE_WORDS = {
    "string_type": "text",
    "int_type": "a whole number",
    "bool_type": "true or false",
    "list_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
}


def _report_schema_errors(exc: ValidationError, loaded: LoadedYaml, reporter: Reporter) -> None:
    data = loaded.data
    seen: set[tuple] = set()
    for error in exc.errors(include_url=False):
        kind, loc, value = error["type"], tuple(error["loc"]), error.get("input")
        ctx = error.get("ctx") or {}
        # A union (Optional) reports each branch; one message per place is enough.
        if (loc, kind) in seen:
            continue
        seen.add((loc, kind))
        subject = _subject(loc, data)
        if kind == "missing":
            owner, rest = _owner(loc, data)
            where = f"{owner}: " if owner else ""
            reporter.add("missing-key", f"{where}'{_field(rest)}' is required", loaded.at(loc[:-1]))
        elif kind == "extra_forbidden":
            parent, key = loc[:-1], str(loc[-1])
            model = _model_at(parent)
            known = [f.alias or n for n, f in model.model_fields.items()] if model else []
            owner, rest = _owner(parent, data)
            where = f"{owner}: " if owner else ""
            inside = f" in '{_field(rest)}'" if rest else ""
            reporter.add(
                "unknown-key",
                f"{where}unknown key '{key}'{inside}{_suggest(key, known)}",
                loaded.key_at(loc),
            )
        elif kind in _TYPE_WORDS or kind == "bad_type":
            expected = ctx.get("expected") if kind == "bad_type" else _TYPE_WORDS[kind]
            reporter.add(
                "bad-type", f"{subject} must be {expected}; got {_show(value)}", loaded.at(loc)
            )
        elif kind in ("literal_error", "enum"):
            reporter.add(
                "bad-value",
                f"{subject} must be one of {_choices(ctx.get('expected', ''))}; got {_show(value)}",
                loaded.at(loc),
            )
        elif kind == "string_pattern_mismatch":
            helper = PATTERN_HELP.get(ctx.get("pattern", ""), f"like {ctx.get('pattern')}")
            reporter.add(
                "bad-value", f"{subject} must be {helper}; got {_show(value)}", loaded.at(loc)
            )
        elif kind == "string_too_long":
            reporter.add(
                "bad-value",
                f"{subject} must be at most {ctx['max_length']} characters; it has {len(value)}",
                loaded.at(loc),
            )
        elif kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
            bound = {
                "greater_than_equal": ("at least", ctx.get("ge")),
                "less_than_equal": ("at most", ctx.get("le")),
                "greater_than": ("more than", ctx.get("gt")),
                "less_than": ("less than", ctx.get("lt")),
            }[kind]
            reporter.add(
                "bad-value",
                f"{subject} must be {bound[0]} {bound[1]}; got {_show(value)}",
                loaded.at(loc),
            )
        elif kind == "value_error":
            reporter.add("bad-value", f"{subject}: {ctx.get('error')}", loaded.at(loc))
        else:  # bad_value and anything else pydantic may say
            reporter.add("bad-value", f"{subject} {error['msg']}", loaded.at(loc))


# --- the document, as far as it could be read -------------------------------------------


@dataclass
class _Namespace:
    """The items of one top-level list that passed the schema, by id."""

    items: list[tuple[int, Any]] = field(default_factory=list)  # (index in file, model)
    by_id: dict[str, tuple[int, Any]] = field(default_factory=dict)
    written: list[str] = field(default_factory=list)  # every id in the file, valid or not
    dropped: dict[int, set[str]] = field(default_factory=dict)  # index -> unreadable keys
    tainted: set[str] = field(default_factory=set)
    complete: bool = True  # False: the list itself was unreadable; check nothing against it

    def add(self, index: int, model: Any) -> None:
        self.items.append((index, model))
        self.by_id.setdefault(model.id, (index, model))

    def verifiable(self, ident: str) -> bool:
        return self.complete and ident not in self.tainted

    def get(self, ident: str) -> Any | None:
        found = self.by_id.get(ident)
        return found[1] if found else None

    def ids(self) -> list[str]:
        """The ids to name in messages: all those written, in file order."""
        return list(dict.fromkeys(self.written))


def _namespaces(data: dict, doc: Scenario | None) -> dict[str, _Namespace]:
    spaces = {name: _Namespace() for name in LISTS}
    for name, (model, _noun) in LISTS.items():
        space = spaces[name]
        raw = data.get(name, [])
        if isinstance(raw, list):
            space.written = [
                item["id"]
                for item in raw
                if isinstance(item, dict) and isinstance(item.get("id"), str)
            ]
        if doc is not None:
            for index, item in enumerate(getattr(doc, name)):
                space.add(index, item)
            continue
        if not isinstance(raw, list):
            space.complete = False
            continue
        for index, item in enumerate(raw):
            try:
                space.add(index, model.model_validate(item))
                continue
            except ValidationError as exc:
                bad = {e["loc"][0] for e in exc.errors() if e["loc"] and e["type"] != "missing"}
            # Without its malformed optional keys the item may still be checked for the
            # rest (a bad `at` should not hide a bad `to`); `dropped` tells the checks
            # which keys they cannot judge.
            if isinstance(item, dict) and not bad & _required(model):
                try:
                    partial = model.model_validate({k: v for k, v in item.items() if k not in bad})
                except ValidationError:
                    pass
                else:
                    space.add(index, partial)
                    space.dropped[index] = {str(key) for key in bad}
                    continue
            ident = item.get("id") if isinstance(item, dict) else None
            if isinstance(ident, str):
                space.tainted.add(ident)
            else:  # an item without a usable id could be anything
                space.complete = False
    return spaces


def _required(model: type[BaseModel]) -> set[str]:
    return {f.alias or name for name, f in model.model_fields.items() if f.is_required()}


# --- the checks ---------------------------------------------------------------------------


class _Checker:
    def __init__(
        self,
        loaded: LoadedYaml,
        reporter: Reporter,
        spaces: dict[str, _Namespace],
        bundle: Bundle | None,
    ):
        self.loaded = loaded
        self.data = loaded.data
        self.reporter = reporter
        self.spaces = spaces
        self.roles: _Namespace = spaces["roles"]
        self.phases: _Namespace = spaces["phases"]
        self.actions: _Namespace = spaces["actions"]
        self.injects: _Namespace = spaces["injects"]
        self.objectives: _Namespace = spaces["objectives"]
        self.bundle = bundle
        self.files: dict[str, bytes] = {}
        self.cyclic: set[str] = set()

    def report(self, code: str, message: str, path: DataPath, *, key: bool = False) -> None:
        at = self.loaded.key_at(path) if key else self.loaded.at(path)
        self.reporter.add(code, message, at)

    def role_ids(self) -> list[str]:
        return self.roles.ids()

    # references

    def check_role(self, ident: str, path: DataPath, what: str) -> Role | None:
        """The role `ident`, or None after reporting it (when it can be judged)."""
        role = self.roles.get(ident)
        if role is None and self.roles.verifiable(ident):
            self.report(
                "unknown-role",
                f"{what} unknown role '{ident}' "
                f"({_known(self.role_ids(), 'no roles are defined')})",
                path,
            )
        return role

    def decision(self, ident: str, path: DataPath, who: str) -> Inject | None:
        """The decision inject `ident`, or None after reporting why it is not one."""
        inject = self.injects.get(ident)
        if inject is None:
            if self.injects.verifiable(ident):
                self.report(
                    "unknown-decision",
                    f"{who} decision '{ident}', but there is no inject '{ident}'"
                    + _suggest(ident, self.injects.ids()),
                    path,
                )
            return None
        if inject.kind != "decision":
            self.report(
                "unknown-decision",
                f"{who} decision '{ident}', but inject '{ident}' is {_a(inject.kind)}, "
                "not a decision",
                path,
            )
            return None
        return inject

    def action(self, ident: str, path: DataPath, who: str) -> Action | None:
        action = self.actions.get(ident)
        if action is None and self.actions.verifiable(ident):
            self.report(
                "unknown-action",
                f"{who} unknown action '{ident}' "
                f"({_known(self.actions.ids(), 'no actions are defined')})",
                path,
            )
        return action

    # duplicates, on the raw data so that malformed items count too

    def check_duplicates(self) -> None:
        for name, (_model, noun) in LISTS.items():
            raw = self.data.get(name)
            if isinstance(raw, list):
                self._duplicates(raw, (name,), f"duplicate {noun} id")
        injects = self.data.get("injects")
        for index, item in enumerate(injects if isinstance(injects, list) else []):
            if isinstance(item, dict) and isinstance(item.get("options"), list):
                ident = item.get("id")
                self._duplicates(
                    item["options"],
                    ("injects", index, "options"),
                    f"decision '{ident}' has a duplicate option id",
                )

    def _duplicates(self, items: list, path: DataPath, message: str) -> None:
        first: dict[str, int] = {}
        for index, item in enumerate(items):
            ident = item.get("id") if isinstance(item, dict) else None
            if not isinstance(ident, str):
                continue
            where = (*path, index, "id")
            if ident in first:
                line = self.loaded.at((*path, first[ident], "id"))[0]
                self.report("duplicate-id", f"{message} '{ident}' (first at line {line})", where)
            else:
                first[ident] = index

    # roles

    def check_roles(self) -> None:
        for index, role in self.roles.items:
            base = ("roles", index)
            name = f"role '{role.id}'"
            if role.id == ALL:
                self.report(
                    "reserved-id",
                    "role id 'all' is reserved: `to: all` means every role",
                    (*base, "id"),
                )
            unreadable = self.roles.dropped.get(index, set())
            if (
                role.kind == "trainee"
                and role.profession is None
                and "profession" not in unreadable
            ):
                self.report(
                    "profession-required",
                    f"{name} is a trainee role and needs a 'profession' (police, prosecutor, "
                    "judge, lawyer, social_worker, interpreter, medical or other)",
                    base,
                )
            if role.kind != "trainee" and role.profession is not None:
                self.report(
                    "profession-on-non-trainee",
                    f"{name} is {_a(role.kind)} role; 'profession' is for trainee roles only",
                    (*base, "profession"),
                    key=True,
                )
            if role.kind != "actor" and role.character is not None:
                self.report(
                    "character-on-non-actor",
                    f"{name} is {_a(role.kind)} role; 'character' is for actor roles only",
                    (*base, "character"),
                    key=True,
                )
            for j, ident in enumerate(role.contacts or []):
                self.check_role(ident, (*base, "contacts", j), f"{name} lists as contact")

        if self.roles.complete and not self.roles.tainted and self.roles.items:
            if not any(role.kind == "trainee" for _i, role in self.roles.items):
                self.report(
                    "no-trainee-role",
                    "the scenario has no trainee role: at least one role needs kind: trainee",
                    ("roles",),
                    key=True,
                )

    def check_actions(self) -> None:
        for index, action in self.actions.items:
            for j, ident in enumerate(action.roles):
                self.check_role(
                    ident, ("actions", index, "roles", j), f"action '{action.id}' names"
                )

    # injects

    def check_injects(self) -> None:
        for index, inject in self.injects.items:
            self.check_recipients(index, inject)
            self.check_kind_keys(index, inject)
            self.check_trigger(index, inject)
            self.check_attachments(index, inject)
            if inject.phase is not None and self.phases.get(inject.phase) is None:
                if self.phases.verifiable(inject.phase):
                    self.report(
                        "unknown-phase",
                        f"inject '{inject.id}' belongs to unknown phase '{inject.phase}' "
                        f"({_known(self.phases.ids(), 'no phases are defined')})",
                        ("injects", index, "phase"),
                    )

    def check_recipients(self, index: int, inject: Inject) -> None:
        base = ("injects", index)
        name = f"inject '{inject.id}'"
        if inject.to is None:
            if inject.kind != "broadcast" and "to" not in self.injects.dropped.get(index, ()):
                self.report(
                    "missing-key",
                    f"{name}: 'to' is required (only a broadcast may leave it out, "
                    "to reach every role)",
                    base,
                )
            return
        if ALL in inject.to and len(inject.to) > 1:
            self.report(
                "bad-value",
                f"{name}: 'to' is either all or a list of role ids, not both",
                (*base, "to"),
            )
            return
        if inject.to_all:
            return
        for j, ident in enumerate(inject.to):
            role = self.check_role(ident, (*base, "to", j), f"{name} sends to")
            if role is None:
                continue
            if inject.kind == "cue" and role.kind != "actor":
                self.report(
                    "cue-to-non-actor",
                    f"cue '{inject.id}' is sent to '{ident}', {_a(role.kind)} role; "
                    "cues go to actor roles only",
                    (*base, "to", j),
                )
            if inject.kind == "decision" and role.kind != "trainee":
                self.report(
                    "decision-to-non-trainee",
                    f"decision '{inject.id}' is sent to '{ident}', {_a(role.kind)} role; "
                    "only trainee roles answer decisions",
                    (*base, "to", j),
                )

    def check_kind_keys(self, index: int, inject: Inject) -> None:
        base = ("injects", index)
        given = inject.model_fields_set
        if inject.kind != "decision":
            for key in ("options", "free_text", "deadline"):
                if key in given:
                    self.report(
                        "options-on-non-decision",
                        f"inject '{inject.id}' is {_a(inject.kind)}; '{key}' is for decisions only",
                        (*base, key),
                        key=True,
                    )
        else:
            options = inject.options or []
            unreadable = {"options", "free_text"} & self.injects.dropped.get(index, set())
            if len(options) < 2 and not inject.free_text and not unreadable:
                self.report(
                    "too-few-options",
                    f"decision '{inject.id}' has {len(options)} option(s); a decision needs "
                    "at least 2, or free_text: true",
                    (*base, "options") if inject.options is not None else base,
                )
            for j, option in enumerate(options):
                if option.id in (OPTION_ANY, OPTION_NONE):
                    self.report(
                        "reserved-id",
                        f"decision '{inject.id}': option id '{option.id}' is reserved "
                        "(when.option uses any and none)",
                        (*base, "options", j, "id"),
                    )
        if inject.kind != "cue" and "cue" in given:
            self.report(
                "cue-on-non-cue",
                f"inject '{inject.id}' is {_a(inject.kind)}; a 'cue' block is for kind cue only",
                (*base, "cue"),
                key=True,
            )

    def check_trigger(self, index: int, inject: Inject) -> None:
        base = ("injects", index)
        name = f"inject '{inject.id}'"
        triggers = inject.triggers
        if len(triggers) > 1:
            self.report(
                "multiple-triggers",
                f"{name} has several triggers ({', '.join(triggers)}); give exactly one of "
                "at, after, when, manual",
                (*base, triggers[1]),
                key=True,
            )
        if inject.after is not None:
            target = inject.after.inject
            if self.injects.get(target) is None and self.injects.verifiable(target):
                self.report(
                    "unknown-inject",
                    f"{name} waits for unknown inject '{target}'"
                    + _suggest(target, self.injects.ids()),
                    (*base, "after", "inject"),
                )
        when = inject.when
        if when is None:
            return
        path = (*base, "when")
        if when.action is not None and (when.decision is not None or when.option is not None):
            self.report(
                "bad-value",
                f"{name}: 'when' takes either decision and option, or action, not both",
                path,
            )
            return
        if when.action is not None:
            self.action(when.action, (*path, "action"), f"{name} waits for")
            return
        if when.decision is None or when.option is None:
            missing = "option" if when.decision is not None else "decision"
            self.report(
                "missing-key",
                f"{name}: 'when.{missing}' is required: write when: {{decision: ID, "
                "option: OPTION}} (an option id, any or none) or when: {action: ID}",
                path,
            )
            return
        decision = self.decision(when.decision, (*path, "decision"), f"{name} waits for")
        if decision is not None and when.option not in (OPTION_ANY, OPTION_NONE):
            self._check_option(decision, when.option, (*path, "option"), name, "when")

    def _check_option(
        self, decision: Inject, option: str, path: DataPath, name: str, where: str
    ) -> None:
        ids = [o.id for o in decision.options or []]
        if option in ids:
            return
        extra = " (and any, none)" if where == "when" else " (any and none are for when only)"
        listed = ", ".join(ids) if ids else "no options"
        self.report(
            "unknown-option",
            f"{name} names option '{option}' of decision '{decision.id}', which has "
            f"{listed}{extra}",
            path,
        )

    def check_attachments(self, index: int, inject: Inject) -> None:
        for k, attachment in enumerate(inject.attachments):
            path = ("injects", index, "attachments", k, "file")
            name = f"inject '{inject.id}': attachment '{attachment.file}'"
            reason = unsafe_path_reason(attachment.file)
            if reason:
                self.report("unsafe-path", f"{name} {reason}", path)
                continue
            extension = attachment.file.rsplit(".", 1)[-1].lower() if "." in attachment.file else ""
            if extension not in ATTACHMENT_TYPES:
                self.report(
                    "bad-attachment",
                    f"{name}: this type of file is not allowed "
                    f"(allowed: {', '.join(ATTACHMENT_TYPES)})",
                    path,
                )
                continue
            if self.bundle is None:
                continue
            try:
                content = self.bundle.read(attachment.file)
            except AttachmentProblem as problem:
                self.report(problem.code, f"inject '{inject.id}': {problem.message}", path)
                continue
            mismatch = content_mismatch(extension, content)
            if mismatch:
                self.report("bad-attachment", f"{name} {mismatch}", path)
                continue
            self.files[attachment.file] = content

    # the trigger graph

    def dependency(self, inject: Inject) -> str | None:
        """The inject whose firing (or answer) this one waits for, if it exists."""
        if inject.after is not None and self.injects.get(inject.after.inject) is not None:
            return inject.after.inject
        when = inject.when
        if when is not None and when.decision is not None and when.action is None:
            target = self.injects.get(when.decision)
            if target is not None and target.kind == "decision":
                return when.decision
        return None

    def check_cycles(self) -> None:
        # Each inject waits for at most one other: following the chain from each
        # inject either ends or comes back on itself.
        index_of = {ident: index for ident, (index, _inject) in self.injects.by_id.items()}
        done: set[str] = set()
        for _index, inject in self.injects.items:
            chain: list[str] = []
            in_chain: set[str] = set()
            current: str | None = inject.id
            while current is not None and current not in done and current not in in_chain:
                chain.append(current)
                in_chain.add(current)
                current = self.dependency(self.injects.get(current))
            if current is not None and current in in_chain:
                cycle = chain[chain.index(current) :]
                first = min(cycle, key=lambda ident: index_of[ident])
                start = cycle.index(first)
                ordered = cycle[start:] + cycle[:start]
                self.cyclic.update(cycle)
                trigger = "after" if self.injects.get(first).after is not None else "when"
                self.report(
                    "trigger-cycle",
                    f"trigger cycle {' → '.join([*ordered, first])}: none of these injects "
                    "can ever fire",
                    ("injects", index_of[first], trigger),
                    key=True,
                )
            done.update(chain)

    # objectives

    def check_objectives(self) -> None:
        for index, objective in self.objectives.items:
            base = ("objectives", index)
            name = f"objective '{objective.id}'"
            for j, ident in enumerate(objective.roles or []):
                self.check_role(ident, (*base, "roles", j), f"{name} names")
            measure = objective.measure
            if measure is None:
                continue
            path = (*base, "measure")
            forms = [
                key
                for key, present in (
                    ("decision", measure.decision is not None or measure.option is not None),
                    ("action", measure.action is not None),
                    ("message", measure.message is not None),
                )
                if present
            ]
            if len(forms) != 1:
                self.report(
                    "bad-value" if forms else "missing-key",
                    f"{name}: 'measure' takes exactly one of decision (with option), action "
                    f"or message{'; got ' + ', '.join(forms) if forms else ''}",
                    path,
                )
                continue
            if forms == ["decision"]:
                if measure.decision is None or measure.option is None:
                    missing = "option" if measure.decision is not None else "decision"
                    self.report(
                        "missing-key",
                        f"{name}: 'measure.{missing}' is required with "
                        f"'measure.{'decision' if missing == 'option' else 'option'}'",
                        path,
                    )
                    continue
                decision = self.decision(measure.decision, (*path, "decision"), f"{name} measures")
                if decision is not None:
                    self._check_option(decision, measure.option, (*path, "option"), name, "measure")
            elif forms == ["action"]:
                self.action(measure.action, (*path, "action"), f"{name} measures")
            else:
                message = measure.message
                self.check_role(
                    message.sender, (*path, "message", "from"), f"{name} measures a message from"
                )
                self.check_role(
                    message.to, (*path, "message", "to"), f"{name} measures a message to"
                )

    # warnings, on a document whose shape is valid

    def warn(self, doc: Scenario) -> None:
        roles = doc.roles
        received: set[str] = set()
        cued: set[str] = set()
        for inject in doc.injects:
            ids = set(inject.recipient_ids(roles))
            received |= ids
            if inject.kind == "cue":
                cued |= ids
        for index, role in enumerate(roles):
            if role.kind == "actor" and role.id not in cued:
                self.report(
                    "actor-without-cue",
                    f"actor role '{role.id}' receives no cue",
                    ("roles", index, "id"),
                )
            if role.kind == "trainee" and role.id not in received:
                self.report(
                    "role-receives-nothing",
                    f"trainee role '{role.id}' receives no inject",
                    ("roles", index, "id"),
                )
        used_phases = {inject.phase for inject in doc.injects}
        for index, phase in enumerate(doc.phases):
            if phase.id not in used_phases:
                self.report(
                    "empty-phase", f"phase '{phase.id}' has no inject", ("phases", index, "id")
                )
        for index, objective in enumerate(doc.objectives):
            if not objective.roles:
                self.report(
                    "objective-without-role",
                    f"objective '{objective.id}' names no role",
                    ("objectives", index, "id"),
                )
        trainees = {role.id for role in roles if role.kind == "trainee"}
        for index, action in enumerate(doc.actions):
            if not trainees & set(action.roles):
                self.report(
                    "action-without-trainee",
                    f"action '{action.id}' can be taken by no trainee role: only trainees "
                    "take actions",
                    ("actions", index, "roles"),
                    key=True,
                )
        self.warn_never_fires(doc, trainees)

    def warn_never_fires(self, doc: Scenario, trainees: set[str]) -> None:
        def own_reason(inject: Inject) -> str | None:
            when = inject.when
            if when is not None and when.action is not None:
                action = self.actions.get(when.action)
                if action is not None and not trainees & set(action.roles):
                    return f"action '{action.id}' can be taken by no trainee"
            elif when is not None and when.option == OPTION_NONE:
                decision = self.injects.get(when.decision or "")
                if (
                    decision is not None
                    and decision.kind == "decision"
                    and decision.deadline is None
                ):
                    return (
                        f"decision '{decision.id}' has no deadline, so option 'none' "
                        "(unanswered in time) never happens"
                    )
            return None

        # Worked out along each chain of dependencies from its far end, without
        # recursion: a chain may be thousands of injects long. Cycles are errors
        # already and end a chain.
        reasons: dict[str, str | None] = {}
        for inject in doc.injects:
            chain: list[Inject] = []
            in_chain: set[str] = set()
            current: Inject | None = inject
            while (
                current is not None
                and current.id not in reasons
                and current.id not in self.cyclic
                and current.id not in in_chain
            ):
                chain.append(current)
                in_chain.add(current.id)
                dependency = self.dependency(current)
                current = self.injects.get(dependency) if dependency is not None else None
            for item in reversed(chain):
                why = own_reason(item)
                dependency = self.dependency(item)
                if why is None and dependency is not None and reasons.get(dependency):
                    why = f"it waits for inject '{dependency}', which can never fire"
                reasons[item.id] = why

        for index, inject in enumerate(doc.injects):
            why = reasons.get(inject.id)
            if why and self.injects.get(inject.id) is inject:
                self.report(
                    "never-fires",
                    f"inject '{inject.id}' can never fire: {why}",
                    ("injects", index, inject.triggers[0]),
                    key=True,
                )


CONTENT_CHECKS = {
    "pdf": (lambda d: d.startswith(b"%PDF-"), "a PDF"),
    "png": (lambda d: d.startswith(b"\x89PNG\r\n\x1a\n"), "a PNG image"),
    "jpg": (lambda d: d.startswith(b"\xff\xd8\xff"), "a JPEG image"),
    "jpeg": (lambda d: d.startswith(b"\xff\xd8\xff"), "a JPEG image"),
    "webp": (lambda d: d[:4] == b"RIFF" and d[8:12] == b"WEBP", "a WebP image"),
    "mp3": (
        lambda d: d.startswith(b"ID3") or (len(d) > 1 and d[0] == 0xFF and d[1] & 0xE0 == 0xE0),
        "an MP3 file",
    ),
    "ogg": (lambda d: d.startswith(b"OggS"), "an Ogg file"),
}


def content_mismatch(extension: str, content: bytes) -> str | None:
    """Why `content` is not a file of type `extension`, or None if it looks like one.

    Checked so that an attachment called `.pdf` is served as a PDF only if it is one.
    """
    if extension in ("txt", "md"):
        if b"\x00" in content:
            return "is not text: it holds NUL bytes"
        try:
            content.decode("utf-8")
        except UnicodeDecodeError:
            return "is not UTF-8 text"
        return None
    check, what = CONTENT_CHECKS[extension]
    if not check(content):
        return f"is not {what}: its content does not start like one"
    return None


def validate(loaded: LoadedYaml, bundle: Bundle | None) -> Validated:
    """Check a loaded document entirely. Raises ScenarioInvalid with every error found
    (and the warnings, when they could be worked out); returns the document and its
    attachment files otherwise."""
    reporter = Reporter(loaded.name)
    reporter.diagnostics.extend(loaded.diagnostics)
    data = loaded.data
    if not isinstance(data, dict):
        got = "an empty file" if data is None else _show(data)
        reporter.add(
            "bad-type",
            f"a scenario is a YAML mapping that starts with 'format: {FORMAT}'; got {got}",
            (1, 1),
        )
        raise reporter.fail()
    if "format" not in data:
        reporter.add(
            "missing-key", f"'format' is required: start the file with 'format: {FORMAT}'", (1, 1)
        )
        raise reporter.fail()
    if data["format"] not in SUPPORTED_FORMATS:
        reporter.add(
            "unsupported-format",
            f"format {_show(data['format'])} is not supported; "
            f"supported: {', '.join(SUPPORTED_FORMATS)}",
            loaded.at(("format",)),
        )
        raise reporter.fail()

    doc: Scenario | None = None
    try:
        doc = Scenario.model_validate(data)
    except ValidationError as exc:
        _report_schema_errors(exc, loaded, reporter)

    checker = _Checker(loaded, reporter, _namespaces(data, doc), bundle)
    checker.check_duplicates()
    checker.check_roles()
    checker.check_actions()
    checker.check_injects()
    checker.check_cycles()
    checker.check_objectives()
    if doc is not None:
        checker.warn(doc)

    if reporter.has_errors:
        raise reporter.fail()
    return Validated(doc=doc, files=checker.files, warnings=list(reporter.diagnostics))
