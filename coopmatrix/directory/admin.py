from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from .models import Membership, Organization


@admin.register(Organization)
class OrganizationAdmin(SimpleHistoryAdmin):
    list_display = ("name", "acronym", "kind", "parent", "confidentiality")
    list_filter = ("kind", "confidentiality")
    search_fields = ("name", "acronym", "code")
    autocomplete_fields = ("parent", "state", "headquarters", "owner")


@admin.register(Membership)
class MembershipAdmin(SimpleHistoryAdmin):
    list_display = ("state", "organization", "kind", "joined", "left", "confidentiality")
    list_filter = ("organization", "kind", "confidentiality")
    autocomplete_fields = ("state", "organization", "owner")
