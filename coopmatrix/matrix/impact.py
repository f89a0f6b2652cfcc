"""The impact of assistance: States that became party to an instrument within N months after
receiving legislative drafting assistance (the seed report's footnote 7 names 11 such States).

An activity counts when its modality is legislative advice, the State is one of its recipients
(named, or through a region), and it has an end date. A consent to be bound (ratification,
acceptance, approval, accession, succession) counts when it was deposited after the end of that
assistance (after the whole month or year, when the end is given only to that precision) and no
later than N months after it. Both sides start from the visibility rule.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from coopmatrix.core.dates import PartialDate
from coopmatrix.treaties.models import TreatyAction

from .filtersets import _with_units
from .models import Activity, ActivityProvider, ActivityReach


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day N months later (the month's last day when it is shorter)."""
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    for last in (31, 30, 29, 28):
        try:
            return dt.date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise ValueError(day)


@dataclass
class Finding:
    state: Any
    activity: Activity
    assistance_ended: PartialDate
    action: TreatyAction

    @property
    def months_after(self) -> int:
        end = self.assistance_ended.last_day
        return (self.action.deposited.year - end.year) * 12 + self.action.deposited.month - end.month


def became_party_after_assistance(
    user: Any,
    months: int,
    providers: list[Any] | None = None,
    ended_from: dt.date | None = None,
    ended_to: dt.date | None = None,
) -> list[Finding]:
    """Each (State, assistance, consent) that meets the rule above, by State then date."""
    activities = Activity.objects.visible_to(user).filter(
        modality=Activity.Modality.LEGISLATIVE_ADVICE, period_end__isnull=False
    )
    if providers:
        roles = ActivityProvider.objects.filter(organization_id__in=_with_units(providers))
        activities = activities.filter(pk__in=roles.values("activity_id"))
    if ended_from:
        activities = activities.filter(period_end__gte=ended_from)
    if ended_to:
        activities = activities.filter(period_end__lte=ended_to)
    by_id = {a.pk: a for a in activities}
    reached: dict[int, list[Activity]] = {}
    for activity_id, state_id in ActivityReach.objects.filter(activity_id__in=by_id).values_list(
        "activity_id", "state_id"
    ):
        reached.setdefault(state_id, []).append(by_id[activity_id])
    consents = (
        TreatyAction.objects.visible_to(user)
        .filter(action__in=TreatyAction.CONSENT, state_id__in=reached)
        .select_related("state", "instrument")
        .order_by("state__name_en", "deposited")
    )
    findings = []
    for action in consents:
        for activity in reached[action.state_id]:
            ended = _end(activity)
            if ended.last_day < action.deposited <= add_months(ended.last_day, months):
                findings.append(Finding(action.state, activity, ended, action))
    return findings


def _end(activity: Activity) -> PartialDate:
    for name in ("actual_end", "planned_end"):
        day = getattr(activity, name)
        if day:
            return PartialDate(day, getattr(activity, f"{name}_precision") or "day")
    assert activity.period_end is not None
    return PartialDate(activity.period_end, "day")
