"""The funding gap: what programmes and projects need, what was pledged and paid, what is missing;
contributions per donor and year; and per recipient State, through the activities they fund.

Everything starts from the contributions and needs the user may see, as at a date (a contribution
counts once it was certainly made: `Contribution.made_by`). Amounts are summed in the reporting
currency: a contribution at the rate of its date, a need and a pledge not yet paid at the rate of
the date "as at" (what they are worth then). A missing rate is named, and the figures it touches
are not given.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Count, F, OuterRef, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce, ExtractYear, Greatest

from .models import Contribution, FundingNeed
from .money import MissingRate, Rates

ZERO = Decimal("0.00")
CENT = Decimal("0.01")


class _Sums:
    """Amounts converted into the reporting currency, noting each missing rate once."""

    def __init__(self) -> None:
        self.rates = Rates()
        self.missing: dict[tuple[str, dt.date], MissingRate] = {}

    def convert(self, amount: Decimal, currency: str, date: dt.date) -> Decimal | None:
        try:
            return self.rates.convert(amount, currency, date)
        except MissingRate as exc:
            self.missing.setdefault((exc.currency, exc.date), exc)
            return None

    def grouped(self, records: QuerySet, keys: list[str]) -> dict[tuple, Decimal | None]:
        """Sum of `records` per `keys`, converted: amounts in the reporting currency are summed by
        the database in one group; the others per currency and date, each at its own rate."""
        sums: dict[tuple, Decimal | None] = defaultdict(lambda: ZERO)
        base = self.rates.base
        plain = records.filter(currency=base).order_by().values(*keys).annotate(total=Sum("amount"))
        for row in plain:
            _add(sums, tuple(row[k] for k in keys), row["total"])
        foreign = records.exclude(currency=base).order_by().values(*keys, "currency", "date")
        for row in foreign.annotate(total=Sum("amount")):
            _add(sums, tuple(row[k] for k in keys), self.convert(row["total"], row["currency"], row["date"]))
        return sums

    @property
    def missing_rates(self) -> list[MissingRate]:
        return sorted(self.missing.values(), key=lambda m: (m.currency, m.date))


def _add(sums: dict[tuple, Decimal | None], key: tuple, amount: Decimal | None) -> None:
    current = sums[key]
    sums[key] = None if current is None or amount is None else (current + amount).quantize(CENT)


def _plus(a: Decimal | None, b: Decimal | None) -> Decimal | None:
    return None if a is None or b is None else a + b


@dataclass
class ProgrammeRow:
    programme: Any
    depth: int
    need: Decimal | None = ZERO
    pledged: Decimal | None = ZERO
    paid: Decimal | None = ZERO
    #: What pledges still promise: each pledge less the payments that settle it, never below 0.
    unpaid: Decimal | None = ZERO

    @property
    def missing(self) -> Decimal | None:
        """What the need still lacks after what was paid and what pledges still promise."""
        if self.need is None or self.paid is None or self.unpaid is None:
            return None
        return max(self.need - self.paid - self.unpaid, ZERO)

    @property
    def has_figures(self) -> bool:
        return any(v != ZERO for v in (self.need, self.pledged, self.paid, self.unpaid))


@dataclass
class ProgrammeGap:
    as_at: dt.date
    currency: str
    rows: list[ProgrammeRow]
    #: Contributions of no programme, per fund (None: to activities of no programme, no fund).
    unattributed: list[tuple[Any, str, Decimal | None]] = field(default_factory=list)
    missing_rates: list[MissingRate] = field(default_factory=list)


def visible_contributions(user: Any, as_at: dt.date) -> QuerySet:
    return Contribution.objects.visible_to(user).filter(made_by__lte=as_at)


def by_programme(user: Any, as_at: dt.date) -> ProgrammeGap:
    """Each programme and project the user may see, with its projects' figures added to its own."""
    from coopmatrix.matrix.models import Programme

    sums = _Sums()
    contributions = visible_contributions(user, as_at).annotate(
        target=Coalesce(F("programme_id"), F("activity__programme_id"))
    )
    given = sums.grouped(contributions.exclude(target=None), ["target", "kind"])
    needs = defaultdict(lambda: ZERO)
    for row in (
        FundingNeed.objects.visible_to(user)
        .order_by()
        .values("programme_id", "currency")
        .annotate(total=Sum("amount"))
    ):
        _add(needs, (row["programme_id"],), sums.convert(row["total"], row["currency"], as_at))
    unpaid = _unpaid_pledges(user, as_at, sums, contributions)
    programmes = list(Programme.objects.visible_to(user).order_by("title"))
    children: dict[int | None, list[Any]] = defaultdict(list)
    known = {p.pk for p in programmes}
    for programme in programmes:
        # A project whose programme the user may not see stands on its own.
        children[programme.parent_id if programme.parent_id in known else None].append(programme)
    rows: list[ProgrammeRow] = []

    def walk(programme: Any, depth: int) -> ProgrammeRow:
        row = ProgrammeRow(
            programme,
            depth,
            need=needs[(programme.pk,)],
            pledged=given[(programme.pk, "pledge")],
            paid=given[(programme.pk, "payment")],
            unpaid=unpaid[(programme.pk,)],
        )
        rows.append(row)
        for project in children[programme.pk]:
            inner = walk(project, depth + 1)
            row.need, row.pledged = _plus(row.need, inner.need), _plus(row.pledged, inner.pledged)
            row.paid, row.unpaid = _plus(row.paid, inner.paid), _plus(row.unpaid, inner.unpaid)
        return row

    for top in children[None]:
        walk(top, 0)
    shown = [row for row in rows if row.has_figures]
    to_funds = sums.grouped(contributions.filter(target=None).select_related(None), ["fund_id", "kind"])
    from .models import Fund

    funds = Fund.objects.in_bulk([fund for fund, _kind in to_funds])
    # Given to a fund alone, or to an activity of no programme (fund None): no programme's.
    ordered = sorted(to_funds.items(), key=lambda item: (item[0][0] is None, item[0][0] or 0, item[0][1]))
    unattributed = [(funds.get(fund), kind, amount) for (fund, kind), amount in ordered]
    return ProgrammeGap(as_at, sums.rates.base, shown, unattributed, sums.missing_rates)


def _unpaid_pledges(user: Any, as_at: dt.date, sums: _Sums, contributions: QuerySet) -> dict[tuple, Any]:
    """Per programme, what its pledges still promise as at the date: each pledge less the visible
    payments made by then that settle it, never below 0 (a payment settles in its pledge's
    currency), summed by the database per programme and currency."""
    settled = (
        visible_contributions(user, as_at)
        .filter(kind="payment", settles=OuterRef("pk"))
        .order_by()
        .values("settles")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    left = Greatest(F("amount") - Coalesce(Subquery(settled), Value(ZERO)), Value(ZERO))
    pledges = contributions.filter(kind="pledge").exclude(target=None).annotate(left=left)
    unpaid: dict[tuple, Any] = defaultdict(lambda: ZERO)
    for row in pledges.order_by().values("target", "currency").annotate(total=Sum("left")):
        if row["total"]:
            _add(unpaid, (row["target"],), sums.convert(Decimal(row["total"]), row["currency"], as_at))
    return unpaid


@dataclass
class DonorYearRow:
    donor: Any
    year: int
    pledged: Decimal | None
    paid: Decimal | None


@dataclass
class DonorGap:
    as_at: dt.date
    currency: str
    rows: list[DonorYearRow]
    missing_rates: list[MissingRate]


def by_donor_and_year(user: Any, as_at: dt.date) -> DonorGap:
    """What each donor pledged and paid, per fiscal year (the calendar year of the date where the
    source gives no fiscal year)."""
    from coopmatrix.directory.models import Organization
    from coopmatrix.geo.models import State

    sums = _Sums()
    records = visible_contributions(user, as_at).annotate(
        year=Coalesce(F("fiscal_year"), ExtractYear("date"))
    )
    found = sums.grouped(records, ["donor_state_id", "donor_organization_id", "year", "kind"])
    states = State.objects.in_bulk({k[0] for k in found if k[0]})
    organizations = Organization.objects.in_bulk({k[1] for k in found if k[1]})
    table: dict[tuple, DonorYearRow] = {}
    for (state, organization, year, kind), amount in found.items():
        donor = states[state] if state else organizations[organization]
        row = table.setdefault((str(donor), year), DonorYearRow(donor, year, ZERO, ZERO))
        if kind == "pledge":
            row.pledged = amount
        else:
            row.paid = amount
    rows = [table[key] for key in sorted(table, key=lambda k: (k[0], k[1]))]
    return DonorGap(as_at, sums.rates.base, rows, sums.missing_rates)


@dataclass
class StateRow:
    state: Any
    pledged: Decimal | None
    paid: Decimal | None
    activities: int


@dataclass
class StateGap:
    as_at: dt.date
    currency: str
    rows: list[StateRow]
    #: Paid to programmes and funds, not to an activity: no State can be named for it.
    not_attributable: Decimal | None
    missing_rates: list[MissingRate]


def by_recipient_state(user: Any, as_at: dt.date) -> StateGap:
    """What reached each State through the activities contributions were given to. A contribution
    to an activity for several States counts in full for each of them (it is not split by a guess),
    so the rows are not to be added up."""
    from coopmatrix.geo.models import State
    from coopmatrix.matrix.models import Activity

    sums = _Sums()
    visible = visible_contributions(user, as_at)
    activities = Activity.objects.visible_to(user)
    to_activities = visible.filter(activity__in=activities)
    found = sums.grouped(to_activities.annotate(state=F("activity__reach__state")), ["state", "kind"])
    counts = dict(
        to_activities.order_by()
        .values("activity__reach__state")
        .annotate(n=Count("activity", distinct=True))
        .values_list("activity__reach__state", "n")
    )
    states = State.objects.in_bulk({k[0] for k in found if k[0]})
    rows = [
        StateRow(
            states[pk], found.get((pk, "pledge"), ZERO), found.get((pk, "payment"), ZERO), counts.get(pk, 0)
        )
        for pk in sorted({k[0] for k in found if k[0]}, key=lambda pk: states[pk].name_en)
    ]
    rest = sums.grouped(visible.filter(activity=None, kind="payment"), ["kind"])
    return StateGap(as_at, sums.rates.base, rows, rest.get(("payment",), ZERO), sums.missing_rates)
