from django.contrib.auth.views import LoginView
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _

from simtrain.permissions import is_trainer
from simtrain.ratelimit import (
    LimiterUnavailable,
    client_ip,
    is_limited,
    record_failure,
)


def home(request):
    """Trainers land in the library; everyone else is here to join a session."""
    return redirect("scenarios:library" if is_trainer(request.user) else "sessions:join")


def healthz(request):
    """Liveness for scripts and proxies: the process answers and the database too."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"ok": True})


LOGIN_FAILURES_LIMIT = 8  # per IP and per username …
LOGIN_WINDOW_S = 600  # … per ten minutes


class ThrottledLoginView(LoginView):
    """Django's login, refusing further attempts after repeated failures.

    Counted per client IP and per username, so one attacker cannot guess many
    passwords and many attackers cannot hammer one account.
    """

    def post(self, request, *args, **kwargs):
        subjects = self._subjects(request)
        try:
            limited = any(
                is_limited("login", s, limit=LOGIN_FAILURES_LIMIT, window=LOGIN_WINDOW_S)
                for s in subjects
            )
        except LimiterUnavailable as error:
            return self._refuse(str(error.message), status=503)
        if limited:
            return self._refuse(
                _("Trop de tentatives de connexion. Réessayez dans quelques minutes."),
                status=429,
            )
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form):
        for subject in self._subjects(self.request):
            record_failure("login", subject, window=LOGIN_WINDOW_S)
        return super().form_invalid(form)

    def _refuse(self, message: str, *, status: int):
        form = self.get_form()
        form.errors.clear()
        form.add_error(None, message)
        return self.render_to_response(self.get_context_data(form=form), status=status)

    @staticmethod
    def _subjects(request) -> list[str]:
        username = (request.POST.get("username") or "").strip().lower()[:150]
        return [f"ip:{client_ip(request)}"] + ([f"user:{username}"] if username else [])
