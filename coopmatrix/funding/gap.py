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
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Count, F, OuterRef, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce, ExtractYear, Greatest

from .models import Contribution, FundingNeed
from .money import MissingRate, Rates
from .sums import Plan, later, month_end, month_rest, plan, read, states_of, target_expression

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
        # Each contribution at the rate of its date, to the cent (as the kept sums hold them).
        foreign = records.exclude(currency=base).order_by().values_list(*keys, "currency", "date", "amount")
        for *key, currency, date, amount in foreign.iterator(chunk_size=5000):
            _add(sums, tuple(key), self.convert(amount, currency, date))
        return sums

    def tallied(
        self, rows: Iterable[dict[str, Any]], key: Callable[[dict[str, Any]], tuple]
    ) -> dict[tuple, Any]:
        """As `grouped`, over rows already read (a plan's few live contributions, `_live_rows`)."""
        sums: dict[tuple, Decimal | None] = defaultdict(lambda: ZERO)
        plain: dict[tuple, Decimal] = defaultdict(lambda: ZERO)
        base = self.rates.base
        for row in rows:
            if row["currency"] == base:
                plain[key(row)] += row["amount"]
            else:
                _add(sums, key(row), self.convert(row["amount"], row["currency"], row["date"]))
        for group, total in plain.items():
            _add(sums, group, total)
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


def _merge(into: dict[tuple, Decimal | None], more: dict[tuple, Decimal | None], sign: int = 1) -> None:
    for key, amount in more.items():
        _add(into, key, None if amount is None else sign * amount)


def by_programme(user: Any, as_at: dt.date) -> ProgrammeGap:
    """Each programme and project the user may see, with its projects' figures added to its own."""
    from coopmatrix.matrix.models import Programme

    sums = _Sums()
    found = plan(user, as_at)
    if found is None:
        given, to_funds, unpaid = _programme_records(visible_contributions(user, as_at), user, as_at, sums)
    else:
        given, to_funds, unpaid = _programme_kept(found, sums)
        for into, part in zip((given, to_funds, unpaid), _programme_live(found, sums), strict=True):
            _merge(into, part)
    needs = defaultdict(lambda: ZERO)
    for row in (
        FundingNeed.objects.visible_to(user)
        .order_by()
        .values("programme_id", "currency")
        .annotate(total=Sum("amount"))
    ):
        _add(needs, (row["programme_id"],), sums.convert(row["total"], row["currency"], as_at))
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
            pledged=given.get((programme.pk, "pledge"), ZERO),
            paid=given.get((programme.pk, "payment"), ZERO),
            unpaid=unpaid.get((programme.pk,), ZERO),
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
    from .models import Fund

    to_funds = {key: amount for key, amount in to_funds.items() if amount != ZERO}
    funds = Fund.objects.in_bulk([fund for fund, _kind in to_funds])
    # Given to a fund alone, or to an activity of no programme (fund None): no programme's.
    ordered = sorted(to_funds.items(), key=lambda item: (item[0][0] is None, item[0][0] or 0, item[0][1]))
    unattributed = [(funds.get(fund), kind, amount) for (fund, kind), amount in ordered]
    return ProgrammeGap(as_at, sums.rates.base, shown, unattributed, sums.missing_rates)


Parts = tuple[dict[tuple, Any], dict[tuple, Any], dict[tuple, Any]]


def _programme_records(contributions: QuerySet, user: Any, as_at: dt.date, sums: _Sums) -> Parts:
    """From the records: given per (programme, kind), per (fund, kind) to no programme, and what
    pledges still promise per programme."""
    contributions = contributions.annotate(target=target_expression())
    given = sums.grouped(contributions.exclude(target=None), ["target", "kind"])
    to_funds = sums.grouped(contributions.filter(target=None), ["fund_id", "kind"])
    return given, to_funds, _unpaid_pledges(user, as_at, sums, contributions)


def _live_rows(found: Plan) -> list[dict[str, Any]]:
    """The plan's live contributions (a few hundred at most, made by its date), read once with
    what every view groups them by: each view then adds them up without a query of its own."""
    if not found.live_ids:
        return []
    fields = ("pk", "kind", "currency", "amount", "date", "fund_id", "settles_id", "activity_id")
    fields += ("donor_state_id", "donor_organization_id")
    year = Coalesce(F("fiscal_year"), ExtractYear("date"))
    live = found.live.annotate(target=target_expression(), year=year).order_by()
    return list(live.values(*fields, "target", "year"))


def _programme_live(found: Plan, sums: _Sums) -> Parts:
    """`_programme_records` of the plan's live contributions. A pledge and the payments settling
    it are summed together or not at all (sums.describe), so the payments a live pledge's reader
    may see are live too: what it still promises is read from the same rows."""
    rows = _live_rows(found)
    given = sums.tallied((r for r in rows if r["target"] is not None), lambda r: (r["target"], r["kind"]))
    to_funds = sums.tallied((r for r in rows if r["target"] is None), lambda r: (r["fund_id"], r["kind"]))
    paid: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for row in rows:
        if row["kind"] == "payment" and row["settles_id"]:
            paid[row["settles_id"]] += row["amount"]
    left: dict[tuple, Decimal] = defaultdict(lambda: ZERO)
    for row in rows:
        if row["kind"] == "pledge" and row["target"] is not None:
            left[(row["target"], row["currency"])] += max(row["amount"] - paid[row["pk"]], ZERO)
    unpaid: dict[tuple, Any] = defaultdict(lambda: ZERO)
    for (target, currency), total in left.items():
        if total:
            _add(unpaid, (target,), sums.convert(total, currency, found.as_at))
    return given, to_funds, unpaid


def _programme_kept(found: Plan, sums: _Sums) -> Parts:
    """From the kept sums, less what was made (or settled) after the date: the sums of the periods
    after it in the same query, the rest of its month as each contribution was counted (each at
    the rate of its date)."""
    given: dict[tuple, Any] = defaultdict(lambda: ZERO)
    to_funds: dict[tuple, Any] = defaultdict(lambda: ZERO)
    left: dict[tuple, Decimal] = defaultdict(lambda: ZERO)
    less = later(found, "programme")
    rows = read(found, "programme", ["d1", "d2", "kind", "currency"], ["amount", "converted"], less=less)
    if found.later:
        rows += [(*key, -amount, -value) for *key, amount, value in month_rest(found, "programme")]
    for target, fund, kind, currency, amount, value in rows:
        if kind == "settled":
            left[(target, currency)] -= amount
            continue
        if kind == "pledge" and target:
            left[(target, currency)] += amount
        if target:
            _add(given, (target, kind), value)
        else:
            _add(to_funds, (fund or None, kind), value)
    return given, to_funds, _unpaid_left(left, found.as_at, sums)


def _unpaid_left(left: dict[tuple, Decimal], as_at: dt.date, sums: _Sums) -> dict[tuple, Any]:
    unpaid: dict[tuple, Any] = defaultdict(lambda: ZERO)
    for (target, currency), amount in left.items():
        if amount > 0:
            _add(unpaid, (target,), sums.convert(amount, currency, as_at))
    return unpaid


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


@dataclass(slots=True)
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
    keys = ["donor_state_id", "donor_organization_id", "year", "kind"]

    def records(contributions: QuerySet) -> dict[tuple, Any]:
        return sums.grouped(
            contributions.annotate(year=Coalesce(F("fiscal_year"), ExtractYear("date"))), keys
        )

    # A line per donor and year, its pledged and paid figures (thousands: plain lists until sorted).
    lines: dict[tuple, list[Any]] = {}

    def put(state: int | None, organization: int | None, year: int, kind: str, amount: Any) -> None:
        line = lines.get((state, organization, year))
        if line is None:
            line = lines[(state, organization, year)] = [ZERO, ZERO]
        at = 0 if kind == "pledge" else 1
        line[at] = None if line[at] is None or amount is None else line[at] + amount

    def merge(found: dict[tuple, Any], sign: int = 1) -> None:
        for (state, organization, year, kind), amount in found.items():
            put(state, organization, year, kind, None if amount is None else sign * amount)

    found_plan = plan(user, as_at)
    if found_plan is None:
        merge(records(visible_contributions(user, as_at)))
    else:
        # Less the sums of the periods after the date, in the same query (the converted amounts
        # alone, which the sums' index carries: read from the index alone).
        less = later(found_plan, "donor")
        kinds = ("donor", ["d1", "d2", "d3"], ["converted"], ("kind", ["pledge", "payment"]))
        for state, organization, year, pledged, paid in read(found_plan, *kinds, less=less):
            lines[(state or None, organization or None, year)] = [pledged, paid]
        if found_plan.later:
            for state, organization, year, kind, _amount, value in month_rest(found_plan, "donor"):
                put(state or None, organization or None, year, kind, -value)
        merge(sums.tallied(_live_rows(found_plan), lambda r: tuple(r[k] for k in keys)))
    lines = {key: line for key, line in lines.items() if line[0] != ZERO or line[1] != ZERO}
    states = State.objects.in_bulk({k[0] for k in lines if k[0]})
    organizations = Organization.objects.in_bulk({k[1] for k in lines if k[1]})
    donors = {(pk, None): state for pk, state in states.items()}
    donors.update({(None, pk): organization for pk, organization in organizations.items()})
    names = {key: str(donor) for key, donor in donors.items()}
    # Thousands of lines: each sort key made once, not asked of a function per comparison.
    # (Two donors may bear one name: then they keep the order they came in, never compared.)
    ordered = sorted((names[k[:2]], k[2], at) for at, k in enumerate(lines))
    keys = list(lines)
    rows_out = [DonorYearRow(donors[keys[at][:2]], year, *lines[keys[at]]) for _name, year, at in ordered]
    return DonorGap(as_at, sums.rates.base, rows_out, sums.missing_rates)


@dataclass
class StateRow:
    state: Any
    pledged: Decimal | None
    paid: Decimal | None
    #: The contributions counted (to the activities reaching the State).
    contributions: int


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

    sums = _Sums()
    amounts: dict[tuple, Any] = defaultdict(lambda: ZERO)
    numbers: dict[tuple, int] = defaultdict(int)

    def records(contributions: QuerySet, sign: int = 1) -> None:
        # State None: given to no activity (a programme, a fund); an activity reaching no State
        # counts for none.
        to_activities = contributions.exclude(activity=None).annotate(state=F("activity__reach__state"))
        given = sums.grouped(to_activities.exclude(state=None), ["state", "kind"])
        given.update(
            {(None, k[0]): v for k, v in sums.grouped(contributions.filter(activity=None), ["kind"]).items()}
        )
        _merge(amounts, given, sign)
        for state, kind, n in (
            to_activities.exclude(state=None).order_by().values_list("state", "kind").annotate(n=Count("id"))
        ):
            numbers[(state, kind)] += sign * n

    def live(rows: list[dict[str, Any]]) -> None:
        # As `records`, over rows already read: each activity's States looked up once.
        reach = states_of({r["activity_id"] for r in rows if r["activity_id"]})
        to_states = [
            (state, r) for r in rows if r["activity_id"] for state in reach.get(r["activity_id"], ())
        ]
        given = sums.tallied(
            ({**r, "state": state} for state, r in to_states), lambda r: (r["state"], r["kind"])
        )
        unnamed = sums.tallied((r for r in rows if not r["activity_id"]), lambda r: (r["kind"],))
        given.update({(None, k[0]): v for k, v in unnamed.items()})
        _merge(amounts, given)
        for state, row in to_states:
            numbers[(state, row["kind"])] += 1

    found = plan(user, as_at)
    if found is None:
        records(visible_contributions(user, as_at))
    else:
        # Less the sums of the periods after the date, in the same query; the rest of its month
        # from the records.
        less = later(found, "state")
        for state, kind, value, number in read(found, "state", ["d1", "kind"], ["converted", "n"], less=less):
            _add(amounts, (state or None, kind), value)
            if state:
                numbers[(state, kind)] += number
        if found.later and month_end(as_at) > as_at:
            records(found.after.filter(made_by__lte=month_end(as_at)), -1)
        live(_live_rows(found))
    shown = sorted({k[0] for k, n in numbers.items() if k[0] and n})
    states = State.objects.in_bulk(shown)
    rows_out = [
        StateRow(
            states[pk],
            amounts.get((pk, "pledge"), ZERO),
            amounts.get((pk, "payment"), ZERO),
            numbers[(pk, "pledge")] + numbers[(pk, "payment")],
        )
        for pk in sorted(shown, key=lambda pk: states[pk].name_en)
    ]
    rest = amounts.get((None, "payment"), ZERO)
    return StateGap(as_at, sums.rates.base, rows_out, rest, sums.missing_rates)
