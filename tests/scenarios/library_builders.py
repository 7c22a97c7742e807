"""A small but complete scenario version, built through the ORM factories.

Used by the selector and view tests of the library pages, so they do not depend on the
file format. Every trigger kind, role kind and measure kind appears once.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from scenarios import models as sm
from tests.factories import (
    ActionFactory,
    InjectFactory,
    PhaseFactory,
    RoleFactory,
    ScenarioFactory,
    ScenarioVersionFactory,
)

Kind = sm.Inject.Kind
Trigger = sm.Inject.Trigger


@dataclass
class Built:
    version: sm.ScenarioVersion
    roles: dict[str, sm.Role]
    phases: dict[str, sm.Phase]
    injects: dict[str, sm.Inject]
    actions: dict[str, sm.Action]
    attachment: sm.Attachment


def blob_for(data: bytes, content_type: str = "application/pdf") -> sm.Blob:
    digest = hashlib.sha256(data).hexdigest()
    blob, _ = sm.Blob.objects.get_or_create(
        sha256=digest, defaults={"size": len(data), "content_type": content_type, "data": data}
    )
    return blob


def build_version(
    *,
    slug: str = "traite-mineurs",
    number: int = 1,
    title: str = "Traite des mineurs nigérianes",
    language: str = "fr",
    tags: list[str] | None = None,
    summary: str = "Une adolescente est **repérée** gare du Nord.",
    duration_s: int | None = 3600,
) -> Built:
    scenario = ScenarioFactory(slug=slug)
    version = ScenarioVersionFactory(
        scenario=scenario,
        number=number,
        title=title,
        language=language,
        tags=["traite", "mineurs"] if tags is None else tags,
        summary=summary,
        duration_s=duration_s,
        authors=["ENM"],
    )
    roles = {
        "police": RoleFactory(
            version=version,
            ident="police",
            order=0,
            title="Enquêtrice OCRTEH",
            briefing="Vous êtes de **permanence**.",
        ),
        "parquet": RoleFactory(
            version=version,
            ident="parquet",
            order=1,
            title="Substitut des mineurs",
            profession=sm.Role.Profession.PROSECUTOR,
        ),
        "joy": RoleFactory(
            version=version,
            ident="joy",
            order=2,
            title="Joy",
            kind=sm.Role.Kind.ACTOR,
            character={
                "age": "15 ans",
                "origin": "Benin City",
                "secrets": "Elle a une dette de 30 000 €.",
            },
        ),
        "avocat": RoleFactory(
            version=version,
            ident="avocat",
            order=3,
            title="Avocate",
            profession=sm.Role.Profession.LAWYER,
            contacts_explicit=True,
        ),
        "obs": RoleFactory(
            version=version,
            ident="obs",
            order=4,
            title="Évaluatrice",
            kind=sm.Role.Kind.OBSERVER,
        ),
    }
    roles["avocat"].contacts.set([roles["parquet"]])
    phases = {
        "reperage": PhaseFactory(
            version=version, ident="reperage", order=0, title="Repérage", starts_s=0
        ),
        "audition": PhaseFactory(
            version=version, ident="audition", order=1, title="Audition", starts_s=1200
        ),
        "suites": PhaseFactory(version=version, ident="suites", order=2, title="Suites"),
    }
    actions = {
        "interprete": ActionFactory(
            version=version,
            ident="interprete",
            order=0,
            label="Demander un interprète",
            roles=[roles["police"]],
        )
    }
    injects: dict[str, sm.Inject] = {}

    def inject(ident, order, kind, title, recipients, **fields):
        injects[ident] = InjectFactory(
            version=version,
            ident=ident,
            order=order,
            kind=kind,
            title=title,
            recipients=recipients,
            **fields,
        )
        return injects[ident]

    inject(
        "signalement",
        0,
        Kind.MESSAGE,
        "Signalement de la SNCF",
        [roles["police"]],
        trigger=Trigger.AT,
        at_s=120,
        phase=phases["reperage"],
        body="Une jeune fille **seule**.",
        sender="Commissariat du 10e",
    )
    inject(
        "appel-parquet",
        1,
        Kind.CALL,
        "Appel au parquet",
        [roles["parquet"]],
        trigger=Trigger.AFTER,
        after_inject=injects["signalement"],
        after_delay_s=180,
        phase=phases["reperage"],
    )
    inject(
        "cue-joy",
        2,
        Kind.CUE,
        "Joy se tait",
        [roles["joy"]],
        trigger=Trigger.AT,
        at_s=300,
        phase=phases["reperage"],
        cue={
            "say": "Je ne sais pas.",
            "do": "Regarder le sol",
            "if": {"on la rassure": "elle donne son prénom"},
        },
    )
    inject(
        "placement",
        3,
        Kind.DECISION,
        "Placement en urgence ?",
        [roles["parquet"]],
        trigger=Trigger.AT,
        at_s=600,
        phase=phases["reperage"],
        deadline_s=300,
        options=[
            {"id": "opp", "label": "Ordonnance de placement"},
            {"id": "rien", "label": "Ne rien faire"},
        ],
    )
    inject(
        "foyer",
        4,
        Kind.DOCUMENT,
        "Rapport du foyer",
        [roles["avocat"]],
        trigger=Trigger.DECISION,
        when_decision=injects["placement"],
        when_option="opp",
        phase=phases["audition"],
    )
    inject(
        "relance",
        5,
        Kind.MESSAGE,
        "Relance du commissariat",
        [roles["police"]],
        trigger=Trigger.DECISION,
        when_decision=injects["placement"],
        when_option="none",
    )
    inject(
        "annonce",
        6,
        Kind.BROADCAST,
        "Fin de la garde à vue",
        list(roles.values()),  # the importer expands `to: all` to every role
        trigger=Trigger.AT,
        at_s=2400,
        to_all=True,
        phase=phases["suites"],
    )
    inject(
        "interprete-arrive",
        7,
        Kind.SCENE,
        "L’interprète arrive",
        [roles["police"]],
        trigger=Trigger.ACTION,
        when_action=actions["interprete"],
        phase=phases["audition"],
    )
    inject(
        "note-avocat",
        8,
        Kind.MESSAGE,
        "Note à l’avocate",
        [roles["avocat"]],
        trigger=Trigger.MANUAL,
        manual_explicit=True,
    )

    attachment = sm.Attachment.objects.create(
        inject=injects["foyer"],
        order=0,
        path="docs/rapport-foyer.pdf",
        title="Rapport du foyer",
        blob=blob_for(b"%PDF-1.4 rapport " + slug.encode() + bytes([number])),
    )

    objectives = [
        sm.Objective(
            version=version,
            ident="placer",
            order=0,
            title="Protéger la mineure",
            measure="decision",
            measure_decision=injects["placement"],
            measure_option="opp",
            within_s=300,
        ),
        sm.Objective(
            version=version,
            ident="interpreter",
            order=1,
            title="Faire venir un interprète",
            measure="action",
            measure_action=actions["interprete"],
        ),
        sm.Objective(
            version=version,
            ident="echanger",
            order=2,
            title="Informer le parquet",
            measure="message",
            measure_from=roles["police"],
            measure_to=roles["parquet"],
        ),
        sm.Objective(
            version=version, ident="posture", order=3, title="Adopter une posture bienveillante"
        ),
    ]
    for objective in objectives:
        objective.save()
    objectives[0].roles.set([roles["parquet"]])
    return Built(
        version=version,
        roles=roles,
        phases=phases,
        injects=injects,
        actions=actions,
        attachment=attachment,
    )
