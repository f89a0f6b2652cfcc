from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from .models import Share


@admin.register(Share)
class ShareAdmin(SimpleHistoryAdmin):
    list_display = ("content_type", "object_id", "organization", "state", "created")
    list_filter = ("content_type",)
