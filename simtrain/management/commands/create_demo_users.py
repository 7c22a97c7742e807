"""Create the demo trainer and course admin for `make run`, and print how to log in."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand

from simtrain.permissions import COURSE_ADMIN_GROUP, TRAINER_GROUP, ensure_groups

# Demo accounts for a local, embedded install only; production creates real users.
DEMO_USERS = [
    # username, password, group, is_staff
    ("formatrice", "simtrain-demo", TRAINER_GROUP, False),
    ("admin", "simtrain-admin", COURSE_ADMIN_GROUP, True),
]


class Command(BaseCommand):
    help = "Create the demo trainer and course admin (idempotent) and print their credentials."

    def add_arguments(self, parser):
        parser.add_argument("--print-only", action="store_true", help="only print where to go")
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", default="8000")

    def handle(self, *args, print_only: bool, host: str, port: str, **options):
        if not print_only:
            ensure_groups()
            User = get_user_model()
            for username, password, group_name, is_staff in DEMO_USERS:
                user, _ = User.objects.get_or_create(username=username)
                user.is_staff = is_staff
                user.set_password(password)
                user.save()
                user.groups.add(Group.objects.get(name=group_name))
            return
        base = f"http://{host}:{port}"
        trainer, admin = DEMO_USERS
        self.stdout.write(
            "\n".join(
                [
                    "",
                    "simtrain is starting.",
                    f"  Trainers log in       {base}/login/",
                    f"    trainer             {trainer[0]} / {trainer[1]}",
                    f"    course admin        {admin[0]} / {admin[1]}   (also {base}/admin/)",
                    f"  Scenario library      {base}/scenarios/  (start a session from a scenario)",
                    f"  Participants join     {base}/join/  (with the session code)",
                    f"  Format JSON Schema    {base}/scenarios/schema.json",
                    "  Stop with Ctrl-C.",
                    "",
                ]
            )
        )
