"""Who a WebSocket's user is, without a session store for sockets that carry no login.

Channels' `AuthMiddlewareStack` gives every socket a session store and a lazy user,
held for the socket's whole life (about 1.4 KiB each). A seat's socket proves itself
with its pass cookie alone (`sessions.access`); only a trainer's socket carries Django's
session cookie. So the session and auth middlewares run only when that cookie is there;
any other socket is anonymous, exactly what `get_user` would have found.
"""

from __future__ import annotations

from channels.auth import AuthMiddleware
from channels.sessions import CookieMiddleware, SessionMiddleware
from django.conf import settings
from django.contrib.auth.models import AnonymousUser


class LoginWhenPresent:
    def __init__(self, inner):
        self.inner = inner
        self.with_login = SessionMiddleware(AuthMiddleware(inner))

    async def __call__(self, scope, receive, send):
        if settings.SESSION_COOKIE_NAME in scope.get("cookies", {}):
            return await self.with_login(scope, receive, send)
        return await self.inner(dict(scope, user=AnonymousUser()), receive, send)


def socket_auth_stack(inner):
    """`AuthMiddlewareStack`, minus the session store of sockets without a login."""
    return CookieMiddleware(LoginWhenPresent(inner))
