from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LiveSessionsConfig(AppConfig):
    name = "sessions"
    # Django's own session app already owns the label "sessions".
    label = "live"
    verbose_name = _("Sessions en direct")

    def ready(self) -> None:
        from sessions import fanout
        from sessions.signals import events_appended

        events_appended.connect(fanout.ring, dispatch_uid="sessions.fanout.ring")
