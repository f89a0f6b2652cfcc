from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from coopmatrix.core.errors import Invalid
from coopmatrix.core.imports import import_page
from coopmatrix.core.roles import principal_for
from coopmatrix.core.views import RecordDetailView, RecordExportView, RecordListView, record_to_change

from . import actions, exporters, importers, participation
from .exporters import ACTION_COLUMNS
from .filtersets import InstrumentFilterSet, TreatyActionFilterSet
from .forms import MapForm, Table2Form, TreatyActionForm
from .models import Instrument, TreatyAction
from .tables import InstrumentTable, TreatyActionTable

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

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
    empty_text = _("This list holds the universal conventions and protocols against terrorism.")
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


class TreatyActionListView(RecordListView):
    model = TreatyAction
    related = ("state", "instrument")
    filterset_class = TreatyActionFilterSet
    table_class = TreatyActionTable
    title = _("Treaty actions")
    empty_text = _(
        "This list holds each State's signatures, ratifications, "
        "accessions and other actions on the instruments."
    )
    import_url_name = "treaties:action_import"
    import_allowed = "coopmatrix.treaties.importers:may_import"
    export_url_name = "treaties:action_export"
    create_url_name = "treaties:action_create"
    create_label = _("Record a treaty action")

    def _create_url(self, request: HttpRequest) -> str | None:
        # Organization editors keep no treaty actions: the link is for those who may record.
        return reverse("treaties:action_create") if _may_record(request) else None


class TreatyActionExportView(RecordExportView):
    model = TreatyAction
    related = ("state", "instrument")
    filterset_class = TreatyActionFilterSet
    columns = ACTION_COLUMNS
    filename = "treaty-actions"


class TreatyActionDetailView(RecordDetailView):
    model = TreatyAction
    related = ("state", "instrument")
    template_name = "treaties/action_detail.html"

    def get_context(self, request: HttpRequest, obj: Any) -> dict[str, Any]:
        return {"may_edit": TreatyAction.objects.editable_by(request.user).filter(pk=obj.pk).exists()}


def _table2(request: HttpRequest) -> tuple[Table2Form, participation.Table2 | None]:
    # Bound even without parameters: every field is optional and has its default.
    form = Table2Form(request.GET)
    if not form.is_valid():
        return form, None
    data = form.cleaned_data
    table = participation.table2(
        TreatyAction.objects.visible_to(request.user),
        data["as_at"],
        data["after"],
        data["instruments"],
        data["basis"],
        data.get("region"),
        user=request.user,
    )
    return form, table


def table2(request: HttpRequest) -> HttpResponse:
    """Table 2 of 2004 computed from the records as at any date, beside the published figures."""
    form, table = _table2(request)
    if table is None:
        return render(
            request, "treaties/table2.html", {"form": form, "title": _("Number of parties")}, status=400
        )
    fmt = request.GET.get("format", "")
    who = request.user.get_username() if request.user.is_authenticated else "anonymous (public records)"
    stamp = f"table2-{table.as_at.isoformat()}"
    if fmt == "csv":
        response = HttpResponse(exporters.table2_csv(table), content_type="text/csv; charset=utf-8")
    elif fmt == "xlsx":
        response = HttpResponse(exporters.table2_xlsx(table, who), content_type=XLSX_TYPE)
    elif fmt == "pdf":
        response = HttpResponse(exporters.table2_pdf(table, who), content_type="application/pdf")
    else:
        query = request.GET.copy()
        query.pop("format", None)
        return render(
            request,
            "treaties/table2.html",
            {
                "form": form,
                "table": table,
                "cover": exporters.describe(table),
                "recorded": TreatyAction.objects.visible_to(request.user).exists(),
                "query": query.urlencode(),
                "title": _("Number of parties to the universal instruments"),
            },
        )
    response["Content-Disposition"] = f'attachment; filename="{stamp}.{fmt}"'
    return response


def participation_map(request: HttpRequest) -> HttpResponse:
    """States coloured by the number of instruments they are party to as at a date."""
    from coopmatrix.geo.maps import HEIGHT, WIDTH, choropleth

    form = MapForm(request.GET or None)
    as_at, which = timezone.localdate(), "all"
    if request.GET and form.is_valid():
        as_at = form.cleaned_data["as_at"] or as_at
        which = form.cleaned_data["instruments"] or which
    instruments = set(participation.instruments_of(which, request.user).values_list("pk", flat=True))
    found = participation.standings(TreatyAction.objects.visible_to(request.user), as_at)
    counts: dict[int, int] = {}
    for (state_id, instrument_id), standing in found.items():
        if standing.party_since and instrument_id in instruments:
            counts[state_id] = counts.get(state_id, 0) + 1
    states, dots = choropleth(
        counts, MAP_BINS, lambda state: f"{state.get_absolute_url()}?as_at={as_at.isoformat()}"
    )
    return render(
        request,
        "treaties/map.html",
        {
            "form": form,
            "as_at": as_at,
            "states": states,
            "dots": dots,
            "width": WIDTH,
            "height": HEIGHT,
            "bins": MAP_BINS,
            "title": _("Parties to the universal instruments: map"),
            "map_title": _("Instruments each State is party to"),
            "with_any": len(counts),
            "recorded": TreatyAction.objects.visible_to(request.user).exists(),
        },
        status=200 if not request.GET or form.is_valid() else 400,
    )


MAP_BINS = (1, 4, 8, 12, 16, 19)


@login_required
def import_actions(request: HttpRequest) -> HttpResponse:
    """Upload (template or a depositary's status table, as a file or pasted) → preview → confirm."""
    return import_page(
        request,
        kind="treaty_actions",
        template="treaties/import.html",
        context={
            "columns": importers.COLUMNS,
            "instruments": Instrument.objects.visible_to(request.user).order_by("table2_order", "adopted"),
            "title": _("Import treaty actions"),
        },
        check=importers.check,
        done=reverse("treaties:action_list"),
        allowed=importers.may_import,
        options=_import_options,
    )


def _import_options(request: HttpRequest) -> dict[str, str]:
    fmt = request.POST.get("format", "template")
    if fmt not in importers.FORMATS:
        raise ValueError(_("Unknown format."))
    return {
        "fmt": fmt,
        "instrument": request.POST.get("instrument", ""),
        "status_date": request.POST.get("status_date", "").strip()[:40],
    }


def import_template(request: HttpRequest, kind: str) -> HttpResponse:
    if kind == "xlsx":
        response = HttpResponse(importers.template_xlsx(), content_type=XLSX_TYPE)
    else:
        response = HttpResponse(importers.template_csv(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="coopmatrix-treaty-actions-template.{kind}"'
    return response


def state_panel(request: HttpRequest, state: Any) -> dict[str, Any]:
    """A State's standing towards every instrument as at a date (?as_at=, default today)."""
    form = MapForm(request.GET or None)
    as_at = timezone.localdate()
    if request.GET.get("as_at") and form.is_valid() and form.cleaned_data["as_at"]:
        as_at = form.cleaned_data["as_at"]
    visible = TreatyAction.objects.visible_to(request.user).filter(state=state)
    found = participation.standings(visible, as_at)
    party, signed, outstanding = [], [], []
    for instrument in participation.instruments_of("all", request.user):
        standing = found.get((state.pk, instrument.pk))
        if standing and standing.party_since:
            party.append((instrument, standing))
        elif standing and standing.signed:
            signed.append((instrument, standing))
        else:
            outstanding.append(instrument)
    actions = list(visible.filter(deposited__lte=as_at).select_related("instrument").order_by("deposited"))
    return {
        "template": "treaties/partials/state_panel.html",
        "order": 20,
        "recorded": visible.exists(),
        "state": state,
        "as_at": as_at,
        "party": party,
        "signed": signed,
        "outstanding": outstanding,
        "timeline": actions,
        "statements": [a for a in actions if a.action in TreatyAction.STATEMENTS],
    }


def _may_record(request: HttpRequest) -> bool:
    principal = principal_for(request.user)
    return principal.sees_everything or (principal.may_edit_own and principal.state_id is not None)


def _action_form(request: HttpRequest, record: TreatyAction | None) -> HttpResponse:
    """Show the form; on POST save through `actions` and put its errors back on the fields."""
    status = 200
    if request.method == "POST":
        form = TreatyActionForm(request.POST, user=request.user)
        if form.is_valid():
            try:
                saved = actions.save(request.user, form.cleaned_data, record)
            except Invalid as invalid:
                form.show(invalid)
            else:
                messages.success(request, _("Saved."))
                return redirect(saved.get_absolute_url())
        status = 422
    else:
        form = TreatyActionForm(
            initial=TreatyActionForm.initial_for(record) if record else {}, user=request.user
        )
    title = _("Change: %(t)s") % {"t": record} if record else _("Record a treaty action")
    cancel = record.get_absolute_url() if record else reverse("treaties:action_list")
    return render(
        request, "core/record_form.html", {"form": form, "title": title, "cancel": cancel}, status=status
    )


@login_required
def action_create(request: HttpRequest) -> HttpResponse:
    if not _may_record(request):
        raise PermissionDenied(
            "only the secretariat, or a national focal point for its own State, may record"
        )
    return _action_form(request, None)


@login_required
def action_edit(request: HttpRequest, key: int) -> HttpResponse:
    return _action_form(request, record_to_change(request, TreatyAction, key, "treaty action"))


@login_required
@require_POST
def action_delete(request: HttpRequest, key: int) -> HttpResponse:
    record = get_object_or_404(TreatyAction.objects.visible_to(request.user), pk=key)
    actions.delete(request.user, record)
    messages.success(request, _("Deleted."))
    return redirect("treaties:action_list")
