import datetime as dt

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils import timezone
from ninja import Router, Schema, Status
from ninja.pagination import paginate

from coopmatrix.core.api import FilterError, Key, PageNumberPagination, filtered, visible

from . import actions, participation
from .filtersets import InstrumentFilterSet, TreatyActionFilterSet
from .forms import Table2Form
from .models import Instrument, TreatyAction

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


# --- Treaty actions, Table 2, a State's standing -------------------------------------------


class TreatyActionIn(Schema):
    state: str
    instrument: str
    action: str
    date: dt.date
    effective: dt.date | None = None
    effective_source: str = ""
    text: str = ""
    source: str = ""
    confidentiality: str = "public"


class TreatyActionOut(Schema):
    id: int
    state: str
    instrument: str
    action: str
    date: dt.date
    effective: dt.date | None
    effective_source: str
    text: str
    source: str
    confidentiality: str

    @staticmethod
    def resolve_state(obj: TreatyAction) -> str:
        return obj.state.code

    @staticmethod
    def resolve_instrument(obj: TreatyAction) -> str:
        return obj.instrument.code

    @staticmethod
    def resolve_date(obj: TreatyAction) -> dt.date:
        return obj.deposited


def _actions(request: HttpRequest):
    return visible(request, TreatyAction).select_related("state", "instrument")


@router.get("/treaty-actions", response=list[TreatyActionOut], tags=["Treaty participation"])
@paginate(PageNumberPagination, page_size=100)
def list_treaty_actions(
    request: HttpRequest,
    state: str | None = None,
    region: Key | None = None,
    instrument: str | None = None,
    action: str | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    q: str = "",
):
    return filtered(request, TreatyActionFilterSet, _actions(request))


@router.get("/treaty-actions/{action_id}", response=TreatyActionOut, tags=["Treaty participation"])
def get_treaty_action(request: HttpRequest, action_id: Key):
    return get_object_or_404(_actions(request), pk=action_id)


@router.post("/treaty-actions", response={201: TreatyActionOut}, tags=["Treaty participation"])
def create_treaty_action(request: HttpRequest, payload: TreatyActionIn):
    record = actions.save(request.user, payload.dict())
    return Status(201, _actions(request).get(pk=record.pk))


@router.put("/treaty-actions/{action_id}", response=TreatyActionOut, tags=["Treaty participation"])
def update_treaty_action(request: HttpRequest, action_id: Key, payload: TreatyActionIn):
    record = get_object_or_404(visible(request, TreatyAction), pk=action_id)
    actions.save(request.user, payload.dict(), record)
    return _actions(request).get(pk=record.pk)


@router.delete("/treaty-actions/{action_id}", response={204: None}, tags=["Treaty participation"])
def delete_treaty_action(request: HttpRequest, action_id: Key):
    actions.delete(request.user, get_object_or_404(visible(request, TreatyAction), pk=action_id))
    return Status(204, None)


class Table2RowOut(Schema):
    instrument: str
    title: str
    parties: int
    parties_after: int
    published_parties: int | None
    parties_difference: int | None
    published_after: int | None
    after_difference: int | None


class Table2Out(Schema):
    as_at: dt.date
    after: dt.date
    basis: str
    instruments: str
    region: int | None
    rows: list[Table2RowOut]
    sources: list[tuple[str, int]]
    treaty_actions_recorded: bool
    published_source: str


@router.get(
    "/table2",
    response=Table2Out,
    tags=["Treaty participation"],
    summary="Parties per instrument as at a date",
)
def get_table2(
    request: HttpRequest,
    as_at: dt.date | None = None,
    after: dt.date | None = None,
    instruments: str = "2004",
    basis: str = "deposit",
    region: Key | None = None,
):
    form = Table2Form(
        {
            k: v
            for k, v in {
                "as_at": as_at,
                "after": after,
                "instruments": instruments,
                "basis": basis,
                "region": region,
            }.items()
            if v is not None
        }
    )
    if not form.is_valid():
        raise FilterError(form.errors)
    data = form.cleaned_data
    table = participation.table2(
        visible(request, TreatyAction),
        data["as_at"],
        data["after"],
        data["instruments"],
        data["basis"],
        data["region"],
        user=request.user,
    )
    return {
        "as_at": table.as_at,
        "after": table.after,
        "basis": table.basis,
        "instruments": table.instruments,
        "region": table.area.m49 if table.area else None,
        "rows": [
            {
                "instrument": row.instrument.code,
                "title": row.instrument.title,
                "parties": row.parties,
                "parties_after": row.parties_after,
                "published_parties": row.published.parties if row.published else None,
                "parties_difference": row.parties_difference,
                "published_after": row.published_after,
                "after_difference": row.after_difference,
            }
            for row in table.rows
        ],
        "sources": table.sources,
        # False: no treaty action is recorded that the caller may see; the counts say nothing.
        "treaty_actions_recorded": visible(request, TreatyAction).exists(),
        "published_source": "E/CN.15/2004 (report of 17 March 2004), Table 2; world figures only",
    }


class StandingOut(Schema):
    instrument: str
    status: str
    party_since: dt.date | None
    in_force_from: dt.date | None
    signed: dt.date | None


@router.get(
    "/states/{code}/treaties",
    response=list[StandingOut],
    tags=["Treaty participation"],
    summary="A State's standing",
)
def state_treaties(request: HttpRequest, code: str, as_at: dt.date | None = None, basis: str = "deposit"):
    from coopmatrix.geo.models import State

    state = get_object_or_404(visible(request, State), code=code.upper())
    if basis not in participation.BASES:
        raise FilterError({"basis": [f"must be one of {', '.join(participation.BASES)}"]})
    found = participation.standings(
        visible(request, TreatyAction).filter(state=state), as_at or timezone.localdate(), basis
    )
    result = []
    for instrument in participation.instruments_of("all", request.user):
        standing = found.get((state.pk, instrument.pk)) or participation.Standing()
        result.append(
            {
                "instrument": instrument.code,
                "status": standing.status,
                "party_since": standing.party_since,
                "in_force_from": standing.in_force_from,
                "signed": standing.signed,
            }
        )
    return result
