"""The audit trail in the Django admin: read-only, for course admins."""

from __future__ import annotations

from django.contrib import admin

from sessions.models import AuditEntry


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ("at", "actor", "action", "target_label", "target_id")
    list_filter = ("action", "target_type")
    search_fields = ("actor", "target_label", "target_id")
    date_hierarchy = "at"
    readonly_fields = ("at", "user", "actor", "action", "target_type", "target_id",
                       "target_label", "details")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
