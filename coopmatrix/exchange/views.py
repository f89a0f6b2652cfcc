"""The IATI upload page, and what an activity's page shows of its IATI record."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.translation import gettext as _

from coopmatrix.core.imports import import_page
from coopmatrix.matrix.models import Activity

from . import importers
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
        check=importers.check,
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
