"""The scenario library in the Django admin, read-only.

Versions are historical records (sessions replay against them) and come in through the
import page, so the admin only shows them: no add, change or delete, for anyone.
"""

from __future__ import annotations

from django.contrib import admin
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from scenarios.models import (
    Action,
    Attachment,
    Countdown,
    Inject,
    Objective,
    Phase,
    Request,
    Role,
    Scenario,
    ScenarioVersion,
)

admin.site.site_header = _("simtrain — administration")
admin.site.site_title = _("simtrain — administration")
admin.site.index_title = _("Administration de la plateforme")


class ReadOnlyAdminMixin:
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyTabularInline(ReadOnlyAdminMixin, admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def get_readonly_fields(self, request, obj=None):
        return self.fields or [f.name for f in self.model._meta.fields]


class VersionInline(ReadOnlyTabularInline):
    model = ScenarioVersion
    fields = ["number", "title", "language", "imported_at", "imported_by"]
    ordering = ["-number"]
    show_change_link = True


@admin.register(Scenario)
class ScenarioAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["slug", "created_at"]
    search_fields = ["slug", "versions__title"]
    readonly_fields = ["slug", "created_at"]
    inlines = [VersionInline]

    def view_on_site(self, obj):
        return reverse("scenarios:latest", args=[obj.slug])


class RoleInline(ReadOnlyTabularInline):
    model = Role
    fields = ["ident", "title", "kind", "profession", "seats"]


class PhaseInline(ReadOnlyTabularInline):
    model = Phase
    fields = ["ident", "title", "starts_s"]


class ActionInline(ReadOnlyTabularInline):
    model = Action
    fields = ["ident", "label", "once"]


class RequestInline(ReadOnlyTabularInline):
    model = Request
    fields = ["ident", "label", "decider", "deadline_s", "once"]


class CountdownInline(ReadOnlyTabularInline):
    model = Countdown
    fields = ["ident", "title", "limit_s", "starts", "stops"]


class InjectInline(ReadOnlyTabularInline):
    model = Inject
    fields = ["ident", "kind", "title", "phase", "trigger", "at_s"]


class ObjectiveInline(ReadOnlyTabularInline):
    model = Objective
    fields = ["ident", "title", "measure"]


@admin.register(ScenarioVersion)
class ScenarioVersionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["scenario", "number", "title", "language", "imported_at", "imported_by"]
    list_filter = ["language", "imported_at"]
    list_select_related = ["scenario", "imported_by"]
    search_fields = ["scenario__slug", "title", "summary"]
    date_hierarchy = "imported_at"
    exclude = ["warnings"]
    inlines = [
        RoleInline,
        PhaseInline,
        ActionInline,
        RequestInline,
        CountdownInline,
        InjectInline,
        ObjectiveInline,
    ]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields if f.name != "warnings"]

    def view_on_site(self, obj):
        return reverse("scenarios:version", args=[obj.scenario.slug, obj.number])


@admin.register(Attachment)
class AttachmentAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["path", "display_title", "inject", "version_label"]
    list_select_related = ["inject__version__scenario", "blob"]
    search_fields = ["path", "title", "inject__version__scenario__slug"]
    fields = ["inject", "order", "path", "title"]
    readonly_fields = fields

    @admin.display(description=_("version"))
    def version_label(self, obj):
        return str(obj.inject.version)

    def get_queryset(self, request):
        return super().get_queryset(request).defer("blob__data")

    def view_on_site(self, obj):
        version = obj.inject.version
        return reverse("scenarios:attachment", args=[version.scenario.slug, version.number, obj.pk])
