"""REST API of possible overlaps: the review queue, one pair, a verdict, and the check of an
activity before it is saved."""

import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Query, Router, Schema
from ninja.pagination import paginate

from coopmatrix.core.api import Key, PageNumberPagination, filtered, visible
from coopmatrix.matrix import actions as matrix_actions
from coopmatrix.matrix.api import ActivityIn
from coopmatrix.matrix.models import Activity

from . import actions
from .filtersets import OverlapFilterSet
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
