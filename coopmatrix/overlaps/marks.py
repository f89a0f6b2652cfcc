"""Marks on the matrix's grid of counts: the cells holding an activity with a possible overlap not
yet reviewed (a pair the reader may see), each linking to those pairs in the review queue."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.urls import reverse

from coopmatrix.matrix.models import Activity, ActivityProvider, ActivityReach

from .models import Overlap

#: At most this many pairs are read for the marks of one grid (the queue lists them all).
MARKS_LIMIT = 20_000

_ROW = {"state": "state_id", "subregion": "state__subregion_id", "region": "state__region_id"}


def grid_marks(request: HttpRequest, activities: QuerySet, rows_by: str, cols_by: str) -> tuple[set, str]:
    """(row key, column key) of each cell counting an activity of an unreviewed pair, and the
    review queue's address, to which a mark adds its row's and column's filters."""
    return _cells(request, activities, rows_by, cols_by), reverse("overlaps:queue") + "?to_review=true"


def _cells(request: HttpRequest, activities: QuerySet, rows_by: str, cols_by: str) -> set[tuple[int, int]]:
    pairs = (
        Overlap.objects.visible_to(request.user)
        .filter(to_review=True)
        .filter(Q(first_id__in=activities.values("pk")) | Q(second_id__in=activities.values("pk")))
        .values_list("first_id", "second_id")[:MARKS_LIMIT]
    )
    ids = {pk for pair in pairs for pk in pair}
    if not ids:
        return set()
    # Only the activities the grid counts (the filters may leave one of a pair out).
    ids = set(activities.filter(pk__in=ids).values_list("pk", flat=True))
    rows: dict[int, set[int]] = {}
    for activity_id, row in ActivityReach.objects.filter(activity_id__in=ids).values_list(
        "activity_id", _ROW[rows_by]
    ):
        if row is not None:
            rows.setdefault(activity_id, set()).add(row)
    cols: dict[int, set[int]] = {}
    if cols_by == "provider":
        links: Any = ActivityProvider.objects.filter(activity_id__in=ids).values_list(
            "activity_id", "organization_id"
        )
    else:
        links = Activity.thematic_areas.through.objects.filter(activity_id__in=ids).values_list(
            "activity_id", "thematicarea_id"
        )
    for activity_id, col in links:
        cols.setdefault(activity_id, set()).add(col)
    return {(row, col) for pk in ids for row in rows.get(pk, ()) for col in cols.get(pk, ())}
