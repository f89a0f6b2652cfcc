"""Records "as at" a past moment, from django-simple-history's tables.

Every domain model keeps `history = HistoricalRecords()`. `as_at` gives the rows as they stood at
a moment, narrowed by the same visibility rule as today's (with sharing as it stood then), so a
figure shown for a past date can be reproduced by whoever may see it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext as _

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
    links = _links(records)
    names = _Names(user)
    result = []
    for newer, older in zip(records, records[1:] + [None], strict=True):
        if newer.history_id not in shown:
            continue
        diff = []
        if older is not None:
            older_shown = older.history_id in shown
            diff = [
                (
                    field,
                    names.value(model, field, old) if older_shown else NOT_SHOWN,
                    names.value(model, field, new),
                )
                for field, old, new in _diff(newer, older, links)
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


#: A version's linked rows (the through table's as simple-history keeps them), by field and version.
_Links = dict[str, dict[int, list[dict[str, Any]]]]


def _links(records: list[Any]) -> _Links:
    """The linked rows of every version, one query per many-to-many field: simple-history's
    `diff_against` reads both versions' rows of each field for each pair (some 150 queries for
    an activity's nine versions)."""
    if not records:
        return {}
    historical = type(records[0])
    keys = [r.history_id for r in records]
    links: _Links = {}
    for field in historical._history_m2m_fields:
        rows_model = historical.__dict__[field.name].model
        # The fields simple-history compares: the through table's own, not the row's key or version.
        compared = [
            f.name
            for f in rows_model._meta.fields
            if f.editable and f.name not in ("id", "m2m_history_id", "history")
        ]
        # In the order simple-history compares them: by the linked record.
        target = cast(Any, field).m2m_reverse_field_name()
        by_version: dict[int, list[dict[str, Any]]] = {key: [] for key in keys}
        for row in (
            rows_model.objects.filter(history_id__in=keys)
            .order_by("history_id", target)
            .values("history_id", *compared)
        ):
            by_version[row.pop("history_id")].append(row)
        links[field.name] = by_version
    return links


def _diff(newer: Any, older: Any, links: _Links) -> list[tuple[str, Any, Any]]:
    """What changed between two versions, by field name, as simple-history's `diff_against`
    gives it, the linked rows read from `links`."""
    delta = newer.diff_against(older, excluded_fields=list(links))
    found = [(c.field, c.old, c.new) for c in delta.changes]
    for name, by_version in links.items():
        old, new = by_version[older.history_id], by_version[newer.history_id]
        if old != new:
            found.append((name, old, new))
    return sorted(found, key=lambda change: change[0])


class _Names:
    """A changed value as a reader understands it: a related record by its name (if the reader
    may see it), several linked records (instruments, States) by their names, not their keys."""

    def __init__(self, user: Any) -> None:
        self.user = user
        self._known: dict[Any, dict[Any, str]] = {}

    def value(self, model: type[models.Model], name: str, value: Any) -> Any:
        try:
            field = model._meta.get_field(name)
        except Exception:  # a field removed since: show the stored value
            return value
        if not field.is_relation or value in (None, "", []):
            return value
        related = field.related_model
        if field.many_to_many:
            # simple-history keeps each link as a row of the through table: the linked record is
            # under the through's key to the target (to_state, not from_state, for successors).
            key = cast(Any, field).m2m_reverse_field_name()
            keys = [row.get(key) for row in value if isinstance(row, dict)]
        else:
            keys = [value]
        labels = self._labels(related, keys)
        shown = [labels.get(k, NOT_SHOWN) for k in keys]
        return "; ".join(shown) if field.many_to_many else shown[0]

    def _labels(self, related: Any, keys: list[Any]) -> dict[Any, str]:
        """Names of the records the reader may see, each read once for the whole history."""
        known = self._known.setdefault(related, {})
        missing = [k for k in keys if k not in known]
        if missing:
            records = related._default_manager.filter(visibility_q(related, principal_for(self.user)))
            found = {r.pk: str(r) for r in records.filter(pk__in=missing)}
            known.update({k: found.get(k, NOT_SHOWN) for k in missing})
        return known


def latest_changes(request: Any, model: type[models.Model], kind: str, limit: int) -> list[Any]:
    """The latest changes to records of `model` the user may see today, newest first, one per
    record, each naming the record as it is now (a record since deleted or hidden is not
    listed)."""
    from .registry import Change

    visible = model.objects.visible_to(request.user).values("pk")  # type: ignore[attr-defined]
    newest: dict[Any, tuple[Any, Any, str]] = {}
    # One line per record, its latest change (a load writes a record and then its relations:
    # several history rows within a second).
    candidates = (
        model.history.filter(id__in=visible)  # type: ignore[attr-defined]
        .order_by("-history_date")
        .values_list("id", "history_date", "history_type")[: limit * 10]
    )
    for key, when, action in candidates:
        newest.setdefault(key, (key, when, action))
    rows = list(newest.values())[:limit]
    records = model._default_manager.in_bulk({key for key, _, _ in rows})
    actions = {"+": _("created"), "~": _("changed"), "-": _("deleted")}
    return [
        Change(when, kind, str(records[key]), records[key].get_absolute_url(), str(actions.get(kind_, "")))  # type: ignore[attr-defined]
        for key, when, kind_ in rows
        if key in records
    ]
