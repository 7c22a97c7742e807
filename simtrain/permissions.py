"""The two staff groups and what they may do.

Course admins may do everything (they are also Django superusers-in-spirit: staff with
every permission). Trainers manage scenarios and run their own sessions. Trainees and
actors have no accounts: they hold seats in a session.
"""

from __future__ import annotations

COURSE_ADMIN_GROUP = "course admin"
TRAINER_GROUP = "trainer"

# Model permissions granted to trainers, as "app_label.codename".
TRAINER_PERMISSIONS = [
    "scenarios.view_scenario",
    "scenarios.add_scenario",
    "scenarios.view_scenarioversion",
    "scenarios.add_scenarioversion",
]


def is_trainer(user) -> bool:
    return user.is_authenticated and (
        is_course_admin(user) or user.groups.filter(name=TRAINER_GROUP).exists()
    )


def is_course_admin(user) -> bool:
    return user.is_authenticated and (
        user.is_superuser or user.groups.filter(name=COURSE_ADMIN_GROUP).exists()
    )


def ensure_groups(**kwargs) -> None:
    """Create the two groups with their permissions (idempotent; runs after migrate)."""
    from django.contrib.auth.models import Group, Permission

    admin_group, _ = Group.objects.get_or_create(name=COURSE_ADMIN_GROUP)
    admin_group.permissions.set(Permission.objects.all())
    trainer_group, _ = Group.objects.get_or_create(name=TRAINER_GROUP)
    wanted = []
    for dotted in TRAINER_PERMISSIONS:
        app_label, codename = dotted.split(".")
        wanted.extend(
            Permission.objects.filter(content_type__app_label=app_label, codename=codename)
        )
    trainer_group.permissions.set(wanted)
