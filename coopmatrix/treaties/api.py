import datetime as dt

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Router, Schema
from ninja.pagination import PageNumberPagination, paginate

from coopmatrix.core.api import filtered, visible

from .filtersets import InstrumentFilterSet
from .models import Instrument

router = Router(tags=["Instruments"])


class InstrumentOut(Schema):
    code: str
    short_title: str
    title: str
    adopted: str
    adopted_place: str
    opened_for_signature: dt.date | None
    entry_into_force: dt.date | None
    depositary: str
    relation: str
    related_to: str | None
    treaty_series: str
    in_force_rule: str
    in_force_days: int | None
    table2_order: int | None
    confidentiality: str
    source: str

    @staticmethod
    def resolve_adopted(obj: Instrument) -> str:
        return obj.adopted_display

    @staticmethod
    def resolve_related_to(obj: Instrument, context) -> str | None:
        allowed = context["request"].visible_instrument_ids
        return obj.related_to.code if obj.related_to_id in allowed else None


def _instruments(request: HttpRequest):
    request.visible_instrument_ids = set(visible(request, Instrument).values_list("pk", flat=True))
    return visible(request, Instrument).select_related("related_to")


@router.get("/instruments", response=list[InstrumentOut])
@paginate(PageNumberPagination, page_size=100)
def list_instruments(
    request: HttpRequest,
    q: str = "",
    in_table2: bool | None = None,
    adopted_after: dt.date | None = None,
    adopted_before: dt.date | None = None,
    depositary: str = "",
):
    return filtered(request, InstrumentFilterSet, _instruments(request))


@router.get("/instruments/{code}", response=InstrumentOut)
def get_instrument(request: HttpRequest, code: str):
    return get_object_or_404(_instruments(request), code=code)
