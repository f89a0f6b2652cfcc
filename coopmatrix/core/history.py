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


#: What a history shows in place of a value the reader may not see.
NOT_SHOWN = "(not shown)"


def changes(instance: models.Model, user: Any = None) -> list[dict[str, Any]]:
    """Who changed what and when, newest first, with the fields each change altered, as `user`
    may see it: a version the user could not have seen (the record was confidential then) is
    left out and its values are not shown, and a related record (an owner, a State, an instrument
    added) is named only if the user may see it."""
    model = type(instance)
    principal = principal_for(user)
    history = instance.history.all()  # type: ignore[attr-defined]
    readable = history.filter(visibility_q(model, principal, as_at=timezone.now()))
    shown = set(readable.values_list("history_id", flat=True))
    records = list(history.select_related("history_user"))
    names = _Names(user)
    result = []
    for newer, older in zip(records, records[1:] + [None], strict=True):
        if newer.history_id not in shown:
            continue
        diff = []
        if older is not None:
            delta = newer.diff_against(older)
            older_shown = older.history_id in shown
            diff = [
                (
                    c.field,
                    names.value(model, c.field, c.old) if older_shown else NOT_SHOWN,
                    names.value(model, c.field, c.new),
                )
                for c in delta.changes
            ]
        result.append(
            {
                "when": newer.history_date,
                "who": newer.history_user,
                "kind": newer.get_history_type_display(),
                "reason": newer.history_change_reason or "",
                "changes": diff,
            }
        )
    hidden = len(records) - len(result)
    if hidden:
        result.append(
            {
                "when": None,
                "who": None,
                "kind": f"{hidden} earlier version(s) not shown",
                "reason": "",
                "changes": [],
            }
        )
    return result


class _Names:
    """A changed value as a reader understands it: a related record by its name (if the reader
    may see it), several linked records (instruments, States) by their names, not their keys."""

    def __init__(self, user: Any) -> None:
        self.user = user

    def value(self, model: type[models.Model], name: str, value: Any) -> Any:
        try:
            field = model._meta.get_field(name)
        except Exception:  # a field removed since: show the stored value
            return value
        if not field.is_relation or value in (None, "", []):
            return value
        related = field.related_model
        if field.many_to_many:
            key = _m2m_key(field)
            keys = [row.get(key) for row in value if isinstance(row, dict)]
        else:
            keys = [value]
        found = {r.pk: r for r in self._visible(related).filter(pk__in=keys)}
        shown = [str(found[k]) if k in found else NOT_SHOWN for k in keys]
        return "; ".join(shown) if field.many_to_many else shown[0]

    def _visible(self, related: Any) -> Any:
        manager = related._default_manager
        records = manager.all()
        return records.visible_to(self.user) if hasattr(records, "visible_to") else records


def _m2m_key(field: Any) -> str:
    """The name under which simple-history keeps the linked record of a many-to-many row."""
    through = field.remote_field.through
    for candidate in through._meta.get_fields():
        if candidate.is_relation and candidate.related_model is field.related_model:
            return candidate.name
    return field.related_model._meta.model_name
