"""Checks of the items of a scenario: duplicate ids, roles, actions, injects (who they
go to, the keys of their kind, their trigger, their attachments), objectives, and the
warnings about them that need the whole document."""

from __future__ import annotations

from scenarios.format.bundle import ATTACHMENT_TYPES, AttachmentProblem
from scenarios.format.check_law import LawChecks
from scenarios.format.checker import ALL, OPTION_ANY, OPTION_NONE
from scenarios.format.content import content_mismatch
from scenarios.format.diagnose import article, known
from scenarios.format.loader import DataPath
from scenarios.format.schema import LISTS, Inject, Scenario, unsafe_path_reason


class ItemChecks(LawChecks):
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
                    f"{name} is {article(role.kind)} role; 'profession' is for trainee roles only",
                    (*base, "profession"),
                    key=True,
                )
            if role.kind != "actor" and role.character is not None:
                self.report(
                    "character-on-non-actor",
                    f"{name} is {article(role.kind)} role; 'character' is for actor roles only",
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
            self.check_inject_law(index, inject)
            self.check_attachments(index, inject)
            if inject.phase is not None and self.phases.get(inject.phase) is None:
                if self.phases.verifiable(inject.phase):
                    self.report(
                        "unknown-phase",
                        f"inject '{inject.id}' belongs to unknown phase '{inject.phase}' "
                        f"({known(self.phases.ids(), 'no phases are defined')})",
                        ("injects", index, "phase"),
                    )

    def check_recipients(self, index: int, inject: Inject) -> None:
        base = ("injects", index)
        name = f"inject '{inject.id}'"
        if inject.to is None:
            unreadable = {"to", "reply"} & self.injects.dropped.get(index, set())
            if inject.kind != "broadcast" and not inject.reply and not unreadable:
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
                    f"cue '{inject.id}' is sent to '{ident}', {article(role.kind)} role; "
                    "cues go to actor roles only",
                    (*base, "to", j),
                )
            if inject.kind == "decision" and role.kind != "trainee":
                self.report(
                    "decision-to-non-trainee",
                    f"decision '{inject.id}' is sent to '{ident}', {article(role.kind)} role; "
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
                        f"inject '{inject.id}' is {article(inject.kind)}; "
                        f"'{key}' is for decisions only",
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
                f"inject '{inject.id}' is {article(inject.kind)}; "
                "a 'cue' block is for kind cue only",
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
            self.inject(inject.after.inject, (*base, "after", "inject"), f"{name} waits for")
        if inject.when is not None:
            self.check_when(inject.when, (*base, "when"), name, "when")

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

    # objectives

    def check_objectives(self) -> None:
        for index, objective in self.objectives.items:
            base = ("objectives", index)
            name = f"objective '{objective.id}'"
            for j, ident in enumerate(objective.roles or []):
                self.check_role(ident, (*base, "roles", j), f"{name} names")
            if objective.measure is not None:
                self.check_measure(objective.measure, (*base, "measure"), name, "measure")

    # warnings, on a document whose shape is valid

    def warn(self, doc: Scenario) -> None:
        roles = doc.roles
        received: set[str] = set()
        cued: set[str] = set()
        for inject in doc.injects:
            ids = set(inject.recipient_ids(roles))
            received |= ids | self.reply_targets(inject)
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
        for index, request in enumerate(doc.requests):
            if request.senders and not trainees & set(request.senders):
                self.report(
                    "request-without-trainee",
                    f"request '{request.id}' can be sent by no trainee role: only trainees "
                    "send requests",
                    ("requests", index, "from"),
                    key=True,
                )
