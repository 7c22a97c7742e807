from django.db import connection
from django.http import JsonResponse
from django.shortcuts import redirect

from simtrain.permissions import is_trainer


def home(request):
    """Trainers land in the library; everyone else is here to join a session."""
    return redirect("scenarios:library" if is_trainer(request.user) else "sessions:join")


def healthz(request):
    """Liveness for scripts and proxies: the process answers and the database too."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"ok": True})
