"""Activities read from the database as the score describes them."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from functools import lru_cache

from django.db import connection
from django.utils import timezone

from coopmatrix.core.dates import PartialDate, Precision
from coopmatrix.matrix.models import Activity, ActivityProvider, ActivityReach

from .scoring import Described
from .signatures import SQL_WRITTEN, activity_rows, activity_rows_sql


def describe(activity_ids: Iterable[int]) -> dict[int, Described]:
    """Each activity as the score reads it: States reached (directly or through a region), areas
    and their DAC codes, instruments, providers (every role alike), programme, modality, period.
    An activity under way with no end yet runs to the end of this month."""
    ids = list(activity_ids)
    if not ids:
        return {}
    if connection.vendor in SQL_WRITTEN:
        return _described(activity_rows(_describe_sql, ids))
    return _described(_rows_orm(ids))


def _described(rows: Iterable[tuple]) -> dict[int, Described]:
    open_end = PartialDate(timezone.localdate(), Precision.MONTH).last_day
    described = {}
    for row in rows:
        (
            pk,
            title,
            description,
            programme,
            modality,
            start,
            end,
            states,
            areas,
            dac,
            instruments,
            providers,
        ) = row
        described[pk] = Described(
            pk=pk,
            title=title,
            description=description or "",
            states=frozenset(states),
            areas=frozenset(areas),
            dac=frozenset(code for code in dac if code),
            instruments=frozenset(instruments),
            providers=frozenset(providers),
            programme=programme,
            modality=modality or "",
            start=start,
            end=end if end or not start else max(start, open_end),
        )
    return described


@lru_cache(maxsize=2)
def _describe_sql(vendor: str) -> str:
    """_rows_orm's rows in one query written once (the check on save explains its candidates on
    every save: five queries were a fifth of its time)."""
    from coopmatrix.directory.models import Organization
    from coopmatrix.geo.models import State
    from coopmatrix.treaties.models import Instrument
    from coopmatrix.vocabulary.models import ThematicArea

    areas = Activity.thematic_areas.through
    return activity_rows_sql(
        [
            (ActivityReach, "state", (State, "code")),
            (areas, "thematicarea", (ThematicArea, "code")),
            (areas, "thematicarea", (ThematicArea, "dac_code")),
            (Activity.instruments.through, "instrument", (Instrument, "code")),
            (ActivityProvider, "organization", (Organization, "code")),
        ],
        vendor,
    )


def _rows_orm(ids: list[int]) -> list[tuple]:
    """Each activity's row and its codes: (pk, title, description, programme, modality, start,
    end, States, areas, DAC codes, instruments, providers)."""
    states: dict[int, set[str]] = defaultdict(set)
    for pk, code in ActivityReach.objects.filter(activity_id__in=ids).values_list(
        "activity_id", "state__code"
    ):
        states[pk].add(code)
    areas: dict[int, set[str]] = defaultdict(set)
    dac: dict[int, set[str]] = defaultdict(set)
    through = Activity.thematic_areas.through.objects.filter(activity_id__in=ids)
    for pk, code, dac_code in through.values_list(
        "activity_id", "thematicarea__code", "thematicarea__dac_code"
    ):
        areas[pk].add(code)
        if dac_code:
            dac[pk].add(dac_code)
    instruments: dict[int, set[str]] = defaultdict(set)
    for pk, code in Activity.instruments.through.objects.filter(activity_id__in=ids).values_list(
        "activity_id", "instrument__code"
    ):
        instruments[pk].add(code)
    providers: dict[int, set[str]] = defaultdict(set)
    for pk, code in ActivityProvider.objects.filter(activity_id__in=ids).values_list(
        "activity_id", "organization__code"
    ):
        providers[pk].add(code)
    rows = Activity.objects.filter(pk__in=ids).values_list(
        "pk", "title", "description", "programme__code", "modality", "period_start", "period_end"
    )
    return [
        (*row, states[row[0]], areas[row[0]], dac[row[0]], instruments[row[0]], providers[row[0]])
        for row in rows
    ]
