"""Errors every app's write path raises, which pages, the API and importers all report."""

from __future__ import annotations

from typing import Any


class Invalid(ValueError):
    """Input refused, with a reason per field; nothing was written."""

    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{field}: {reason}" for field, reason in errors.items()))


class Stale(Exception):
    """The record changed since the page or answer the user acted on was drawn: nothing was
    written; the user is shown it as it is now and asked again."""


class InUse(Exception):
    """A record others still point to is not deleted; the message says what holds it."""


#: The largest amount kept: on SQLite a decimal is stored as a double, which holds 15 significant
#: digits exactly; an amount beyond this would be stored altered and could not be read back.
MAX_AMOUNT_DIGITS = 15


def check_fields(model: Any, values: dict[str, Any], errors: dict[str, str]) -> None:
    """Check each value against the model's field before anything is written, on every door:
    length, NUL characters (refused by PostgreSQL, kept by SQLite), numbers in range and in the
    field's digits. Each fault is noted in `errors` under the field's name."""
    from decimal import Decimal

    from django.core.exceptions import FieldDoesNotExist, ValidationError
    from django.db import models

    for name, value in values.items():
        if name in errors or value in (None, ""):
            continue
        try:
            field = model._meta.get_field(name)
        except FieldDoesNotExist:
            continue
        if isinstance(value, str) and "\x00" in value:
            errors[name] = "contains a NUL character; remove it"
            continue
        if field.is_relation:
            continue
        if isinstance(field, models.DecimalField) and isinstance(value, Decimal):
            if not value.is_finite():
                errors[name] = f"{value} is not a number"
                continue
            whole = field.max_digits - field.decimal_places
            if value.adjusted() >= min(whole, MAX_AMOUNT_DIGITS - field.decimal_places):
                limit = "9" * min(whole, MAX_AMOUNT_DIGITS - field.decimal_places)
                errors[name] = f"{value} is too large: at most {int(limit):,}.99"
                continue
        try:
            field.run_validators(value)
        except ValidationError as exc:
            errors[name] = " ".join(str(m) for m in exc.messages)


def check_level_change(user: Any, record: Any, level: Any, errors: dict[str, str]) -> None:
    """Only the record's owner organization and the secretariat change who may see it. Others
    may edit a record that belongs to them (a contact of their organization, a request of their
    State) but not widen or narrow its readers."""
    from .roles import principal_for

    if record is None or getattr(record, "pk", None) is None or level in (None, record.confidentiality):
        return
    principal = principal_for(user)
    if principal.sees_everything or (
        principal.organization_id and principal.organization_id == record.owner_id
    ):
        return
    errors["confidentiality"] = (
        "only the organization that keeps this record, or the secretariat, changes who may see it"
    )
