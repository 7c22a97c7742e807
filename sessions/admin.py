"""The audit trail in the Django admin: read-only, for course admins."""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from sessions.models import AuditEntry
from simtrain.permissions import is_course_admin


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ("at", "actor", "action", "target_label", "target_id", "summary")
    list_filter = ("action", "target_type")
    search_fields = ("actor", "target_label", "target_id")
    date_hierarchy = "at"
    readonly_fields = ("at", "user", "actor", "action", "target_type", "target_id",
                       "target_label", "details")

    @admin.display(description=_("détail"))
    def summary(self, entry: AuditEntry) -> str:
        return entry.summary()

    # Course admins only, whatever model permissions a staff account was given: the
    # trail names every session, so a trainer must not read it.
    def has_module_permission(self, request):
        return is_course_admin(request.user)

    def has_view_permission(self, request, obj=None):
        return is_course_admin(request.user)

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
