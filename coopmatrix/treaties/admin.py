from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from .models import Instrument


@admin.register(Instrument)
class InstrumentAdmin(SimpleHistoryAdmin):
    list_display = ("short_title", "adopted", "entry_into_force", "depositary", "table2_order")
    search_fields = ("title", "short_title", "code")
