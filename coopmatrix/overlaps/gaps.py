"""Gaps: what was asked and not answered, what was given without being asked, and the States not
party to an instrument that received no legislative assistance for it.

Everything here is read through the one visibility rule: a request, an activity or a treaty
action the reader may not see counts as absent (a hidden answer does not mark a need answered).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from coopmatrix.geo.models import Region, State
from coopmatrix.matrix.models import Activity, ActivityReach, Referral, Request
from coopmatrix.treaties.models import Instrument, TreatyAction
from coopmatrix.treaties.participation import standings
from coopmatrix.vocabulary.models import ThematicArea

# --- requests waiting ---------------------------------------------------------------------------

#: Where an open request stands, in the order it moves.
STAGES = {
    "waiting_referral": "Waiting for a referral",
    "referred_unanswered": "Referred, no provider answered",
    "accepted_no_activity": "Accepted, no activity yet",
    "answered": "Answered by activities",
}


@dataclass
class Waiting:
    request: Request
    stage: str
    days: int
    #: The days this stage may last (GAP_OVERDUE_DAYS), None for a request answered.
    limit: int | None
    answers: list[Activity] = field(default_factory=list)

    @property
    def overdue(self) -> bool:
        return self.limit is not None and self.days > self.limit

    @property
    def stage_label(self) -> str:
        return STAGES[self.stage]


def _stage(request: Request, referrals: list[Referral], answers: list[Activity]) -> str:
    if answers:
        return "answered"
    if not referrals:
        return "waiting_referral"
    if any(r.response == Referral.Response.ACCEPTED for r in referrals):
        return "accepted_no_activity"
    if request.status in (Request.Status.ACCEPTED, Request.Status.IN_PROGRESS):
        return "accepted_no_activity"
    return "referred_unanswered"


def waiting(user: Any, requests: Any = None, today: dt.date | None = None) -> list[Waiting]:
    """Each open request the user may see, with its stage and its days since receipt."""
    today = today or timezone.localdate()
    records = (requests if requests is not None else Request.objects.visible_to(user)).filter(
        status__in=Request.OPEN_STATUSES
    )
    records = list(records.select_related("state").order_by("received", "pk"))
    ids = [r.pk for r in records]
    from coopmatrix.directory.models import Organization

    providers = Organization.objects.visible_to(user).values("pk")
    referrals: dict[int, list[Referral]] = defaultdict(list)
    for referral in Referral.objects.filter(request_id__in=ids, provider_id__in=providers):
        referrals[referral.request_id].append(referral)
    answers: dict[int, list[Activity]] = defaultdict(list)
    through = Activity.requests.through
    visible = Activity.objects.visible_to(user).values("pk")
    links = through.objects.filter(request_id__in=ids, activity_id__in=visible).select_related("activity")
    for link in links.order_by("activity__period_start", "activity_id"):
        answers[link.request_id].append(link.activity)
    limits = settings.GAP_OVERDUE_DAYS
    result = []
    for record in records:
        stage = _stage(record, referrals[record.pk], answers[record.pk])
        result.append(
            Waiting(
                request=record,
                stage=stage,
                days=(today - record.received).days,
                limit=limits.get(stage),
                answers=answers[record.pk],
            )
        )
    return result


def waiting_for(user: Any, states: Any = None, stages: Any = None, overdue: bool = False) -> list[Waiting]:
    """The waiting requests the gap page and the API list: of these States, at these stages,
    overdue only if asked; the longest waits first."""
    records = Request.objects.visible_to(user)
    if states:
        records = records.filter(state__in=states)
    rows = [
        r for r in waiting(user, records) if (not stages or r.stage in stages) and (not overdue or r.overdue)
    ]
    return sorted(rows, key=lambda r: (-r.days, r.request.pk))


# --- the gap grid: States (or regions) × thematic areas -------------------------------------------

ANSWERED, UNANSWERED, UNASKED = "answered", "unanswered", "unasked"
CELL_LABELS = {
    ANSWERED: "Need recorded and answered",
    UNANSWERED: "Need recorded, not answered",
    UNASKED: "Activity without a recorded need",
}


@dataclass
class Cell:
    requests: int = 0
    unanswered: int = 0
    activities: int = 0

    @property
    def kind(self) -> str:
        if self.unanswered:
            return UNANSWERED
        if self.requests:
            return ANSWERED
        return UNASKED if self.activities else ""

    @property
    def label(self) -> str:
        return CELL_LABELS.get(self.kind, "")


@dataclass
class GapGrid:
    rows_by: str  # "state" or "region"
    rows: list[Any]  # States or Regions, those with something in a cell
    areas: list[ThematicArea]
    cells: dict[tuple[int, int], Cell]
    period_from: dt.date | None
    period_to: dt.date | None

    def cell(self, row: Any, area: ThematicArea) -> Cell:
        return self.cells.get((row.pk, area.pk), Cell())

    def totals(self) -> dict[str, int]:
        found: dict[str, int] = defaultdict(int)
        for cell in self.cells.values():
            if cell.kind:
                found[cell.kind] += 1
        return dict(found)


def gap_grid(
    user: Any,
    rows_by: str = "state",
    period_from: dt.date | None = None,
    period_to: dt.date | None = None,
    states: Any = None,
) -> GapGrid:
    """For each State (or M49 sub-region) and thematic area: the needs recorded (requests of the
    State naming the area), whether each is answered (an activity the user may see answers it),
    and the activities reaching the State in the area."""
    requests = Request.objects.visible_to(user).exclude(status=Request.Status.WITHDRAWN)
    activities = Activity.objects.visible_to(user)
    if period_from:
        requests = requests.filter(received__gte=period_from)
        activities = activities.filter(Q(period_end__gte=period_from) | Q(period_end__isnull=True))
    if period_to:
        requests = requests.filter(received__lte=period_to)
        activities = activities.filter(period_start__lte=period_to)
    if states is not None:
        requests = requests.filter(state__in=states)
    answered = set(
        Activity.requests.through.objects.filter(
            activity_id__in=Activity.objects.visible_to(user).values("pk"),
            request_id__in=requests.values("pk"),
        ).values_list("request_id", flat=True)
    )
    state_row = _row_of(rows_by)
    cells: dict[tuple[int, int], Cell] = defaultdict(Cell)
    need_links = Request.thematic_areas.through.objects.filter(request_id__in=requests.values("pk"))
    request_state = dict(requests.values_list("pk", "state_id"))
    for request_id, area_id in need_links.values_list("request_id", "thematicarea_id"):
        row = state_row(request_state[request_id])
        if row is None:
            continue
        cell = cells[(row, area_id)]
        cell.requests += 1
        if request_id not in answered:
            cell.unanswered += 1
    area_links = Activity.thematic_areas.through.objects.filter(activity_id__in=activities.values("pk"))
    areas_of: dict[int, list[int]] = defaultdict(list)
    for activity_id, area_id in area_links.values_list("activity_id", "thematicarea_id"):
        areas_of[activity_id].append(area_id)
    reach = ActivityReach.objects.filter(activity_id__in=activities.values("pk"))
    if states is not None:
        reach = reach.filter(state__in=states)
    counted: set[tuple[int, int, int]] = set()
    for activity_id, state_id in reach.values_list("activity_id", "state_id"):
        row = state_row(state_id)
        if row is None:
            continue
        for area_id in areas_of.get(activity_id, ()):
            if (activity_id, row, area_id) not in counted:
                counted.add((activity_id, row, area_id))
                cells[(row, area_id)].activities += 1
    row_ids = {row for row, _area in cells}
    model = Region if rows_by == "region" else State
    order = "name" if rows_by == "region" else "name_en"
    rows = list(model.objects.filter(pk__in=row_ids).order_by(order))
    return GapGrid(rows_by, rows, list(ThematicArea.objects.all()), dict(cells), period_from, period_to)


def _row_of(rows_by: str):
    if rows_by == "state":
        return lambda state_id: state_id
    subregion = dict(State.objects.values_list("pk", "subregion_id"))
    region = dict(State.objects.values_list("pk", "region_id"))
    return lambda state_id: subregion.get(state_id) or region.get(state_id)


# --- States not party that received no legislative assistance ------------------------------------


@dataclass
class TreatyGap:
    instrument: Instrument
    #: States not party as at the date, with no legislative assistance for it in the period.
    unassisted: list[State]
    #: States not party that did receive such assistance (the work under way).
    assisted: list[State]
    #: Treaty actions recorded for the instrument up to the date: with none, every State reads
    #: as not party, which says more of the records than of the States.
    recorded: int = 0


def treaty_gaps(
    user: Any,
    as_at: dt.date,
    period_from: dt.date,
    period_to: dt.date,
    instruments: Any = None,
    states: Any = None,
) -> list[TreatyGap]:
    """For each instrument: the States not party to it as at `as_at` (from the treaty actions the
    user may see) that received no legislative assistance naming it between the two dates (an
    activity the user may see, of modality legislative advice or in an area of legislative
    drafting, naming the instrument, reaching the State)."""
    chosen = list(instruments if instruments is not None else Instrument.objects.visible_to(user))
    members = State.objects.filter(status=State.Status.MEMBER)
    if states is not None:
        members = members.filter(pk__in=[s.pk for s in states])
    members = list(members.order_by("name_en"))
    actions = TreatyAction.objects.visible_to(user)
    party = {pair for pair, standing in standings(actions, as_at).items() if standing.status == "party"}
    recorded: dict[int, int] = defaultdict(int)
    for instrument_id in actions.filter(deposited__lte=as_at).values_list("instrument_id", flat=True):
        recorded[instrument_id] += 1
    legislative = (
        Activity.objects.visible_to(user)
        .filter(period_start__lte=period_to)
        .filter(Q(period_end__gte=period_from) | Q(period_end__isnull=True))
        .filter(Q(modality="legislative_advice") | Q(thematic_areas__code__in=LEGISLATIVE_AREAS))
    )
    named = Activity.instruments.through.objects.filter(
        activity_id__in=legislative.values("pk"), instrument__in=chosen
    ).values_list("activity_id", "instrument_id")
    instruments_of: dict[int, set[int]] = defaultdict(set)
    for activity_id, instrument_id in named:
        instruments_of[activity_id].add(instrument_id)
    assisted: set[tuple[int, int]] = set()
    reach = ActivityReach.objects.filter(activity_id__in=list(instruments_of)).values_list(
        "activity_id", "state_id"
    )
    for activity_id, state_id in reach:
        for instrument_id in instruments_of[activity_id]:
            assisted.add((state_id, instrument_id))
    result = []
    for instrument in chosen:
        not_party = [s for s in members if (s.pk, instrument.pk) not in party]
        result.append(
            TreatyGap(
                instrument=instrument,
                unassisted=[s for s in not_party if (s.pk, instrument.pk) not in assisted],
                assisted=[s for s in not_party if (s.pk, instrument.pk) in assisted],
                recorded=recorded[instrument.pk],
            )
        )
    return result


#: Thematic areas whose activities are legislative assistance whatever their modality.
LEGISLATIVE_AREAS = ("ratification-legislation",)
