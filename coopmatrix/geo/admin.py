from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from .models import Region, State, StateAlias


@admin.register(Region)
class RegionAdmin(SimpleHistoryAdmin):
    list_display = ("m49", "name", "level", "parent")
    list_filter = ("level",)
    search_fields = ("name",)


class AliasInline(admin.TabularInline):
    model = StateAlias
    extra = 0


@admin.register(State)
class StateAdmin(SimpleHistoryAdmin):
    list_display = ("name_en", "code", "iso2", "m49", "status", "subregion")
    list_filter = ("status", "region")
    search_fields = ("name_en", "code", "iso2")
    inlines = [AliasInline]
