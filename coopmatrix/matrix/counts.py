"""Counts of activities kept ahead of time for the grid (rows × columns × the filters it serves).

Counting the grid from the records joins every matching activity with its States and thematic
areas: 1.25 s for a million activities on PostgreSQL. The grid instead sums `GridCount` rows,
one per cell and combination of status, modality, confidentiality and (confidential records
only) owner organization, which the visibility rule and the common filters select.

The counts follow the records by difference: `refresh(ids)` compares what each activity adds to
the counts now with what it added last time (`CountedActivity`) and writes the change. Signals
call it whichever door changed an activity; `batch()` holds the refreshes of many changes (one
save, one import) until the end, still inside the caller's transaction. `rebuild()` starts over
and `drift()` says where the counts and the records disagree (the test suite asks it after
every test).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from django.db import connection, transaction
from django.dispatch import Signal

from coopmatrix.core import bulk
from coopmatrix.core.collecting import fewer_collections
from coopmatrix.core.deferred import Deferred
from coopmatrix.core.deltas import Deltas
from coopmatrix.core.querysets import CONFIDENTIAL

ROWS_BY = ("state", "subregion", "region")
COLS_BY = ("thematic_area", "provider")
#: One more column, the activity itself (col_id 0): how many activities reach an area, whatever
#: their areas or providers. The table's count reads it.
TOTAL = "all"
#: One more row, the world (row_id 0): every activity once, reaching a State or not. The lists'
#: count without a State or region filter reads it (the regions' counts overlap).
WORLD = "world"
KEY_FIELDS = ("rows_by", "row_id", "cols_by", "col_id", "status", "modality", "confidentiality", "owner_id")
CHUNK = 2000

Key = tuple[str, int, str, int, str, str, str, int]

#: Sent after the counts of some activities were refreshed (`activity_ids`): whatever else is
#: derived from an activity (the funding sums) follows it from here, whichever door changed it.
activities_refreshed = Signal()


class _Models:
    """The models counted, from the app registry given (a migration's) or the current one."""

    Activity: Any
    ActivityReach: Any
    ActivityProvider: Any
    GridCount: Any
    CountedActivity: Any
    Organization: Any

    def __init__(self, registry: Any = None) -> None:
        if registry is None:
            from django.apps import apps as registry
        for name in ("Activity", "ActivityReach", "ActivityProvider", "GridCount", "CountedActivity"):
            setattr(self, name, registry.get_model("matrix", name))
        self.Organization = registry.get_model("directory", "Organization")


def describe(activity_ids: Iterable[int], registry: Any = None) -> dict[int, dict[str, Any]]:
    """What each existing activity adds to the counts: its attributes, areas, columns."""
    models = _Models(registry)
    ids = list(activity_ids)
    found: dict[int, dict[str, Any]] = {}
    if not ids:
        return found
    # `__among`: a chunk's thousands of keys as one parameter (core.lookups).
    for pk, status, modality, confidentiality, owner in models.Activity.objects.filter(
        pk__among=ids
    ).values_list("pk", "status", "modality", "confidentiality", "owner_id"):
        found[pk] = {
            "status": status,
            "modality": modality,
            "confidentiality": confidentiality,
            "owner": (owner or 0) if confidentiality == CONFIDENTIAL else 0,
            "state": set(),
            "subregion": set(),
            "region": set(),
            "thematic_area": set(),
            "provider": set(),
        }
    if not found:
        return {}
    reach = models.ActivityReach.objects.filter(activity_id__among=list(found)).values_list(
        "activity_id", "state_id", "state__subregion_id", "state__region_id"
    )
    for pk, state, subregion, region in reach:
        found[pk]["state"].add(state)
        if subregion:
            found[pk]["subregion"].add(subregion)
        if region:
            found[pk]["region"].add(region)
    themes = models.Activity.thematic_areas.through.objects.filter(activity_id__among=list(found))
    for pk, area in themes.values_list("activity_id", "thematicarea_id"):
        found[pk]["thematic_area"].add(area)
    # A unit's activity is also its parent's: the grid's UNODC column counts what its Terrorism
    # Prevention Branch delivers, as the provider filter does.
    parents = dict(models.Organization.objects.values_list("pk", "parent_id"))
    roles = models.ActivityProvider.objects.filter(activity_id__among=list(found))
    for pk, organization in roles.values_list("activity_id", "organization_id"):
        while organization and organization not in found[pk]["provider"]:
            found[pk]["provider"].add(organization)
            organization = parents.get(organization)
    return {pk: {k: sorted(v) if isinstance(v, set) else v for k, v in d.items()} for pk, d in found.items()}


def keys(described: dict[str, Any] | None) -> set[Key]:
    """The grid cells an activity counts in, each with the attributes the filters select."""
    if not described:
        return set()
    tail = (described["status"], described["modality"], described["confidentiality"], described["owner"])
    return {
        (rows_by, row, cols_by, col, *tail)
        for rows_by in ROWS_BY
        for row in described[rows_by]
        for cols_by in (*COLS_BY, TOTAL)
        for col in (described[cols_by] if cols_by != TOTAL else (0,))
    } | {(WORLD, 0, TOTAL, 0, *tail)}


def refresh(activity_ids: Iterable[int], registry: Any = None) -> None:
    """Bring the counts of these activities up to date with their records (deleted ones leave)."""
    models = _Models(registry)
    ids = sorted(set(activity_ids))
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        with transaction.atomic():
            before = dict(
                models.CountedActivity.objects.select_for_update()
                .filter(activity_id__among=chunk)
                .values_list("activity_id", "counted_as")
            )
            now = describe(chunk, registry)
            delta: Counter[Key] = Counter()
            changed = [pk for pk in chunk if before.get(pk) != now.get(pk)]
            for pk in changed:
                delta.update(keys(now.get(pk)))
                delta.subtract(keys(before.get(pk)))
            _add(delta, models)
            # Written by COPY where new (an import's thousands: the upsert of model objects took
            # 6 % of an import of 20,000 template rows), in place where kept (`bulk.replace_rows`).
            models.CountedActivity.objects.filter(
                activity_id__among=[pk for pk in changed if pk in before and pk not in now]
            ).delete()
            bulk.replace_rows(
                models.CountedActivity,
                ("activity_id", "counted_as"),
                [(pk, now[pk]) for pk in changed if pk in now],
                before,
            )
        if registry is None:
            activities_refreshed.send(sender=None, activity_ids=chunk)


def _add(delta: Counter[Key], models: _Models) -> None:
    """Add each difference to its count, creating the row the first time (core.deltas)."""
    # Sorted, so that two transactions touching the same cells lock them in the same order.
    rows = sorted((*key, n) for key, n in delta.items() if n)
    if rows:
        with connection.cursor() as cursor:
            _DELTAS.add(cursor, models.GridCount._meta.db_table, rows)


_DELTAS = Deltas(
    "grid_delta",
    "rows_by text, row_id bigint, cols_by text, col_id bigint, status text, modality text, "
    "confidentiality text, owner_id bigint, n integer",
    KEY_FIELDS,
    ("n",),
)
#: `added_at_end()`: inside it, the differences of every change go to the kept counts once, when
#: it ends (an import, a rebuild: many chunks in one transaction).
added_at_end = _DELTAS.held

#: `changed(ids)`: activities changed, their counts refreshed now or at the end of the current
#: `batch()`.
_held = Deferred(lambda ids: refresh(ids))
changed = _held.changed
batch = _held.batch


@fewer_collections()
def rebuild(registry: Any = None) -> int:
    """Count every activity again from its records; returns how many were counted."""
    models = _Models(registry)
    with transaction.atomic(), added_at_end():
        models.GridCount.objects.all().delete()
        models.CountedActivity.objects.all().delete()
        ids = list(models.Activity.objects.order_by("pk").values_list("pk", flat=True))
        refresh(ids, registry)
    return len(ids)


def drift() -> dict[Key, tuple[int, int]]:
    """Cells whose kept count differs from a count made now from the records: {key: (kept, actual)}."""
    models = _Models()
    actual: Counter[Key] = Counter()
    ids = list(models.Activity.objects.values_list("pk", flat=True))
    for start in range(0, len(ids), CHUNK):
        for described in describe(ids[start : start + CHUNK]).values():
            actual.update(keys(described))
    kept = {
        tuple(row[:-1]): row[-1]
        for row in models.GridCount.objects.exclude(n=0).values_list(*KEY_FIELDS, "n")
    }
    return {
        key: (kept.get(key, 0), actual.get(key, 0))  # type: ignore[misc]
        for key in set(kept) | set(actual)
        if kept.get(key, 0) != actual.get(key, 0)  # type: ignore[call-overload]
    }
