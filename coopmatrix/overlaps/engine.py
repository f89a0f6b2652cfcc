"""Finding and keeping possible overlaps: for one activity on every save, for all at once from
the console (`coopmatrix find_overlaps`).

The candidates of an activity are narrowed in the database first (a State reached in common, an
area or DAC purpose code in common, periods that meet), then scored here (scoring.py). What
scores at least OVERLAP_THRESHOLD is kept as an Overlap; a pair a reviewer gave a verdict on is
kept whatever its score, and asked again when the score moves by more than the margin.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q

from coopmatrix.matrix.models import Activity

from .describe import describe
from .models import Overlap
from .scoring import Candidate, Described, are_candidates, score


def weights() -> Mapping[str, float]:
    return settings.OVERLAP_WEIGHTS


def pool(described: Described, limit: int | None = None) -> list[int]:
    """Keys of the activities that may overlap this one: the database's first narrowing."""
    if not (described.states and (described.areas or described.dac) and described.start and described.end):
        return []
    rows = (
        Activity.objects.filter(reach__state__code__in=described.states, period_start__lte=described.end)
        .filter(Q(period_end__gte=described.start) | Q(period_end__isnull=True))
        .filter(Q(thematic_areas__code__in=described.areas) | Q(thematic_areas__dac_code__in=described.dac))
        .exclude(pk=described.pk)
        .order_by("pk")
        .values_list("pk", flat=True)
        .distinct()
    )
    return list(rows[: limit or settings.OVERLAP_POOL_LIMIT])


def candidates_of(described: Described, others: Iterable[Described]) -> list[Candidate]:
    """The pairs of this activity that score at least the threshold, best first."""
    threshold = settings.OVERLAP_THRESHOLD
    found = []
    for other in others:
        if are_candidates(described, other):
            candidate = score(described, other, weights())
            if candidate.score >= threshold:
                found.append(candidate)
    return sorted(found, key=lambda c: (-c.score, c.a, c.b))


def find_for(activity_id: int) -> list[Candidate]:
    """The candidates of one saved activity (also inside a transaction that will be undone: the
    warning before saving reads them so)."""
    described = describe([activity_id]).get(activity_id)
    if described is None:
        return []
    others = describe(pool(described))
    return candidates_of(described, others.values())


def store(activity_id: int, found: list[Candidate]) -> None:
    """Keep this activity's pairs as found now: new ones added, scores brought up to date, those
    no longer found dropped unless a reviewer gave a verdict on them."""
    kept = {
        (o.first_id, o.second_id): o
        for o in Overlap.objects.filter(Q(first_id=activity_id) | Q(second_id=activity_id))
    }
    for candidate in found:
        _keep(kept.pop((candidate.a, candidate.b), None), candidate)
    for overlap in kept.values():
        if not overlap.verdict:
            overlap.delete()
            continue
        # Reviewed pairs stay with their verdict; their score is what the two records give now.
        others = describe([overlap.first_id, overlap.second_id])
        if len(others) == 2:
            _keep(overlap, score(others[overlap.first_id], others[overlap.second_id], weights()))


def _keep(overlap: Overlap | None, candidate: Candidate) -> None:
    reasons = [
        {"part": r.part, "value": round(r.value, 4), "weight": r.weight, "words": r.words}
        for r in candidate.reasons
    ]
    if overlap is None:
        Overlap.objects.create(
            first_id=candidate.a,
            second_id=candidate.b,
            score=candidate.score,
            reasons=reasons,
            to_review=True,
        )
        return
    to_review = Overlap.needs_review(overlap.verdict, overlap.verdict_score, candidate.score)
    if (overlap.score, overlap.reasons, overlap.to_review) == (candidate.score, reasons, to_review):
        return  # unchanged: no history row
    overlap.score, overlap.reasons, overlap.to_review = candidate.score, reasons, to_review
    overlap.save()


def refresh(activity_ids: Iterable[int]) -> None:
    """Find and keep the pairs of these activities (those deleted lose theirs with them)."""
    existing = set(Activity.objects.filter(pk__in=list(activity_ids)).values_list("pk", flat=True))
    for pk in sorted(existing):
        store(pk, find_for(pk))


# --- on every save, whichever door it comes through (signals.py) ---------------------------------


def changed(activity_ids: Iterable[int]) -> None:
    """An activity changed: check it once the transaction that changed it commits (an activity
    is saved, then its States and areas are set: it is checked whole, once)."""
    ids = {pk for pk in activity_ids if pk is not None}
    if not connection.in_atomic_block:
        refresh(ids)
        return
    # The first callback to run after the commit checks every activity noted; the others find
    # nothing left. A callback of an undone savepoint is dropped by Django; its activities stay
    # noted and are checked (if they still exist) at the next commit.
    _pending().update(ids)
    transaction.on_commit(_flush, robust=True)


def _pending() -> set[int]:
    pending: set[int] | None = getattr(connection, "_overlaps_pending", None)
    if pending is None:
        pending = connection._overlaps_pending = set()  # type: ignore[attr-defined]
    return pending


def _flush() -> None:
    pending = _pending()
    ids = set(pending)
    pending.clear()
    if ids:
        with transaction.atomic():
            refresh(ids)


def find_all(
    progress: Callable[[int, int], Any] | None = None, budget_seconds: float | None = None
) -> dict[str, int]:
    """Every pair again, activity by activity; pairs no longer found and never reviewed go.
    Safe to run again: pairs are kept by their two activities. With `budget_seconds` (the
    benchmark), it stops after that long, keeps what it found and drops nothing."""
    import time

    started = time.monotonic()
    ids = list(Activity.objects.order_by("pk").values_list("pk", flat=True))
    seen: set[tuple[int, int]] = set()
    chunk = 500
    for start in range(0, len(ids), chunk):
        part = ids[start : start + chunk]
        with transaction.atomic():
            described = describe(part)
            for index, pk in enumerate(part):
                if budget_seconds is not None and time.monotonic() - started > budget_seconds:
                    return {"activities": start + index, "pairs": len(seen), "dropped": 0, "finished": 0}
                if pk not in described:
                    continue
                others = describe([o for o in pool(described[pk]) if o > pk])
                for candidate in candidates_of(described[pk], others.values()):
                    seen.add((candidate.a, candidate.b))
                    _keep(
                        Overlap.objects.filter(first_id=candidate.a, second_id=candidate.b).first(), candidate
                    )
        if progress:
            progress(min(start + chunk, len(ids)), len(ids))
    stale = [
        pk
        for pk, first, second in Overlap.objects.filter(verdict="").values_list("pk", "first_id", "second_id")
        if (first, second) not in seen
    ]
    Overlap.objects.filter(pk__in=stale).delete()
    return {"activities": len(ids), "pairs": len(seen), "dropped": len(stale), "finished": 1}
