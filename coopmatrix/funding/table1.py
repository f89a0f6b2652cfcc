"""Table 1 of the report of 17 March 2004, computed from the records: contributions by donor to
a recipient (a fund, a programme with its projects, or an activity) as at a date, sorted by
value, with the total; beside it, the figures the document published and the difference.

A contribution counts as at a date when it was certainly made by then: one dated only by a year
or a month counts from that year's or month's last day (core.dates). Amounts are summed in the
reporting currency, each converted at the rate of its date; a missing rate is named, and no
total is given without it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum
from django.utils.translation import gettext as _

from .models import Fund, PublishedContribution
from .money import MissingRate, Rates

RECIPIENT_KINDS = ("fund", "programme", "activity")


@dataclass
class Recipient:
    kind: str
    record: Any

    @property
    def key(self) -> str:
        code = self.record.pk if self.kind == "activity" else self.record.code
        return f"{self.kind}:{code}"

    def __str__(self) -> str:
        return str(self.record)


def recipient(text: str, user: Any) -> Recipient:
    """The fund, programme or activity `text` names ("fund:cpcjf", "programme:gpat",
    "activity:42"), among those `user` may see; ValueError naming it otherwise (a hidden one
    reads as a missing one)."""
    from coopmatrix.matrix.models import Activity, Programme

    kind, _sep, code = (text or "").strip().partition(":")
    models = {"fund": (Fund, "code"), "programme": (Programme, "code"), "activity": (Activity, "pk")}
    if kind not in models or not code:
        raise ValueError(_("%(t)r: write fund:<code>, programme:<code> or activity:<number>") % {"t": text})
    model, lookup = models[kind]
    if lookup == "pk" and not code.isdigit():
        raise ValueError(_("%(t)r: an activity is given by its number") % {"t": text})
    found = model.objects.visible_to(user).filter(**{lookup: code}).first()
    if found is None:
        raise ValueError(_("No %(k)s %(c)r.") % {"k": kind, "c": code})
    return Recipient(kind, found)


def programme_and_projects(programme: Any) -> list[int]:
    from coopmatrix.matrix.models import Programme

    found, frontier = [programme.pk], [programme.pk]
    while frontier:
        frontier = list(Programme.objects.filter(parent_id__in=frontier).values_list("pk", flat=True))
        found += [pk for pk in frontier if pk not in found]
    return found


def given_to(contributions: QuerySet, target: Recipient) -> QuerySet:
    """The contributions to `target`: to a programme, also to its projects and their activities."""
    if target.kind == "fund":
        return contributions.filter(fund=target.record)
    if target.kind == "activity":
        return contributions.filter(activity=target.record)
    programmes = programme_and_projects(target.record)
    return contributions.filter(Q(programme_id__in=programmes) | Q(activity__programme_id__in=programmes))


@dataclass
class Row:
    donor: Any
    amount: Decimal = Decimal(0)
    contributions: int = 0
    currencies: set[str] = field(default_factory=set)
    published: PublishedContribution | None = None

    @property
    def difference(self) -> Decimal | None:
        return None if self.published is None else self.amount - self.published.amount

    @property
    def label(self) -> str:
        return str(self.donor)


@dataclass
class Table1:
    recipient: Recipient
    as_at: dt.date
    kind: str
    currency: str
    rows: list[Row]
    missing: list[MissingRate]
    published_total: PublishedContribution | None
    sources: list[tuple[str, int]]
    #: Contributions dated only by the end of a reporting period ("made by the report's date").
    dated_by_period: int

    @property
    def total(self) -> Decimal | None:
        """The sum of the rows; None while a rate is missing."""
        return None if self.missing else sum((row.amount for row in self.rows), Decimal(0))

    @property
    def total_difference(self) -> Decimal | None:
        if self.published_total is None or self.total is None:
            return None
        return self.total - self.published_total.amount

    @property
    def published_only(self) -> list[PublishedContribution]:
        """Published rows with no contribution recorded for their donor."""
        return [p for p in self._published if p.pk not in {r.published.pk for r in self.rows if r.published}]

    _published: list[PublishedContribution] = field(default_factory=list)


def table1(
    visible: QuerySet, target: Recipient, as_at: dt.date, kind: str = "payment", user: Any = None
) -> Table1:
    """Table 1 for `target` as at `as_at`, from the contributions in `visible` (already narrowed
    by the visibility rule), of `kind` (payment: what was paid; pledge: what was pledged)."""
    rates = Rates()
    records = given_to(visible, target).filter(kind=kind, made_by__lte=as_at)
    groups = records.values("donor_state_id", "donor_organization_id", "currency", "date", "date_precision")
    rows: dict[tuple[str, int], Row] = {}
    missing: dict[tuple[str, dt.date], MissingRate] = {}
    period = 0
    for group in groups.annotate(total=Sum("amount"), n=Count("id")):
        state, organization = group["donor_state_id"], group["donor_organization_id"]
        row = rows.setdefault(("state", state) if state else ("org", organization), Row(donor=None))
        row.contributions += group["n"]
        row.currencies.add(group["currency"])
        period += group["n"] if group["date_precision"] == "period" else 0
        try:
            row.amount += rates.convert(group["total"], group["currency"], group["date"])
        except MissingRate as exc:
            missing.setdefault((exc.currency, exc.date), exc)
    _name_donors(rows)
    published = _published(target, user)
    by_state = {p.donor_state_id: p for p in published if p.donor_state_id and not p.is_total}
    for (kind_of, pk), row in rows.items():
        row.published = by_state.get(pk) if kind_of == "state" and kind == "payment" else None
    ordered = sorted(rows.values(), key=lambda r: (-r.amount, r.label))
    sources = {row["source"]: row["n"] for row in records.order_by().values("source").annotate(n=Count("id"))}
    total = next((p for p in published if p.is_total), None) if kind == "payment" else None
    table = Table1(
        target,
        as_at,
        kind,
        rates.base,
        ordered,
        sorted(missing.values(), key=lambda m: (m.currency, m.date)),
        total,
        sorted(sources.items()),
        period,
    )
    table._published = [p for p in published if not p.is_total] if kind == "payment" else []
    return table


def _name_donors(rows: dict[tuple[str, int], Row]) -> None:
    from coopmatrix.directory.models import Organization
    from coopmatrix.geo.models import State

    states = State.objects.in_bulk([pk for kind, pk in rows if kind == "state"])
    organizations = Organization.objects.in_bulk([pk for kind, pk in rows if kind == "org"])
    for (kind, pk), row in rows.items():
        row.donor = states[pk] if kind == "state" else organizations[pk]


def _published(target: Recipient, user: Any) -> list[PublishedContribution]:
    """The figures a document published for this fund (Table 1 of 2004 for the Crime Prevention
    and Criminal Justice Fund), as far as the user may see them."""
    if target.kind != "fund":
        return []
    return list(
        PublishedContribution.objects.visible_to(user)
        .filter(fund=target.record)
        .select_related("donor_state")
    )
