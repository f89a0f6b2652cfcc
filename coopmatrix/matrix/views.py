from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views import View
from django.views.decorators.http import require_POST

from coopmatrix.core.filters import active_filters
from coopmatrix.core.history import changes
from coopmatrix.core.imports import decimal_mark, import_page, template_download
from coopmatrix.core.paginators import CAP
from coopmatrix.core.panels import panels
from coopmatrix.core.querysets import visible_ids
from coopmatrix.core.roles import principal_for
from coopmatrix.core.views import (
    RecordDetailView,
    RecordExportView,
    RecordListView,
    VisibleMixin,
    record_to_change,
)
from coopmatrix.directory.filtersets import visible_organization_ids
from coopmatrix.directory.models import Organization
from coopmatrix.geo.models import State
from coopmatrix.vocabulary.models import ThematicArea

from . import actions, grid
from .exporters import ACTIVITY_COLUMNS, PROGRAMME_COLUMNS, REQUEST_COLUMNS, activity_rows, xlsx_response
from .filtersets import ActivityFilterSet, ProgrammeFilterSet, RequestFilterSet
from .models import Activity, ActivityReach, Programme, Referral, Request
from .rows import with_rows
from .tables import ActivityTable, ProgrammeTable, RequestTable


class ActivityListView(RecordListView):
    model = Activity
    filterset_class = ActivityFilterSet
    table_class = ActivityTable
    title = _("Assistance matrix")
    empty_text = _(
        "The matrix holds the activities of technical assistance: "
        "who gives which assistance to which State, when."
    )
    import_url_name = "matrix:import"
    import_allowed = "coopmatrix.matrix.importers:may_import"
    export_url_name = "matrix:activity_export"
    create_url_name = "matrix:activity_create"
    create_label = _("Record an activity")
    template_name = "matrix/activity_list.html"

    def get_table(self, request, records):
        from coopmatrix.core.roles import may_record

        editor = request.user if may_record(request.user) else None
        return self.table_class(
            records, visible_organizations=visible_organization_ids(request), editor=editor
        )

    def extra_context(self, request: HttpRequest) -> dict[str, Any]:
        from coopmatrix.core.roles import may_record

        if not may_record(request.user):
            return {}
        organizations = Organization.objects.visible_to(request.user).order_by("name")
        return {
            "bulk_url": reverse("matrix:activities_bulk"),
            "bulk_statuses": Activity.Status.choices,
            "bulk_organizations": [(o.code, str(o)) for o in organizations],
        }

    def known_count(self, request, filterset):
        return grid.total(filterset, principal_for(request.user))


def _rows(request: HttpRequest, records: Any) -> Any:
    """Export rows naming only the providers, programmes and instruments the reader may see."""
    from coopmatrix.treaties.models import Instrument

    return activity_rows(
        records,
        visible_organization_ids(request),
        visible_ids(request, Programme),
        visible_ids(request, Instrument),
    )


class ActivityExportView(RecordExportView):
    model = Activity
    filterset_class = ActivityFilterSet
    columns = ACTIVITY_COLUMNS
    filename = "matrix"

    def rows(self, request, records):
        return _rows(request, records)


@login_required
@require_POST
def activities_bulk(request: HttpRequest) -> HttpResponse:
    """The bulk actions on the activities ticked in the list: change their status (all or
    none), or export them."""
    from urllib.parse import urlencode

    from django.core.exceptions import ValidationError

    from coopmatrix.core.filters import KeysField

    back = request.POST.get("back", "")
    if not back.startswith("/matrix/"):
        back = reverse("matrix:activity_list")
    try:
        keys = KeysField().clean(request.POST.getlist("ids"))
        if request.POST.get("action") == "export":
            if not keys:
                raise actions.Invalid({"ids": "tick at least one activity"})
            # The export lists the ticked activities through the visibility rule like any other.
            return redirect(reverse("matrix:activity_export") + "?" + urlencode([("ids", k) for k in keys]))
        if request.POST.get("action") == "share":
            shared, skipped = actions.share_activities(request.user, keys, request.POST.get("share_with", ""))
            note = _("Shared %(n)s activities.") % {"n": shared}
            if skipped:
                note += " " + _("%(n)s were not confidential: everyone signed in reads them already.") % {
                    "n": skipped
                }
            messages.success(request, note)
            return redirect(back)
        changed = actions.set_activities_status(request.user, keys, request.POST.get("status", ""))
    except ValidationError as error:
        messages.error(request, "; ".join(error.messages))
    except actions.Invalid as invalid:
        messages.error(request, str(invalid))
    else:
        messages.success(request, _("Status changed on %(n)s activities.") % {"n": changed})
    return redirect(back)


class ActivityXlsxView(VisibleMixin, View):
    model = Activity

    def get(self, request: HttpRequest) -> HttpResponse:
        filterset = ActivityFilterSet(request.GET, queryset=self.visible(request), request=request)
        if not filterset.is_valid():
            return render(request, "core/filter_errors.html", {"filter": filterset}, status=400)
        rows = _rows(request, filterset.qs)
        if request.GET.get("layout") == "reader":
            # For a person to read: names, widths, a frozen header with its autofilter.
            from .exporters import reader_columns

            layout = reader_columns()
            columns = [(name, getter) for name, getter, _width in layout]
            widths = [width for _name, _getter, width in layout]
            title = _("Assistance matrix")
            return xlsx_response(request, filterset, columns, "matrix-reader", title, rows, widths=widths)
        return xlsx_response(request, filterset, ACTIVITY_COLUMNS, "matrix", _("Assistance matrix"), rows)


PDF_ROW_LIMIT = 5000


class ActivityPdfView(VisibleMixin, View):
    """The filtered matrix as PDF, with a cover; long lists stop at PDF_ROW_LIMIT and say so."""

    model = Activity

    def get(self, request: HttpRequest) -> HttpResponse:
        from django.template.loader import render_to_string
        from django.utils import timezone
        from weasyprint import HTML

        from coopmatrix.core.models import CONFIDENTIALITY_ORDER, Confidentiality

        from .exporters import describe_filters

        filterset = ActivityFilterSet(
            request.GET, queryset=with_rows(self.visible(request), request), request=request
        )
        if not filterset.is_valid():
            return render(request, "core/filter_errors.html", {"filter": filterset}, status=400)
        total = filterset.qs.count()
        activities = list(filterset.qs[:PDF_ROW_LIMIT])
        levels = {a.confidentiality for a in activities}
        highest = max((CONFIDENTIALITY_ORDER.index(level) for level in levels), default=0)
        cover = [
            ("As at", timezone.localtime().strftime("%Y-%m-%d %H:%M %Z")),
            (
                "Exported by",
                request.user.get_username() if request.user.is_authenticated else "public (not signed in)",
            ),
            (
                "Records",
                str(total)
                if total <= PDF_ROW_LIMIT
                else f"the first {PDF_ROW_LIMIT} of {total}: use CSV or XLSX for all",
            ),
            (
                "Highest confidentiality inside",
                str(Confidentiality(CONFIDENTIALITY_ORDER[highest]).label) if activities else "—",
            ),
            *(describe_filters(filterset) or [("Filters", "none")]),
        ]
        html = render_to_string(
            "matrix/matrix_pdf.html",
            {
                "title": _("Assistance matrix"),
                "cover": cover,
                "activities": activities,
                "highest": cover[3][1],
            },
        )
        response = HttpResponse(HTML(string=html).write_pdf(), content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="matrix-{timezone.localdate()}.pdf"'
        return response


class ActivityDetailView(RecordDetailView):
    model = Activity
    template_name = "matrix/activity_detail.html"

    def get_context(self, request: HttpRequest, obj: Any) -> dict[str, Any]:
        visible = visible_organization_ids(request)
        return {
            "providers": obj.provider_roles.filter(organization_id__in=visible).select_related(
                "organization"
            ),
            "programme": Programme.objects.visible_to(request.user).filter(pk=obj.programme_id).first(),
            "answered_requests": obj.requests.visible_to(request.user),
            "may_edit": Activity.objects.editable_by(request.user).filter(pk=obj.pk).exists(),
            "panels": panels("activity", request, obj),
        }


class GridView(VisibleMixin, View):
    """Counts of activities, rows States or M49 areas, columns thematic areas or providers."""

    model = Activity
    ROW_PARAM = {"state": "state", "subregion": "region", "region": "region"}
    ROW_KEY = {"state": "code", "subregion": "m49", "region": "m49"}

    def get(self, request: HttpRequest) -> HttpResponse:
        filterset = ActivityFilterSet(request.GET, queryset=self.visible(request), request=request)
        rows_by = request.GET.get("rows", "state") if request.GET.get("rows") in grid.ROWS else "state"
        cols_by = request.GET.get("cols") if request.GET.get("cols") in grid.COLUMNS else "thematic_area"
        table = self.grid(filterset, rows_by, cols_by, request) if filterset.is_valid() else None
        return render(
            request,
            "matrix/grid.html",
            {
                "filter": filterset,
                "grid": table,
                "rows_by": rows_by,
                "cols_by": cols_by,
                "title": _("Assistance matrix: counts"),
            },
        )

    def grid(self, filterset, rows_by: str, cols_by: str, request: HttpRequest) -> dict[str, Any]:
        counted = grid.count(filterset, rows_by, cols_by, principal_for(request.user))
        cells = counted.cells
        if cols_by == "provider":
            visible = visible_organization_ids(request)
            cells = {key: n for key, n in cells.items() if key[1] in visible}
        row_model, col_model = grid.ROWS[rows_by][1], grid.COLUMNS[cols_by][1]
        rows = sorted(row_model.objects.filter(pk__in={r for r, _ in cells}), key=str)
        cols = sorted(
            col_model.objects.filter(pk__in={c for _, c in cells}),
            key=lambda c: (getattr(c, "order", 0), str(c)),
        )
        sums = grid.totals(filterset, rows_by, cols_by)
        highest = max(cells.values(), default=0)
        # Another app may mark cells (possible overlaps not yet reviewed): registry.hooks.
        from coopmatrix.core.registry import registry

        marks = registry.hooks.get("grid_marks")
        marked, marks_url = marks(request, filterset.qs, rows_by, cols_by) if marks else (set(), "")
        col_param = grid.COLUMN_FILTER[cols_by]
        base = request.GET.copy()
        for key in ("rows", "cols", "page", "sort"):
            base.pop(key, None)
        all_query = base.urlencode()
        # A row's total counts through the column filter too: its link keeps it.
        column_filter = [(col_param, value) for value in base.getlist(col_param)]
        base.pop(col_param, None)
        return {
            "columns": [(c, sums.cols.get(c.pk, 0), _with(base, col_param, c.code)) for c in cols],
            "rows": [
                (
                    row,
                    self._row_query(request, row, rows_by, cols_by, counted),
                    _joined(self._row_query(request, row, rows_by, cols_by, counted), column_filter),
                    [
                        (c, n, grid.heat_level(n, highest), (row.pk, c.pk) in marked)
                        for c in cols
                        for n in [cells.get((row.pk, c.pk), 0)]
                    ],
                    sums.rows.get(row.pk, 0),
                )
                for row in rows
            ],
            "total": sums.all,
            "all_query": all_query,
            "legend": grid.heat_legend(highest),
            "col_param": col_param,
            "from_summary": counted.from_summary,
            "marked": bool(marked),
            "marks_url": marks_url,
        }

    def _row_query(
        self, request: HttpRequest, row: Any, rows_by: str, cols_by: str, counted: grid.Counts
    ) -> str:
        """The filters a cell of this row links to; the cell adds its column.

        The link lists the cell's activities: a row inside the State or region filter replaces it
        (Eastern Africa within Africa), a row around it keeps it (Africa around Kenya).
        """
        query = request.GET.copy()
        for key in ("rows", "cols", "page", "sort", grid.COLUMN_FILTER[cols_by]):
            query.pop(key, None)
        geo = query.get("state") or query.get("region")
        if not geo or row.pk in counted.rows_within:
            query.pop("state", None)
            query.pop("region", None)
            query[self.ROW_PARAM[rows_by]] = getattr(row, self.ROW_KEY[rows_by])
        return query.urlencode()


def _joined(query: str, pairs: list[tuple[str, str]]) -> str:
    from urllib.parse import urlencode

    return "&".join(part for part in (query, urlencode(pairs)) if part)


def _with(query: Any, name: str, value: Any) -> str:
    """`query` with `name` set to `value`, encoded."""
    query = query.copy()
    query[name] = value
    return query.urlencode()


class ProgrammeListView(RecordListView):
    model = Programme
    related = ("organization",)
    filterset_class = ProgrammeFilterSet
    table_class = ProgrammeTable
    title = _("Programmes and projects")
    empty_text = _("This list holds the programmes and projects under which activities are run.")
    export_url_name = "matrix:programme_export"


class ProgrammeExportView(RecordExportView):
    model = Programme
    related = ("organization",)
    filterset_class = ProgrammeFilterSet
    columns = PROGRAMME_COLUMNS
    filename = "programmes"


class ProgrammeDetailView(RecordDetailView):
    model = Programme
    lookup_field = "code"
    template_name = "matrix/programme_detail.html"

    def get_context(self, request: HttpRequest, obj: Any) -> dict[str, Any]:
        visible = Programme.objects.visible_to(request.user)
        activities = Activity.objects.visible_to(request.user)
        # The count the link opens: the matrix's programme filter, which takes its projects too.
        counted = ActivityFilterSet({"programme": obj.code}, queryset=activities, request=request)
        total = counted.qs.count() if counted.is_valid() else 0
        direct = activities.filter(programme=obj).count()
        return {
            "parent_programme": visible.filter(pk=obj.parent_id).first(),
            "projects": visible.filter(parent=obj),
            "activity_count": total,
            "direct_count": direct,
            "project_count": total - direct,
        }


class RequestVisibleMixin(VisibleMixin):
    """Requests the user may see, each flagged `unanswered` by the rule of settings."""

    def visible(self, request: HttpRequest) -> QuerySet:
        return super().visible(request).with_answer_state(request.user)


class RequestListView(RequestVisibleMixin, RecordListView):
    model = Request
    related = ("state",)
    filterset_class = RequestFilterSet
    table_class = RequestTable
    title = _("Requests for assistance")
    empty_text = _(
        "This list holds the requests for assistance States have made, and to whom each was referred."
    )
    export_url_name = "matrix:request_export"
    create_url_name = "matrix:request_create"
    create_label = _("Record a request")


class RequestExportView(RequestVisibleMixin, RecordExportView):
    model = Request
    related = ("state",)
    filterset_class = RequestFilterSet
    columns = REQUEST_COLUMNS
    filename = "requests"


class RequestDetailView(RequestVisibleMixin, RecordDetailView):
    model = Request
    related = ("state",)
    template_name = "matrix/request_detail.html"

    def get_context(self, request: HttpRequest, obj: Any) -> dict[str, Any]:
        from .forms import AnswerForm, ReferForm, StatusForm

        visible = visible_organization_ids(request)
        principal = principal_for(request.user)
        may_edit = Request.objects.editable_by(request.user).filter(pk=obj.pk).exists()
        referrals = list(obj.referrals.filter(provider_id__in=visible).select_related("provider"))
        for referral in referrals:
            # The provider it was referred to (or the secretariat) answers while it is pending.
            referral.may_answer = referral.response == Referral.Response.PENDING and (  # type: ignore[attr-defined]
                principal.sees_everything or referral.provider_id == principal.organization_id
            )
        status_form = StatusForm(record=obj) if may_edit else None
        return {
            "unanswered_days": settings.REQUEST_UNANSWERED_DAYS,
            "referrals": referrals,
            "answers": with_rows(Activity.objects.visible_to(request.user).filter(requests=obj), request),
            "may_edit": may_edit,
            "status_form": status_form if status_form and status_form.fields["status"].choices else None,
            "refer_form": ReferForm(user=request.user, record=obj)
            if principal.sees_everything and obj.status in (Request.Status.RECEIVED, Request.Status.REFERRED)
            else None,
            "answer_form": AnswerForm(),
        }


def _areas_with_counts(request: HttpRequest):
    # Counts start from the visibility rule like everything else: hidden activities are not counted.
    visible = Activity.objects.visible_to(request.user).values("pk")
    return ThematicArea.objects.visible_to(request.user).annotate(
        n=Count("activities", filter=Q(activities__in=visible), distinct=True)
    )


def thematic_areas(request: HttpRequest) -> HttpResponse:
    return render(request, "matrix/thematic_areas.html", {"areas": _areas_with_counts(request)})


def thematic_area(request: HttpRequest, code: str) -> HttpResponse:
    area = get_object_or_404(_areas_with_counts(request), code=code)
    context = {"object": area, "history": changes(area, request.user)}
    return render(request, "matrix/thematic_area_detail.html", context)


def state_panel(request: HttpRequest, state: State) -> dict[str, Any]:
    """On a State's page, a section that loads its activities and requests on its own: counting a
    busy State's share of a million activities should not hold up the rest of its page."""
    return {"template": "matrix/partials/state_panel_lazy.html", "state": state, "order": 10}


def state_activities(request: HttpRequest, code: str) -> HttpResponse:
    """A State's activities (as recipient, also through its regions) and its requests."""
    state = get_object_or_404(State, code=code.upper())
    filterset = ActivityFilterSet(
        {"state": [state.code]}, queryset=Activity.objects.visible_to(request.user), request=request
    )
    activities = filterset.qs if filterset.is_valid() else Activity.objects.none()
    panel = {
        "state": state,
        "activities": activities.order_by("-period_start")[:50],
        # Counted up to the cap, as lists are: an exact count of a busy State's activities
        # costs more than the rest of its page.
        "activity_count": activities.order_by().values("pk")[: CAP + 1].count(),
        "count_cap": CAP,
        "requests": Request.objects.visible_to(request.user)
        .with_answer_state(request.user)
        .filter(state=state)[:50],
    }
    return render(request, "matrix/partials/state_panel.html", {"panel": panel})


BY_LABELS = [("country", _("per country")), ("subregion", _("per sub-region")), ("region", _("per region"))]


def monthly(request: HttpRequest) -> HttpResponse:
    """The monthly matrix on screen, or as PDF or XLSX with ?format=."""
    from . import monthly as monthly_matrix

    month_text = request.GET.get("month", "")
    by = request.GET.get("by", "country")
    basis = request.GET.get("basis", "records")
    context: dict[str, Any] = {"month_text": month_text, "by": by, "by_choices": BY_LABELS, "basis": basis}
    if request.user.is_authenticated:
        context["subscriptions"] = request.user.matrix_subscriptions.all()
    if month_text:
        try:
            matrix = monthly_matrix.build(monthly_matrix.parse_month(month_text), by, request.user, basis)
        except ValueError as exc:
            context["error"] = str(exc)
            return render(request, "matrix/monthly.html", context, status=400)
        name = f"monthly-matrix-{month_text}-{by}-{basis}"
        if request.GET.get("format") == "pdf":
            response = HttpResponse(monthly_matrix.as_pdf(matrix), content_type="application/pdf")
            response["Content-Disposition"] = f'attachment; filename="{name}.pdf"'
            return response
        if request.GET.get("format") == "xlsx":
            import io

            buffer = io.BytesIO()
            monthly_matrix.as_xlsx(matrix, buffer)
            response = HttpResponse(buffer.getvalue(), content_type=XLSX_TYPE)
            response["Content-Disposition"] = f'attachment; filename="{name}.xlsx"'
            return response
        context["matrix"] = matrix
    return render(request, "matrix/monthly.html", context)


XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@login_required
@require_POST
def subscribe(request: HttpRequest) -> HttpResponse:
    from .models import MonthlyMatrixSubscription

    by, fmt = request.POST.get("by"), request.POST.get("format")
    if by not in MonthlyMatrixSubscription.By.values or fmt not in MonthlyMatrixSubscription.Format.values:
        return HttpResponse("Unknown grouping or format", status=400)
    MonthlyMatrixSubscription.objects.get_or_create(user=request.user, by=by, format=fmt)
    messages.success(request, _("You will receive the monthly matrix by e-mail."))
    return redirect("matrix:monthly")


@login_required
@require_POST
def unsubscribe(request: HttpRequest, pk: int) -> HttpResponse:
    request.user.matrix_subscriptions.filter(pk=pk).delete()
    return redirect("matrix:monthly")


class ChartsView(VisibleMixin, View):
    """The filtered activities drawn as bars, each a link to the activities it counts."""

    model = Activity

    def get(self, request: HttpRequest) -> HttpResponse:
        from .charts import charts

        filterset = ActivityFilterSet(request.GET, queryset=self.visible(request), request=request)
        drawn, undated = [], 0
        if filterset.is_valid():
            drawn, undated = charts(filterset, request.GET, visible_organization_ids(request))
        return render(
            request,
            "matrix/charts.html",
            {
                "filter": filterset,
                "charts": drawn,
                "undated": undated,
                "query": request.GET.urlencode(),
                "active_filters": active_filters(filterset, request.GET),
                "title": _("Assistance matrix: charts"),
            },
        )


class MapView(VisibleMixin, View):
    """A world map of activity counts per State, drawn offline; each State links to its table."""

    model = Activity
    BINS = (1, 2, 5, 10, 20, 50)

    def get(self, request: HttpRequest) -> HttpResponse:
        from coopmatrix.geo.maps import HEIGHT, WIDTH, choropleth

        filterset = ActivityFilterSet(request.GET, queryset=self.visible(request), request=request)
        counts: dict[int, int] = {}
        named = 0
        if filterset.is_valid():
            reach = ActivityReach.objects.filter(activity__in=filterset.qs.values("pk"))
            # Filtered by a region or State, the map shows that region's States (an activity for
            # Kyrgyzstan and Russia, found by filtering on Asia, does not colour Russia).
            within = grid._geo_filters(filterset.form.cleaned_data)
            if within:
                reach = reach.filter(state_id__in=set().union(*within))
            counts = dict(reach.values_list("state_id").annotate(n=Count("activity_id", distinct=True)))
            # Why a State is counted: named as a recipient, or only inside a region an activity is
            # for ("countries in Central America"), which reaches each of its States.
            named = reach.filter(direct=True).values("state_id").distinct().count()
        query = request.GET.copy()
        query.pop("state", None)
        prefix = reverse("matrix:activity_list") + "?" + (query.urlencode() + "&" if query else "")
        states, dots = choropleth(counts, self.BINS, lambda state: f"{prefix}state={state.code}")
        return render(
            request,
            "matrix/map.html",
            {
                "filter": filterset,
                "states": states,
                "dots": dots,
                "width": WIDTH,
                "height": HEIGHT,
                "bins": self.BINS,
                "full_query": request.GET.urlencode(),
                "title": _("Assistance matrix: map"),
                "map_title": _("Activities per State"),
                "reached": sum(1 for n in counts.values() if n),
                "named": named,
                "through_regions": sum(1 for n in counts.values() if n) - named,
            },
        )


class TimelineView(VisibleMixin, View):
    """Bars from start to end per activity, planned (outline) beside actual (filled), grouped by
    State, provider or programme as chosen, in the window the period filters give."""

    model = Activity
    LIMIT = 200
    WIDTH = 1000
    LABEL_WIDTH = 380
    ROW = 22
    GROUPS = {
        "": _("No grouping"),
        "state": _("Recipient State"),
        "provider": _("Provider"),
        "programme": _("Programme"),
    }

    def get(self, request: HttpRequest) -> HttpResponse:
        filterset = ActivityFilterSet(request.GET, queryset=self.visible(request), request=request)
        group_by = request.GET.get("group", "") if request.GET.get("group", "") in self.GROUPS else ""
        rows: list[dict[str, Any]] = []
        ticks: list[dict[str, Any]] = []
        total = 0
        window: tuple[Any, Any] = (None, None)
        if filterset.is_valid():
            records = filterset.qs.filter(period_start__isnull=False).order_by("period_start", "title")
            records = records.prefetch_related("provider_roles__organization", "recipient_states")
            records = records.select_related("programme")
            total = records.count()
            window = (
                filterset.form.cleaned_data.get("period_from"),
                filterset.form.cleaned_data.get("period_to"),
            )
            rows, ticks = self.layout(list(records[: self.LIMIT]), group_by, request, window)
        height = 30 + self.ROW * len(rows)
        return render(
            request,
            "matrix/timeline.html",
            {
                "filter": filterset,
                "rows": rows,
                "ticks": ticks,
                "total": total,
                "limit": self.LIMIT,
                "width": self.WIDTH,
                "height": height,
                "label_width": self.LABEL_WIDTH,
                "groups": list(self.GROUPS.items()),
                "group_by": group_by,
                "window": window,
                "query": request.GET.urlencode(),
                "active_filters": active_filters(filterset, request.GET) if filterset.is_valid() else [],
                "title": _("Assistance matrix: timeline"),
            },
        )

    def _groups(self, activity: Activity, group_by: str, visible_organizations: set[int]) -> list[str]:
        if group_by == "state":
            return sorted(s.name_en for s in activity.recipient_states.all()) or [str(_("No State named"))]
        if group_by == "provider":
            names = {
                str(role.organization)
                for role in activity.provider_roles.all()
                if role.organization_id in visible_organizations
            }
            return sorted(names) or [str(_("No provider you may see"))]
        if group_by == "programme":
            return [activity.programme.title if activity.programme_id else str(_("No programme"))]
        return [""]

    @staticmethod
    def _label(activity: Activity, visible_organizations: set[int]) -> str:
        """The title, then what tells two activities of the same title apart: the provider and
        the recipients."""
        providers = sorted(
            {
                r.organization.label
                for r in activity.provider_roles.all()
                if r.organization_id in visible_organizations
            }
        )
        states = sorted(s.name_en for s in activity.recipient_states.all())
        where = ", ".join(states[:2]) + (f" +{len(states) - 2}" if len(states) > 2 else "")
        details = " · ".join(part for part in (", ".join(providers[:2]), where) if part)
        title = activity.title if len(activity.title) <= 44 else activity.title[:43] + "…"
        return f"{title} — {details}" if details else title

    def layout(
        self, records: list[Activity], group_by: str, request: HttpRequest, window: tuple[Any, Any]
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        import datetime as dt

        from coopmatrix.core.dates import PartialDate, Precision

        visible_organizations = visible_organization_ids(request)

        def span(start, end, end_precision):
            if start is None:
                return None
            return start, (PartialDate(end, end_precision or Precision.DAY).last_day if end else None)

        spans = []
        for a in records:
            planned = span(a.planned_start, a.planned_end, a.planned_end_precision)
            actual = span(a.actual_start, a.actual_end, a.actual_end_precision)
            spans.append((a, planned, actual))
        # The window: the period filters when given, else the dates known (an open end is not
        # stretched to today: it is drawn as open).
        days = [d for _, p, q in spans for pair in (p, q) if pair for d in pair if d]
        if not days:
            return [], []
        first = window[0] or dt.date(min(days).year, 1, 1)
        last = window[1] or dt.date(max(days).year, 12, 31)
        if last <= first:
            last = first + dt.timedelta(days=1)
        width = (last - first).days
        area = self.WIDTH - self.LABEL_WIDTH

        def x(day):
            day = min(max(day, first), last)
            return self.LABEL_WIDTH + (day - first).days / width * area

        grouped: dict[str, list[tuple[Any, Any, Any]]] = {}
        for entry in spans:
            for name in self._groups(entry[0], group_by, visible_organizations):
                grouped.setdefault(name, []).append(entry)
        rows: list[dict[str, Any]] = []
        for name in sorted(grouped):
            if group_by:
                rows.append({"group": name, "y": 30 + self.ROW * len(rows)})
            for a, planned, actual in grouped[name]:
                row: dict[str, Any] = {"activity": a, "label": self._label(a, visible_organizations)}
                row["y"] = 30 + self.ROW * len(rows)
                for kind, pair in (("planned", planned), ("actual", actual)):
                    if not pair:
                        continue
                    start, end = pair
                    if start > last or (end is not None and end < first):
                        row[f"{kind}_outside"] = True
                        continue
                    x0 = x(start)
                    # An open end: a short bar and an arrow, not a bar to the window's end.
                    x1 = x(end) if end else min(x0 + 24, self.WIDTH - 8)
                    row[kind] = {
                        "x": f"{x0:.1f}",
                        "w": f"{max(x1 - x0, 2):.1f}",
                        "open": end is None,
                        "end": f"{x1:.1f}",
                    }
                rows.append(row)
        ticks = [
            {"x": f"{x(dt.date(year, 1, 1)):.1f}", "year": year}
            for year in range(first.year + (0 if first == dt.date(first.year, 1, 1) else 1), last.year + 1)
        ]
        return rows, ticks


@login_required
def import_activities(request: HttpRequest) -> HttpResponse:
    """Upload → preview (what would be created, updated, and every error) → confirm."""
    from . import importers

    return import_page(
        request,
        kind="activities",
        template="matrix/import.html",
        context={"columns": importers.COLUMNS},
        check=importers.preview,
        done=reverse("matrix:activity_list"),
        allowed=importers.may_import,
        options=decimal_mark,
    )


def import_template(request: HttpRequest, kind: str) -> HttpResponse:
    from . import importers

    content = importers.template_xlsx() if kind == "xlsx" else importers.template_csv()
    return template_download(content, kind, "activities")


# Recording on a page. Each view checks the edit rule through `actions` (403 otherwise) and
# looks records up through the visibility rule first (404 for what the user may not see).


def _may_create(request: HttpRequest) -> bool:
    principal = principal_for(request.user)
    return principal.sees_everything or principal.may_edit_own


def _form_page(
    request: HttpRequest, form: Any, title: str, cancel: str, status: int = 200, warning: Any = None
) -> HttpResponse:
    context = {"form": form, "title": title, "cancel": cancel, "warning": warning}
    return render(request, "core/record_form.html", context, status=status)


class _NotSaved(Exception):
    """Undoes a save made only to learn what the record's own checks say of it."""


def _checks_of_the_record(form: Any, save: Any, user: Any, record: Any) -> None:
    """A form with errors also shows those the record's own checks find (an end before its
    start, an owner not the user's), so that every error is shown at once rather than one
    round at a time. The checks run in a transaction that is always undone; a field the form
    refused is given empty to them, and their word on it is not added to the form's own."""
    empty = {
        name: [] if isinstance(field, forms.MultipleChoiceField) else ""
        for name, field in form.fields.items()
    }
    form.cleaned_data = {**empty, **getattr(form, "cleaned_data", {})}
    try:
        with transaction.atomic():
            save(user, form.data_for_actions(), record)
            raise _NotSaved
    except actions.Invalid as invalid:
        for field, message in invalid.errors.items():
            target = form.error_fields.get(field, field)
            if target in form.fields and target not in form.errors:
                form.add_error(target, message)
    except _NotSaved:
        pass


def _record_form(
    request: HttpRequest,
    record: Any,
    form_class: Any,
    save: Any,
    initial: dict[str, Any],
    title: Any,
    back: str,
    check: str | None = None,
) -> HttpResponse:
    """Show the form; on POST save through `actions` and put its errors back on the fields.

    `check`: the name of a hook another app provides (registry.hooks) that reads the record as
    it would be saved and may return a warning to show before saving (possible overlaps); the
    user saves anyway by sending back the warning's stamp."""
    from coopmatrix.core.registry import registry

    creating = record is None
    if not creating:
        title = _("Change: %(t)s") % {"t": record.title}
    if request.method == "POST":
        form = form_class(request.POST, user=request.user, creating=creating)
        if form.is_valid():
            data = form.data_for_actions()
            hook = registry.hooks.get(check) if check else None
            try:
                if hook:
                    warning = hook(request.user, lambda: save(request.user, data, record))
                    if warning and request.POST.get("overlaps_seen") != warning.stamp:
                        return _form_page(request, form, str(title), _cancel(record, back), 200, warning)
                saved = save(request.user, data, record)
            except actions.Invalid as invalid:
                form.show(invalid)
            else:
                messages.success(request, _("Saved."))
                return redirect(saved.get_absolute_url())
        else:
            _checks_of_the_record(form, save, request.user, record)
        status = 422
    else:
        form, status = form_class(initial=initial, user=request.user, creating=creating), 200
    return _form_page(request, form, str(title), _cancel(record, back), status)


def _cancel(record: Any, back: str) -> str:
    return record.get_absolute_url() if record else reverse(back)


def _save_activity(request: HttpRequest, activity: Activity | None) -> HttpResponse:
    from .forms import ActivityForm

    actions.check_may_write(request.user, activity)
    initial = ActivityForm.initial_for(activity, request.user) if activity else {}
    return _record_form(
        request,
        activity,
        ActivityForm,
        actions.save_activity,
        initial,
        _("Record an activity"),
        "matrix:activity_list",
        check="before_saving_activity",
    )


@login_required
def activity_create(request: HttpRequest) -> HttpResponse:
    return _save_activity(request, None)


@login_required
def activity_edit(request: HttpRequest, key: int) -> HttpResponse:
    return _save_activity(request, get_object_or_404(Activity.objects.visible_to(request.user), pk=key))


@login_required
def record_delete(request: HttpRequest, kind: str, key: int) -> HttpResponse:
    model, back = {
        "activity": (Activity, "matrix:activity_list"),
        "request": (Request, "matrix:request_list"),
    }[kind]
    record = record_to_change(request, model, key, kind)
    if request.method == "POST":
        try:
            actions.delete_record(request.user, record)
        except actions.InUse as exc:
            messages.error(request, str(exc))
            return redirect(record.get_absolute_url())
        messages.success(request, _("Deleted: %(r)s") % {"r": record})
        return redirect(back)
    return render(request, "matrix/confirm_delete.html", {"object": record})


def _save_request(request: HttpRequest, record: Request | None) -> HttpResponse:
    from .forms import RequestForm

    if record is None and not _may_create(request):
        raise PermissionDenied
    if record is not None and not Request.objects.editable_by(request.user).filter(pk=record.pk).exists():
        raise PermissionDenied
    return _record_form(
        request,
        record,
        RequestForm,
        actions.save_request,
        RequestForm.initial_for(record) if record else {},
        _("Record a request for assistance"),
        "matrix:request_list",
    )


@login_required
def request_create(request: HttpRequest) -> HttpResponse:
    return _save_request(request, None)


@login_required
def request_edit(request: HttpRequest, key: int) -> HttpResponse:
    return _save_request(request, get_object_or_404(Request.objects.visible_to(request.user), pk=key))


def _after_step(request: HttpRequest, record: Request, form: Any, step: Any) -> HttpResponse:
    """Run one step of a request's life (status, referral, answer); errors come back as messages."""
    if not form.is_valid():
        for field, errors in form.errors.items():
            messages.error(
                request, f"{form.fields[field].label if field in form.fields else field}: {' '.join(errors)}"
            )
    else:
        try:
            step(form.cleaned_data)
        except actions.Invalid as invalid:
            for field, message in invalid.errors.items():
                messages.error(request, f"{field}: {message}")
        else:
            messages.success(request, _("Saved."))
    return redirect(record.get_absolute_url())


@login_required
@require_POST
def request_status(request: HttpRequest, key: int) -> HttpResponse:
    from .forms import StatusForm

    record = get_object_or_404(Request.objects.visible_to(request.user), pk=key)
    form = StatusForm(request.POST, record=record)
    return _after_step(
        request,
        record,
        form,
        lambda d: actions.set_request_status(request.user, record, d["status"], d["on"], d["note"]),
    )


@login_required
@require_POST
def request_refer(request: HttpRequest, key: int) -> HttpResponse:
    from .forms import ReferForm

    record = get_object_or_404(Request.objects.visible_to(request.user), pk=key)
    form = ReferForm(request.POST, user=request.user, record=record)
    return _after_step(
        request,
        record,
        form,
        lambda d: actions.refer_request(request.user, record, d["providers"], d["on"], d["note"]),
    )


@login_required
@require_POST
def referral_answer(request: HttpRequest, key: int) -> HttpResponse:
    from .forms import AnswerForm

    referral = get_object_or_404(
        Referral.objects.filter(
            request__in=Request.objects.visible_to(request.user),
            provider_id__in=visible_organization_ids(request),
        ).select_related("request", "provider"),
        pk=key,
    )
    form = AnswerForm(request.POST)
    return _after_step(
        request,
        referral.request,
        form,
        lambda d: actions.answer_referral(request.user, referral, d["response"], d["on"]),
    )


def impact(request: HttpRequest) -> HttpResponse:
    """States that became party to an instrument within N months after legislative assistance."""
    from coopmatrix.treaties.forms import ImpactForm
    from coopmatrix.treaties.models import TreatyAction

    from .impact import became_party_after_assistance

    form = ImpactForm(request.GET)
    findings, states = None, 0
    if form.is_valid():
        data = form.cleaned_data
        providers = None
        if data["provider"]:
            providers = list(Organization.objects.visible_to(request.user).filter(code=data["provider"]))
            if not providers:
                form.add_error("provider", _("No organization with this code."))
        if form.is_valid():
            findings = became_party_after_assistance(
                request.user, data["months"], providers, data["assisted_from"], data["assisted_to"]
            )
            states = len({f.state.pk for f in findings})
    return render(
        request,
        "matrix/impact.html",
        {
            "form": form,
            "findings": findings,
            "states": states,
            "title": _("Impact of assistance"),
            "recorded": TreatyAction.objects.visible_to(request.user).exists(),
        },
        status=200 if form.is_valid() else 400,
    )


def who_to_contact_page(request: HttpRequest) -> HttpResponse:
    """For a State and a thematic area: its focal points and central authorities, and the
    contacts of the providers active there."""
    from .who import who_to_contact

    code = request.GET.get("state", "").strip().upper()
    area_code = request.GET.get("thematic_area", "").strip()
    context: dict[str, Any] = {
        "title": _("Who to contact"),
        "states": [
            (code, State.option_label(name, status))
            for code, name, status in State.objects.order_by("name_en").values_list(
                "code", "name_en", "status"
            )
        ],
        "areas": ThematicArea.objects.all(),
        "chosen_state": code,
        "chosen_area": area_code,
    }
    status = 200
    if code:
        state = State.objects.visible_to(request.user).filter(code=code).first()
        area = ThematicArea.objects.filter(code=area_code).first() if area_code else None
        if state is None:
            context["error"], status = _("No State with code %(c)s.") % {"c": code}, 400
        elif area_code and area is None:
            context["error"], status = _("No thematic area with code %(c)s.") % {"c": area_code}, 400
        else:
            context["result"] = who_to_contact(request.user, state, area)
            context["visible"] = visible_organization_ids(request)
    return render(request, "matrix/who_to_contact.html", context, status=status)
