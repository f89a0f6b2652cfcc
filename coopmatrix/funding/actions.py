"""Checks and writes of contributions: one path for the pages, the API and the importer.

Who may record: the secretariat, and any organization's editors (the record is then their
organization's). A contribution with an external identifier is the same record when imported
again, so a file imported twice changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Sum

from coopmatrix.core.dates import PartialDate
from coopmatrix.core.errors import Invalid, check_fields
from coopmatrix.core.models import Confidentiality
from coopmatrix.core.roles import principal_for
from coopmatrix.core.spreadsheets import amount_text

from .models import Contribution, ExchangeRate, Fund, last_day
from .money import is_currency

TEXT_FIELDS = ("external_id", "note", "source")


class Lookups:
    """Donors, funds, programmes and activities the user may see, read once for a whole import."""

    def __init__(self, user: Any, accept_uncertain: bool = False) -> None:
        from coopmatrix.directory.models import Organization
        from coopmatrix.geo.resolver import StateResolver
        from coopmatrix.matrix.models import Activity, Programme

        self.user = user
        self.resolver = StateResolver(accept_uncertain=accept_uncertain)
        # A record the user may not see reads as an unknown code, never as a forbidden one.
        self.organizations = Organization.objects.visible_to(user)
        self.funds = Fund.objects.visible_to(user)
        self.programmes = Programme.objects.visible_to(user)
        self.activities = Activity.objects.visible_to(user)
        self.contributions = Contribution.objects.visible_to(user)


@dataclass
class CleanContribution:
    fields: dict[str, Any]
    #: What the user confirms before it is written (a payment above its pledge).
    warnings: list[str]

    def same_as(self, record: Contribution) -> bool:
        return all(getattr(record, name) == value for name, value in self.fields.items())


def may_record(user: Any) -> bool:
    principal = principal_for(user)
    return principal.sees_everything or principal.may_edit_own


def read_amount(value: Any) -> Decimal:
    """An amount as typed: "1025674", "1,025,674.50", "1 025 674"; ValueError naming it otherwise.
    "12,5" is not read as 125 nor as 12.5: a decimal comma is chosen when a file is imported."""
    if isinstance(value, Decimal | int):
        amount = Decimal(value)
    else:
        text = str(value or "").strip()
        if not text:
            raise ValueError("an amount is required")
        try:
            amount = Decimal(amount_text(text, "point") or text)
        except InvalidOperation:
            hint = (
                " (a decimal comma? write 12.5, or choose the decimal mark when importing)"
                if "," in text
                else ""
            )
            raise ValueError(f"{text!r} is not a number{hint}") from None
    if not amount.is_finite():
        raise ValueError(f"{value!r} is not a number")
    if amount <= 0:
        raise ValueError(f"{value} must be more than zero")
    return amount


def _donor(text: str, lookups: Lookups, errors: dict[str, str], on: Any) -> dict[str, Any]:
    kind, _sep, name = text.strip().partition(":")
    if kind == "state":
        try:
            return {"donor_state": lookups.resolver.resolve(name, on=on), "donor_organization": None}
        except LookupError as exc:
            errors["donor"] = str(exc)
    elif kind == "organization":
        found = lookups.organizations.filter(code=name.strip()).first()
        if found is not None:
            return {"donor_state": None, "donor_organization": found}
        errors["donor"] = f"no organization with code {name.strip()!r}"
    else:
        errors["donor"] = "write state:<name or ISO code> or organization:<code>"
    return {}


def _recipient(data: dict[str, Any], lookups: Lookups, errors: dict[str, str]) -> dict[str, Any]:
    found: dict[str, Any] = {"fund": None, "programme": None, "activity": None}
    for name, records, field in (
        ("fund", lookups.funds, "code"),
        ("programme", lookups.programmes, "code"),
    ):
        code = str(data.get(name) or "").strip()
        if code:
            found[name] = records.filter(**{field: code}).first()
            if found[name] is None:
                errors[name] = f"no {name} with code {code!r}"
    key = str(data.get("activity") or "").strip()
    if key:
        match = lookups.activities.filter(external_id=key).first()
        if match is None and key.isdigit() and len(key) < 19:
            match = lookups.activities.filter(pk=int(key)).first()
        found["activity"] = match
        if match is None:
            errors["activity"] = f"no activity with identifier or number {key!r}"
    if not any(found.values()) and not {"fund", "programme", "activity"} & set(errors):
        errors["fund"] = "give the fund, programme or activity it was given to"
    return found


def _choice(
    data: dict[str, Any], name: str, choices: list[str], errors: dict[str, str], default: str = ""
) -> str:
    value = str(data.get(name) or default).strip()
    if value not in choices:
        errors[name] = f"{value!r}: must be one of {', '.join(choices)}"
    return value


def clean(
    user: Any, data: dict[str, Any], lookups: Lookups | None = None, record: Contribution | None = None
) -> CleanContribution:
    """Check one contribution; raises Invalid naming each wrong field, or PermissionDenied."""
    lookups = lookups or Lookups(user)
    errors: dict[str, str] = {}
    date = None
    try:
        date = PartialDate.parse(str(data.get("date") or ""))
    except ValueError as exc:
        errors["date"] = str(exc)
    fields: dict[str, Any] = _donor(
        str(data.get("donor") or ""), lookups, errors, date.date if date else None
    )
    fields.update(_recipient(data, lookups, errors))
    fields["kind"] = _choice(data, "kind", Contribution.Kind.values, errors)
    earmarking = _choice(data, "earmarking", Contribution.Earmarking.values, errors, "general")
    fields["earmarking"] = earmarking
    if (
        earmarking == "earmarked"
        and not (fields.get("programme") or fields.get("activity"))
        and "fund" not in errors
    ):
        errors["earmarking"] = "earmarked to what? give the programme, project or activity"
    try:
        fields["amount"] = read_amount(data.get("amount"))
    except ValueError as exc:
        errors["amount"] = str(exc)
    currency = str(data.get("currency") or "").strip().upper()
    if not is_currency(currency):
        errors["currency"] = (
            f"{currency!r} is not an ISO 4217 currency code" if currency else "a currency is required"
        )
    fields["currency"] = currency
    fiscal = str(data.get("fiscal_year") or "").strip()
    if fiscal and not (fiscal.isdigit() and 1900 <= int(fiscal) <= 2200):
        errors["fiscal_year"] = f"{fiscal!r} is not a year"
    fields["fiscal_year"] = int(fiscal) if fiscal and "fiscal_year" not in errors else None
    fields["confidentiality"] = _choice(
        data, "confidentiality", Confidentiality.values, errors, Confidentiality.PUBLIC
    )
    for name in TEXT_FIELDS:
        fields[name] = str(data.get(name) or "").strip()
    fields["external_id"] = fields["external_id"] or (record.external_id if record else None) or None
    if date is not None:
        fields["date"], fields["date_precision"] = date.date, date.precision
    check_fields(Contribution, {k: v for k, v in fields.items() if k in ("amount", *TEXT_FIELDS)}, errors)
    settles = _settles(data, fields, lookups, errors)
    if errors:
        raise Invalid(errors)
    if not may_record(user):
        raise PermissionDenied("your role may not record contributions")
    fields["settles"] = settles
    return CleanContribution(fields, _above_pledge(fields, record, lookups))


def _settles(data: dict[str, Any], fields: dict[str, Any], lookups: Lookups, errors: dict[str, str]) -> Any:
    key = str(data.get("settles") or "").strip()
    if not key:
        return None
    pledge = lookups.contributions.filter(external_id=key).first()
    if pledge is None and key.isdigit() and len(key) < 19:
        pledge = lookups.contributions.filter(pk=int(key)).first()
    if pledge is None or pledge.kind != "pledge":
        errors["settles"] = f"no pledge with identifier or number {key!r}"
    elif fields.get("kind") != "payment":
        errors["settles"] = "only a payment settles a pledge"
    elif (pledge.donor_state, pledge.donor_organization) != (
        fields.get("donor_state"),
        fields.get("donor_organization"),
    ):
        errors["settles"] = f"the pledge {key!r} is another donor's"
    elif pledge.currency != fields.get("currency"):
        errors["settles"] = (
            f"the pledge {key!r} is in {pledge.currency}: record its payment in the same currency"
        )
    return pledge


def _above_pledge(fields: dict[str, Any], record: Contribution | None, lookups: Lookups) -> list[str]:
    pledge = fields.get("settles")
    if pledge is None:
        return []
    others = lookups.contributions.filter(settles=pledge, kind="payment")
    if record is not None and record.pk:
        others = others.exclude(pk=record.pk)
    paid = (others.aggregate(total=Sum("amount"))["total"] or Decimal(0)) + fields["amount"]
    if paid <= pledge.amount:
        return []
    return [
        f"the payments settling the pledge of {pledge.amount} {pledge.currency} would come to "
        f"{paid} {pledge.currency}, above the pledge"
    ]


def taken(key: str) -> str:
    # The same words whether the other contribution is one the user may see or not.
    return f"{key!r} cannot be used: external identifiers are unique across coopmatrix; choose another"


def existing(cleaned: CleanContribution) -> Contribution | None:
    key = cleaned.fields.get("external_id")
    return Contribution.objects.filter(external_id=key).first() if key else None


def write(user: Any, cleaned: CleanContribution, record: Contribution | None = None) -> Contribution:
    """Create or update (inside the caller's transaction); a new record is the user's organization's."""
    record = record or existing(cleaned) or Contribution()
    for name, value in cleaned.fields.items():
        setattr(record, name, value)
    record.made_by = last_day(record.date, record.date_precision)
    if record.pk is None:
        record.owner_id = principal_for(user).organization_id
    record.save()
    return record


@transaction.atomic
def save(
    user: Any, data: dict[str, Any], record: Contribution | None = None, confirm: bool = False
) -> Contribution:
    if record is not None and not Contribution.objects.editable_by(user).filter(pk=record.pk).exists():
        raise PermissionDenied("you may not change this contribution")
    cleaned = clean(user, data, record=record)
    twin = existing(cleaned)
    if twin is not None and twin.pk != (record.pk if record else None):
        raise Invalid({"external_id": taken(cleaned.fields["external_id"])})
    if cleaned.warnings and not confirm:
        raise Invalid({"amount": "; ".join(cleaned.warnings) + ": confirm to record it"})
    return write(user, cleaned, record)


@transaction.atomic
def delete(user: Any, record: Contribution) -> None:
    from coopmatrix.core.errors import InUse

    if not Contribution.objects.editable_by(user).filter(pk=record.pk).exists():
        raise PermissionDenied("you may not delete this contribution")
    if Contribution.objects.filter(settles=record).exists():
        raise InUse("payments settle this pledge: delete or change them first")
    record.delete()


# --- exchange rates ------------------------------------------------------------------------------


def may_keep_rates(user: Any) -> bool:
    """Rates convert everyone's figures: only the secretariat keeps them."""
    return principal_for(user).sees_everything


def clean_rate(data: dict[str, Any]) -> dict[str, Any]:
    """Check one exchange rate; raises Invalid naming each wrong field."""
    from coopmatrix.core.dates import parse_day

    from .money import reporting_currency

    errors: dict[str, str] = {}
    fields: dict[str, Any] = {}
    for name in ("currency", "base"):
        code = str(data.get(name) or (reporting_currency() if name == "base" else "")).strip().upper()
        if not is_currency(code):
            errors[name] = f"{code!r} is not an ISO 4217 currency code" if code else "a currency is required"
        fields[name] = code
    if fields["currency"] == fields["base"] and "currency" not in errors:
        errors["currency"] = "a rate converts one currency into another"
    fields["date"] = parse_day(data.get("date"), "date", errors)
    if fields["date"] is None and "date" not in errors:
        errors["date"] = "the date the rate is valid from is required (YYYY-MM-DD)"
    try:
        fields["rate"] = read_amount(data.get("rate"))
    except ValueError as exc:
        errors["rate"] = str(exc)
    fields["source"] = str(data.get("source") or "").strip()
    if not fields["source"]:
        errors["source"] = (
            "a rate is kept with its source (e.g. UN operational rates of exchange, March 2004)"
        )
    if "rate" in fields:
        check_fields(ExchangeRate, {"rate": fields["rate"], "source": fields["source"]}, errors)
    if errors:
        raise Invalid(errors)
    return fields


@transaction.atomic
def save_rate(user: Any, data: dict[str, Any]) -> Any:
    """Record a rate, or change the one kept for that currency, base and date."""
    if not may_keep_rates(user):
        raise PermissionDenied("only the secretariat keeps exchange rates")
    fields = clean_rate(data)
    key = {name: fields.pop(name) for name in ("currency", "base", "date")}
    record = ExchangeRate.objects.filter(**key).first() or ExchangeRate(**key)
    if record.pk and all(getattr(record, name) == value for name, value in fields.items()):
        return record  # kept already: no change, no history row
    for name, value in fields.items():
        setattr(record, name, value)
    record.save()
    return record
