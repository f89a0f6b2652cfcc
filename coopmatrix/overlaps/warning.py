"""The warning before saving: a new or changed activity that would overlap existing ones is shown
them before it is saved, on the page, through the API and in an import's preview.

The activity is saved in a transaction that is always undone, so that the candidates are found
exactly as the save would find them. The user is shown the pairs whose other activity they may
see; of the others they are told only that there are some (the secretariat's queue holds them
once the activity is saved).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from coopmatrix.matrix.models import Activity

from . import engine


@dataclass
class Warning:
    #: One per visible candidate: {"activity", "title", "url", "score", "reasons"}.
    shown: list[dict[str, Any]] = field(default_factory=list)
    #: Candidates with activities the user may not see (a count never shown: only that some are).
    hidden: int = 0
    template: str = "overlaps/warning.html"

    def __bool__(self) -> bool:
        return bool(self.shown or self.hidden)

    @property
    def stamp(self) -> str:
        """What the user saw: saving "anyway" with this stamp skips the warning; another one (the
        candidates changed meanwhile) shows it again."""
        keys = [f"{c['activity']}:{c['score']:.4f}" for c in self.shown]
        return ",".join(keys) + f"|{bool(self.hidden):d}"


class _Undo(Exception):
    pass


def before_saving(user: Any, save: Callable[[], Activity], activity_id: int | None = None) -> Warning:
    """The candidates `save()` would give, found in a transaction that is undone. Errors of the
    save itself (Invalid, PermissionDenied) go to the caller as they would without the check."""
    result = Warning()
    try:
        with transaction.atomic():
            saved = save()
            result = for_saved(user, saved.pk)
            raise _Undo
    except _Undo:
        pass
    return result


def for_saved(user: Any, activity_id: int) -> Warning:
    found = engine.find_for(activity_id)
    others = {(c.b if c.a == activity_id else c.a): c for c in found}
    visible = Activity.objects.visible_to(user).filter(pk__in=list(others)).in_bulk()
    shown = [
        {
            "activity": pk,
            "title": visible[pk].title,
            "url": visible[pk].get_absolute_url(),
            "score": candidate.score,
            "reasons": candidate.explanation(),
        }
        for pk, candidate in others.items()
        if pk in visible
    ]
    return Warning(shown=shown, hidden=len(others) - len(shown))


def before_saving_many(user: Any, save_all: Callable[[], list[Activity]]) -> list[Warning]:
    """The warnings `save_all()` would give for each activity it saves (an import's rows), in
    its order: each row against the records already kept and the file's other rows."""
    results: list[Warning] = []
    try:
        with transaction.atomic():
            saved = save_all()
            results = [for_saved(user, activity.pk) for activity in saved]
            raise _Undo
    except _Undo:
        pass
    return results
