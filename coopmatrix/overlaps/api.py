"""REST API of possible overlaps: the review queue, one pair, a verdict, and the check of an
activity before it is saved."""

import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Query, Router, Schema
from ninja.pagination import paginate

from coopmatrix.core.api import FilterError, Key, PageNumberPagination, filtered, visible
from coopmatrix.matrix import actions as matrix_actions
from coopmatrix.matrix.api import ActivityIn
from coopmatrix.matrix.models import Activity

from . import actions, gaps
from .filtersets import OverlapFilterSet
from .forms import GridForm, TreatyGapForm, WaitingForm
from .models import Overlap
from .warning import before_saving

router = Router(tags=["Overlap"])


class ActivityRef(Schema):
    id: int
    title: str


class ReasonOut(Schema):
    part: str
    value: float
    weight: float
    words: str


class OverlapOut(Schema):
    id: int
    score: float
    first: ActivityRef
    second: ActivityRef
    reasons: list[ReasonOut]
    verdict: str
    comment: str
    to_review: bool
    verdict_score: float | None
    reviewed_at: dt.datetime | None
    #: Send it back with a verdict: a pair that changed since answers 409 and is asked again.
    drawn: str

    @staticmethod
    def resolve_drawn(obj: Overlap) -> str:
        return actions.drawn(obj)

    @staticmethod
    def resolve_reasons(obj: Overlap) -> list[dict[str, Any]]:
        return obj.shown_reasons


class VerdictIn(Schema):
    verdict: str
    comment: str = ""
    drawn: str | None = None


class CandidateOut(Schema):
    activity: int
    title: str
    score: float
    reasons: list[str]


class CheckOut(Schema):
    #: The existing activities this one would overlap, that the caller may see.
    candidates: list[CandidateOut]
    #: Whether it would also overlap activities the caller may not see (named to the secretariat).
    overlaps_hidden_activities: bool


class OverlapFilters(Schema):
    state: list[str] = []
    region: list[int] = []
    provider: list[str] = []
    thematic_area: list[str] = []
    score_min: float | None = None
    verdict: list[str] = []
    to_review: bool | None = None
    activity: Key | None = None


def _pairs(request: HttpRequest):
    return visible(request, Overlap).select_related("first", "second")


@router.get("/overlaps", response=list[OverlapOut], summary="Possible overlaps: the review queue")
@paginate(PageNumberPagination, page_size=100)
def list_overlaps(request: HttpRequest, filters: Query[OverlapFilters]):
    return filtered(request, OverlapFilterSet, _pairs(request))


# Before the pair's own path, which would otherwise take "check" for a pair's key.
@router.post(
    "/overlaps/check",
    response=CheckOut,
    summary="Check an activity for possible overlaps before saving it (nothing is written)",
)
def check(request: HttpRequest, payload: ActivityIn, activity: Key | None = None):
    """The activity as it would be created, or (`activity`: its id) changed, checked as its save
    would check it. Nothing is written; the same errors as a save answer the same way."""
    record: Any = get_object_or_404(visible(request, Activity), pk=activity) if activity else None
    data = payload.dict()
    warning = before_saving(request.user, lambda: matrix_actions.save_activity(request.user, data, record))
    return {
        "candidates": [
            {"activity": c["activity"], "title": c["title"], "score": c["score"], "reasons": c["reasons"]}
            for c in warning.shown
        ],
        "overlaps_hidden_activities": bool(warning.hidden),
    }


@router.get("/overlaps/{overlap_id}", response=OverlapOut)
def get_overlap(request: HttpRequest, overlap_id: Key):
    return get_object_or_404(_pairs(request), pk=overlap_id)


@router.post("/overlaps/{overlap_id}/verdict", response=OverlapOut, summary="Give a verdict on a pair")
def give_verdict(request: HttpRequest, overlap_id: Key, payload: VerdictIn):
    overlap = get_object_or_404(_pairs(request), pk=overlap_id)
    actions.give_verdict(request.user, overlap, payload.dict())
    return _pairs(request).get(pk=overlap.pk)


# --- gaps ---------------------------------------------------------------------------------------


class WaitingOut(Schema):
    request: int
    state: str
    title: str
    received: dt.date
    status: str
    stage: str
    days_waiting: int
    limit_days: int | None
    overdue: bool
    answered_by: list[int]


class GapCellOut(Schema):
    row: str
    thematic_area: str
    kind: str
    needs_recorded: int
    not_answered: int
    activities: int


class GapGridOut(Schema):
    rows_by: str
    cells: list[GapCellOut]


class TreatyGapOut(Schema):
    instrument: str
    not_party_unassisted: list[str]
    not_party_assisted: list[str]
    #: Treaty actions recorded for it up to the date (none: every State reads as not party).
    treaty_actions_recorded: int


def _valid(form: Any) -> Any:
    if not form.is_valid():
        raise FilterError({name: [str(e) for e in errors] for name, errors in form.errors.items()})
    return form


@router.get("/gaps/requests", response=list[WaitingOut], summary="Gaps: open requests, where each waits")
def gaps_requests(
    request: HttpRequest,
    state: Query[list[str]] = None,
    stage: Query[list[str]] = None,
    overdue: bool = False,
):
    form = _valid(WaitingForm(request.GET))
    data = form.cleaned_data
    rows = gaps.waiting_for(request.user, data.get("state"), data.get("stage"), data.get("overdue", False))
    return [
        {
            "request": r.request.pk,
            "state": r.request.state.code,
            "title": r.request.title,
            "received": r.request.received,
            "status": r.request.status,
            "stage": r.stage,
            "days_waiting": r.days,
            "limit_days": r.limit,
            "overdue": r.overdue,
            "answered_by": [a.pk for a in r.answers],
        }
        for r in rows
    ]


@router.get(
    "/gaps/grid", response=GapGridOut, summary="Gaps: needs and assistance by State and thematic area"
)
def gaps_grid(
    request: HttpRequest,
    rows: str = "state",
    region: Query[list[int]] = None,
    period_from: dt.date | None = None,
    period_to: dt.date | None = None,
):
    form = _valid(GridForm(request.GET))
    data = form.cleaned_data
    grid = gaps.gap_grid(
        request.user,
        data.get("rows") or "state",
        data.get("period_from"),
        data.get("period_to"),
        form.states(),
    )
    cells = []
    for row in grid.rows:
        for area in grid.areas:
            cell = grid.cell(row, area)
            if cell.kind:
                cells.append(
                    {
                        "row": str(row.m49) if grid.rows_by == "region" else row.code,
                        "thematic_area": area.code,
                        "kind": cell.kind,
                        "needs_recorded": cell.requests,
                        "not_answered": cell.unanswered,
                        "activities": cell.activities,
                    }
                )
    return {"rows_by": grid.rows_by, "cells": cells}


@router.get(
    "/gaps/treaties",
    response=list[TreatyGapOut],
    summary="Gaps: States not party to an instrument without legislative assistance for it",
)
def gaps_treaties(
    request: HttpRequest,
    as_at: dt.date | None = None,
    period_from: dt.date | None = None,
    period_to: dt.date | None = None,
    instrument: Query[list[str]] = None,
    region: Query[list[int]] = None,
):
    form = _valid(TreatyGapForm(request.GET, user=request.user))
    data = form.cleaned_data
    found = gaps.treaty_gaps(
        request.user,
        data["as_at"],
        data["period_from"],
        data["period_to"],
        data.get("instrument") or None,
        form.states(),
    )
    return [
        {
            "instrument": g.instrument.code,
            "not_party_unassisted": [s.code for s in g.unassisted],
            "not_party_assisted": [s.code for s in g.assisted],
            "treaty_actions_recorded": g.recorded,
        }
        for g in found
    ]
