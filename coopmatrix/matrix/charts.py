"""The matrix's charts: what the filtered activities are, by year and status, by provider, by
thematic area and by region, each bar counted as the list it links to counts it."""

from __future__ import annotations

from collections import Counter
from typing import Any

from django.db.models import Count
from django.db.models.functions import ExtractYear
from django.urls import reverse
from django.utils.translation import gettext as _

from coopmatrix.core.charts import Bar, Chart, Segment, bar_chart
from coopmatrix.core.filters import empty
from coopmatrix.directory.models import Organization
from coopmatrix.geo.models import Region
from coopmatrix.vocabulary.models import ThematicArea

from .filtersets import _with_units
from .grid import activities_per_provider
from .models import Activity, ActivityReach

#: Providers shown by name; the rest are in the table of the activities.
TOP_PROVIDERS = 15


def _link(query: Any, **values: Any) -> str:
    query = query.copy()
    for key in ("page", "sort"):
        query.pop(key, None)
    for key, value in values.items():
        query.setlist(key, [str(value)])
    return reverse("matrix:activity_list") + "?" + query.urlencode()


def charts(filterset: Any, query: Any, visible_organizations: set[int]) -> tuple[list[Chart], int]:
    """The charts of `filterset`'s activities (already narrowed by the visibility rule), and how
    many of them have no date to place them in a year."""
    ids = filterset.qs.values("pk")
    undated = filterset.qs.filter(period_start__isnull=True).count()
    data = filterset.form.cleaned_data
    # A bar's link replaces the filter of its own kind with its value. Where that filter is
    # given, only its values have bars: another value's bar would count the activities that
    # have both, and its link list all of that value's.
    providers = _with_units(data["provider"]) if _given(data.get("provider")) else None
    areas = {a.pk for a in data["thematic_area"]} if _given(data.get("thematic_area")) else None
    regions = {r.pk for r in data["region"]} if _given(data.get("region")) else None
    if _given(data.get("state")):
        # The map a region's bar opens keeps the State filter: only the chosen States' regions.
        of_states = {state.region_id for state in data["state"]}
        regions = of_states if regions is None else regions & of_states
    return [
        _by_year(ids, query),
        _by_provider(
            ids, query, visible_organizations if providers is None else visible_organizations & providers
        ),
        _by_area(ids, query, areas),
        _by_region(ids, query, regions),
    ], undated


def _given(value: Any) -> bool:
    return not empty(value)


def _by_year(ids: Any, query: Any) -> Chart:
    statuses = list(Activity.Status.choices)
    rows = (
        Activity.objects.filter(pk__in=ids, period_start__isnull=False)
        .annotate(year=ExtractYear("period_start"))
        .values_list("year", "status")
        .annotate(n=Count("pk"))
        .order_by()
    )
    counts: dict[int, Counter] = {}
    for year, status, n in rows:
        counts.setdefault(year, Counter())[status] = n
    used = [(code, label) for code, label in statuses if any(c[code] for c in counts.values())]
    bars = [
        Bar(
            str(year),
            [
                Segment(counts[year][code], _link(query, start_year=year, status=code), code, str(label))
                for code, label in used
            ],
            url=_link(query, start_year=year),
        )
        for year in sorted(counts)
    ]
    return bar_chart(_("Activities by the year they start, and their status"), bars, used, slug="year")


def _by_provider(ids: Any, query: Any, visible: set[int]) -> Chart:
    # A unit's activity counts for its parent too, as the provider filter does.
    every = activities_per_provider(ids)
    counts = Counter({organization: n for organization, n in every.items() if organization in visible})
    top = counts.most_common(TOP_PROVIDERS)
    names = Organization.objects.in_bulk([pk for pk, _n in top])
    bars = [
        Bar(
            str(names[pk]),
            [Segment(n, _link(query, provider=names[pk].code))],
            url=_link(query, provider=names[pk].code),
        )
        for pk, n in top
    ]
    title = _("Activities by provider (the %(n)s with most)") % {"n": TOP_PROVIDERS}
    return bar_chart(title, bars, slug="provider")


def _by_area(ids: Any, query: Any, only: set[int] | None) -> Chart:
    counts = dict(
        Activity.objects.filter(pk__in=ids)
        .values_list("thematic_areas")
        .annotate(n=Count("pk", distinct=True))
        .order_by()
    )
    keys = [pk for pk in counts if pk is not None and (only is None or pk in only)]
    areas = ThematicArea.objects.filter(pk__in=keys).order_by("order", "name")
    bars = [
        Bar(
            area.name,
            [Segment(counts[area.pk], _link(query, thematic_area=area.code))],
            url=_link(query, thematic_area=area.code),
        )
        for area in areas
    ]
    return bar_chart(_("Activities by thematic area"), bars, slug="area")


def _by_region(ids: Any, query: Any, only: set[int] | None) -> Chart:
    """States reached in each region, each bar a link to the map of that region, which counts
    and colours the same States."""
    from django.urls import reverse as url_of

    counts = dict(
        ActivityReach.objects.filter(activity__in=ids)
        .values_list("state__region_id")
        .annotate(n=Count("state_id", distinct=True))
        .order_by()
    )
    keys = [pk for pk in counts if pk is not None and (only is None or pk in only)]
    regions = Region.objects.filter(pk__in=keys).order_by("name")

    def link(region: Region) -> str:
        return _link(query, region=region.m49).replace(
            url_of("matrix:activity_list"), url_of("matrix:map"), 1
        )

    bars = [
        Bar(region.name, [Segment(counts[region.pk], link(region))], url=link(region)) for region in regions
    ]
    return bar_chart(_("States reached, by region"), bars, slug="region")
