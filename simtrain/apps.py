from django.apps import AppConfig
from django.db.models.signals import post_migrate


class SimtrainConfig(AppConfig):
    name = "simtrain"
    verbose_name = "simtrain"

    def ready(self) -> None:
        from simtrain.permissions import ensure_groups

        # After every migrate, when all permissions exist.
        post_migrate.connect(ensure_groups, dispatch_uid="simtrain.ensure_groups")
