from django.apps import AppConfig
from django.db.models.signals import post_migrate


class SimtrainConfig(AppConfig):
    name = "simtrain"
    verbose_name = "simtrain"

    def ready(self) -> None:
        from django.contrib import admin

        from simtrain.auth import ThrottledAdminAuthenticationForm
        from simtrain.permissions import ensure_groups

        # The admin's login says "too many attempts" too (the throttle is the backend's).
        admin.site.login_form = ThrottledAdminAuthenticationForm

        # After every migrate, when all permissions exist.
        post_migrate.connect(ensure_groups, dispatch_uid="simtrain.ensure_groups")
