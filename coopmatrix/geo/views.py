from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from coopmatrix.core.panels import panels
from coopmatrix.core.views import RecordDetailView, RecordExportView, RecordListView

from .filtersets import StateFilterSet
from .models import Region, State
from .tables import StateTable

STATE_COLUMNS = [
    ("code", lambda s: s.code),
    ("iso2", lambda s: s.iso2),
    ("iso3", lambda s: s.iso3),
    ("m49", lambda s: s.m49),
    ("name_en", lambda s: s.name_en),
    ("name_fr", lambda s: s.name_fr),
    ("name_es", lambda s: s.name_es),
    ("name_ru", lambda s: s.name_ru),
    ("name_zh", lambda s: s.name_zh),
    ("name_ar", lambda s: s.name_ar),
    ("status", lambda s: s.status),
    ("region", lambda s: s.region.name if s.region else ""),
    ("subregion", lambda s: s.subregion.name if s.subregion else ""),
    ("intermediate_region", lambda s: s.intermediate_region.name if s.intermediate_region else ""),
    ("ended", lambda s: s.ended_display),
    ("source", lambda s: s.source),
]


STATE_RELATED = ("region", "subregion", "intermediate_region")


class StateListView(RecordListView):
    model = State
    related = STATE_RELATED
    filterset_class = StateFilterSet
    table_class = StateTable
    title = _("States and territories")
    empty_text = _(
        "This list holds the States and territories, with "
        "their regions; historic States are listed when asked for."
    )
    export_url_name = "geo:state_export"


class StateExportView(RecordExportView):
    model = State
    related = STATE_RELATED
    filterset_class = StateFilterSet
    columns = STATE_COLUMNS
    filename = "states"


class StateDetailView(RecordDetailView):
    model = State
    lookup_field = "code"
    template_name = "geo/state_detail.html"

    def get_object(self, request, key):
        return super().get_object(request, key.upper())

    def get_context(self, request: HttpRequest, obj: Any) -> dict[str, Any]:
        return {
            "panels": panels("state", request, obj),
            "aliases": obj.aliases.order_by("name"),
            "successors": obj.successors.visible_to(request.user),
            "predecessors": obj.predecessors.visible_to(request.user),
        }


class RegionDetailView(RecordDetailView):
    model = Region
    lookup_field = "m49"
    template_name = "geo/region_detail.html"

    def get_context(self, request: HttpRequest, obj: Any) -> dict[str, Any]:
        return {
            "states": obj.states().visible_to(request.user).order_by("name_en"),
            "children": obj.children.order_by("name"),
        }
