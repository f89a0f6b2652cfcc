"""Reference data: the Crime Prevention and Criminal Justice Fund, Table 1 of the report of
17 March 2004 (eight contributions, and the table as published), and the needs of paragraphs
15 and 16. Donors are written as the table prints them and resolved here."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from coopmatrix.core.dates import PartialDate
from coopmatrix.core.importing import RowError, Stats, read_csv, upsert
from coopmatrix.core.registry import ReferenceLoader

from .models import Contribution, Fund, FundingNeed, PublishedContribution
from .money import is_currency

DATA_DIR = Path(__file__).parent / "data"
FUNDS, CONTRIBUTIONS, PUBLISHED, NEEDS = (
    "funds.csv",
    "contributions.csv",
    "published_contributions.csv",
    "funding_needs.csv",
)
FILES = (FUNDS, CONTRIBUTIONS, PUBLISHED, NEEDS)

Problems = list[tuple[str, str, str]]


class _Lookups:
    """States, organizations and programmes as the loaders before this one wrote them."""

    def __init__(self, funds: set[str]) -> None:
        from coopmatrix.directory.models import Organization
        from coopmatrix.geo.resolver import StateResolver
        from coopmatrix.matrix.models import Activity, Programme

        self.resolver = StateResolver()
        self.organizations = dict(Organization.objects.values_list("code", "pk"))
        self.programmes = dict(Programme.objects.values_list("code", "pk"))
        self.activities = dict(Activity.objects.exclude(external_id=None).values_list("external_id", "pk"))
        self.funds = funds

    def donor(self, text: str, problems: Problems, column: str = "donor") -> dict[str, Any]:
        kind, _, name = text.partition(":")
        if kind == "state":
            from coopmatrix.geo.resolver import UnknownState

            try:
                return {"donor_state_id": self.resolver.resolve(name).pk, "donor_organization_id": None}
            except UnknownState as exc:
                problems.append((column, text, str(exc)))
        elif kind == "organization" and name in self.organizations:
            return {"donor_state_id": None, "donor_organization_id": self.organizations[name]}
        else:
            problems.append((column, text, "write state:<name or code> or organization:<code>"))
        return {}


def _amount(text: str, column: str, problems: Problems) -> Decimal | None:
    try:
        value = Decimal(text)
    except InvalidOperation:
        problems.append((column, text, "must be a number written with a point (1025674 or 1025674.50)"))
        return None
    if not value.is_finite() or value <= 0:
        problems.append((column, text, "must be more than zero"))
        return None
    return value


def _date(text: str, column: str, problems: Problems, required: bool = True) -> PartialDate | None:
    if not text and not required:
        return None
    try:
        return PartialDate.parse(text)
    except ValueError as exc:
        problems.append((column, text, str(exc)))
        return None


def _currency(text: str, problems: Problems) -> None:
    if not is_currency(text):
        problems.append(("currency", text, "not an ISO 4217 currency code"))


def read(
    data_dir: Path | None, errors: list[RowError], plans: dict[str, Any] | None = None
) -> dict[str, Any]:
    folder = data_dir or DATA_DIR
    funds = _read_funds(folder, errors)
    lookups = _Lookups(set(funds))
    return {
        "funds": funds,
        "contributions": _read_contributions(folder, errors, lookups),
        "published": _read_published(folder, errors, lookups),
        "needs": _read_needs(folder, errors, lookups),
    }


def _read_funds(folder: Path, errors: list[RowError]) -> dict[str, dict]:
    from coopmatrix.directory.models import Organization

    organizations = dict(Organization.objects.values_list("code", "pk"))
    plan: dict[str, dict] = {}
    for line, row in read_csv(
        folder / FUNDS, ("code", "name", "managed_by", "description", "source"), errors
    ):
        problems: Problems = [(c, "", "is required") for c in ("code", "name", "source") if not row[c]]
        if row["managed_by"] not in organizations:
            problems.append(("managed_by", row["managed_by"], "no organization with this code"))
        errors.extend(RowError(FUNDS, line, c, v, r) for c, v, r in problems)
        if not problems:
            plan[row["code"]] = {
                "name": row["name"],
                "managed_by_id": organizations[row["managed_by"]],
                "description": row["description"],
                "source": row["source"],
            }
    return plan


def _recipient(row: dict[str, str], lookups: _Lookups, problems: Problems) -> dict[str, Any]:
    found: dict[str, Any] = {"fund": None, "programme_id": None, "activity_id": None}
    if row["fund"]:
        if row["fund"] not in lookups.funds:
            problems.append(("fund", row["fund"], "no fund with this code"))
        found["fund"] = row["fund"]
    for column, known in (("programme", lookups.programmes), ("activity", lookups.activities)):
        if row[column]:
            if row[column] not in known:
                problems.append((column, row[column], f"no {column} with this code"))
            else:
                found[f"{column}_id"] = known[row[column]]
    if not (row["fund"] or row["programme"] or row["activity"]):
        problems.append(("fund", "", "give the fund, programme or activity it was given to"))
    return found


def _read_contributions(folder: Path, errors: list[RowError], lookups: _Lookups) -> list[dict]:
    columns = ("external_id", "donor", "fund", "programme", "activity", "kind", "earmarking", "amount")
    columns += ("currency", "date", "fiscal_year", "note", "source")
    plan = []
    for line, row in read_csv(folder / CONTRIBUTIONS, columns, errors):
        problems: Problems = [(c, "", "is required") for c in ("external_id", "source") if not row[c]]
        values = {**lookups.donor(row["donor"], problems), **_recipient(row, lookups, problems)}
        if row["kind"] not in Contribution.Kind.values:
            problems.append(("kind", row["kind"], "must be pledge or payment"))
        if row["earmarking"] not in Contribution.Earmarking.values:
            problems.append(("earmarking", row["earmarking"], "must be earmarked or general"))
        _currency(row["currency"], problems)
        amount = _amount(row["amount"], "amount", problems)
        date = _date(row["date"], "date", problems)
        if row["fiscal_year"] and not row["fiscal_year"].isdigit():
            problems.append(("fiscal_year", row["fiscal_year"], "must be a year (2004)"))
        errors.extend(RowError(CONTRIBUTIONS, line, c, v, r) for c, v, r in problems)
        if not problems and date is not None:
            values.update(
                external_id=row["external_id"],
                kind=row["kind"],
                earmarking=row["earmarking"],
                amount=amount,
                currency=row["currency"],
                date=date.date,
                date_precision=date.precision,
                fiscal_year=int(row["fiscal_year"]) if row["fiscal_year"] else None,
                note=row["note"],
                source=row["source"],
            )
            plan.append(values)
    return plan


def _read_published(folder: Path, errors: list[RowError], lookups: _Lookups) -> list[dict]:
    columns = ("document", "row", "label", "donor", "total", "amount", "currency", "as_at", "fund", "source")
    plan = []
    for line, row in read_csv(folder / PUBLISHED, columns, errors):
        problems: Problems = [(c, "", "is required") for c in ("document", "label", "source") if not row[c]]
        is_total = row["total"] == "yes"
        donor = {} if is_total else lookups.donor(row["donor"], problems)
        if row["fund"] not in lookups.funds:
            problems.append(("fund", row["fund"], "no fund with this code"))
        if not row["row"].isdigit():
            problems.append(("row", row["row"], "must be a whole number"))
        _currency(row["currency"], problems)
        amount = _amount(row["amount"], "amount", problems)
        as_at = _date(row["as_at"], "as_at", problems)
        errors.extend(RowError(PUBLISHED, line, c, v, r) for c, v, r in problems)
        if not problems and as_at is not None:
            plan.append(
                {
                    "document": row["document"],
                    "row": int(row["row"]),
                    "fund": row["fund"],
                    "label": row["label"],
                    "donor_state_id": donor.get("donor_state_id"),
                    "is_total": is_total,
                    "amount": amount,
                    "currency": row["currency"],
                    "as_at": as_at.date,
                    "as_at_precision": as_at.precision,
                    "source": row["source"],
                }
            )
    return plan


def _read_needs(folder: Path, errors: list[RowError], lookups: _Lookups) -> list[dict]:
    columns = ("programme", "amount", "currency", "start", "end", "description", "source")
    plan = []
    for line, row in read_csv(folder / NEEDS, columns, errors):
        problems: Problems = [("source", "", "is required")] if not row["source"] else []
        if row["programme"] not in lookups.programmes:
            problems.append(("programme", row["programme"], "no programme with this code"))
        _currency(row["currency"], problems)
        amount = _amount(row["amount"], "amount", problems)
        start = _date(row["start"], "start", problems, required=False)
        end = _date(row["end"], "end", problems, required=False)
        errors.extend(RowError(NEEDS, line, c, v, r) for c, v, r in problems)
        if not problems:
            plan.append(
                {
                    "programme_id": lookups.programmes[row["programme"]],
                    "amount": amount,
                    "currency": row["currency"],
                    "start": start.date if start else None,
                    "start_precision": start.precision if start else "day",
                    "end": end.date if end else None,
                    "end_precision": end.precision if end else "day",
                    "description": row["description"],
                    "source": row["source"],
                }
            )
    return plan


def write(plan: dict[str, Any], stats: Stats) -> None:
    funds = {code: upsert(Fund, {"code": code}, values, stats) for code, values in plan["funds"].items()}
    for values in plan["contributions"]:
        fields = {k: v for k, v in values.items() if k not in ("external_id", "fund")}
        fields["fund_id"] = funds[values["fund"]].pk if values["fund"] else None
        upsert(Contribution, {"external_id": values["external_id"]}, fields, stats)
    for values in plan["published"]:
        fields = {k: v for k, v in values.items() if k not in ("document", "row", "fund")}
        fields["fund_id"] = funds[values["fund"]].pk
        upsert(PublishedContribution, {"document": values["document"], "row": values["row"]}, fields, stats)
    for values in plan["needs"]:
        # A need is known by its programme and its source: the same document states it once.
        key = {"programme_id": values["programme_id"], "source": values["source"]}
        fields = {k: v for k, v in values.items() if k not in key}
        upsert(FundingNeed, key, fields, stats)


LOADER = ReferenceLoader(
    name="funding", read=read, write=write, files=FILES, after=("matrix",), needs_written=True
)
