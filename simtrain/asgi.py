"""ASGI entry point: HTTP through Django, WebSockets through Channels.

`SIMTRAIN_SCHEDULER=embedded` (the default) runs the inject scheduler inside this
process; `external` leaves it to `manage.py run_scheduler` processes (scale-out).
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "simtrain.settings")
# Set up Django (and the app registry) before importing anything that touches models.
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from simtrain.bodylimit import BodyLimit  # noqa: E402
from simtrain.origin import SameOriginValidator  # noqa: E402
from simtrain.routing import websocket_urlpatterns  # noqa: E402
from simtrain.wsauth import socket_auth_stack  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": BodyLimit(django_asgi_app),
        # The Origin must be this site: scheme, host and port (simtrain.origin).
        "websocket": SameOriginValidator(socket_auth_stack(URLRouter(websocket_urlpatterns))),
    }
)

try:  # under Daphne: settle the heap once the reactor runs (not when tests import this)
    from twisted.internet import reactor

    from simtrain import bodylimit, heap, writethrough

    reactor.callWhenRunning(heap.settle)
    bodylimit.install_in_daphne()  # refuse oversized bodies before reading them
    writethrough.install_in_daphne()  # a frame leaves as it is written
except ImportError:  # another ASGI server: the defaults
    pass

if os.environ.get("SIMTRAIN_SCHEDULER", "embedded") == "embedded":
    from sessions.scheduler import WithEmbeddedScheduler  # noqa: E402

    application = WithEmbeddedScheduler(application)
