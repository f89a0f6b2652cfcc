"""The grid of counts: activities per State or M49 area (rows) and thematic area or provider (columns).

Two ways to count, one answer. The common views (filters on status, modality, the rows' own
areas and the columns' own terms) read the counts kept ahead of time (`counts.GridCount`);
any other filter (words, period, instrument, funder, programme …) counts from the records.
Either way the count starts from the visibility rule: the kept counts are selected by
confidentiality and owner exactly as `visibility_q` selects records, and the confidential
records shared with the user (not kept per user) are counted from the records and added.

With a State or region filter, the rows are the areas that overlap it (filtering on Africa shows
no European row); with a thematic-area or provider filter and columns of that kind, the columns
are the ones filtered on.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum

from coopmatrix.core.filters import empty
from coopmatrix.core.querysets import CONFIDENTIAL, PUBLIC, RESTRICTED, shared_ids
from coopmatrix.core.roles import Principal
from coopmatrix.directory.models import Organization
from coopmatrix.geo.models import Region, State
from coopmatrix.vocabulary.models import ThematicArea

from .counts import TOTAL, WORLD
from .filtersets import _areas_within, _with_units
from .models import Activity, GridCount

ROWS: dict[str, tuple[str, type]] = {
    "state": ("reach__state", State),
    "subregion": ("reach__state__subregion", Region),
    "region": ("reach__state__region", Region),
}
COLUMNS: dict[str, tuple[str, type]] = {
    "thematic_area": ("thematic_areas", ThematicArea),
    "provider": ("provider_roles__organization", Organization),
}
#: The filter naming the columns' own terms, for each kind of column.
COLUMN_FILTER = {"thematic_area": "thematic_area", "provider": "provider"}
#: Filters the kept counts can answer (besides the rows' and columns' own, handled apart).
SUMMARY_FILTERS = {"status", "modality"}


@dataclass
class Counts:
    cells: dict[tuple[int, int], int]
    #: Rows wholly inside the State or region filter (a cell's link then names the row instead).
    rows_within: set[int] = field(default_factory=set)
    #: Whether the kept counts answered (the rest: counted from the records).
    from_summary: bool = False


def _active(filterset: Any) -> set[str]:
    """The filters given a value (read from the query: asking each choice whether it is empty
    would cost a query per filter)."""
    given = filterset.data
    return {name for name in filterset.filters if any(str(v).strip() for v in given.getlist(name))}


def _has(value: Any) -> bool:
    return not empty(value)


def _geo_filters(data: dict[str, Any]) -> list[set[int]]:
    """The State sets a State or region filter asks activities to reach (each one must be reached)."""
    sets = []
    if _has(data.get("state")):
        sets.append({s.pk for s in data["state"]})
    if _has(data.get("region")):
        areas = _areas_within(data["region"])
        sets.append(
            set(
                State.objects.filter(
                    Q(region_id__in=areas) | Q(subregion_id__in=areas) | Q(intermediate_region_id__in=areas)
                ).values_list("pk", flat=True)
            )
        )
    return sets


def _row_states(rows_by: str) -> dict[int, set[int]]:
    states: dict[int, set[int]] = {}
    for pk, subregion, region in State.objects.values_list("pk", "subregion_id", "region_id"):
        row = {"state": pk, "subregion": subregion, "region": region}[rows_by]
        if row:
            states.setdefault(row, set()).add(pk)
    return states


def count(
    filterset: Any, rows_by: str, cols_by: str, principal: Principal, *, summary: bool = True
) -> Counts:
    """Count the filterset's activities per cell (`summary=False`: always from the records)."""
    data = filterset.form.cleaned_data
    active = _active(filterset)
    geo = _geo_filters(data)
    rows: set[int] | None = None
    within: set[int] = set()
    if geo:
        by_row = _row_states(rows_by)
        rows = {row for row, states in by_row.items() if all(states & g for g in geo)}
        within = {row for row in rows if all(by_row[row] <= g for g in geo)}
    cols: set[int] | None = None
    column_filter = COLUMN_FILTER[cols_by]
    if column_filter in active:
        values = data[column_filter]
        cols = _with_units(values) if cols_by == "provider" else {v.pk for v in values}
    answerable = SUMMARY_FILTERS | {"state", "region", column_filter}
    use_summary = summary and active <= answerable and (rows is None or rows == within)
    if use_summary:
        cells = _from_summary(data, rows_by, cols_by, principal, rows, cols)
        shared = _shared_with(filterset, principal)
        if shared is not None:
            cells.update(_from_records(shared, rows_by, cols_by))
    else:
        cells = _from_records(filterset.qs, rows_by, cols_by)
    cells = Counter(
        {
            (row, col): n
            for (row, col), n in cells.items()
            if n and (rows is None or row in rows) and (cols is None or col in cols)
        }
    )
    return Counts(dict(cells), within, use_summary)


def _from_summary(
    data: dict[str, Any],
    rows_by: str,
    cols_by: str,
    principal: Principal,
    rows: set[int] | None,
    cols: set[int] | None,
) -> Counter:
    kept = GridCount.objects.filter(rows_by=rows_by, cols_by=cols_by).filter(_visible_counts(principal))
    if data.get("status"):
        kept = kept.filter(status__in=data["status"])
    if data.get("modality"):
        kept = kept.filter(modality__in=data["modality"])
    if rows is not None:
        kept = kept.filter(row_id__in=rows)
    if cols is not None:
        kept = kept.filter(col_id__in=cols)
    pairs = kept.values_list("row_id", "col_id").annotate(total=Sum("n")).order_by()
    return Counter({(row, col): total for row, col, total in pairs})


def _visible_counts(principal: Principal) -> Q:
    """The kept counts of records the visibility rule lets the principal read, shares aside."""
    if principal.sees_everything:
        return Q()
    # owner_id is 0 on every count of records that are not confidential: said here, so that the
    # database reads one range of its index per level instead of the whole layout.
    if not principal.authenticated:
        return Q(confidentiality=PUBLIC, owner_id=0)
    allowed = Q(confidentiality__in=[PUBLIC, RESTRICTED], owner_id=0)
    if principal.organization_id:
        allowed |= Q(confidentiality=CONFIDENTIAL, owner_id=principal.organization_id)
    return allowed


def _shared_with(filterset: Any, principal: Principal) -> QuerySet | None:
    """The filterset's confidential activities the principal reads through a share: not in the
    kept counts."""
    if principal.sees_everything or not principal.authenticated:
        return None
    if not (principal.organization_id or principal.state_id):
        return None
    # Started from the shares (a few hundred ids, read first): given as a subquery, PostgreSQL
    # scans every confidential activity and joins the shares to them instead. An activity shared
    # with the principal is one it may read (activities hang on no other record), so the filters
    # apply to these ids alone, without the visibility rule's conditions over again.
    ids = _shared_ids(principal)
    if not ids:
        return None
    base = Activity.objects.filter(confidentiality=CONFIDENTIAL, pk__in=ids)
    if Activity.visibility_requires:  # should activities ever hang on another record, check it
        base = base.filter(pk__in=filterset.queryset.values("pk"))
    shared = filterset.filter_queryset(base)
    if principal.organization_id:
        shared = shared.exclude(owner_id=principal.organization_id)
    return shared


def _shared_ids(principal: Principal) -> list[int]:
    """Ids of the activities shared with the principal's organization or State."""
    if principal.sees_everything or not (principal.organization_id or principal.state_id):
        return []
    return list(shared_ids(Activity, principal).values_list("object_id", flat=True))


def _from_records(activities: QuerySet, rows_by: str, cols_by: str) -> Counter:
    row_path = ROWS[rows_by][0]
    ids = activities.values("pk")
    if cols_by == "provider":
        return _providers_from_records(ids, row_path)
    pairs = (
        Activity.objects.filter(pk__in=ids)
        .values_list(row_path, COLUMNS[cols_by][0])
        .annotate(n=Count("pk", distinct=True))
        .order_by()
    )
    return Counter({(row, col): n for row, col, n in pairs if row is not None and col is not None})


def _providers_from_records(ids: QuerySet, row_path: str) -> Counter:
    """A unit's activity counts for its parent too (UNODC's column holds its Branch's activities)."""
    parents = dict(Organization.objects.values_list("pk", "parent_id"))
    seen: set[tuple[int, int, int]] = set()
    triples = (
        Activity.objects.filter(pk__in=ids)
        .values_list(row_path, "provider_roles__organization", "pk")
        .distinct()
        .order_by()
    )
    for row, organization, pk in triples:
        while row is not None and organization is not None and (row, organization, pk) not in seen:
            seen.add((row, organization, pk))
            organization = parents.get(organization)
    return Counter((row, col) for row, col, _ in seen)


def total(filterset: Any, principal: Principal) -> int | None:
    """How many of the filterset's activities there are, from the kept counts, when its filters
    are at most status, modality and one State or one region or sub-region; None otherwise."""
    active = _active(filterset)
    data = filterset.form.cleaned_data
    if not active <= SUMMARY_FILTERS | {"state", "region"} or {"state", "region"} <= active:
        return None
    if "state" in active:
        if len(data["state"]) != 1:
            return None
        rows_by, row = "state", data["state"][0].pk
    elif "region" in active:
        if len(data["region"]) != 1 or data["region"][0].level not in ("region", "subregion"):
            return None
        rows_by, row = data["region"][0].level, data["region"][0].pk
    else:
        rows_by, row = WORLD, 0  # every activity once: the regions' counts overlap
    kept = GridCount.objects.filter(rows_by=rows_by, row_id=row, cols_by=TOTAL).filter(
        _visible_counts(principal)
    )
    if data.get("status"):
        kept = kept.filter(status__in=data["status"])
    if data.get("modality"):
        kept = kept.filter(modality__in=data["modality"])
    found = kept.aggregate(n=Sum("n"))["n"] or 0
    shared = _shared_with(filterset, principal)
    if shared is not None:
        found += shared.count()
    return found


def states_reached(filterset: Any, principal: Principal) -> int | None:
    """How many States the filterset's activities reach, from the kept counts, when it has no
    filter; None otherwise. (Counted from the records, a million activities took 0.7 s.)"""
    from .models import ActivityReach

    if _active(filterset):
        return None
    kept = GridCount.objects.filter(rows_by="state", cols_by=TOTAL).filter(_visible_counts(principal))
    # A count that went back to 0 keeps its row: a State counts when its activities add up.
    rows = kept.values("row_id").annotate(total=Sum("n")).filter(total__gt=0).values_list("row_id", flat=True)
    reached = set(rows)
    shared = _shared_with(filterset, principal)
    if shared is not None:
        reached |= set(
            ActivityReach.objects.filter(activity__in=shared.values("pk")).values_list("state_id", flat=True)
        )
    return len(reached)


@dataclass
class Totals:
    """Distinct activities per row, per column and in all: an activity in two thematic areas
    is one activity in its row, not two, so a total is never the sum of its cells."""

    rows: dict[int, int]
    cols: dict[int, int]
    all: int


#: The field of ActivityReach naming each kind of row.
_REACH_ROW = {"state": "state_id", "subregion": "state__subregion_id", "region": "state__region_id"}


def totals(filterset: Any, rows_by: str, cols_by: str) -> Totals:
    """The totals of the grid of `filterset`'s activities, counted as the lists they link to
    count: a row's total is what the list filtered on that row holds, and so on."""
    from .models import ActivityReach

    ids = filterset.qs.values("pk")
    rows = dict(
        ActivityReach.objects.filter(activity__in=ids)
        .values_list(_REACH_ROW[rows_by])
        .annotate(n=Count("activity_id", distinct=True))
        .order_by()
    )
    if cols_by == "provider":
        cols = dict(activities_per_provider(ids))
    else:
        cols = dict(
            Activity.objects.filter(pk__in=ids)
            .values_list(COLUMNS[cols_by][0])
            .annotate(n=Count("pk", distinct=True))
            .order_by()
        )
    return Totals(rows, cols, filterset.qs.count())


def activities_per_provider(ids: Any) -> Counter:
    """Distinct activities of `ids` per provider, a unit's counting for its parent too (as the
    provider filter and the grid's cells count them)."""
    from .models import ActivityProvider

    parents = dict(Organization.objects.values_list("pk", "parent_id"))
    seen: set[tuple[int, int]] = set()
    roles = ActivityProvider.objects.filter(activity__in=ids)
    for organization, pk in roles.values_list("organization_id", "activity_id").distinct().order_by():
        while organization is not None and (organization, pk) not in seen:
            seen.add((organization, pk))
            organization = parents.get(organization)
    return Counter(organization for organization, _pk in seen)


#: Shades of the heat scale (CSS classes heat-1 … heat-6).
HEAT_LEVELS = 6


def heat_level(n: int, highest: int) -> int:
    """The shade of a cell holding `n` of a grid whose fullest cell holds `highest`: 0 for an
    empty cell, 1 for the fewest … HEAT_LEVELS for the most, in equal steps."""
    if n <= 0 or highest <= 0:
        return 0
    if highest == 1:
        return HEAT_LEVELS
    return 1 + (n - 1) * (HEAT_LEVELS - 1) // (highest - 1)


def heat_legend(highest: int) -> list[tuple[int, int, int]]:
    """(level, fewest, most) for each shade a grid whose fullest cell holds `highest` uses."""
    ranges: dict[int, list[int]] = {}
    for n in range(1, highest + 1):
        level = heat_level(n, highest)
        ranges.setdefault(level, [n, n])[1] = n
    return [(level, low, high) for level, (low, high) in sorted(ranges.items())]
