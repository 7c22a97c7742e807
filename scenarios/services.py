"""Writes to the scenario library: importing a scenario file, and exporting a version.

The file format itself (reading, validating, canonical text) is `scenarios.format`,
which knows nothing of the database. This module maps a checked document to rows and
rows back to a document, so that import and export go through the same models and the
same canonical form.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from scenarios.format import (
    CheckedScenario,
    Diagnostic,
    ExportedScenario,
    ScenarioInvalid,
    Source,
    check_scenario,
)
from scenarios.format import schema as fmt
from scenarios.format.bundle import ATTACHMENT_TYPES
from scenarios.format.export import export_document
from scenarios.format.stored import (
    condition_json,
    extends_file,
    extends_json,
    fiction_file,
    fiction_json,
    measure_file,
    measure_json,
    when_file,
    when_json,
)
from scenarios.models import (
    Action,
    Attachment,
    Blob,
    Countdown,
    Inject,
    Objective,
    Phase,
    Request,
    Role,
    Scenario,
    ScenarioVersion,
)


@dataclass(frozen=True)
class ImportResult:
    slug: str
    # The version's number: the new one, the unchanged latest one, or (check only) the
    # number an import would give.
    number: int
    created: bool  # a new version was written
    unchanged: bool  # the content equals the latest version's: nothing to write
    version: ScenarioVersion | None  # None when check_only
    warnings: list[Diagnostic] = field(default_factory=list)


def scenario_import(
    *,
    source: Source,
    user: Any = None,
    check_only: bool = False,
) -> ImportResult:
    """Import one scenario file, folder or zip as a new version of its slug.

    Raises ScenarioInvalid (with every error) and then writes nothing. A file whose
    canonical content equals the latest version of its slug makes no new version.
    """
    return scenario_import_many(sources=[source], user=user, check_only=check_only)[0]


def scenario_import_many(
    *,
    sources: Iterable[Source],
    user: Any = None,
    check_only: bool = False,
) -> list[ImportResult]:
    """Import several scenarios: all of them, or — if any is invalid — none.

    Every source is checked before anything is written, and ScenarioInvalid then
    carries the diagnostics of all of them.
    """
    checked: list[CheckedScenario] = []
    diagnostics: list[Diagnostic] = []
    failed = False
    for source in sources:
        try:
            checked.append(check_scenario(source))
        except ScenarioInvalid as invalid:
            failed = True
            diagnostics.extend(invalid.diagnostics)
    if failed:
        for scenario in checked:
            diagnostics.extend(scenario.warnings)
        raise ScenarioInvalid(diagnostics)

    if check_only:
        return [_preview(scenario) for scenario in checked]
    with transaction.atomic():
        return [store_checked(scenario, user) for scenario in checked]


def _preview(checked: CheckedScenario) -> ImportResult:
    latest = ScenarioVersion.objects.filter(scenario__slug=checked.slug).order_by("-number").first()
    unchanged = latest is not None and latest.content_hash == checked.content_hash
    number = latest.number if unchanged else (latest.number + 1 if latest else 1)
    return ImportResult(
        slug=checked.slug,
        number=number,
        created=False,
        unchanged=unchanged,
        version=None,
        warnings=checked.warnings,
    )


def store_checked(checked: CheckedScenario, user: Any) -> ImportResult:
    """Store a checked scenario as the next version of its slug (inside a transaction)."""
    doc = checked.doc
    Scenario.objects.get_or_create(slug=doc.slug)
    # Locking the scenario row serialises concurrent imports of one slug, so two of
    # them cannot both take number max+1.
    scenario = Scenario.objects.select_for_update().get(slug=doc.slug)
    latest = scenario.versions.order_by("-number").first()
    if latest is not None and latest.content_hash == checked.content_hash:
        return ImportResult(
            slug=doc.slug,
            number=latest.number,
            created=False,
            unchanged=True,
            version=latest,
            warnings=checked.warnings,
        )
    version = ScenarioVersion.objects.create(
        scenario=scenario,
        number=latest.number + 1 if latest else 1,
        format=doc.format,
        title=doc.title,
        language=doc.language,
        author_version=doc.version,
        summary=doc.summary or "",
        duration_s=doc.duration,
        authors=list(doc.authors),
        tags=list(doc.tags),
        content_hash=checked.content_hash,
        source_name=checked.source_name[:300],
        warnings=[str(warning) for warning in checked.warnings],
        safety_stop=doc.safety.stop,
        fiction=fiction_json(doc.fiction) if doc.fiction is not None else None,
        imported_by=user if getattr(user, "is_authenticated", False) else None,
    )
    _VersionWriter(version, doc, checked.files).write()
    return ImportResult(
        slug=doc.slug,
        number=version.number,
        created=True,
        unchanged=False,
        version=version,
        warnings=checked.warnings,
    )


def store_blob(path: str, data: bytes) -> Blob:
    """The content-addressed row holding `data` (an attachment's type is its extension's)."""
    extension = path.rsplit(".", 1)[-1].lower()
    blob, _ = Blob.objects.get_or_create(
        sha256=hashlib.sha256(data).hexdigest(),
        defaults={"size": len(data), "content_type": ATTACHMENT_TYPES[extension], "data": data},
    )
    return blob


def _first_form(when: fmt.When | None) -> str | None:
    """ "decision" or "action" for a `when` of the two first forms without delay (stored
    in the trigger columns as they always were); None for any other."""
    if when is None or when.delay:
        return None
    forms = when.forms()
    return forms[0] if forms in (["decision"], ["action"]) else None


def _waits_for(spec: fmt.Inject) -> str | None:
    """The inject whose row `spec`'s row points to (`after`, `when` decision)."""
    if spec.after is not None:
        return spec.after.inject
    if _first_form(spec.when) == "decision":
        return spec.when.decision
    return None


class _VersionWriter:
    """Creates the rows of one version from a validated document.

    Rows are immutable, so every foreign key must be known when a row is created:
    injects are created dependencies first (an `after`/`when` target before the
    injects that wait for it), which the importer's cycle check makes possible.
    """

    def __init__(self, version: ScenarioVersion, doc: fmt.Scenario, files: dict[str, bytes]):
        self.version = version
        self.doc = doc
        self.files = files
        self.roles: dict[str, Role] = {}
        self.phases: dict[str, Phase] = {}
        self.actions: dict[str, Action] = {}
        self.injects: dict[str, Inject] = {}
        self.blobs: dict[str, Blob] = {}

    def write(self) -> None:
        self.write_roles()
        for order, phase in enumerate(self.doc.phases):
            self.phases[phase.id] = Phase.objects.create(
                version=self.version,
                ident=phase.id,
                order=order,
                title=phase.title,
                description=phase.description or "",
                starts_s=phase.starts,
            )
        for order, action in enumerate(self.doc.actions):
            row = Action.objects.create(
                version=self.version,
                ident=action.id,
                order=order,
                label=action.label,
                description=action.description or "",
                once=action.once,
            )
            row.roles.set(self.role_rows(action.roles))
            self.actions[action.id] = row
        for order, request in enumerate(self.doc.requests):
            row = Request.objects.create(
                version=self.version,
                ident=request.id,
                order=order,
                label=request.label,
                description=request.description or "",
                decider=self.roles[request.to],
                deadline_s=request.deadline,
                once=request.once,
            )
            row.senders.set(self.role_rows(request.senders))
        for order, countdown in enumerate(self.doc.countdowns):
            row = Countdown.objects.create(
                version=self.version,
                ident=countdown.id,
                order=order,
                title=countdown.title,
                description=countdown.description or "",
                limit_s=countdown.limit,
                starts=condition_json(countdown.starts),
                stops=condition_json(countdown.stops) if countdown.stops is not None else None,
                extends=extends_json(countdown),
                warn_s=sorted(set(countdown.warn), reverse=True),
            )
            row.roles.set(self.role_rows(countdown.roles))
        specs = {inject.id: (order, inject) for order, inject in enumerate(self.doc.injects)}
        for inject in self.doc.injects:
            # The chain of injects this one waits for, created from its far end; a loop
            # rather than recursion, as a chain may be thousands of injects long.
            chain: list[str] = []
            ident: str | None = inject.id
            while ident is not None and ident not in self.injects:
                chain.append(ident)
                ident = _waits_for(specs[ident][1])  # ends: validation refused cycles
            for ident in reversed(chain):
                self.write_inject(*specs[ident])
        for order, objective in enumerate(self.doc.objectives):
            self.write_objective(order, objective)

    def role_rows(self, ids: Iterable[str]) -> list[Role]:
        return [self.roles[ident] for ident in dict.fromkeys(ids)]

    def write_roles(self) -> None:
        for order, role in enumerate(self.doc.roles):
            self.roles[role.id] = Role.objects.create(
                version=self.version,
                ident=role.id,
                order=order,
                title=role.title,
                kind=role.kind,
                profession=role.profession or "",
                seats=role.seats,
                briefing=role.briefing or "",
                character=role.character.model_dump(exclude_none=True) if role.character else None,
                contacts_explicit=role.contacts is not None,
            )
        for role in self.doc.roles:
            if role.contacts:
                self.roles[role.id].contacts.set(self.role_rows(role.contacts))

    def write_inject(self, order: int, spec: fmt.Inject) -> None:
        """Create one inject; the inject it waits for, if any, exists already."""
        fields: dict[str, Any] = {"trigger": Inject.Trigger.MANUAL}
        if spec.at is not None:
            fields.update(trigger=Inject.Trigger.AT, at_s=spec.at)
        elif spec.after is not None:
            fields.update(
                trigger=Inject.Trigger.AFTER,
                after_inject=self.injects[spec.after.inject],
                after_delay_s=spec.after.delay,
            )
        elif _first_form(spec.when) == "action":
            fields.update(trigger=Inject.Trigger.ACTION, when_action=self.actions[spec.when.action])
        elif _first_form(spec.when) == "decision":
            fields.update(
                trigger=Inject.Trigger.DECISION,
                when_decision=self.injects[spec.when.decision],
                when_option=spec.when.option,
            )
        elif spec.when is not None:
            fields.update(trigger=Inject.Trigger.WHEN)
        row = Inject.objects.create(
            version=self.version,
            ident=spec.id,
            order=order,
            kind=spec.kind,
            phase=self.phases[spec.phase] if spec.phase else None,
            title=spec.title,
            body=spec.body or "",
            sender=spec.sender or "",
            to_all=spec.to_all,
            to_given=spec.to is not None,
            manual_explicit=bool(spec.manual),
            cue=spec.cue.model_dump(by_alias=True, exclude_none=True) if spec.cue else None,
            options=[option.model_dump() for option in spec.options]
            if spec.options is not None
            else None,
            free_text=spec.free_text,
            deadline_s=spec.deadline,
            when=when_json(spec.when) if spec.when is not None else None,
            condition=condition_json(spec.if_) if spec.if_ is not None else None,
            reply=spec.reply,
            repeat=spec.repeat,
            key_fact=spec.key_fact,
            **fields,
        )
        row.recipients.set(self.role_rows(spec.recipient_ids(self.doc.roles)))
        for position, attachment in enumerate(spec.attachments):
            Attachment.objects.create(
                inject=row,
                order=position,
                path=attachment.file,
                title=attachment.title or "",
                blob=self.blob(attachment.file),
            )
        self.injects[spec.id] = row

    def blob(self, path: str) -> Blob:
        if path not in self.blobs:
            self.blobs[path] = store_blob(path, self.files[path])
        return self.blobs[path]

    def write_objective(self, order: int, spec: fmt.Objective) -> None:
        fields: dict[str, Any] = {}
        measure = spec.measure
        if measure is not None:
            fields["within_s"] = measure.within
            fields["measure_spec"] = measure_json(measure)
            kind = measure.forms()[0]
            if kind in ("request", "countdown"):
                fields["measure"] = kind
            elif kind not in ("decision", "action", "message"):
                fields["measure"] = Objective.Measure.COMBINED
            elif measure.decision is not None:
                fields.update(
                    measure=Objective.Measure.DECISION,
                    measure_decision=self.injects[measure.decision],
                    measure_option=measure.option,
                )
            elif measure.action is not None:
                fields.update(
                    measure=Objective.Measure.ACTION, measure_action=self.actions[measure.action]
                )
            else:
                fields.update(
                    measure=Objective.Measure.MESSAGE,
                    measure_from=self.roles[measure.message.sender],
                    measure_to=self.roles[measure.message.to],
                )
        row = Objective.objects.create(
            version=self.version,
            ident=spec.id,
            order=order,
            title=spec.title,
            description=spec.description or "",
            **fields,
        )
        row.roles.set(self.role_rows(spec.roles or []))


# --- export -------------------------------------------------------------------------------


def scenario_document(*, version: ScenarioVersion) -> tuple[fmt.Scenario, dict[str, bytes]]:
    """The stored version as a format document, with its attachment files."""
    roles = list(version.roles.prefetch_related("contacts").order_by("order"))
    role_order = {role.pk: role.order for role in roles}

    def idents(rows: Iterable[Role]) -> list[str]:
        return [role.ident for role in sorted(rows, key=lambda r: role_order[r.pk])]

    files: dict[str, bytes] = {}
    injects = []
    for inject in (
        version.injects.select_related("phase", "after_inject", "when_decision", "when_action")
        .prefetch_related("recipients", "attachments__blob")
        .order_by("order")
    ):
        item: dict[str, Any] = {
            "id": inject.ident,
            "kind": inject.kind,
            "to": ("all" if inject.to_all else idents(inject.recipients.all()))
            if inject.to_given
            else None,
            "phase": inject.phase.ident if inject.phase else None,
            "title": inject.title,
            "body": inject.body,
            "from": inject.sender,
            "attachments": [],
            "cue": inject.cue,
            "options": inject.options,
            "deadline": inject.deadline_s,
        }
        if inject.free_text:
            item["free_text"] = True
        for attachment in inject.attachments.all():
            item["attachments"].append({"file": attachment.path, "title": attachment.title})
            files[attachment.path] = bytes(attachment.blob.data)
        if inject.reply:
            item["reply"] = True
        if inject.repeat:
            item["repeat"] = True
        if inject.key_fact:
            item["key_fact"] = True
        if inject.condition is not None:
            item["if"] = inject.condition
        if inject.trigger == Inject.Trigger.AT:
            item["at"] = inject.at_s
        elif inject.trigger == Inject.Trigger.AFTER:
            item["after"] = {
                "inject": inject.after_inject.ident,
                "delay": inject.after_delay_s or 0,
            }
        elif inject.when is not None:  # every `when` form, when stored normalised
            item["when"] = when_file(inject.when)
        elif inject.trigger == Inject.Trigger.DECISION:
            item["when"] = {"decision": inject.when_decision.ident, "option": inject.when_option}
        elif inject.trigger == Inject.Trigger.ACTION:
            item["when"] = {"action": inject.when_action.ident}
        elif inject.manual_explicit:
            item["manual"] = True
        injects.append(item)

    objectives = []
    for objective in (
        version.objectives.select_related(
            "measure_decision", "measure_action", "measure_from", "measure_to"
        )
        .prefetch_related("roles")
        .order_by("order")
    ):
        measure: dict[str, Any] | None = None
        if objective.measure_spec is not None:
            measure = measure_file(objective.measure_spec)
        elif objective.measure == Objective.Measure.DECISION:
            measure = {
                "decision": objective.measure_decision.ident,
                "option": objective.measure_option,
            }
        elif objective.measure == Objective.Measure.ACTION:
            measure = {"action": objective.measure_action.ident}
        elif objective.measure == Objective.Measure.MESSAGE:
            measure = {
                "message": {"from": objective.measure_from.ident, "to": objective.measure_to.ident}
            }
        if measure is not None and objective.measure_spec is None:
            measure["within"] = objective.within_s
        listed = idents(objective.roles.all())
        objectives.append(
            {
                "id": objective.ident,
                "title": objective.title,
                "description": objective.description,
                "roles": listed or None,
                "measure": measure,
            }
        )

    raw = {
        "format": version.format,
        "slug": version.scenario.slug,
        "title": version.title,
        "language": version.language,
        "version": version.author_version,
        "summary": version.summary,
        "duration": version.duration_s,
        "authors": version.authors,
        "tags": version.tags,
        "safety": {"stop": version.safety_stop},
        "fiction": fiction_file(version.fiction) if version.fiction is not None else None,
        "objectives": objectives,
        "roles": [
            {
                "id": role.ident,
                "title": role.title,
                "kind": role.kind,
                "profession": role.profession or None,
                "seats": role.seats,
                "briefing": role.briefing,
                "character": role.character,
                "contacts": idents(role.contacts.all()) if role.contacts_explicit else None,
            }
            for role in roles
        ],
        "phases": [
            {
                "id": phase.ident,
                "title": phase.title,
                "description": phase.description,
                "starts": phase.starts_s,
            }
            for phase in version.phases.order_by("order")
        ],
        "actions": [
            {
                "id": action.ident,
                "roles": idents(action.roles.all()),
                "label": action.label,
                "description": action.description,
                "once": action.once,
            }
            for action in version.actions.prefetch_related("roles").order_by("order")
        ],
        "requests": [
            {
                "id": request.ident,
                "label": request.label,
                "from": idents(request.senders.all()),
                "to": request.decider.ident,
                "description": request.description,
                "deadline": request.deadline_s,
                "once": request.once,
            }
            for request in version.requests.select_related("decider")
            .prefetch_related("senders")
            .order_by("order")
        ],
        "countdowns": [
            {
                "id": countdown.ident,
                "title": countdown.title,
                "description": countdown.description,
                "roles": idents(countdown.roles.all()),
                "limit": countdown.limit_s,
                "starts": countdown.starts,
                "stops": countdown.stops,
                "extends": extends_file(countdown.extends),
                "warn": countdown.warn_s,
            }
            for countdown in version.countdowns.prefetch_related("roles").order_by("order")
        ],
        "injects": injects,
    }
    # Through the same models as an import: what is exported is what would be accepted.
    return fmt.Scenario.model_validate(_drop_none(raw)), files


def _drop_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_none(v) for v in value]
    return value


def scenario_export(*, version: ScenarioVersion) -> ExportedScenario:
    """The canonical YAML of a stored version and its attachment files.

    Write it with `.to_zip()`, `.write_zip(path)`, `.write_folder(path)` or, when it has
    no attachments, `.write_yaml(path)`.
    """
    doc, files = scenario_document(version=version)
    return export_document(doc, files)
