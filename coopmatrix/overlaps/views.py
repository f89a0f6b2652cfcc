from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.views import View
from django.views.decorators.http import require_POST

from coopmatrix.core.errors import Invalid, Stale
from coopmatrix.core.exports import xlsx_response
from coopmatrix.core.history import changes
from coopmatrix.core.views import RecordExportView, RecordListView, VisibleMixin
from coopmatrix.directory.filtersets import visible_organization_ids
from coopmatrix.matrix.models import Activity

from . import actions
from .exporters import COLUMNS, rows
from .filtersets import OverlapFilterSet
from .models import Overlap
from .tables import OverlapTable


class OverlapQueueView(RecordListView):
    model = Overlap
    related = ("first", "second")
    filterset_class = OverlapFilterSet
    table_class = OverlapTable
    title = _("Possible overlaps")
    empty_text = _(
        "Pairs of activities that may be the same work: States, months, thematic areas in common "
        "and titles alike. None is found for these filters."
    )
    export_url_name = "overlaps:export"
    template_name = "overlaps/queue.html"

    def extra_context(self, request: HttpRequest) -> dict[str, Any]:
        from django.conf import settings

        return {"threshold": settings.OVERLAP_THRESHOLD}


class OverlapExportView(RecordExportView):
    model = Overlap
    related = ("first", "second")
    filterset_class = OverlapFilterSet
    columns = COLUMNS
    filename = "overlaps"

    def rows(self, request, records):
        return rows(records)


class OverlapXlsxView(VisibleMixin, View):
    model = Overlap

    def get(self, request: HttpRequest) -> HttpResponse:
        filterset = OverlapFilterSet(request.GET, queryset=self.visible(request), request=request)
        if not filterset.is_valid():
            return render(request, "core/filter_errors.html", {"filter": filterset}, status=400)
        return xlsx_response(
            request, filterset, COLUMNS, "overlaps", str(_("Possible overlaps")), rows(filterset.qs)
        )


def _visible_pair(request: HttpRequest, key: int) -> Overlap:
    try:
        return Overlap.objects.visible_to(request.user).select_related("first", "second").get(pk=key)
    except Overlap.DoesNotExist as exc:
        # The same answer for "no such pair" and "a pair you may not see".
        raise Http404 from exc


def _side(request: HttpRequest, activity: Activity) -> dict[str, Any]:
    visible = visible_organization_ids(request)
    return {
        "activity": activity,
        "providers": activity.provider_roles.filter(organization_id__in=visible).select_related(
            "organization"
        ),
        "states": activity.recipient_states.all(),
        "regions": activity.recipient_regions.all(),
        "areas": activity.thematic_areas.all(),
    }


def _pair_page(request: HttpRequest, overlap: Overlap, status: int = 200, **extra: Any) -> HttpResponse:
    context = {
        "object": overlap,
        "sides": [_side(request, overlap.first), _side(request, overlap.second)],
        "may_judge": actions.may_judge(request.user, overlap),
        "drawn": actions.drawn(overlap),
        "verdicts": Overlap.Verdict.choices,
        "history": changes(overlap, request.user),
        **extra,
    }
    return render(request, "overlaps/overlap_detail.html", context, status=status)


def overlap_page(request: HttpRequest, key: int) -> HttpResponse:
    return _pair_page(request, _visible_pair(request, key))


@require_POST
def overlap_verdict(request: HttpRequest, key: int) -> HttpResponse:
    overlap = _visible_pair(request, key)
    if not request.user.is_authenticated:
        raise PermissionDenied("sign in to give a verdict")
    data = {k: request.POST.get(k, "") for k in ("verdict", "comment", "drawn")}
    try:
        actions.give_verdict(request.user, overlap, data)
    except Invalid as invalid:
        return _pair_page(request, overlap, 422, errors=invalid.errors, posted=data)
    except Stale as stale:
        # Drawn anew, with its activities as they are now: the next verdict is on those.
        return _pair_page(request, _visible_pair(request, key), 409, stale=str(stale), posted=data)
    return redirect(overlap.get_absolute_url())


def activity_panel(request: HttpRequest, activity: Activity) -> dict[str, Any]:
    """On the activity's page: its possible overlaps the reader may see, the partners' records of
    the same work (verdict "joint"), and, for those who may change it, a word that it also
    overlaps work they cannot see (the secretariat holds those pairs in full)."""
    from django.db.models import Q

    mine = Overlap.objects.filter(Q(first_id=activity.pk) | Q(second_id=activity.pk))
    visible = list(mine.visible_to(request.user).select_related("first", "second"))
    hidden = False
    if Activity.objects.editable_by(request.user).filter(pk=activity.pk).exists():
        hidden = mine.count() > len(visible)
    joint = [o for o in visible if o.verdict == Overlap.Verdict.JOINT]
    return {
        "template": "overlaps/activity_panel.html",
        "order": 50,
        "overlap_count": sum(1 for o in visible if o.verdict != Overlap.Verdict.JOINT),
        "overlap_to_review": sum(1 for o in visible if o.to_review),
        "overlap_activity": activity,
        "joint": [o.second if o.first_id == activity.pk else o.first for o in joint],
        "hidden_overlap": hidden,
    }
