from django.contrib import admin
from django.contrib.auth.views import LoginView
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import redirect

from simtrain.auth import STATUS, ThrottledAuthenticationForm, refusal
from simtrain.permissions import is_trainer


def home(request):
    """Trainers land in the library; everyone else is here to join a session."""
    return redirect("scenarios:library" if is_trainer(request.user) else "sessions:join")


def healthz(request):
    """Liveness for scripts and proxies: the process answers and the database too."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"ok": True})


class ThrottledLoginView(LoginView):
    """Django's login with the login throttle's answers (`simtrain.auth`).

    The throttle itself is in the authentication backend, shared with the admin's login
    (`admin_login`) and any other path: this view only says 429 or 503 when it refused.
    """

    authentication_form = ThrottledAuthenticationForm

    def form_invalid(self, form):
        response = super().form_invalid(form)
        response.status_code = STATUS.get(refusal(self.request), response.status_code)
        return response


def admin_login(request, extra_context=None):
    """The admin's login page, with the same throttle and the same status codes."""
    response = admin.site.login(request, extra_context)
    status = STATUS.get(refusal(request))
    if status is not None:
        response.status_code = status
    return response
