from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LiveSessionsConfig(AppConfig):
    name = "sessions"
    # Django's own session app already owns the label "sessions".
    label = "live"
    verbose_name = _("Sessions en direct")

    def ready(self) -> None:
        # Here, not at the top: models may be imported only once the registry is ready.
        from sessions import fanout, hub, replay
        from sessions.signals import events_appended, session_rewritten

        # The local feed takes the events first: the doorbell then finds them read.
        events_appended.connect(hub.committed, dispatch_uid="sessions.hub.committed")
        events_appended.connect(fanout.ring, dispatch_uid="sessions.fanout.ring")
        session_rewritten.connect(replay.on_rewritten, dispatch_uid="sessions.replay.forget")
