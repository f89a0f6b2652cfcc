"""The one write path of a verdict, for the page and the API alike."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from coopmatrix.core.errors import Invalid, Stale
from coopmatrix.core.roles import principal_for
from coopmatrix.matrix.models import Activity

from .models import Overlap


def may_judge(user: Any, overlap: Overlap) -> bool:
    """The secretariat, and an editor who may change either activity (and sees both: the
    overlap was found through the visibility rule)."""
    principal = principal_for(user)
    if principal.sees_everything:
        return True
    editable = Activity.objects.editable_by(user).filter(pk__in=[overlap.first_id, overlap.second_id])
    return editable.exists()


def drawn(overlap: Overlap) -> str:
    """What a verdict was given on: the score and when each activity last changed. A verdict
    sent with another stamp is on a pair that changed since: it is asked again."""
    # The pair's own activities: lists fetch them with it (select_related), one query for all.
    first, second = overlap.first, overlap.second
    return f"{overlap.score:.4f}/{first.updated.isoformat()}/{second.updated.isoformat()}"


@transaction.atomic
def give_verdict(user: Any, overlap: Overlap, data: dict[str, Any]) -> Overlap:
    """Record a reviewer's verdict and comment; the earlier one stays in the history."""
    if not may_judge(user, overlap):
        raise PermissionDenied("you may not give a verdict on this pair")
    overlap = (
        Overlap.objects.select_for_update(of=("self",)).select_related("first", "second").get(pk=overlap.pk)
    )
    verdict = str(data.get("verdict") or "")
    errors = {}
    if verdict not in Overlap.Verdict.values:
        choices = ", ".join(Overlap.Verdict.values)
        errors["verdict"] = f"{verdict!r} is not a verdict; choose one of {choices}"
    comment = str(data.get("comment") or "")
    if len(comment) > 4000:
        errors["comment"] = "a comment is at most 4,000 characters"
    if errors:
        raise Invalid(errors)
    stamp = data.get("drawn")
    if stamp is not None and stamp != drawn(overlap):
        raise Stale(
            "one of the two activities changed since this pair was shown to you: "
            "read it again as it is now before giving a verdict"
        )
    overlap.verdict, overlap.comment = verdict, comment
    overlap.verdict_score, overlap.to_review = overlap.score, False
    overlap.reviewed_by, overlap.reviewed_at = user, timezone.now()
    overlap.save()
    return overlap
