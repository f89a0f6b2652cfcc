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
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum
from django.utils.translation import gettext as _

from .models import Fund, PublishedContribution
from .money import MissingRate, Rates
from .sums import Plan, plan, read

RECIPIENT_KINDS = ("fund", "programme", "activity")
CENT = Decimal("0.01")


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
    # Counted for its own programme, else for its activity's (as the funding gap counts it).
    return contributions.filter(
        Q(programme_id__in=programmes) | Q(programme=None, activity__programme_id__in=programmes)
    )


@dataclass
class Row:
    donor: Any
    amount: Decimal = Decimal(0)
    contributions: int = 0
    #: How many contributions were given in each currency.
    in_currency: Counter[str] = field(default_factory=Counter)
    published: PublishedContribution | None = None

    @property
    def currencies(self) -> set[str]:
        return {currency for currency, n in self.in_currency.items() if n}

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
    by the visibility rule for `user`), of `kind` (payment: what was paid; pledge: what was
    pledged). A fund's and a programme's are read from the kept sums where they answer
    (`sums.py`), with the same result."""
    tally = _Tally()
    found = plan(user, as_at) if target.kind != "activity" else None
    if found is None or found.far:
        tally.records(given_to(visible, target).filter(kind=kind, made_by__lte=as_at))
    else:
        tally.kept(found, target, kind)
        if found.later:
            tally.records(given_to(found.after, target).filter(kind=kind), -1)
        if found.live_ids:
            tally.records(given_to(found.live, target).filter(kind=kind))
    rows = {key: row for key, row in tally.rows.items() if row.contributions}
    _name_donors(rows)
    published = _published(target, user)
    by_state = {p.donor_state_id: p for p in published if p.donor_state_id and not p.is_total}
    for (kind_of, pk), row in rows.items():
        row.published = by_state.get(pk) if kind_of == "state" and kind == "payment" else None
    ordered = sorted(rows.values(), key=lambda r: (-r.amount, r.label))
    total = next((p for p in published if p.is_total), None) if kind == "payment" else None
    table = Table1(
        target,
        as_at,
        kind,
        tally.rates.base,
        ordered,
        sorted(tally.missing.values(), key=lambda m: (m.currency, m.date)),
        total,
        sorted((source, n) for source, n in tally.sources.items() if n),
        tally.period,
    )
    table._published = [p for p in published if not p.is_total] if kind == "payment" else []
    return table


class _Tally:
    """Table 1's figures per donor, added up from the kept sums and from records."""

    def __init__(self) -> None:
        self.rates = Rates()
        self.rows: dict[tuple[str, int], Row] = {}
        self.missing: dict[tuple[str, dt.date], MissingRate] = {}
        self.sources: Counter[str] = Counter()
        self.period = 0

    def row(self, state: int | None, organization: int | None) -> Row:
        return self.rows.setdefault(
            ("state", state) if state else ("org", organization or 0), Row(donor=None)
        )

    def records(self, records: QuerySet, sign: int = 1) -> None:
        base = self.rates.base
        donors = ("donor_state_id", "donor_organization_id", "currency")
        plain = (
            records.filter(currency=base)
            .order_by()
            .values_list(*donors)
            .annotate(t=Sum("amount"), n=Count("id"))
        )
        for state, organization, currency, total, n in plain:
            row = self.row(state, organization)
            row.amount += sign * total
            row.contributions += sign * n
            row.in_currency[currency] += sign * n
        # Each contribution in another currency at the rate of its date, to the cent.
        foreign = records.exclude(currency=base).order_by().values_list(*donors, "date", "amount")
        for state, organization, currency, date, amount in foreign.iterator(chunk_size=5000):
            row = self.row(state, organization)
            row.contributions += sign
            row.in_currency[currency] += sign
            try:
                row.amount += sign * self.rates.convert(amount, currency, date)
            except MissingRate as exc:
                self.missing.setdefault((exc.currency, exc.date), exc)
        for source, precision, n in (
            records.order_by().values_list("source", "date_precision").annotate(n=Count("id"))
        ):
            self.sources[source] += sign * n
            self.period += sign * n if precision == "period" else 0

    def kept(self, found: Plan, target: Recipient, kind: str) -> None:
        if target.kind == "fund":
            by, where = "fund", {"d1": target.record.pk}
        else:
            by, where = "programme", {"d1__in": programme_and_projects(target.record)}
        donors = read(found, f"{by}_donor", ["d2", "d3", "currency"], ["converted", "n"], kind=kind, **where)
        for state, organization, currency, total, n in donors:
            row = self.row(state or None, organization or None)
            # SQLite sums decimals as floats: back to cents.
            row.amount = (row.amount + total).quantize(CENT)
            row.contributions += n
            row.in_currency[currency] += n
        for source, period, n in read(found, f"{by}_source", ["label", "d2"], ["n"], kind=kind, **where):
            self.sources[source] += n
            self.period += n if period else 0


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
