"""The IATI upload page, and what an activity's page shows of its IATI record."""

from __future__ import annotations

import functools
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from coopmatrix.core.imports import import_page
from coopmatrix.core.querysets import visible_ids
from coopmatrix.directory.models import Organization
from coopmatrix.matrix.filtersets import ActivityFilterSet
from coopmatrix.matrix.models import Activity

from . import importers
from .iati_export import iati_response
from .models import IatiRecord

OLDER = ("keep", "overwrite")


@login_required
def import_iati(request: HttpRequest) -> HttpResponse:
    """Upload → preview (valid activities, refused ones with their reasons, new organizations)
    → confirm: the valid ones are written by a background job, all or none."""
    return import_page(
        request,
        kind="iati",
        template="exchange/iati_import.html",
        context={"mapping": importers.MAPPING},
        # The preview keeps counts, refusals and notes, not the activities: the job reads the
        # file again when it writes.
        check=functools.partial(importers.check, keep=False),
        done=reverse("matrix:activity_list"),
        allowed=importers.may_import,
        options=_older,
    )


def _older(request: HttpRequest) -> dict[str, str]:
    older = request.POST.get("older") or "keep"
    if older not in OLDER:
        raise ValueError(_("Choose whether older activities are kept or overwritten."))
    return {"older": older}


def activity_panel(request: HttpRequest, activity: Activity) -> dict[str, Any]:
    """On an activity's page: what its IATI file said beyond the matrix's fields."""
    record = (
        IatiRecord.objects.visible_to(request.user)
        .filter(activity=activity)
        .prefetch_related("budgets", "transactions")
        .first()
    )
    # Drawn only for an activity read from IATI (the template shows nothing otherwise).
    return {"template": "exchange/activity_panel.html", "order": 60, "iati": record}


def export_iati(request: HttpRequest) -> HttpResponseBase:
    """The filtered matrix as an IATI 2.03 file: the same filters as the matrix's pages."""
    filterset = ActivityFilterSet(
        request.GET, queryset=Activity.objects.visible_to(request.user), request=request
    )
    if not filterset.is_valid():
        return render(request, "core/filter_errors.html", {"filter": filterset}, status=400)
    return iati_response(request, filterset.qs)


@login_required
def import_hxl(request: HttpRequest) -> HttpResponse:
    """A 3W sheet with HXL hashtags: upload → preview → confirm, as the activity template."""
    from coopmatrix.matrix import importers as activities

    from . import hxl

    return import_page(
        request,
        kind="hxl",
        template="exchange/hxl_import.html",
        context={"columns": hxl.COLUMNS},
        check=hxl.check,
        done=reverse("matrix:activity_list"),
        allowed=activities.may_import,
    )


def export_hxl(request: HttpRequest) -> HttpResponseBase:
    """The filtered matrix as an HXL-tagged 3W CSV, streamed."""
    from . import hxl

    filterset = ActivityFilterSet(
        request.GET, queryset=Activity.objects.visible_to(request.user), request=request
    )
    if not filterset.is_valid():
        return render(request, "core/filter_errors.html", {"filter": filterset}, status=400)
    organizations = visible_ids(request, Organization)
    response = StreamingHttpResponse(
        hxl.export(filterset.qs, organizations), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = (
        f'attachment; filename="matrix-3w-hxl-{timezone.localdate().isoformat()}.csv"'
    )
    return response
