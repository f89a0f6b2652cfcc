"""Records "as at" a past moment, from django-simple-history's tables.

Every domain model keeps `history = HistoricalRecords()`. `as_at` gives the rows as they stood at
a moment, narrowed by the same visibility rule as today's (with sharing as it stood then), so a
figure shown for a past date can be reproduced by whoever may see it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import models
from django.utils import timezone

from .querysets import visibility_q
from .roles import principal_for


def end_of_day(day: dt.date) -> dt.datetime:
    """The last moment of a day in the site's time zone: "as at 9 March 2004" includes that day."""
    return timezone.make_aware(dt.datetime.combine(day, dt.time.max))


def as_at(model: type[models.Model], when: dt.datetime | dt.date, user: Any = None) -> Any:
    """Instances of `model` as they stood at `when`, limited to what `user` may see.

    A date means the end of that day. The result is a queryset of historical rows that yields
    model instances; filter it with the model's field names.
    """
    if not isinstance(when, dt.datetime):
        when = end_of_day(when)
    rows = model.history.as_of(when)  # type: ignore[attr-defined]
    return rows.filter(visibility_q(model, principal_for(user), as_at=when))


def changes(instance: models.Model) -> list[dict[str, Any]]:
    """Who changed what and when, newest first, with the fields each change altered."""
    records = list(instance.history.all().select_related("history_user"))  # type: ignore[attr-defined]
    result = []
    for newer, older in zip(records, records[1:] + [None], strict=True):
        diff = []
        if older is not None:
            delta = newer.diff_against(older)
            diff = [(c.field, c.old, c.new) for c in delta.changes]
        result.append(
            {
                "when": newer.history_date,
                "who": newer.history_user,
                "kind": newer.get_history_type_display(),
                "reason": newer.history_change_reason or "",
                "changes": diff,
            }
        )
    return result
