"""Create many checked activities at once: the write path of imports that bring thousands.

`actions.write_activity` saves one activity, then sets each of its links, each step a query and a
history row (some 150 ms an activity with its history). An import of 100,000 activities needs the
rows written by the thousand instead, with everything the one-by-one path keeps written as well:

- each activity's history row, with its links as they stand (simple-history's copies of the
  recipient, region, area, instrument and request rows), and each provider's history row, so
  that the matrix "as at" a date reads them exactly as it reads activities saved one by one (a
  single "created" row each, where the one-by-one path adds a "changed" row per link it sets);
- the States each activity reaches (directly or through its regions), as `update_reach` keeps;
- the grid's counts (`counts.changed`, once per batch inside `counts.batch`);
- whatever other apps keep per activity: `activities_created` is sent once per batch, inside the
  transaction, as `post_save` is for one (the overlaps app checks the new activities on commit).

Activities that changed go `update_activities`' way when an import brings many of them: each
row written as `save()` writes it, its links brought in line (a link gone is removed, one added is
added, the others stay), its reach computed again when its recipients changed, a "changed" history
row with its links as they then stand, and `activities_updated` sent. One at a time, they go
through `actions.write_activity`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.apps import apps
from django.db import models, transaction
from django.dispatch import Signal
from django.utils import timezone

from coopmatrix.core import bulk as written_in_bulk

from .actions import CleanActivity
from .models import Activity, ActivityProvider, ActivityReach

#: Sent with `pks` (the activities created) once per batch, inside the writing transaction.
activities_created = Signal()
#: Sent with `pks` (the activities changed) once per batch of `update_activities`, likewise.
activities_updated = Signal()

#: Activities written together: their rows go in a few statements, and memory stays bounded
#: whatever the size of the import.
ACTIVITIES_PER_BATCH = 1000


@transaction.atomic
def create_activities(items: Sequence[CleanActivity], user: Any, reason: str) -> list[Activity]:
    """Create checked new activities with their links and history; the created activities, in
    the order of `items`. `user` and `reason` go into every history row written."""
    from . import counts

    if not items:
        return []
    when = timezone.now()
    # simple-history takes the user from the request, which an import in the background may not
    # have: the importing user (else the acting one) is named on the rows themselves.
    who = written_in_bulk.acting_user(user)
    activities = [_new(item) for item in items]
    history = written_in_bulk.with_history(Activity, activities, who, reason, when)
    links = _links(activities, items)
    _reach(activities, items)
    _providers(activities, items, who, reason, when)
    _link_history(activities, history, links)
    pks = [a.pk for a in activities]
    counts.changed(pks)
    activities_created.send(sender=Activity, pks=pks)
    return activities


@transaction.atomic
def update_activities(
    pairs: Sequence[tuple[Activity, CleanActivity]], user: Any, reason: str
) -> list[Activity]:
    """Write checked changes to existing activities (each loaded whole), as `write_activity` writes
    one, together: the activities, in the order given. Each gets one "changed" history row naming
    `user` and `reason`, with its links as they stand after the change (one by one, a save adds a
    row and each link set that changed adds another)."""
    from . import counts

    if not pairs:
        return []
    when = timezone.now()
    who = written_in_bulk.acting_user(user)
    activities = [activity for activity, _ in pairs]
    items = [item for _, item in pairs]
    for activity, item in pairs:
        for name, value in item.fields.items():
            setattr(activity, name, value)
        activity.programme = item.programme
        activity.period_start, activity.period_end = activity.covered_period()
        activity.updated = when
    # Every column but the key and the creation date, as a save writes them.
    written_in_bulk.update(Activity, activities, [f.attname for f in _SAVED])
    links, moved = _relinks(activities, items)
    if moved:
        chosen = [(a, i) for a, i in pairs if a.pk in moved]
        ActivityReach.objects.filter(activity_id__among=[a.pk for a, _ in chosen]).delete()
        _reach([a for a, _ in chosen], [i for _, i in chosen])
    _providers_again(activities, items, who, reason, when)
    history = written_in_bulk.history_rows(Activity, activities, who, reason, when, kind="~")
    _link_history(activities, history, links)
    pks = [a.pk for a in activities]
    counts.changed(pks)
    activities_updated.send(sender=Activity, pks=pks)
    return activities


#: The fields a save of an existing activity writes (`update_activities`).
_SAVED = [f for f in Activity._meta.concrete_fields if not f.primary_key and f.name != "created"]


def _relinks(
    activities: list[Activity], items: Sequence[CleanActivity]
) -> tuple[dict[str, list[tuple[int, int, int]]], set[int]]:
    """Bring each many-to-many field of these activities in line with the checked data (requests
    left as they are where the data says None); by field name, the link rows as they then stand
    (key, activity, linked record), and the activities whose recipients changed."""
    ids = [a.pk for a in activities]
    wanted = {a.pk: _targets(item) for a, item in zip(activities, items, strict=True)}
    leave_requests = {a.pk for a, item in zip(activities, items, strict=True) if item.requests is None}
    written: dict[str, list[tuple[int, int, int]]] = {}
    moved: set[int] = set()
    for name in LINKS:
        field = Activity._meta.get_field(name)
        through = field.remote_field.through  # type: ignore[union-attr]
        own, other = field.m2m_field_name(), field.m2m_reverse_field_name()  # type: ignore[union-attr]
        rows = list(
            through.objects.filter(**{f"{own}_id__among": ids})
            .order_by("pk")
            .values_list("pk", f"{own}_id", f"{other}_id")
        )
        have: dict[int, dict[int, int]] = {pk: {} for pk in ids}
        for key, activity, target in rows:
            have[activity][target] = key
        gone: list[int] = []
        added: list[tuple[int, int]] = []
        for pk in ids:
            if name == "requests" and pk in leave_requests:
                continue
            targets = dict.fromkeys(wanted[pk][name])
            gone += [key for target, key in have[pk].items() if target not in targets]
            added += [(pk, target) for target in targets if target not in have[pk]]
            if name in ("recipient_states", "recipient_regions") and (set(targets) != set(have[pk])):
                moved.add(pk)
        if gone:
            through.objects.filter(pk__among=gone).delete()
        keys = written_in_bulk.insert_values(through, [f"{own}_id", f"{other}_id"], added)
        dropped = set(gone)
        written[name] = [row for row in rows if row[0] not in dropped] + [
            (key, *row) for key, row in zip(keys, added, strict=True)
        ]
    return written, moved


def _providers_again(
    activities: list[Activity], items: Sequence[CleanActivity], who: Any, reason: str, when: Any
) -> None:
    """The providers brought in line as `actions.set_providers` does, each row removed or added
    with its history row."""
    ids = [a.pk for a in activities]
    have: dict[int, dict[tuple[int, str], ActivityProvider]] = {pk: {} for pk in ids}
    for row in ActivityProvider.objects.filter(activity_id__among=ids).order_by("pk"):
        have[row.activity_id][(row.organization_id, row.role)] = row
    gone: list[ActivityProvider] = []
    added: list[tuple[int, int, str]] = []
    for activity, item in zip(activities, items, strict=True):
        wanted = dict.fromkeys((o.pk, role) for o, role in item.providers)
        gone += [row for key, row in have[activity.pk].items() if key not in wanted]
        added += [
            (activity.pk, organization, role)
            for organization, role in wanted
            if (organization, role) not in have[activity.pk]
        ]
    if gone:
        written_in_bulk.history_rows(ActivityProvider, gone, who, reason, when, kind="-")
        # Their history rows are written above, and the counts and the overlap check hear of
        # their activities below: the rows go without the signals of a deletion one by one.
        ActivityProvider.objects.filter(pk__among=[row.pk for row in gone])._raw_delete(
            ActivityProvider.objects.db
        )
    names = ["activity_id", "organization_id", "role"]
    written_in_bulk.values_with_history(ActivityProvider, names, added, who, reason, when)


def _new(item: CleanActivity) -> Activity:
    activity = Activity(**item.fields)
    activity.programme = item.programme
    activity.period_start, activity.period_end = activity.covered_period()
    return activity


#: The activity's links other than its providers (rows of their own, with their role), each
#: kept in history with the activity.
LINKS = ("recipient_states", "recipient_regions", "thematic_areas", "instruments", "requests")


def _targets(item: CleanActivity) -> dict[str, list[int]]:
    return {
        "recipient_states": [s.pk for s in item.states],
        "recipient_regions": [r.pk for r in item.regions],
        "thematic_areas": [t.pk for t in item.themes],
        "instruments": [i.pk for i in item.instruments],
        "requests": [r.pk for r in item.requests or []],
    }


def _links(
    activities: list[Activity], items: Sequence[CleanActivity]
) -> dict[str, list[tuple[int, int, int]]]:
    """Write the link rows of each many-to-many field; by field name, each row written as
    (its key, the activity, the linked record)."""
    written: dict[str, list[tuple[int, int, int]]] = {}
    wanted = [_targets(item) for item in items]
    for name in LINKS:
        field = Activity._meta.get_field(name)
        through = field.remote_field.through  # type: ignore[union-attr]
        own, other = field.m2m_field_name(), field.m2m_reverse_field_name()  # type: ignore[union-attr]
        values = [
            (activity.pk, pk)
            for activity, targets in zip(activities, wanted, strict=True)
            for pk in dict.fromkeys(targets[name])
        ]
        keys = written_in_bulk.insert_values(through, [f"{own}_id", f"{other}_id"], values)
        written[name] = [(key, *row) for key, row in zip(keys, values, strict=True)]
    return written


def _reach(activities: list[Activity], items: Sequence[CleanActivity]) -> None:
    """The States each activity reaches: as `models.update_reach` computes for one."""
    from coopmatrix.geo.models import State

    regions = {r.pk for item in items for r in item.regions}
    by_region: dict[int, set[int]] = {pk: set() for pk in regions}
    if regions:
        states = State.objects.filter(
            status__in=[State.Status.MEMBER, State.Status.OBSERVER, State.Status.OTHER_STATE]
        ).filter(
            models.Q(region__in=regions)
            | models.Q(subregion__in=regions)
            | models.Q(intermediate_region__in=regions)
        )
        for pk, *placed in states.values_list("pk", "region", "subregion", "intermediate_region"):
            for region in placed:
                if region in by_region:
                    by_region[region].add(pk)
    # Rows of values, not objects: an activity reaches some ten States.
    reach = []
    for activity, item in zip(activities, items, strict=True):
        direct = {s.pk for s in item.states}
        through = set().union(*(by_region[r.pk] for r in item.regions)) if item.regions else set()
        reach += [(activity.pk, pk, pk in direct) for pk in sorted(direct | through)]
    written_in_bulk.insert_values(ActivityReach, ["activity_id", "state_id", "direct"], reach)


def _providers(
    activities: list[Activity], items: Sequence[CleanActivity], who: Any, reason: str, when: Any
) -> None:
    rows = [
        (activity.pk, organization.pk, role)
        for activity, item in zip(activities, items, strict=True)
        for organization, role in dict.fromkeys((o, r) for o, r in item.providers)
    ]
    names = ["activity_id", "organization_id", "role"]
    written_in_bulk.values_with_history(ActivityProvider, names, rows, who, reason, when)


def _link_history(
    activities: list[Activity], history: list[int], links: dict[str, list[tuple[int, int, int]]]
) -> None:
    """simple-history's copy of each link row, hung on the activity's history row (as
    `create_historical_record_m2ms` makes them for one activity)."""
    row_of = dict(zip((a.pk for a in activities), history, strict=True))
    for name, rows in links.items():
        field = Activity._meta.get_field(name)
        own, other = field.m2m_field_name(), field.m2m_reverse_field_name()  # type: ignore[union-attr]
        model = apps.get_model(Activity._meta.app_label, f"HistoricalActivity_{name}")
        written_in_bulk.insert_values(
            model,
            ["history_id", "id", f"{own}_id", f"{other}_id"],
            [(row_of[activity], key, activity, target) for key, activity, target in rows],
        )


def chunks(items: Sequence[Any], size: int = ACTIVITIES_PER_BATCH) -> Iterable[Sequence[Any]]:
    """`items` in batches for `create_activities`."""
    for start in range(0, len(items), size):
        yield items[start : start + size]
