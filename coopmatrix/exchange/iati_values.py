"""An IATI activity as the values its record, budgets and transactions are written from
(exchange.importers), made where the file is read: in the reading process, beside the writing,
when a large file is read aside (core.aside). Made in the writing process, they were some 8 % of
its time. Nothing here touches the database: the reading process has none.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

from . import iati


@dataclasses.dataclass
class Shaped:
    """The values an activity's record, budgets and transactions are written from."""

    record: dict[str, Any]
    budgets: list[dict[str, Any]]
    transactions: list[dict[str, Any]]


def read(content: bytes | Path, name: str) -> Iterator[iati.IatiActivity | iati.Refused]:
    """`iati.read`, each activity given its `Shaped` values (`IatiActivity.shaped`)."""
    for item in iati.read(content, name):
        if isinstance(item, iati.IatiActivity):
            budgets = [budget(b) for b in item.budgets]
            item.shaped = Shaped(record(item, name), budgets, [transaction(t) for t in item.transactions])
        yield item


#: The fields of each dataclass `as_json` met, asked of `dataclasses.fields` once: asked for
#: each of the hundreds of thousands of organisations, codes and money an import brings, they
#: were a quarter of the time its records took to make.
_FIELDS: dict[type, tuple[str, ...]] = {}


def as_json(value: Any) -> Any:
    """Dataclasses of iati.py as JSON (dates as ISO text, decimals as text: no float rounding)."""
    kind = type(value)
    if kind is str or value is None:
        return value
    # Most values are texts, most dicts narratives of texts: taken as they are, without a call
    # each (the records and transactions of 2,000 activities made some 400,000 such calls).
    if kind is dict:
        return {k: v if type(v) is str else as_json(v) for k, v in value.items()}
    if kind is list or kind is tuple:
        return [v if type(v) is str else as_json(v) for v in value]
    names = _FIELDS.get(kind)
    if names is None and dataclasses.is_dataclass(value) and not isinstance(value, type):
        names = _FIELDS.setdefault(kind, tuple(f.name for f in dataclasses.fields(value)))
    if names is not None:
        made = {}
        for name in names:
            field = getattr(value, name)
            made[name] = field if type(field) is str else as_json(field)
        return made
    if isinstance(value, dict):
        return {k: as_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [as_json(v) for v in value]
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def record(item: iati.IatiActivity, filename: str) -> dict[str, Any]:
    """The fields of the activity's IatiRecord (`notes` as they are when it is read)."""
    return {
        "file": filename[:255],
        "version": item.version[:10],
        "last_updated": item.last_updated,
        "language": item.language[:10],
        "default_currency": item.currency,
        "reporting_org": as_json(item.reporting_org),
        "titles": item.titles,
        "descriptions": as_json(item.descriptions),
        "participating": as_json(item.participating),
        "status": item.status,
        "countries": as_json(item.countries),
        "regions": as_json(item.regions),
        "sectors": as_json(item.sectors),
        "related": as_json(item.related),
        "documents": as_json(item.documents),
        "contacts": as_json(item.contacts),
        "notes": item.notes,
    }


def budget(given: iati.Budget) -> dict[str, Any]:
    """The fields of an IatiBudget, in the order every budget of an import is written in."""
    return {
        "type": given.type,
        "status": given.status,
        "period_start": given.start,
        "period_end": given.end,
        "value": given.money.value,
        "currency": given.money.currency,
        "value_date": given.money.value_date,
    }


def transaction(given: iati.Transaction) -> dict[str, Any]:
    """The fields of an IatiTransaction, in the order every transaction of an import is written in."""
    return {
        "ref": given.ref[:200],
        "type": given.type,
        "date": given.date,
        "value": given.money.value,
        "currency": given.money.currency,
        "value_date": given.money.value_date,
        "description": given.description,
        "provider": as_json(given.provider) if given.provider else {},
        "receiver": as_json(given.receiver) if given.receiver else {},
    }
