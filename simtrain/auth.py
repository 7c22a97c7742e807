"""One throttle for every way of logging in: the site's login, the admin's, any other.

The throttle is in the authentication backend (`ThrottledModelBackend`, the only one
in AUTHENTICATION_BACKENDS), so no login path can evaluate a password it refuses:
each attempt is counted per client IP and per username *before* the password is
checked, atomically (`simtrain.ratelimit.attempt`), and given back when it succeeds.
Past the limit the backend refuses without checking (Django's `authenticate` then
returns None), and says why on the request; the login forms (`ThrottledFormMixin`)
turn that into a clear message, and the views answer 429 (503 if the counters' store
is unreachable: refused, never let through unthrottled).
"""

from __future__ import annotations

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext_lazy as _

from simtrain.clientip import client_ip
from simtrain.ratelimit import LimiterUnavailable, attempt

LOGIN_FAILURES_LIMIT = 8  # per IP and per username …
LOGIN_WINDOW_S = 600  # … per ten minutes
THROTTLED = "throttled"
UNAVAILABLE = "unavailable"
STATUS = {THROTTLED: 429, UNAVAILABLE: 503}
MESSAGES = {
    THROTTLED: _("Trop de tentatives de connexion. Réessayez dans quelques minutes."),
    UNAVAILABLE: LimiterUnavailable.message,
}


def login_subjects(request, username: str) -> list[str]:
    username = (username or "").strip().lower()[:150]
    subjects = [f"user:{username}"] if username else []
    if request is not None:
        subjects.insert(0, f"ip:{client_ip(request)}")
    return subjects


def refusal(request) -> str | None:
    """Why the backend refused this request's login without checking it, if it did."""
    return getattr(request, "simtrain_login_refusal", None)


class ThrottledModelBackend(ModelBackend):
    """Django's ModelBackend, behind the login throttle."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None:
            username = kwargs.get(get_user_model().USERNAME_FIELD)
        try:
            attempts = [attempt("login", subject, limit=LOGIN_FAILURES_LIMIT,
                                window=LOGIN_WINDOW_S)
                        for subject in login_subjects(request, username or "")]
        except LimiterUnavailable:
            self._refuse(request, UNAVAILABLE)
        if not all(a.allowed for a in attempts):
            self._refuse(request, THROTTLED)
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is not None:
            for counted in attempts:
                counted.refund()
        return user

    @staticmethod
    def _refuse(request, reason: str):
        if request is not None:
            request.simtrain_login_refusal = reason
        raise PermissionDenied(reason)  # authenticate() stops here: no other backend tries


class ThrottledFormMixin:
    """Says "too many attempts" (or "unavailable") instead of "wrong password"."""

    def clean(self):
        try:
            return super().clean()
        except forms.ValidationError:
            reason = refusal(self.request)
            if reason is not None:
                raise forms.ValidationError(MESSAGES[reason], code=reason) from None
            raise


class ThrottledAuthenticationForm(ThrottledFormMixin, AuthenticationForm):
    pass


class ThrottledAdminAuthenticationForm(ThrottledFormMixin, AdminAuthenticationForm):
    pass
