"""Checks and writes of treaty actions: one path for the API, the pages and both importers.

Who may record: the secretariat any State's actions; a national focal point its own State's.
A treaty action is the same record when State, instrument, action and date of deposit are the
same, so importing a file twice changes nothing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction

from coopmatrix.core.dates import parse_day
from coopmatrix.core.errors import Invalid, check_fields
from coopmatrix.core.models import Confidentiality
from coopmatrix.core.roles import principal_for
from coopmatrix.geo.resolver import StateResolver

from .models import Instrument, TreatyAction

#: Fields a caller gives, besides the State, instrument, action and date that identify a record.
DETAIL_FIELDS = ("effective", "effective_source", "text", "source", "confidentiality")


class Lookups:
    """States and instruments resolved once for a whole import."""

    def __init__(self, user: Any, accept_uncertain: bool = False) -> None:
        self.resolver = StateResolver(accept_uncertain=accept_uncertain)
        # An instrument the user may not see reads as an unknown code, not as a forbidden one.
        self.instruments = {i.code: i for i in Instrument.objects.visible_to(user)}


@dataclass
class CleanAction:
    key: dict[str, Any]  # state, instrument, action, deposited
    fields: dict[str, Any]
    #: The action already recorded with this key, when an import looked it up (None: a new one).
    record: TreatyAction | None = None

    def same_as(self, record: TreatyAction) -> bool:
        return all(getattr(record, name) == value for name, value in self.fields.items())


def _date(value: Any, field: str, errors: dict[str, str]) -> dt.date | None:
    """A depositary dates every action to the day: a year or month alone is refused."""
    return parse_day(value, field, errors, "YYYY-MM-DD, as the depositary gives it")


def check_may_record(user: Any, state: Any) -> None:
    principal = principal_for(user)
    if principal.sees_everything:
        return
    if principal.may_edit_own and principal.state_id and state is not None and state.pk == principal.state_id:
        return
    raise PermissionDenied(
        "only the secretariat, or a national focal point for its own State, may record treaty actions"
    )


def clean(user: Any, data: dict[str, Any], lookups: Lookups | None = None) -> CleanAction:
    """Check one treaty action; raises Invalid naming each wrong field, or PermissionDenied."""
    lookups = lookups or Lookups(user)
    errors: dict[str, str] = {}
    state = None
    deposited = _date(data.get("date"), "date", {})
    try:
        # A State acts only while it exists: Zaire did not accede to anything in 2003.
        state = lookups.resolver.resolve(str(data.get("state") or ""), on=deposited)
    except LookupError as exc:
        errors["state"] = str(exc)
    instrument = lookups.instruments.get(str(data.get("instrument") or "").strip())
    if instrument is None:
        errors["instrument"] = f"no instrument with code {data.get('instrument')!r} (see /instruments/)"
    action = str(data.get("action") or "").strip()
    if action not in TreatyAction.Action.values:
        errors["action"] = f"must be one of {', '.join(TreatyAction.Action.values)}"
    deposited = _date(data.get("date"), "date", errors)
    if deposited is None and "date" not in errors:
        errors["date"] = "the date of the action (deposit) is required"
    effective = _date(data.get("effective"), "effective", errors)
    effective_source = str(data.get("effective_source") or "").strip()
    if effective and not effective_source:
        errors["effective_source"] = "an effective date other than the instrument's rule needs its source"
    if effective and deposited and effective < deposited:
        errors["effective"] = f"takes effect ({effective}) before its deposit ({deposited})"
    confidentiality = str(data.get("confidentiality") or Confidentiality.PUBLIC)
    if confidentiality not in Confidentiality.values:
        errors["confidentiality"] = f"must be one of {', '.join(Confidentiality.values)}"
    text = str(data.get("text") or "").strip()
    if text and action not in TreatyAction.STATEMENTS and action in TreatyAction.Action.values:
        errors["text"] = "only declarations, reservations and objections carry a text"
    check_fields(
        TreatyAction,
        {"text": text, "source": data.get("source"), "effective_source": data.get("effective_source")},
        errors,
    )
    if errors:
        raise Invalid(errors)
    check_may_record(user, state)
    assert instrument is not None and deposited is not None
    record = TreatyAction(instrument=instrument, action=action, deposited=deposited)
    return CleanAction(
        key={"state": state, "instrument": instrument, "action": action, "deposited": deposited},
        fields={
            "effective": effective or record.rule_effective(),
            "effective_source": effective_source if effective else "",
            "text": text,
            "source": str(data.get("source") or "").strip(),
            "confidentiality": confidentiality,
        },
    )


def existing(cleaned: CleanAction) -> TreatyAction | None:
    return TreatyAction.objects.filter(**cleaned.key).first()


def write(user: Any, cleaned: CleanAction, record: TreatyAction | None = None) -> TreatyAction:
    """Create or update (inside the caller's transaction); the owner is the user's organization."""
    record = record or existing(cleaned) or TreatyAction(**cleaned.key)
    for name, value in {**cleaned.key, **cleaned.fields}.items():
        setattr(record, name, value)
    if record.pk is None:
        record.owner_id = principal_for(user).organization_id
    record.save()
    return record


@transaction.atomic
def save(user: Any, data: dict[str, Any], record: TreatyAction | None = None) -> TreatyAction:
    if record is not None and not TreatyAction.objects.editable_by(user).filter(pk=record.pk).exists():
        raise PermissionDenied("you may not change this treaty action")
    cleaned = clean(user, data)
    twin = existing(cleaned)
    if twin is not None and twin.pk != (record.pk if record else None):
        raise Invalid({"date": f"this State's {cleaned.key['action']} of that date is already recorded"})
    return write(user, cleaned, record)


@transaction.atomic
def delete(user: Any, record: TreatyAction) -> None:
    if not TreatyAction.objects.editable_by(user).filter(pk=record.pk).exists():
        raise PermissionDenied("you may not delete this treaty action")
    record.delete()
