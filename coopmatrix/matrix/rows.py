"""What a row of the matrix shows, read in a few queries: shared by the pages and the API."""

from __future__ import annotations

from django.db.models import Prefetch
from django.http import HttpRequest

from coopmatrix.directory.filtersets import visible_organization_ids
from coopmatrix.geo.models import State

from .models import ActivityProvider


def with_rows(activities, request: HttpRequest):
    """Activities with the rows each line shows; providers the user may not see are left out."""
    visible = visible_organization_ids(request)
    return activities.select_related("programme").prefetch_related(
        # Rows show names only; a page of 50 activities may name a thousand recipient States.
        Prefetch("recipient_states", queryset=State.objects.only("id", "code", "name_en")),
        "recipient_regions",
        "thematic_areas",
        Prefetch(
            "provider_roles",
            # In the order they were recorded, the same on every page, export and API answer.
            queryset=ActivityProvider.objects.filter(organization_id__in=visible)
            .select_related("organization")
            .order_by("pk"),
        ),
    )
