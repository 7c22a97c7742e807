from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RehearsalConfig(AppConfig):
    """Headless rehearsals of a scenario: it uses `sessions`, never the reverse."""

    name = "rehearsal"
    verbose_name = _("Répétitions")
