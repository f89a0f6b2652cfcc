from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from coopmatrix.core.views import RecordDetailView, RecordExportView, RecordListView

from .filtersets import InstrumentFilterSet
from .models import Instrument
from .tables import InstrumentTable

INSTRUMENT_COLUMNS = [
    ("code", lambda i: i.code),
    ("short_title", lambda i: i.short_title),
    ("title", lambda i: i.title),
    ("adopted", lambda i: i.adopted_display),
    ("adopted_place", lambda i: i.adopted_place),
    ("opened_for_signature", lambda i: i.opened_for_signature),
    ("entry_into_force", lambda i: i.entry_into_force),
    ("depositary", lambda i: i.depositary),
    ("relation", lambda i: i.relation),
    ("related_to", lambda i: i.related_to.code if i.related_to else ""),
    ("treaty_series", lambda i: i.treaty_series),
    ("in_force_for_a_state", lambda i: i.in_force_rule_display),
    ("table2_order", lambda i: i.table2_order),
    ("source", lambda i: i.source),
]


class InstrumentListView(RecordListView):
    model = Instrument
    filterset_class = InstrumentFilterSet
    table_class = InstrumentTable
    title = _("Universal instruments against terrorism")
    export_url_name = "treaties:instrument_export"


class InstrumentExportView(RecordExportView):
    model = Instrument
    filterset_class = InstrumentFilterSet
    columns = INSTRUMENT_COLUMNS
    filename = "instruments"
    related = ("related_to",)


class InstrumentDetailView(RecordDetailView):
    model = Instrument
    lookup_field = "code"
    template_name = "treaties/instrument_detail.html"

    def get_context(self, request: HttpRequest, obj: Any) -> dict[str, Any]:
        visible = Instrument.objects.visible_to(request.user)
        return {
            "related": visible.filter(pk=obj.related_to_id).first(),
            "dependants": visible.filter(related_to=obj),
        }
