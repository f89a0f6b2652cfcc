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


def describe(activity_ids: Iterable[int]) -> dict[int, Described]:
    """Each activity as the score reads it: States reached (directly or through a region), areas
    and their DAC codes, instruments, providers (every role alike), programme, modality, period.
    An activity under way with no end yet runs to the end of this month."""
    ids = list(activity_ids)
    if not ids:
        return {}
    if connection.vendor == "postgresql":
        return _described(_rows_postgresql(ids))
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


def _rows_postgresql(ids: list[int]) -> list[tuple]:
    """_rows_orm's rows in one query written once (the check on save explains its candidates on
    every save: five queries were a fifth of its time)."""
    import psycopg

    connection.ensure_connection()
    with psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(_describe_sql(), {"ids": ids}, binary=True, prepare=False)
        return cursor.fetchall()


@lru_cache(maxsize=1)
def _describe_sql() -> str:
    from coopmatrix.directory.models import Organization
    from coopmatrix.geo.models import State
    from coopmatrix.matrix.models import Programme
    from coopmatrix.treaties.models import Instrument
    from coopmatrix.vocabulary.models import ThematicArea

    quote = connection.ops.quote_name

    def table(model) -> str:
        return quote(model._meta.db_table)

    def column(model, name: str) -> str:
        return quote(model._meta.get_field(name).column)

    areas = Activity.thematic_areas.through
    instruments = Activity.instruments.through

    def codes(through, key: str, target, value: str, link: str) -> str:
        return (
            f"ARRAY(SELECT t.{column(target, value)} FROM {table(through)} x "
            f"JOIN {table(target)} t ON t.{quote(target._meta.pk.column)} = x.{column(through, key)} "
            f"WHERE x.{column(through, link)} = a.{quote(Activity._meta.pk.column)})"
        )

    a = Activity
    return (
        f"SELECT a.{quote(a._meta.pk.column)}, a.{column(a, 'title')}, a.{column(a, 'description')}, "
        f"p.{column(Programme, 'code')}, a.{column(a, 'modality')}, a.{column(a, 'period_start')}, "
        f"a.{column(a, 'period_end')}, "
        f"{codes(ActivityReach, 'state', State, 'code', 'activity')}, "
        f"{codes(areas, 'thematicarea', ThematicArea, 'code', 'activity')}, "
        f"{codes(areas, 'thematicarea', ThematicArea, 'dac_code', 'activity')}, "
        f"{codes(instruments, 'instrument', Instrument, 'code', 'activity')}, "
        f"{codes(ActivityProvider, 'organization', Organization, 'code', 'activity')} "
        f"FROM {table(a)} a LEFT JOIN {table(Programme)} p "
        f"ON p.{quote(Programme._meta.pk.column)} = a.{column(a, 'programme')} "
        f"WHERE a.{quote(a._meta.pk.column)} = ANY(%(ids)s)"
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
