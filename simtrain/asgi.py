"""ASGI entry point: HTTP through Django, WebSockets through Channels.

`SIMTRAIN_SCHEDULER=embedded` (the default) runs the inject scheduler inside this
process; `external` leaves it to `manage.py run_scheduler` processes (scale-out).
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "simtrain.settings")
# Set up Django (and the app registry) before importing anything that touches models.
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from simtrain.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
        ),
    }
)

try:  # under Daphne: settle the heap once the reactor runs (not when tests import this)
    from twisted.internet import reactor

    from simtrain import heap

    reactor.callWhenRunning(heap.settle)
except ImportError:  # another ASGI server: the defaults
    pass

if os.environ.get("SIMTRAIN_SCHEDULER", "embedded") == "embedded":
    from sessions.embedded import WithEmbeddedScheduler  # noqa: E402

    application = WithEmbeddedScheduler(application)
