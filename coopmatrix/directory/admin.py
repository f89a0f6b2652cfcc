from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from .models import (
    Contact,
    ContactExport,
    ContactRole,
    MeetingParticipation,
    Membership,
    Organization,
    OrganizationName,
)


class FormerNameInline(admin.TabularInline):
    model = OrganizationName
    extra = 0


class MeetingInline(admin.TabularInline):
    model = MeetingParticipation
    extra = 0


@admin.register(Organization)
class OrganizationAdmin(SimpleHistoryAdmin):
    list_display = ("name", "acronym", "kind", "parent", "confidentiality")
    list_filter = ("kind", "confidentiality")
    search_fields = ("name", "acronym", "code", "former_names__name")
    autocomplete_fields = ("parent", "state", "headquarters", "owner")
    filter_horizontal = ("thematic_areas",)
    inlines = (FormerNameInline, MeetingInline)


@admin.register(Membership)
class MembershipAdmin(SimpleHistoryAdmin):
    list_display = ("state", "organization", "kind", "joined", "left", "confidentiality")
    list_filter = ("organization", "kind", "confidentiality")
    autocomplete_fields = ("state", "organization", "owner")


@admin.register(ContactRole)
class ContactRoleAdmin(SimpleHistoryAdmin):
    """The kept vocabulary of roles: the secretariat adds and renames roles here."""

    list_display = ("name", "code", "national", "order")
    list_editable = ("order",)


@admin.register(Contact)
class ContactAdmin(SimpleHistoryAdmin):
    list_display = ("__str__", "organization", "state", "verified_on", "confidentiality")
    list_filter = ("confidentiality", "roles")
    search_fields = ("person_name", "function", "email")
    autocomplete_fields = ("organization", "state", "owner")
    filter_horizontal = ("roles",)


@admin.register(ContactExport)
class ContactExportAdmin(admin.ModelAdmin):
    """Who exported which contacts: read only, as a log should be."""

    list_display = ("when", "user", "format", "count", "filters")
    readonly_fields = ("when", "user", "format", "count", "filters", "contact_ids")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
