from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from coopmatrix.core.charts import Bar, Segment, bar_chart
from coopmatrix.core.errors import InUse, Invalid
from coopmatrix.core.imports import decimal_mark, import_page, template_download
from coopmatrix.core.views import RecordDetailView, RecordExportView, RecordListView, record_to_change
from coopmatrix.exchange.models import IatiTransaction
from coopmatrix.matrix.models import Programme

from . import actions, exporters, gap, importers
from .exporters import CONTRIBUTION_COLUMNS, FUND_COLUMNS, NEED_COLUMNS, RATE_COLUMNS
from .filtersets import ContributionFilterSet, ExchangeRateFilterSet, FundFilterSet, FundingNeedFilterSet
from .forms import ContributionForm, GapForm, Table1Form
from .models import Contribution, ExchangeRate, Fund, FundingNeed
from .table1 import Table1
from .table1 import table1 as compute_table1
from .tables import ContributionTable, ExchangeRateTable, FundingNeedTable, FundTable

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CONTRIBUTION_RELATED = ("donor_state", "donor_organization", "fund", "programme", "activity")


class ContributionListView(RecordListView):
    model = Contribution
    related = CONTRIBUTION_RELATED
    filterset_class = ContributionFilterSet
    table_class = ContributionTable
    title = _("Contributions")
    empty_text = _("This list holds pledges and payments from donors to funds, programmes and activities.")
    export_url_name = "funding:contribution_export"
    import_url_name = "funding:import"
    import_allowed = "coopmatrix.funding.importers:may_import"
    create_url_name = "funding:contribution_create"
    create_label = _("Record a contribution")

    def _create_url(self, request: HttpRequest) -> str | None:
        return reverse("funding:contribution_create") if actions.may_record(request.user) else None


class ContributionExportView(RecordExportView):
    model = Contribution
    related = (*CONTRIBUTION_RELATED, "settles")
    filterset_class = ContributionFilterSet
    filename = "contributions"

    def get_columns(self, request: HttpRequest) -> list:
        # The pledge a payment settles is named only to those who may see that pledge.
        visible = set(
            Contribution.objects.visible_to(request.user).filter(kind="pledge").values_list("pk", flat=True)
        )

        def settles(c: Contribution) -> str:
            if c.settles_id not in visible:
                return ""
            return c.settles.external_id or str(c.settles_id)

        return [*CONTRIBUTION_COLUMNS[:-3], ("settles", settles), *CONTRIBUTION_COLUMNS[-3:]]


class ContributionDetailView(RecordDetailView):
    model = Contribution
    related = (*CONTRIBUTION_RELATED, "settles", "iati_transaction")
    template_name = "funding/contribution_detail.html"

    def get_context(self, request: HttpRequest, obj: Any) -> dict[str, Any]:
        visible = Contribution.objects.visible_to(request.user)
        return {
            # A pledge or payment one may not see is not named, not even by its number.
            "settles": visible.filter(pk=obj.settles_id).first() if obj.settles_id else None,
            "payments": visible.filter(settles=obj).select_related("donor_state", "donor_organization"),
            "may_edit": Contribution.objects.editable_by(request.user).filter(pk=obj.pk).exists(),
            "iati_transaction": IatiTransaction.objects.visible_to(request.user)
            .filter(pk=obj.iati_transaction_id)
            .select_related("record")
            .first()
            if obj.iati_transaction_id
            else None,
        }


class FundingNeedListView(RecordListView):
    model = FundingNeed
    related = ("programme",)
    filterset_class = FundingNeedFilterSet
    table_class = FundingNeedTable
    title = _("Funding needs")
    empty_text = _("This list holds what programmes, projects and phases need, as their documents state it.")
    export_url_name = "funding:need_export"


class FundingNeedExportView(RecordExportView):
    model = FundingNeed
    related = ("programme",)
    filterset_class = FundingNeedFilterSet
    columns = NEED_COLUMNS
    filename = "funding-needs"


class FundingNeedDetailView(RecordDetailView):
    model = FundingNeed
    related = ("programme",)
    template_name = "funding/need_detail.html"


class ExchangeRateListView(RecordListView):
    model = ExchangeRate
    filterset_class = ExchangeRateFilterSet
    table_class = ExchangeRateTable
    title = _("Exchange rates")
    empty_text = _(
        "No exchange rate is kept yet: amounts in another currency than the reporting one cannot be "
        "converted until a rate for their date is recorded with its source."
    )
    export_url_name = "funding:rate_export"


class ExchangeRateExportView(RecordExportView):
    model = ExchangeRate
    filterset_class = ExchangeRateFilterSet
    columns = RATE_COLUMNS
    filename = "exchange-rates"


class FundListView(RecordListView):
    model = Fund
    related = ("managed_by",)
    filterset_class = FundFilterSet
    table_class = FundTable
    title = _("Funds")
    empty_text = _("This list holds the trust funds that receive contributions for others' work.")
    export_url_name = "funding:fund_export"


class FundExportView(RecordExportView):
    model = Fund
    related = ("managed_by",)
    filterset_class = FundFilterSet
    columns = FUND_COLUMNS
    filename = "funds"


class FundDetailView(RecordDetailView):
    model = Fund
    related = ("managed_by",)
    lookup_field = "code"
    template_name = "funding/fund_detail.html"

    def get_context(self, request: HttpRequest, obj: Any) -> dict[str, Any]:
        return {"contribution_count": Contribution.objects.visible_to(request.user).filter(fund=obj).count()}


def _chart(table: Table1) -> Any:
    bars = [
        Bar(row.label, [Segment(int(row.amount.to_integral_value()), _donor_url(table, row))])
        for row in table.rows
    ]
    return bar_chart(str(_("Contributions by donor (%(c)s)") % {"c": table.currency}), bars, slug="donors")


def _donor_url(table: Table1, row: Any) -> str:
    from django.urls import reverse

    donor = row.donor
    field = "donor_state" if hasattr(donor, "m49") else "donor_organization"
    target = table.recipient
    scope = f"&{target.kind}={target.record.code}" if target.kind in ("fund", "programme") else ""
    return f"{reverse('funding:contribution_list')}?{field}={donor.code}&kind={table.kind}{scope}"


def table1(request: HttpRequest) -> HttpResponse:
    """Table 1 of 2004 computed from the records as at any date, beside the published figures."""
    form = Table1Form(request.GET, user=request.user)
    title = _("Contributions by donor")
    if not form.is_valid():
        return render(request, "funding/table1.html", {"form": form, "title": title}, status=400)
    data = form.cleaned_data
    visible = Contribution.objects.visible_to(request.user)
    table = compute_table1(visible, data["target"], data["as_at"], data["kind"], user=request.user)
    fmt = request.GET.get("format", "")
    if fmt and table.missing:
        return render(
            request, "funding/table1.html", {"form": form, "table": table, "title": title}, status=422
        )
    who = request.user.get_username() if request.user.is_authenticated else "anonymous (public records)"
    stamp = f"table1-{table.as_at.isoformat()}"
    if fmt == "csv":
        response = HttpResponse(exporters.table1_csv(table), content_type="text/csv; charset=utf-8")
    elif fmt == "xlsx":
        response = HttpResponse(exporters.table1_xlsx(table, who), content_type=XLSX_TYPE)
    elif fmt == "pdf":
        response = HttpResponse(exporters.table1_pdf(table, who), content_type="application/pdf")
    else:
        query = request.GET.copy()
        query.pop("format", None)
        return render(
            request,
            "funding/table1.html",
            {
                "form": form,
                "table": table,
                "chart": _chart(table),
                "cover": exporters.describe(table),
                "query": query.urlencode(),
                "title": title,
                "recipients": _recipients(request),
            },
        )
    response["Content-Disposition"] = f'attachment; filename="{stamp}.{fmt}"'
    return response


def _recipients(request: HttpRequest) -> list[tuple[str, str]]:
    """What the recipient box offers: the funds and programmes the user may see."""
    funds = [(f"fund:{f.code}", f.name) for f in Fund.objects.visible_to(request.user)]
    programmes = [(f"programme:{p.code}", p.title) for p in Programme.objects.visible_to(request.user)]
    return funds + programmes


GAP_COMPUTE = {
    "programmes": gap.by_programme,
    "donors": gap.by_donor_and_year,
    "states": gap.by_recipient_state,
}


#: Rows of the funding gap on one page (a programme counts once, with its projects).
GAP_PAGE_SIZE = 25


def _gap_page(request: HttpRequest, view: str, rows: list[Any]) -> tuple[Any, list[Any]]:
    """One page of the view's rows; a programme's projects stay on its page. The exports give
    every row: a page of thousands of rows (and as many bars) is read by nobody and drawn slowly."""
    units: list[list[Any]] = []
    for row in rows:
        if view == "programmes" and units and row.depth:
            units[-1].append(row)
        else:
            units.append([row])
    page = Paginator(units, GAP_PAGE_SIZE).get_page(request.GET.get("page"))
    return page, [row for unit in page.object_list for row in unit]


def _gap_chart(found: Any, rows: list[Any]) -> Any:
    """Need against funded: each programme of the page with a need, as paid, still pledged and
    missing."""
    from django.urls import reverse

    bars = []
    for row in rows:
        if not row.need or row.missing is None:
            continue
        url = f"{reverse('funding:contribution_list')}?programme={row.programme.code}"
        parts = (("paid", _("paid"), row.paid), ("unpaid", _("pledged, not yet paid"), row.unpaid))
        segments = [Segment(int(amount), url, kind, str(label)) for kind, label, amount in parts]
        segments.append(
            Segment(
                int(row.missing),
                reverse("funding:need_list") + f"?programme={row.programme.code}",
                "missing",
                str(_("missing")),
            )
        )
        bars.append(Bar(row.programme.title, segments, url=row.programme.get_absolute_url()))
    legend = [
        ("paid", str(_("paid"))),
        ("unpaid", str(_("pledged, not yet paid"))),
        ("missing", str(_("missing"))),
    ]
    return bar_chart(str(_("Need against funded (%(c)s)") % {"c": found.currency}), bars, legend, slug="need")


def funding_gap(request: HttpRequest) -> HttpResponse:
    """Need, pledged, paid and missing per programme; per donor and year; per recipient State."""
    form = GapForm(request.GET)
    title = _("Funding gap")
    if not form.is_valid():
        return render(request, "funding/gap.html", {"form": form, "title": title}, status=400)
    view, as_at = form.cleaned_data["view"], form.cleaned_data["as_at"]
    found = GAP_COMPUTE[view](request.user, as_at)
    fmt = request.GET.get("format", "")
    context = {"form": form, "gap": found, "view": view, "title": title}
    if fmt and found.missing_rates:
        return render(request, "funding/gap.html", context, status=422)
    who = request.user.get_username() if request.user.is_authenticated else "anonymous (public records)"
    if fmt == "csv":
        response = HttpResponse(exporters.gap_csv(view, found), content_type="text/csv; charset=utf-8")
    elif fmt == "xlsx":
        response = HttpResponse(exporters.gap_xlsx(view, found, who), content_type=XLSX_TYPE)
    elif fmt == "pdf":
        response = HttpResponse(exporters.gap_pdf(view, found, who), content_type="application/pdf")
    else:
        query = request.GET.copy()
        query.pop("format", None)
        query.pop("page", None)
        page, rows = _gap_page(request, view, found.rows)
        context.update(
            query=query.urlencode(),
            page=page,
            rows=rows,
            cover=exporters.gap_describe(view, found),
            chart=_gap_chart(found, rows) if view == "programmes" else None,
        )
        return render(request, "funding/gap.html", context)
    response["Content-Disposition"] = f'attachment; filename="funding-gap-{view}-{as_at.isoformat()}.{fmt}"'
    return response


@login_required
def import_contributions(request: HttpRequest) -> HttpResponse:
    """Upload the template (CSV or XLSX) → preview → confirm."""
    return import_page(
        request,
        kind="contributions",
        template="funding/import.html",
        context={"columns": importers.COLUMNS, "title": _("Import contributions")},
        check=importers.check,
        done=reverse("funding:contribution_list"),
        allowed=importers.may_import,
        options=decimal_mark,
    )


def import_template(request: HttpRequest, kind: str) -> HttpResponse:
    content = importers.template_xlsx() if kind == "xlsx" else importers.template_csv()
    return template_download(content, kind, "contributions")


def _contribution_form(request: HttpRequest, record: Contribution | None) -> HttpResponse:
    """Show the form; on POST save through `actions` and put its errors back on the fields. A
    payment above its pledge is asked again, with a box to confirm it."""
    status = 200
    if request.method == "POST":
        form = ContributionForm(request.POST, user=request.user)
        if form.is_valid():
            data = dict(form.cleaned_data)
            confirm = data.pop("confirm", False)
            try:
                saved = actions.save(request.user, data, record, confirm=confirm)
            except Invalid as invalid:
                form.show(invalid)
            else:
                messages.success(request, _("Saved."))
                return redirect(saved.get_absolute_url())
        status = 422
    else:
        form = ContributionForm(
            initial=ContributionForm.initial_for(record, request.user) if record else {}, user=request.user
        )
    title = _("Change: %(t)s") % {"t": record} if record else _("Record a contribution")
    cancel = record.get_absolute_url() if record else reverse("funding:contribution_list")
    return render(
        request, "core/record_form.html", {"form": form, "title": title, "cancel": cancel}, status=status
    )


@login_required
def contribution_create(request: HttpRequest) -> HttpResponse:
    if not actions.may_record(request.user):
        raise PermissionDenied("your role may not record contributions")
    return _contribution_form(request, None)


@login_required
def contribution_edit(request: HttpRequest, key: int) -> HttpResponse:
    return _contribution_form(request, record_to_change(request, Contribution, key, "contribution"))


@login_required
@require_POST
def contribution_delete(request: HttpRequest, key: int) -> HttpResponse:
    record = get_object_or_404(Contribution.objects.visible_to(request.user), pk=key)
    try:
        actions.delete(request.user, record)
    except InUse as exc:
        messages.error(request, str(exc))
        return redirect(record.get_absolute_url())
    messages.success(request, _("Deleted."))
    return redirect("funding:contribution_list")
