import datetime as dt
from decimal import Decimal

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Router, Schema, Status
from ninja.pagination import paginate

from coopmatrix.core.api import FilterError, Key, PageNumberPagination, filtered, visible
from coopmatrix.core.dates import partial_text

from . import actions
from . import gap as gaps
from .exporters import gap_header, gap_lines
from .filtersets import ContributionFilterSet, ExchangeRateFilterSet, FundFilterSet, FundingNeedFilterSet
from .forms import GapForm, Table1Form
from .models import Contribution, ExchangeRate, Fund, FundingNeed
from .table1 import table1

router = Router(tags=["Funding"])


class ContributionOut(Schema):
    id: int
    external_id: str | None
    donor_state: str | None
    donor_organization: str | None
    fund: str | None
    programme: str | None
    activity: int | None
    kind: str
    earmarking: str
    amount: Decimal
    currency: str
    date: str
    fiscal_year: int | None
    settles: int | None
    note: str
    source: str
    confidentiality: str

    @staticmethod
    def resolve_donor_state(obj: Contribution) -> str | None:
        return obj.donor_state.code if obj.donor_state_id else None

    @staticmethod
    def resolve_donor_organization(obj: Contribution) -> str | None:
        return obj.donor_organization.code if obj.donor_organization_id else None

    @staticmethod
    def resolve_fund(obj: Contribution) -> str | None:
        return obj.fund.code if obj.fund_id else None

    @staticmethod
    def resolve_programme(obj: Contribution) -> str | None:
        return obj.programme.code if obj.programme_id else None

    @staticmethod
    def resolve_activity(obj: Contribution) -> int | None:
        return obj.activity_id

    @staticmethod
    def resolve_date(obj: Contribution) -> str:
        return partial_text(obj.date, obj.date_precision)

    @staticmethod
    def resolve_settles(obj: Contribution, context) -> int | None:
        # A pledge the caller may not see is not named, not even by its number.
        return obj.settles_id if obj.settles_id in context["request"].visible_contribution_ids else None


def _contributions(request: HttpRequest):
    records = visible(request, Contribution)
    request.visible_contribution_ids = set(records.values_list("pk", flat=True))
    return records.select_related("donor_state", "donor_organization", "fund", "programme")


@router.get("/contributions", response=list[ContributionOut])
@paginate(PageNumberPagination, page_size=100)
def list_contributions(
    request: HttpRequest,
    donor_state: str | None = None,
    donor_organization: str | None = None,
    fund: str | None = None,
    programme: str | None = None,
    kind: str | None = None,
    earmarking: str | None = None,
    currency: str = "",
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    fiscal_year: int | None = None,
    q: str = "",
):
    return filtered(request, ContributionFilterSet, _contributions(request))


@router.get("/contributions/{contribution_id}", response=ContributionOut)
def get_contribution(request: HttpRequest, contribution_id: Key):
    return get_object_or_404(_contributions(request), pk=contribution_id)


class ContributionIn(Schema):
    external_id: str = ""
    donor: str
    fund: str = ""
    programme: str = ""
    activity: str = ""
    kind: str
    earmarking: str = "general"
    amount: Decimal | str
    currency: str
    date: str
    fiscal_year: int | None = None
    settles: str = ""
    note: str = ""
    source: str = ""
    confidentiality: str = "public"
    #: A payment above its pledge is recorded only when the caller confirms it.
    confirm: bool = False


@router.post("/contributions", response={201: ContributionOut})
def create_contribution(request: HttpRequest, payload: ContributionIn):
    data = payload.dict()
    record = actions.save(request.user, data, confirm=data.pop("confirm"))
    return Status(201, _contributions(request).get(pk=record.pk))


@router.put("/contributions/{contribution_id}", response=ContributionOut)
def update_contribution(request: HttpRequest, contribution_id: Key, payload: ContributionIn):
    record = get_object_or_404(visible(request, Contribution), pk=contribution_id)
    data = payload.dict()
    actions.save(request.user, data, record, confirm=data.pop("confirm"))
    return _contributions(request).get(pk=record.pk)


@router.delete("/contributions/{contribution_id}", response={204: None})
def delete_contribution(request: HttpRequest, contribution_id: Key):
    actions.delete(request.user, get_object_or_404(visible(request, Contribution), pk=contribution_id))
    return Status(204, None)


class FundingNeedOut(Schema):
    id: int
    programme: str
    amount: Decimal
    currency: str
    start: str
    end: str
    description: str
    source: str
    confidentiality: str

    @staticmethod
    def resolve_programme(obj: FundingNeed) -> str:
        return obj.programme.code

    @staticmethod
    def resolve_start(obj: FundingNeed) -> str:
        return partial_text(obj.start, obj.start_precision)

    @staticmethod
    def resolve_end(obj: FundingNeed) -> str:
        return partial_text(obj.end, obj.end_precision)


def _needs(request: HttpRequest):
    return visible(request, FundingNeed).select_related("programme")


@router.get("/funding-needs", response=list[FundingNeedOut])
@paginate(PageNumberPagination, page_size=100)
def list_funding_needs(request: HttpRequest, programme: str | None = None, q: str = ""):
    return filtered(request, FundingNeedFilterSet, _needs(request))


@router.get("/funding-needs/{need_id}", response=FundingNeedOut)
def get_funding_need(request: HttpRequest, need_id: Key):
    return get_object_or_404(_needs(request), pk=need_id)


class FundOut(Schema):
    code: str
    name: str
    managed_by: str
    description: str
    source: str
    confidentiality: str

    @staticmethod
    def resolve_managed_by(obj: Fund) -> str:
        return obj.managed_by.code


def _funds(request: HttpRequest):
    return visible(request, Fund).select_related("managed_by")


@router.get("/funds", response=list[FundOut])
@paginate(PageNumberPagination, page_size=100)
def list_funds(request: HttpRequest, q: str = "", managed_by: str | None = None):
    return filtered(request, FundFilterSet, _funds(request))


@router.get("/funds/{code}", response=FundOut)
def get_fund(request: HttpRequest, code: str):
    return get_object_or_404(_funds(request), code=code)


class ExchangeRateOut(Schema):
    currency: str
    base: str
    date: dt.date
    rate: Decimal
    source: str


class ExchangeRateIn(Schema):
    currency: str
    base: str = ""
    date: dt.date
    rate: Decimal | str
    source: str


@router.post("/exchange-rates", response={201: ExchangeRateOut})
def record_exchange_rate(request: HttpRequest, payload: ExchangeRateIn):
    return Status(201, actions.save_rate(request.user, payload.dict()))


@router.get("/exchange-rates", response=list[ExchangeRateOut])
@paginate(PageNumberPagination, page_size=100)
def list_exchange_rates(
    request: HttpRequest, currency: str = "", date_from: dt.date | None = None, date_to: dt.date | None = None
):
    return filtered(request, ExchangeRateFilterSet, visible(request, ExchangeRate))


class Table1RowOut(Schema):
    donor: str
    donor_code: str
    donor_kind: str
    amount: Decimal
    published: Decimal | None
    difference: Decimal | None
    contributions: int
    currencies: list[str]


class MissingRateOut(Schema):
    currency: str
    base: str
    date: dt.date
    message: str


class Table1Out(Schema):
    recipient: str
    recipient_name: str
    as_at: dt.date
    kind: str
    currency: str
    rows: list[Table1RowOut]
    total: Decimal | None
    published_total: Decimal | None
    total_difference: Decimal | None
    published_document: str | None
    missing_rates: list[MissingRateOut]
    sources: list[tuple[str, int]]


@router.get("/table1", response=Table1Out, summary="Contributions by donor to a recipient as at a date")
def get_table1(request: HttpRequest, recipient: str = "", as_at: dt.date | None = None, kind: str = ""):
    query = {k: v for k, v in {"recipient": recipient, "as_at": as_at, "kind": kind}.items() if v}
    form = Table1Form(query, user=request.user)
    if not form.is_valid():
        raise FilterError(form.errors)
    data = form.cleaned_data
    table = table1(
        visible(request, Contribution), data["target"], data["as_at"], data["kind"], user=request.user
    )
    return {
        "recipient": table.recipient.key,
        "recipient_name": str(table.recipient),
        "as_at": table.as_at,
        "kind": table.kind,
        "currency": table.currency,
        "rows": [
            {
                "donor": row.label,
                "donor_code": row.donor.code,
                "donor_kind": "state" if row.donor.__class__.__name__ == "State" else "organization",
                "amount": row.amount,
                "published": row.published.amount if row.published else None,
                "difference": row.difference,
                "contributions": row.contributions,
                "currencies": sorted(row.currencies),
            }
            for row in table.rows
        ],
        "total": table.total,
        "published_total": table.published_total.amount if table.published_total else None,
        "total_difference": table.total_difference,
        "published_document": table.published_total.document if table.published_total else None,
        "missing_rates": [
            {"currency": m.currency, "base": m.base, "date": m.date, "message": str(m)} for m in table.missing
        ],
        "sources": table.sources,
    }


class GapOut(Schema):
    view: str
    as_at: dt.date
    currency: str
    columns: list[str]
    rows: list[list[str | int | Decimal | None]]
    missing_rates: list[MissingRateOut]


@router.get(
    "/funding-gap",
    response=GapOut,
    summary="Need, pledged, paid and missing per programme; per donor and year; per recipient State",
)
def get_funding_gap(request: HttpRequest, view: str = "programmes", as_at: dt.date | None = None):
    form = GapForm({k: v for k, v in {"view": view, "as_at": as_at}.items() if v})
    if not form.is_valid():
        raise FilterError(form.errors)
    view, as_at = form.cleaned_data["view"], form.cleaned_data["as_at"]
    compute = {
        "programmes": gaps.by_programme,
        "donors": gaps.by_donor_and_year,
        "states": gaps.by_recipient_state,
    }[view]
    found = compute(request.user, as_at)
    return {
        "view": view,
        "as_at": as_at,
        "currency": found.currency,
        "columns": gap_header(view, found.currency),
        # An empty cell is a figure a missing rate keeps from being given: null.
        "rows": [[None if v == "" else v for v in line] for line in gap_lines(view, found)],
        "missing_rates": [
            {"currency": m.currency, "base": m.base, "date": m.date, "message": str(m)}
            for m in found.missing_rates
        ],
    }
