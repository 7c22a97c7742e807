"""factory_boy factories shared by the suite."""

from __future__ import annotations

import factory
from django.contrib.auth import get_user_model


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    password = factory.django.Password("correct horse battery staple")


# --- Scenario library ----------------------------------------------------------------
# Built straight through the ORM, for tests that need a version without going through
# the file format. Tests of the format itself import YAML instead.

from scenarios import models as sm  # noqa: E402


class ScenarioFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = sm.Scenario
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"scenario-{n}")


class ScenarioVersionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = sm.ScenarioVersion

    scenario = factory.SubFactory(ScenarioFactory)
    number = factory.Sequence(lambda n: n + 1)
    format = "simtrain.scenario/1"
    title = factory.Faker("sentence", nb_words=4, locale="fr_FR")
    language = "fr"
    content_hash = factory.Sequence(lambda n: f"{n:064x}")
    # The tests written before `safety.stop: hold` existed expect the alert only; the
    # hold (the model's and the format's default) is tested by asking for it.
    safety_stop = sm.ScenarioVersion.SafetyStop.ALERT


class RoleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = sm.Role

    version = factory.SubFactory(ScenarioVersionFactory)
    ident = factory.Sequence(lambda n: f"role{n}")
    order = factory.Sequence(lambda n: n)
    title = factory.LazyAttribute(lambda r: r.ident.title())
    kind = sm.Role.Kind.TRAINEE
    profession = factory.LazyAttribute(
        lambda r: sm.Role.Profession.POLICE if r.kind == sm.Role.Kind.TRAINEE else ""
    )


class PhaseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = sm.Phase

    version = factory.SubFactory(ScenarioVersionFactory)
    ident = factory.Sequence(lambda n: f"phase{n}")
    order = factory.Sequence(lambda n: n)
    title = factory.LazyAttribute(lambda p: p.ident.title())


class ActionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = sm.Action
        skip_postgeneration_save = True  # versions are immutable; M2M needs no save

    version = factory.SubFactory(ScenarioVersionFactory)
    ident = factory.Sequence(lambda n: f"action{n}")
    order = factory.Sequence(lambda n: n)
    label = factory.LazyAttribute(lambda a: a.ident.title())

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        if create and extracted:
            self.roles.set(extracted)


class InjectFactory(factory.django.DjangoModelFactory):
    """`recipients=[role, …]` sets who receives it; default trigger is manual."""

    class Meta:
        model = sm.Inject
        skip_postgeneration_save = True

    version = factory.SubFactory(ScenarioVersionFactory)
    ident = factory.Sequence(lambda n: f"inject{n}")
    order = factory.Sequence(lambda n: n)
    kind = sm.Inject.Kind.MESSAGE
    title = factory.Faker("sentence", nb_words=5, locale="fr_FR")
    trigger = sm.Inject.Trigger.MANUAL

    @factory.post_generation
    def recipients(self, create, extracted, **kwargs):
        if create and extracted:
            self.recipients.set(extracted)
