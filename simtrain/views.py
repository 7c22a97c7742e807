from django.db import connection
from django.http import JsonResponse


def healthz(request):
    """Liveness for scripts and proxies: the process answers and the database too."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"ok": True})
