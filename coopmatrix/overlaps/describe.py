"""Activities read from the database as the score describes them."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

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
    open_end = PartialDate(timezone.localdate(), Precision.MONTH).last_day
    return {
        pk: Described(
            pk=pk,
            title=title,
            description=description or "",
            states=frozenset(states[pk]),
            areas=frozenset(areas[pk]),
            dac=frozenset(dac[pk]),
            instruments=frozenset(instruments[pk]),
            providers=frozenset(providers[pk]),
            programme=programme,
            modality=modality or "",
            start=start,
            end=end if end or not start else max(start, open_end),
        )
        for pk, title, description, programme, modality, start, end in rows
    }
