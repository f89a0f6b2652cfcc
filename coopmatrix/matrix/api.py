"""REST API of the matrix: activities, programmes, requests, referrals, thematic areas."""

import datetime as dt
import json
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import Case, F, Prefetch, When
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from ninja import Query, Router, Schema, Status
from ninja.pagination import paginate
from ninja.responses import NinjaJSONEncoder

from coopmatrix.core.api import FilterError, Key, PageNumberPagination, filtered, valid_filterset, visible
from coopmatrix.core.dates import partial_text
from coopmatrix.core.paginators import CAP
from coopmatrix.core.querysets import seen
from coopmatrix.core.roles import principal_for
from coopmatrix.directory.filtersets import visible_organization_ids
from coopmatrix.directory.models import Organization
from coopmatrix.geo.models import Region, State
from coopmatrix.treaties.models import Instrument
from coopmatrix.vocabulary.models import ThematicArea

from . import actions, grid
from .filtersets import ActivityFilterSet, ProgrammeFilterSet, RequestFilterSet
from .models import Activity, ActivityProvider, Programme, Referral, Request
from .rows import with_rows

router = Router(tags=["Assistance matrix"])


class ThematicAreaOut(Schema):
    code: str
    name: str
    description: str
    dac_code: str
    dac_note: str
    order: int
    source: str


class ThematicAreaIn(Schema):
    code: str
    name: str
    description: str = ""
    dac_code: str
    dac_note: str = ""
    order: Key | None = None
    source: str = ""


class ProgrammeIn(Schema):
    code: str
    title: str
    description: str = ""
    parent: str | None = None
    organization: str
    start: str | None = None
    end: str | None = None
    funding_need: Decimal | None = None
    currency: str = ""
    source: str = ""
    confidentiality: str = "public"
    owner: str | None = None


class ProviderIO(Schema):
    organization: str
    role: str


class ActivityIn(Schema):
    external_id: str | None = None
    title: str
    description: str = ""
    programme: str | None = None
    providers: list[ProviderIO]
    recipient_states: list[str] = []
    recipient_regions: list[int] = []
    thematic_areas: list[str] = []
    instruments: list[str] = []
    requests: list[int] | None = None
    modality: str
    status: str
    planned_start: str | None = None
    planned_end: str | None = None
    actual_start: str | None = None
    actual_end: str | None = None
    budget: Decimal | None = None
    currency: str = ""
    people_trained: Key | None = None
    outcome_documents: str = ""
    source: str = ""
    confidentiality: str = "public"
    owner: str | None = None


class ActivityOut(Schema):
    id: int
    external_id: str | None
    title: str
    description: str
    programme: str | None
    providers: list[ProviderIO]
    recipient_states: list[str]
    recipient_regions: list[int]
    thematic_areas: list[str]
    instruments: list[str]
    requests: list[int]
    modality: str
    status: str
    #: Recorded as pipeline, planned or ongoing, but its own dates ended before today.
    past_its_end: bool
    planned_start: str
    planned_end: str
    actual_start: str
    actual_end: str
    budget: Decimal | None
    currency: str
    people_trained: int | None
    outcome_documents: str
    confidentiality: str
    source: str

    @staticmethod
    def resolve_programme(obj: Activity, context) -> str | None:
        programme = seen(context["request"], obj.programme)
        return programme.code if programme else None

    @staticmethod
    def resolve_providers(obj: Activity) -> list[dict]:
        return [{"organization": p.organization.code, "role": p.role} for p in obj.provider_roles.all()]

    @staticmethod
    def resolve_recipient_states(obj: Activity) -> list[str]:
        return [s.code for s in obj.recipient_states.all()]

    @staticmethod
    def resolve_recipient_regions(obj: Activity) -> list[int]:
        return [r.m49 for r in obj.recipient_regions.all()]

    @staticmethod
    def resolve_thematic_areas(obj: Activity) -> list[str]:
        return [t.code for t in obj.thematic_areas.all()]

    @staticmethod
    def resolve_instruments(obj: Activity) -> list[str]:
        return [i.code for i in obj.instruments.all()]

    @staticmethod
    def resolve_requests(obj: Activity) -> list[int]:
        return [r.pk for r in obj.requests.all()]

    @staticmethod
    def resolve_past_its_end(obj: Activity) -> bool:
        return obj.past_its_end()

    @staticmethod
    def resolve_planned_start(obj: Activity) -> str:
        return obj.date_text("planned_start")

    @staticmethod
    def resolve_planned_end(obj: Activity) -> str:
        return obj.date_text("planned_end")

    @staticmethod
    def resolve_actual_start(obj: Activity) -> str:
        return obj.date_text("actual_start")

    @staticmethod
    def resolve_actual_end(obj: Activity) -> str:
        return obj.date_text("actual_end")


class ProgrammeOut(Schema):
    code: str
    title: str
    description: str
    parent: str | None
    organization: str
    start: str
    end: str
    funding_need: Decimal | None
    currency: str
    confidentiality: str
    source: str

    @staticmethod
    def resolve_parent(obj: Programme, context) -> str | None:
        allowed = context["request"].visible_programme_ids
        return obj.parent.code if obj.parent_id in allowed else None

    @staticmethod
    def resolve_organization(obj: Programme) -> str:
        return obj.organization.code

    @staticmethod
    def resolve_start(obj: Programme) -> str:
        return partial_text(obj.start, obj.start_precision)

    @staticmethod
    def resolve_end(obj: Programme) -> str:
        return partial_text(obj.end, obj.end_precision)


class ReferralOut(Schema):
    id: int
    provider: str
    referred_on: dt.date
    response: str
    responded_on: dt.date | None
    note: str

    @staticmethod
    def resolve_provider(obj: Referral) -> str:
        return obj.provider.code


class RequestIn(Schema):
    state: str
    title: str
    description: str = ""
    received: str
    channel: str = "direct"
    priority: str = "normal"
    thematic_areas: list[str] = []
    instruments: list[str] = []
    source: str = ""
    confidentiality: str = "restricted"
    owner: str | None = None


class RequestOut(Schema):
    id: int
    state: str
    title: str
    description: str
    received: dt.date
    channel: str
    priority: str
    status: str
    status_changed: dt.date | None
    thematic_areas: list[str]
    answered_by: list[int]
    unanswered: bool
    confidentiality: str
    source: str

    @staticmethod
    def resolve_state(obj: Request) -> str:
        return obj.state.code

    @staticmethod
    def resolve_thematic_areas(obj: Request) -> list[str]:
        return [t.code for t in obj.thematic_areas.all()]

    @staticmethod
    def resolve_answered_by(obj: Request, context) -> list[int]:
        allowed = context["request"].visible_activity_ids
        return [a.pk for a in obj.answered_by.all() if a.pk in allowed]


class StatusIn(Schema):
    status: str
    on: dt.date | None = None
    note: str = ""


class ReferIn(Schema):
    providers: list[str]
    on: dt.date | None = None
    note: str = ""


class AnswerIn(Schema):
    response: str
    on: dt.date | None = None


def _activities(request: HttpRequest):
    # Only the requests the user may see are named; a hidden one is not disclosed by its number.
    answered = Prefetch("requests", queryset=visible(request, Request).only("pk"))
    instruments = Prefetch("instruments", queryset=visible(request, Instrument))
    return with_rows(visible(request, Activity), request).prefetch_related(instruments, answered)


@router.get("/thematic-areas", response=list[ThematicAreaOut])
def list_thematic_areas(request: HttpRequest):
    return visible(request, ThematicArea)


@router.get("/thematic-areas/{code}", response=ThematicAreaOut)
def get_thematic_area(request: HttpRequest, code: str):
    return get_object_or_404(visible(request, ThematicArea), code=code)


@router.post("/thematic-areas", response={201: ThematicAreaOut}, summary="Add a term (secretariat)")
def create_thematic_area(request: HttpRequest, payload: ThematicAreaIn):
    return Status(201, actions.save_thematic_area(request.user, payload.dict()))


@router.put("/thematic-areas/{code}", response=ThematicAreaOut, summary="Change a term (secretariat)")
def update_thematic_area(request: HttpRequest, code: str, payload: ThematicAreaIn):
    area = get_object_or_404(visible(request, ThematicArea), code=code)
    return actions.save_thematic_area(request.user, payload.dict(), area)


@router.delete("/thematic-areas/{code}", response={204: None}, summary="Remove an unused term (secretariat)")
def delete_thematic_area(request: HttpRequest, code: str):
    actions.delete_thematic_area(request.user, get_object_or_404(visible(request, ThematicArea), code=code))
    return Status(204, None)


def link_codes(ids: list[int], request: HttpRequest) -> dict[int, dict[str, list[Any]]]:
    """The links of a page of activities (recipient States, regions, areas, instruments, requests,
    providers) as codes, through the visibility rule, in the order the activity's own address
    gives them. Plain SQL, one statement for all six links: building them as model instances,
    then as ORM queries, then as a statement each, was most of the page's time
    (tests/test_api.py checks the answers are the same as the single activity's)."""
    codes: dict[int, dict[str, list[Any]]] = {pk: {name: [] for name in LINKS} for pk in ids}
    if not ids:
        return codes
    instruments, instrument_params = visible(request, Instrument).values("pk").query.sql_with_params()
    requests, request_params = visible(request, Request).values("pk").query.sql_with_params()
    organizations, organization_params = visible(request, Organization).values("pk").query.sql_with_params()
    # PostgreSQL takes the page's keys as one array: 300 literals quoted one by one were a third
    # of the statement's time.
    if connection.vendor == "postgresql":
        page, keys = "= ANY(%s)", [ids]
    else:
        page, keys = f"IN ({', '.join(['%s'] * len(ids))})", ids
    tables = _link_tables()
    text = "CAST({} AS TEXT)".format

    def part(kind: str, value: str, role: str, source: str, where: str, order: str) -> str:
        return (
            f"SELECT '{kind}' AS kind, l.activity_id AS activity_id, {value} AS value, {role} AS role, "
            f"ROW_NUMBER() OVER (ORDER BY {order}) AS ord FROM {source} "
            f"WHERE l.activity_id {page}{where}"
        )

    none = text("NULL")
    parts = [
        part(
            "recipient_states",
            "s.code",
            none,
            f"{tables['recipient_states']} l JOIN {tables['state']} s ON s.id = l.state_id",
            "",
            "LOWER(s.name_en), s.id",
        ),
        part(
            "recipient_regions",
            text("r.m49"),
            none,
            f"{tables['recipient_regions']} l JOIN {tables['region']} r ON r.id = l.region_id",
            "",
            "r.m49",
        ),
        part(
            "thematic_areas",
            "t.code",
            none,
            f"{tables['thematic_areas']} l JOIN {tables['area']} t ON t.id = l.thematicarea_id",
            "",
            f"t.{_q('order')}, t.name",
        ),
        part(
            "instruments",
            "i.code",
            none,
            f"{tables['instruments']} l JOIN {tables['instrument']} i ON i.id = l.instrument_id",
            f" AND i.id IN ({instruments})",
            "i.adopted, i.code",
        ),
        part(
            "requests",
            text("r.id"),
            none,
            f"{tables['requests']} l JOIN {tables['request']} r ON r.id = l.request_id",
            f" AND r.id IN ({requests})",
            "r.received DESC, r.title",
        ),
        part(
            "providers",
            "o.code",
            text("l.role"),
            f"{tables['provider']} l JOIN {tables['organization']} o ON o.id = l.organization_id",
            f" AND o.id IN ({organizations})",
            "l.id",
        ),
    ]
    params = [*keys, *keys, *keys, *keys, *instrument_params, *keys, *request_params]
    params += [*keys, *organization_params]
    sql = f"SELECT kind, activity_id, value, role FROM ({' UNION ALL '.join(parts)}) links ORDER BY kind, ord"
    for kind, activity_id, value, role in _read(sql, params):
        if kind == "providers":
            codes[activity_id]["providers"].append({"organization": value, "role": role})
        elif kind in ("recipient_regions", "requests"):
            codes[activity_id][kind].append(int(value))
        else:
            codes[activity_id][kind].append(value)
    return codes


def _read(sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
    """The rows of a statement asked on every page. On PostgreSQL, a prepared statement: its text
    is the same from page to page (the keys are one array), so the server parses and plans it once
    per connection instead of each time (half of its 2.4 ms)."""
    connection.ensure_connection()
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()
    import psycopg

    # Django's cursors bind parameters in the client, which cannot prepare; this one binds them
    # in the server. A read only: nothing for the write watch (core.public_cache) to see.
    with psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(sql, params, prepare=True)
        return cursor.fetchall()


LINKS = ("recipient_states", "recipient_regions", "thematic_areas", "instruments", "requests", "providers")


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def _link_tables() -> dict[str, str]:
    def through(name: str) -> str:
        return _q(Activity._meta.get_field(name).remote_field.through._meta.db_table)  # type: ignore[union-attr]

    return {
        **{name: through(name) for name in LINKS if name != "providers"},
        "state": _q(State._meta.db_table),
        "region": _q(Region._meta.db_table),
        "area": _q(ThematicArea._meta.db_table),
        "instrument": _q(Instrument._meta.db_table),
        "request": _q(Request._meta.db_table),
        "provider": _q(ActivityProvider._meta.db_table),
        "organization": _q(Organization._meta.db_table),
    }


class ActivityPage(Schema):
    items: list[ActivityOut]
    #: Exact up to 1,000, and beyond whenever the grid's kept counts hold it (filters of at most
    #: status, modality and one State or region); otherwise 1,000 with count_capped true.
    count: int
    count_capped: bool = False


@router.get("/activities", response=ActivityPage, summary="The matrix: activities")
def list_activities(
    request: HttpRequest,
    q: str = "",
    state: str | None = None,
    region: Key | None = None,
    provider: str | None = None,
    funder: str | None = None,
    programme: str | None = None,
    thematic_area: str | None = None,
    instrument: str | None = None,
    modality: str | None = None,
    status: str | None = None,
    past_its_end: bool | None = None,
    period_from: dt.date | None = None,
    period_to: dt.date | None = None,
    page: int = Query(1, ge=1, le=1_000_000),
    page_size: int | None = Query(None, ge=1, le=1000),
):
    """Filters as on the matrix page; repeat a parameter for several values (?state=BEN&state=TGO).
    Pages of 100 (page_size up to 1,000)."""
    # Written as JSON here rather than through the schema, object by object: the same fields
    # and values (tests/test_api.py compares them with the single activity's), in a fifth of the
    # time (benchmarks/bench_load.py).
    filterset = valid_filterset(request, ActivityFilterSet, visible(request, Activity))
    activities = filterset.qs
    size = page_size or 100
    # The programme's code only where the user may see the programme (the rule, as a subquery).
    programme = Case(When(programme__in=visible(request, Programme).values("pk"), then=F("programme__code")))
    rows = list(
        activities.annotate(visible_programme=programme).values(*ROW_FIELDS)[(page - 1) * size : page * size]
    )
    codes = link_codes([row["id"] for row in rows], request)
    today = timezone.localdate()
    items = [_activity_row(row, codes[row["id"]], today) for row in rows]
    count, capped = _count(request, filterset)
    body = {"items": items, "count": count, "count_capped": capped}
    return HttpResponse(json.dumps(body, cls=NinjaJSONEncoder), content_type="application/json")


def _count(request: HttpRequest, filterset: Any) -> tuple[int, bool]:
    """As the matrix page counts: from the kept counts when they know, else up to the cap (an exact
    COUNT(*) of a million filtered rows took 120 ms for a page that takes 10)."""
    known = grid.total(filterset, principal_for(request.user))
    if known is not None:
        return known, False
    found = filterset.qs.order_by()[: CAP + 1].count()
    return min(found, CAP), found > CAP


DATES = ("planned_start", "planned_end", "actual_start", "actual_end")
ROW_FIELDS = (
    "id",
    "external_id",
    "title",
    "description",
    "visible_programme",
    "modality",
    "status",
    "period_end",
    "budget",
    "currency",
    "people_trained",
    "outcome_documents",
    "confidentiality",
    "source",
    *DATES,
    *(f"{which}_precision" for which in DATES),
)


def _activity_row(row: dict[str, Any], codes: dict[str, Any], today: dt.date) -> dict[str, Any]:
    """The fields of ActivityOut, from a row of values: the same values as the single activity's."""
    return {
        "id": row["id"],
        "external_id": row["external_id"],
        "title": row["title"],
        "description": row["description"],
        "programme": row["visible_programme"],
        **codes,
        "modality": row["modality"],
        "status": row["status"],
        "past_its_end": Activity.ended_unconfirmed(row["status"], row["period_end"], today),
        **{which: partial_text(row[which], row[f"{which}_precision"]) for which in DATES},
        "budget": row["budget"],
        "currency": row["currency"],
        "people_trained": row["people_trained"],
        "outcome_documents": row["outcome_documents"],
        "confidentiality": row["confidentiality"],
        "source": row["source"],
    }


@router.get("/activities/{activity_id}", response=ActivityOut)
def get_activity(request: HttpRequest, activity_id: Key):
    return get_object_or_404(_activities(request), pk=activity_id)


@router.post("/activities", response={201: ActivityOut})
def create_activity(request: HttpRequest, payload: ActivityIn):
    activity = actions.save_activity(request.user, payload.dict())
    return Status(201, _activities(request).get(pk=activity.pk))


@router.put("/activities/{activity_id}", response=ActivityOut)
def update_activity(request: HttpRequest, activity_id: Key, payload: ActivityIn):
    activity = get_object_or_404(visible(request, Activity), pk=activity_id)
    actions.save_activity(request.user, payload.dict(), activity)
    return _activities(request).get(pk=activity.pk)


@router.delete("/activities/{activity_id}", response={204: None})
def delete_activity(request: HttpRequest, activity_id: Key):
    actions.delete_record(request.user, get_object_or_404(visible(request, Activity), pk=activity_id))
    return Status(204, None)


def _programmes(request: HttpRequest):
    request.visible_programme_ids = set(visible(request, Programme).values_list("pk", flat=True))
    return visible(request, Programme).select_related("parent", "organization")


@router.get("/programmes", response=list[ProgrammeOut])
@paginate(PageNumberPagination, page_size=100)
def list_programmes(request: HttpRequest, q: str = "", organization: str | None = None):
    return filtered(request, ProgrammeFilterSet, _programmes(request))


@router.get("/programmes/{code}", response=ProgrammeOut)
def get_programme(request: HttpRequest, code: str):
    return get_object_or_404(_programmes(request), code=code)


@router.post("/programmes", response={201: ProgrammeOut})
def create_programme(request: HttpRequest, payload: ProgrammeIn):
    programme = actions.save_programme(request.user, payload.dict())
    return Status(201, _programmes(request).get(pk=programme.pk))


@router.put("/programmes/{code}", response=ProgrammeOut)
def update_programme(request: HttpRequest, code: str, payload: ProgrammeIn):
    programme = get_object_or_404(visible(request, Programme), code=code)
    actions.save_programme(request.user, payload.dict(), programme)
    return _programmes(request).get(pk=programme.pk)


@router.delete("/programmes/{code}", response={204: None})
def delete_programme(request: HttpRequest, code: str):
    actions.delete_record(request.user, get_object_or_404(visible(request, Programme), code=code))
    return Status(204, None)


def _requests(request: HttpRequest):
    request.visible_activity_ids = set(visible(request, Activity).values_list("pk", flat=True))
    return (
        visible(request, Request)
        .with_answer_state(request.user)
        .select_related("state")
        .prefetch_related("thematic_areas", "answered_by")
    )


@router.get("/requests", response=list[RequestOut], summary="Requests for assistance")
@paginate(PageNumberPagination, page_size=100)
def list_requests(
    request: HttpRequest,
    q: str = "",
    state: str | None = None,
    status: str | None = None,
    channel: str | None = None,
    thematic_area: str | None = None,
    provider: str | None = None,
    received_from: dt.date | None = None,
    received_to: dt.date | None = None,
    unanswered: bool | None = None,
):
    """`unanswered=true`: open requests with no answering activity REQUEST_UNANSWERED_DAYS after receipt."""
    return filtered(request, RequestFilterSet, _requests(request))


@router.get("/requests/{request_id}", response=RequestOut)
def get_request(request: HttpRequest, request_id: Key):
    return get_object_or_404(_requests(request), pk=request_id)


@router.post("/requests", response={201: RequestOut})
def create_request(request: HttpRequest, payload: RequestIn):
    record = actions.save_request(request.user, payload.dict())
    return Status(201, _requests(request).get(pk=record.pk))


@router.put("/requests/{request_id}", response=RequestOut)
def update_request(request: HttpRequest, request_id: Key, payload: RequestIn):
    record = get_object_or_404(visible(request, Request), pk=request_id)
    actions.save_request(request.user, payload.dict(), record)
    return _requests(request).get(pk=record.pk)


@router.delete("/requests/{request_id}", response={204: None})
def delete_request(request: HttpRequest, request_id: Key):
    actions.delete_record(request.user, get_object_or_404(visible(request, Request), pk=request_id))
    return Status(204, None)


@router.post("/requests/{request_id}/status", response=RequestOut)
def change_request_status(request: HttpRequest, request_id: Key, payload: StatusIn):
    record = get_object_or_404(visible(request, Request), pk=request_id)
    actions.set_request_status(request.user, record, payload.status, payload.on, payload.note)
    return _requests(request).get(pk=record.pk)


@router.get("/requests/{request_id}/referrals", response=list[ReferralOut])
def list_referrals(request: HttpRequest, request_id: Key):
    record = get_object_or_404(visible(request, Request), pk=request_id)
    return record.referrals.filter(provider_id__in=visible_organization_ids(request)).select_related(
        "provider"
    )


@router.post("/requests/{request_id}/referrals", response={201: list[ReferralOut]})
def refer(request: HttpRequest, request_id: Key, payload: ReferIn):
    record = get_object_or_404(visible(request, Request), pk=request_id)
    return Status(
        201, actions.refer_request(request.user, record, payload.providers, payload.on, payload.note)
    )


def _referral(request: HttpRequest, referral_id: Key) -> Referral:
    # A referral shows only with a request the user may see and a provider the user may see.
    return get_object_or_404(
        Referral.objects.filter(
            request__in=visible(request, Request), provider_id__in=visible_organization_ids(request)
        ).select_related("provider", "request"),
        pk=referral_id,
    )


@router.get("/referrals/{referral_id}", response=ReferralOut)
def get_referral(request: HttpRequest, referral_id: Key):
    return _referral(request, referral_id)


@router.delete("/referrals/{referral_id}", response={204: None}, summary="Withdraw a referral (secretariat)")
def delete_referral(request: HttpRequest, referral_id: Key):
    actions.withdraw_referral(request.user, _referral(request, referral_id))
    return Status(204, None)


@router.post("/referrals/{referral_id}/answer", response=ReferralOut)
def answer(request: HttpRequest, referral_id: Key, payload: AnswerIn):
    return actions.answer_referral(
        request.user, _referral(request, referral_id), payload.response, payload.on
    )


class ImpactOut(Schema):
    state: str
    activity: int
    activity_title: str
    assistance_ended: str
    instrument: str
    action: str
    deposited: dt.date
    months_after: int


@router.get(
    "/impact",
    response=list[ImpactOut],
    tags=["Treaty participation"],
    summary="States party to an instrument within N months after legislative assistance",
)
def impact(
    request: HttpRequest,
    months: int = 24,
    provider: str | None = None,
    ended_from: dt.date | None = None,
    ended_to: dt.date | None = None,
):
    from coopmatrix.core.api import FilterError
    from coopmatrix.directory.models import Organization

    from .impact import became_party_after_assistance

    if not 0 <= months <= 240:
        raise FilterError({"months": ["must be between 0 and 240"]})
    providers = None
    if provider:
        providers = list(visible(request, Organization).filter(code=provider))
        if not providers:
            raise FilterError({"provider": [f"no organization with code {provider!r}"]})
    return [
        {
            "state": f.state.code,
            "activity": f.activity.pk,
            "activity_title": f.activity.title,
            "assistance_ended": partial_text(f.assistance_ended.date, f.assistance_ended.precision),
            "instrument": f.action.instrument.code,
            "action": f.action.action,
            "deposited": f.action.deposited,
            "months_after": f.months_after,
        }
        for f in became_party_after_assistance(request.user, months, providers, ended_from, ended_to)
    ]


class WhoContactOut(Schema):
    id: int
    person_name: str
    function: str
    organization: str | None
    roles: list[str]
    email: str
    telephone: str
    stale: bool


class WhoProviderOut(Schema):
    organization: str
    activities: int
    contacts: list[WhoContactOut]


class WhoToContactOut(Schema):
    state: str
    thematic_area: str | None
    national: list[WhoContactOut]
    providers: list[WhoProviderOut]


def _who_contact(contact: Any, visible_orgs: set[int]) -> dict[str, Any]:
    return {
        "id": contact.pk,
        "person_name": contact.person_name,
        "function": contact.function,
        "organization": contact.organization.code if contact.organization_id in visible_orgs else None,
        "roles": [r.code for r in contact.roles.all()],
        "email": contact.email,
        "telephone": contact.telephone,
        "stale": contact.is_stale,
    }


@router.get("/who-to-contact", response=WhoToContactOut, tags=["Contacts"])
def get_who_to_contact(request: HttpRequest, state: str, thematic_area: str | None = None):
    """A State's focal points and central authorities, and the contacts of the providers with
    activities planned or under way there (in one thematic area, if given)."""
    from coopmatrix.directory.models import Organization

    from .who import who_to_contact

    found_state = visible(request, State).filter(code=state.strip().upper()).first()
    if found_state is None:
        raise FilterError({"state": [f"no State with code {state!r}"]})
    area = None
    if thematic_area:
        area = ThematicArea.objects.filter(code=thematic_area).first()
        if area is None:
            raise FilterError({"thematic_area": [f"no thematic area with code {thematic_area!r}"]})
    result = who_to_contact(request.user, found_state, area)
    orgs = set(visible(request, Organization).values_list("pk", flat=True))
    return {
        "state": found_state.code,
        "thematic_area": area.code if area else None,
        "national": [_who_contact(c, orgs) for c in result.national],
        "providers": [
            {
                "organization": p.organization.code,
                "activities": p.activities,
                "contacts": [_who_contact(c, orgs) for c in p.contacts],
            }
            for p in result.providers
        ],
    }
