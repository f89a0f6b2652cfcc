"""Funding figures kept ahead of time, so that the funding gap and Table 1 answer in milliseconds
over millions of contributions, through the one visibility rule.

Summing two million contributions, each checked against the visibility rule (its own level and
the fund, programme, activity and donor it hangs on), takes 2 to 5 s per figure on PostgreSQL.
The views instead add up `FundingSum` rows: one per line of a view (a programme, a donor and
year, a State, a donor of a fund …), per kind and currency, and per *audience*: the
contribution's own level and owner (0 unless confidential) and the most restrictive level of the
records it hangs on (`chain`), with their owner when that is confidential; what is open to every
signed-in user (public or restricted, both ways) is also summed over those four audiences. A
user's rows are selected by audience exactly as `visibility_q` selects records (`audiences`).

What the audience cannot say is read from the records (`Plan.live`): a confidential
contribution or record the user sees through a share or as their State's or organization's own
rather than as its owner, a contribution hanging on confidential records of several owners, a
pledge paid beyond its amount with its payments (what it still promises is then not a
difference of sums), and a contribution with no rate for its day (to be named). Figures "as
at" a past date take off what was made after it (`Plan.after`), or, when that is most of the
records, are read from the records altogether; the programme, donor and State views keep their
sums also per year and per month (`periods`) and take off those after the date whole, and the rest
of the date's month from the records.

The sums follow the records by difference, as the grid's counts do (matrix.counts):
`refresh(ids)` compares what each contribution adds now with what it added last time
(`CountedContribution`) and writes the change; signals call it whichever door changed a
contribution, the records it hangs on, an activity's States or a rate. `rebuild()` starts over
and `drift()` says where the sums and the records disagree (the test suite asks it after every
test).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, cast

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.cache import cache
from django.db import connection, models, transaction
from django.db.models import F, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce

from coopmatrix.core import bulk, public_cache
from coopmatrix.core.collecting import fewer_collections
from coopmatrix.core.deferred import Deferred
from coopmatrix.core.deltas import Deltas
from coopmatrix.core.querysets import (
    CONFIDENTIAL,
    PUBLIC,
    RESTRICTED,
    all_shares,
    belongs_q,
    own_visibility_q,
    visibility_q,
)
from coopmatrix.core.roles import Principal, principal_for

from .models import Contribution, CountedContribution, FundingSum
from .money import MissingRate, Rates, reporting_currency

LEVELS = (PUBLIC, RESTRICTED, CONFIDENTIAL)
#: The audience of the sums every signed-in user reads whole: what is public or restricted, by its
#: own level and by the records it hangs on. Each such fact is also added here, so that a user's
#: figures read one range of the index for the four audiences (an editor's donor view: 17,000
#: rows instead of 55,000).
SIGNED_IN = "signed-in"
OPEN = (PUBLIC, RESTRICTED)
ROLLED = (SIGNED_IN, 0, SIGNED_IN, 0)
KEY_FIELDS = (
    "by",
    "d1",
    "d2",
    "d3",
    "kind",
    "currency",
    "label",
    "confidentiality",
    "owner_id",
    "chain",
    "chain_owner_id",
)
VALUE_FIELDS = ("amount", "converted", "n", "unconverted")
CHUNK = 5000
#: Figures "as at" a past date are the sums less what was made after it, as long as that is the
#: smaller part: fewer than this share of all contributions. Beyond it (`Plan.far`) they are read
#: from the records made by then, except in the programme, donor and State views, which take off
#: their sums of the years and months after the date (`periods`); Table 1 reads the records. (Up
#: to AFTER_LIMIT made after, the share is not asked: a count of all.)
AFTER_SHARE = 0.5
AFTER_LIMIT = 20_000
ZERO = Decimal("0.00")
CENT = Decimal("0.01")
#: The sums' columns kept to the cent.
CENTS = ("amount", "converted")

Key = tuple[Any, ...]
Value = tuple[Decimal, Decimal, int, int]


# -- What a contribution adds ------------------------------------------------------------------


def describe(contribution_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """What each existing contribution adds to the sums: its audience, dimensions and amounts
    (JSON-ready, so that it can be kept and compared)."""
    wanted = set(contribution_ids)
    rows = _rows(wanted)
    if not rows:
        return {}
    # A pledge and the payments settling it are summed together or not at all.
    group_ids = {r["settles_id"] for r in rows.values() if r["settles_id"]} | {
        pk for pk, r in rows.items() if r["kind"] == Contribution.Kind.PLEDGE
    }
    members = Contribution.objects.filter(Q(pk__among=group_ids) | Q(settles_id__among=group_ids))
    extra = set(members.values_list("pk", flat=True)) - set(rows)
    rows.update(_rows(extra))
    chains = _chains(list(rows.values()))
    states = states_of({r["activity_id"] for r in rows.values() if r["activity_id"]})
    rates = Rates()
    audience: dict[int, tuple | None] = {}
    for pk, row in rows.items():
        chain = chains[pk]
        own = (
            row["confidentiality"],
            (row["owner_id"] or 0) if row["confidentiality"] == CONFIDENTIAL else 0,
        )
        audience[pk] = None if chain is None else (*own, *chain)
    converted: dict[int, str | None] = {}
    for pk, row in rows.items():
        try:
            converted[pk] = str(rates.convert(row["amount"], row["currency"], row["date"]))
        except MissingRate:
            converted[pk] = None
    # Not summed: what no one audience can say, and what has no rate for its day (the views read
    # such a contribution from the records, each time, and name the rate missing, as they would
    # with no sums at all; a rate recorded later brings it into the sums, signals.rate_changed).
    kept = {pk: audience[pk] is not None and converted[pk] is not None for pk in rows}
    payments: dict[int, list[int]] = {}
    for pk, row in rows.items():
        if row["settles_id"]:
            payments.setdefault(row["settles_id"], []).append(pk)
    for pledge, paid in payments.items():
        group = [pledge, *paid] if pledge in rows else paid
        together = (
            pledge in rows
            and all(audience[pk] == audience[pledge] and kept[pk] for pk in group)
            and all(rows[pk]["currency"] == rows[pledge]["currency"] for pk in paid)
            and sum(rows[pk]["amount"] for pk in paid) <= rows[pledge]["amount"]
        )
        for pk in group:
            kept[pk] = kept[pk] and together
    found = {}
    for pk in wanted & set(rows):
        row = rows[pk]
        pledge = rows.get(row["settles_id"]) if row["settles_id"] else None
        own_audience = audience[pk] or (row["confidentiality"], 0, "", 0)
        found[pk] = {
            "kept": kept[pk],
            "conf": own_audience[0],
            "owner": own_audience[1],
            "chain": own_audience[2],
            "chain_owner": own_audience[3],
            "kind": row["kind"],
            "currency": row["currency"],
            "amount": str(row["amount"]),
            "converted": converted[pk],
            "base": rates.base,
            "made_by": row["made_by"].isoformat(),
            "settles_from": max(row["made_by"], pledge["made_by"]).isoformat() if pledge else None,
            "settles_target": (pledge["target"] or None) if pledge else None,
            "target": row["target"] or 0,
            "fund": row["fund_id"] or 0,
            "ds": row["donor_state_id"] or 0,
            "do": row["donor_organization_id"] or 0,
            "fiscal": row["fiscal_year"] or row["date"].year,
            "to_activity": bool(row["activity_id"]),
            "states": sorted(states.get(row["activity_id"], ())),
            "period": row["date_precision"] == "period",
            "source": row["source"],
        }
    return found


def _rows(ids: set[int]) -> dict[int, dict[str, Any]]:
    if not ids:
        return {}
    fields = (
        "pk",
        "kind",
        "currency",
        "amount",
        "date",
        "date_precision",
        "made_by",
        "confidentiality",
        "owner_id",
        "fund_id",
        "programme_id",
        "activity_id",
        "donor_state_id",
        "donor_organization_id",
        "fiscal_year",
        "settles_id",
        "source",
        *(f"{name}_id" for name in Contribution.visibility_requires),
    )
    from coopmatrix.matrix.models import Activity

    # Each contribution's activity looked up by its key: joined (target_expression), the planner
    # hashed the whole table of activities for each chunk of an import, its new contributions not
    # yet counted in its statistics (60 ms a chunk at 115,000 activities, growing with them).
    programme = Activity.objects.filter(pk=OuterRef("activity_id")).values("programme_id")
    records = (
        Contribution.objects.filter(pk__among=ids)
        .order_by()
        .annotate(
            target=Coalesce(F("programme_id"), Subquery(programme), output_field=models.BigIntegerField())
        )
    )
    return {row["pk"]: row for row in records.values(*dict.fromkeys(fields), "target")}


def target_expression(prefix: str = "") -> Any:
    """The programme a contribution counts for: its own, else its activity's (`prefix`: of the
    contribution a relation leads to, "settles__" for a payment's pledge)."""
    return Coalesce(F(f"{prefix}programme_id"), F(f"{prefix}activity__programme_id"))


def states_of(activity_ids: set[int]) -> dict[int, set[int]]:
    from coopmatrix.matrix.models import ActivityReach

    found: dict[int, set[int]] = {}
    if not activity_ids:
        return found
    reach = ActivityReach.objects.filter(activity_id__among=list(activity_ids)).values_list(
        "activity_id", "state_id"
    )
    for activity, state in reach:
        found.setdefault(activity, set()).add(state)
    return found


def _chains(rows: list[dict[str, Any]]) -> dict[int, tuple[str, int] | None]:
    """For each contribution, the most restrictive level among the records it hangs on (directly
    or through what they hang on, as `visibility_requires` says) and, when that is confidential,
    their owner; None when confidential records of several owners are among them."""
    known: dict[tuple[type[models.Model], int], tuple[str, int, list[tuple[type[models.Model], int]]]] = {}

    def links(model: type[models.Model], values: dict[str, Any]) -> list[tuple[type[models.Model], int]]:
        found = []
        for name in getattr(model, "visibility_requires", ()):
            related = cast(type[models.Model], model._meta.get_field(name).related_model)
            if values.get(f"{name}_id"):
                found.append((related, values[f"{name}_id"]))
        return found

    wanted: dict[type[models.Model], set[int]] = {}
    starts = {row["pk"]: links(Contribution, row) for row in rows}
    for pairs in starts.values():
        for model, pk in pairs:
            wanted.setdefault(model, set()).add(pk)
    while wanted:
        model, ids = wanted.popitem()
        own = any(f.name == "confidentiality" for f in model._meta.get_fields())
        fields = ["pk", *(f"{n}_id" for n in getattr(model, "visibility_requires", ()))]
        if own:
            fields += ["confidentiality", "owner_id"]
        for values in model._default_manager.filter(pk__among=ids).values(*fields):
            level = values.get("confidentiality", PUBLIC)
            owner = (values.get("owner_id") or 0) if level == CONFIDENTIAL else 0
            known[(model, values["pk"])] = (level, owner, links(model, values))
            for pair in known[(model, values["pk"])][2]:
                if pair not in known:
                    wanted.setdefault(pair[0], set()).add(pair[1])
    chains: dict[int, tuple[str, int] | None] = {}
    for pk, pairs in starts.items():
        level, owners, todo, seen = PUBLIC, set(), list(pairs), set()
        while todo:
            pair = todo.pop()
            if pair in seen or pair not in known:
                continue
            seen.add(pair)
            their_level, owner, further = known[pair]
            level = max(level, their_level, key=LEVELS.index)
            if their_level == CONFIDENTIAL:
                owners.add(owner)
            todo += further
        chains[pk] = None if len(owners) > 1 else (level, next(iter(owners), 0))
    return chains


def facts(described: dict[str, Any] | None) -> dict[Key, Value]:
    """The sums a described contribution adds to, with what it adds to each."""
    if not described or not described["kept"]:
        return {}
    return _facts(described, _value(described))


def _value(described: dict[str, Any]) -> Value:
    """What a described contribution adds: its amount, converted amount, one, and one if it has
    no rate for its day."""
    converted = described["converted"]
    return (
        Decimal(described["amount"]),
        Decimal(converted) if converted is not None else ZERO,
        1,
        int(converted is None),
    )


def _summed(described: Iterable[dict[str, Any] | None]) -> list[tuple[dict[str, Any], Value]]:
    """Described contributions that add to the same sums, each group with what it adds together,
    so that the sums are found once a group (`_facts`): the 9,284 contributions summed of an import
    of 2,000 IATI activities (2.7 million facts over 4,613 sums) fell into 181 such groups. What
    a contribution adds to each sum is its value (or, for the sums of pledges settled and of the
    reporting currency, a part of it): a group adds the total of its values."""
    groups: dict[tuple[Any, ...], list[Any]] = {}
    for each in described:
        if not each or not each["kept"]:
            continue
        shape = _shape(each)
        value = _value(each)
        group = groups.get(shape)
        if group is None:
            groups[shape] = [each, *value]
        else:
            group[1] += value[0]
            group[2] += value[1]
            group[3] += value[2]
            group[4] += value[3]
    return [
        (each, (amount, converted, n, unconverted))
        for each, amount, converted, n, unconverted in groups.values()
    ]


def _shape(described: dict[str, Any]) -> tuple[Any, ...]:
    """What decides which sums a described contribution adds to: all it holds but its amounts;
    its days only as far as their month (`periods`); its source only where a fund or programme
    sums by source."""
    shape = []
    for name, value in sorted(described.items()):
        if name in ("amount", "converted"):
            continue
        if name in ("made_by", "settles_from") and value:
            value = value[:7]
        elif name == "source" and not (described["fund"] or described["target"]):
            continue
        shape.append((name, tuple(value) if isinstance(value, list) else value))
    return tuple(shape)


def _facts(described: dict[str, Any], value: Value) -> dict[Key, Value]:
    """The sums a described contribution (or a group of them, `_summed`) adds to, with what it
    adds to each: `value` to most, its amount alone to the sums of pledges settled, its count
    alone to the sum naming the reporting currency."""
    audience = (described["conf"], described["owner"], described["chain"], described["chain_owner"])
    amount, n = value[0], value[2]
    kind, currency, target, fund = (
        described["kind"],
        described["currency"],
        described["target"],
        described["fund"],
    )
    donor = (described["ds"], described["do"])
    heard_by = [audience]
    if audience[0] in OPEN and audience[2] in OPEN:
        heard_by.append(ROLLED)
    found: dict[Key, Value] = {}

    def put(by: str, d1: int, d2: int, d3: int, kind: str, currency: str = "", label: str = "") -> None:
        for each in heard_by:
            key = (by, d1, d2, d3, kind, currency, label, *each)
            # Most keys come once (a call saved on each of the hundreds of thousands of an import).
            found[key] = value if key not in found else _plus(found[key], value)

    # Which reporting currency `converted` is in: sums in another one are not to be read.
    found[("base", 0, 0, 0, "", "", described["base"], "", 0, "", 0)] = (ZERO, ZERO, n, 0)
    put("programme", target, 0 if target else fund, 0, kind, currency)
    for by in periods("programme", described["made_by"]):
        put(by, target, 0 if target else fund, 0, kind, currency)
    for by in ("donor", *periods("donor", described["made_by"])):
        put(by, *donor, described["fiscal"], kind)
    for by in ("state", *periods("state", described["made_by"])):
        for state in described["states"]:
            put(by, state, 0, 0, kind)
        if not described["to_activity"]:
            put(by, 0, 0, 0, kind)
    if fund:
        put("fund_donor", fund, *donor, kind, currency)
        put("fund_source", fund, int(described["period"]), 0, kind, "", described["source"])
    if target:
        put("programme_donor", target, *donor, kind, currency)
        put("programme_source", target, int(described["period"]), 0, kind, "", described["source"])
    if described["settles_target"]:
        for by in ("programme", *periods("programme", described["settles_from"])):
            for each in heard_by:
                key = (by, described["settles_target"], 0, 0, "settled", currency, "", *each)
                found[key] = _plus(found.get(key), (amount, ZERO, n, 0))
    return found


def periods(view: str, day: str) -> tuple[str, str]:
    """A view's sums of one period that a fact of this day (ISO) also adds to: its year's and its
    month's. Figures as at a past date take off the periods after it whole (`later`), and only
    the rest of its month from the records: ten years back, some thirty thousand sums instead of
    eight hundred thousand contributions."""
    return f"{view} y{day[:4]}", f"{view} m{day[:7]}"


def later_periods(view: str, as_at: dt.date, last: dt.date) -> list[str]:
    """A view's periods wholly after `as_at`, up to the one of `last` (the latest day a fact is
    dated): the years after its year, then the months after its month in its year."""
    years = [f"{view} y{year:04d}" for year in range(as_at.year + 1, last.year + 1)]
    months = [f"{view} m{as_at.year:04d}-{month:02d}" for month in range(as_at.month + 1, 13)]
    return years + months


def later(plan: Plan, view: str) -> list[str]:
    """`later_periods` of the plan's date, up to the latest day a summed fact is dated; none when
    nothing summed is dated after it (one query saved)."""
    from django.db.models import Max

    if not plan.later:
        return []

    # One aggregate a query: SQLite reads a maximum from its index only when it is asked alone.
    last = [
        CountedContribution.objects.aggregate(day=Max(name))["day"] for name in ("made_by", "settles_from")
    ]
    return later_periods(view, plan.as_at, max((day for day in last if day), default=plan.as_at))


def month_end(day: dt.date) -> dt.date:
    """The last day of the day's month."""
    following = day.replace(day=28) + dt.timedelta(days=4)
    return following - dt.timedelta(days=following.day)


def _plus(a: Value | None, b: Value, sign: int = 1) -> Value:
    a = a or (ZERO, ZERO, 0, 0)
    return (a[0] + sign * b[0], a[1] + sign * b[1], a[2] + sign * b[2], a[3] + sign * b[3])


# -- Keeping them -------------------------------------------------------------------------------


def refresh(contribution_ids: Iterable[int]) -> None:
    """Bring the sums of these contributions (and of the pledges and payments settling each other
    with them) up to date with their records; deleted ones leave."""
    ids = set(contribution_ids)
    pledges = set(
        Contribution.objects.filter(pk__among=ids).exclude(settles=None).values_list("settles_id", flat=True)
    )
    group = Contribution.objects.filter(Q(settles_id__among=ids | pledges) | Q(pk__among=pledges))
    ids |= set(group.values_list("pk", flat=True))
    ordered = sorted(ids)
    for start in range(0, len(ordered), CHUNK):
        chunk = ordered[start : start + CHUNK]
        with transaction.atomic():
            before = dict(
                CountedContribution.objects.select_for_update()
                .filter(contribution_id__among=chunk)
                .values_list("contribution_id", "counted_as")
            )
            now = describe(chunk)
            changed = [pk for pk in chunk if before.get(pk) != now.get(pk)]
            delta: dict[Key, list[Any]] = {}
            for described, value in _summed(now.get(pk) for pk in changed):
                _merge(delta, _facts(described, value))
            for described, value in _summed(before.get(pk) for pk in changed):
                _merge(delta, _facts(described, value), taken_off=True)
            _add(delta)
            # New ones by COPY (an upsert sends each column as an array, whose text psycopg makes
            # value by value: a second for an import's ten thousand), kept ones in place
            # (`bulk.replace_rows`).
            CountedContribution.objects.filter(
                contribution_id__among=[pk for pk in changed if pk in before and pk not in now]
            ).delete()
            bulk.replace_rows(
                CountedContribution, COUNTED, [_counted(pk, now[pk]) for pk in changed if pk in now], before
            )


def _merge(delta: dict[Key, list[Any]], found: dict[Key, Value], taken_off: bool = False) -> None:
    """Add each fact's value to the running sum of its key, in place (`taken_off`: subtract it).
    An import's ten thousand contributions add to the same sums over a million times: a new
    tuple made for each addition (`_plus`) was a third of the refresh's time."""
    for key, value in found.items():
        kept = delta.get(key)
        if kept is None:
            if taken_off:
                delta[key] = [ZERO - value[0], ZERO - value[1], -value[2], -value[3]]
            else:
                delta[key] = [value[0], value[1], value[2], value[3]]
        elif taken_off:
            kept[0] -= value[0]
            kept[1] -= value[1]
            kept[2] -= value[2]
            kept[3] -= value[3]
        else:
            kept[0] += value[0]
            kept[1] += value[1]
            kept[2] += value[2]
            kept[3] += value[3]


#: The fields `_counted` gives, in its order.
COUNTED = ("contribution_id", "kept", "chain", "chain_owner_id", "made_by", "settles_from", "counted_as")


def _counted(pk: int, described: dict[str, Any]) -> tuple[Any, ...]:
    """A contribution's CountedContribution as values (`COUNTED`): an import's ten thousand as
    model objects took longer to make than to write."""
    return (
        pk,
        described["kept"],
        described["chain"],
        described["chain_owner"],
        dt.date.fromisoformat(described["made_by"]),
        dt.date.fromisoformat(described["settles_from"]) if described["settles_from"] else None,
        described,
    )


def _add(delta: Mapping[Key, Sequence[Any]]) -> None:
    """Add each difference to its sum, creating the row the first time (core.deltas)."""
    # Sorted, so that two transactions touching the same sums lock them in the same order.
    rows = sorted((*key, *value) for key, value in delta.items() if any(value))
    if rows:
        with connection.cursor() as cursor:
            _DELTAS.add(cursor, FundingSum._meta.db_table, rows)


_DELTAS = Deltas(
    "funding_delta",
    "by text, d1 bigint, d2 bigint, d3 bigint, kind text, currency text, label text, "
    "confidentiality text, owner_id bigint, chain text, chain_owner_id bigint, amount numeric, "
    "converted numeric, n integer, unconverted integer",
    KEY_FIELDS,
    VALUE_FIELDS,
)
#: `added_at_end()`: inside it, the differences of every change go to the kept sums once, when it
#: ends (an import, a rebuild: many chunks in one transaction).
added_at_end = _DELTAS.held

#: `changed(ids)`: contributions changed, their sums refreshed now or at the end of the current
#: `batch()`.
_held = Deferred(lambda ids: refresh(ids))
changed = _held.changed
batch = _held.batch


def count_again_unconverted() -> int:
    """Count again the contributions summed without a rate for their day: sums kept before such a
    contribution was left to the records held them, and while any sum holds one every view reads
    every contribution from the records (some 30 s a page over two million, for 64 in a currency
    without a rate). Run after each migration; returns how many were counted again."""
    if not FundingSum.objects.filter(unconverted__gt=0).exists():
        return 0
    ids = list(
        CountedContribution.objects.filter(kept=True, counted_as__converted=None).values_list(
            "contribution_id", flat=True
        )
    )
    refresh(ids)
    return len(ids)


@fewer_collections()
def rebuild(progress: Any = None) -> int:
    """Sum every contribution again from its records; returns how many were summed."""
    with transaction.atomic(), added_at_end():
        FundingSum.objects.all().delete()
        CountedContribution.objects.all().delete()
        ids = list(Contribution.objects.order_by("pk").values_list("pk", flat=True))
        for start in range(0, len(ids), CHUNK):
            refresh(ids[start : start + CHUNK])
            if progress:
                progress(min(start + CHUNK, len(ids)), len(ids))
    return len(ids)


def drift() -> dict[Key, tuple[Value, Value]]:
    """Sums whose kept value differs from one made now from the records: {key: (kept, actual)}."""
    actual: dict[Key, Value] = {}
    counted = dict(CountedContribution.objects.values_list("contribution_id", "counted_as"))
    ids = list(Contribution.objects.values_list("pk", flat=True))
    mismatched: dict[Key, tuple[Value, Value]] = {}
    for start in range(0, len(ids), CHUNK):
        for pk, described in describe(ids[start : start + CHUNK]).items():
            if counted.get(pk) != described:
                mismatched[("contribution", pk)] = ((ZERO, ZERO, 0, 0), (ZERO, ZERO, 1, 0))
            for key, value in facts(described).items():
                actual[key] = _plus(actual.get(key), value)
    for pk in set(counted) - set(ids):
        mismatched[("contribution", pk)] = ((ZERO, ZERO, 1, 0), (ZERO, ZERO, 0, 0))
    kept = {
        tuple(row[: len(KEY_FIELDS)]): tuple(row[len(KEY_FIELDS) :])
        for row in FundingSum.objects.values_list(*KEY_FIELDS, *VALUE_FIELDS)
    }
    empty = (ZERO, ZERO, 0, 0)
    for key in set(kept) | set(actual):
        have, want = kept.get(key, empty), actual.get(key, empty)
        if tuple(have) != tuple(want):
            mismatched[key] = (cast(Value, have), want)
    return mismatched


# -- Reading them -------------------------------------------------------------------------------


Audience = tuple[str, int, str, int]


def audiences(principal: Principal) -> list[Audience] | None:
    """The kept sums' audiences whose contributions the visibility rule lets the principal read as
    the owner of what is confidential (what is seen otherwise is in `Plan.live`): (level, owner,
    chain, chain owner) each; None for every audience.

    One exact audience per branch, each a range of the sums' index (`read`); a signed-in user's
    four open audiences as their one sum (SIGNED_IN)."""
    if principal.sees_everything:
        return None
    if not principal.authenticated:
        return [(PUBLIC, 0, PUBLIC, 0)]
    levels = [(PUBLIC, 0), (RESTRICTED, 0)]
    if principal.organization_id:
        levels.append((CONFIDENTIAL, principal.organization_id))
    # The four open audiences are read from their sum (SIGNED_IN), the rest one by one.
    return [ROLLED] + [
        (level, owner, chain, chain_owner)
        for level, owner in levels
        for chain, chain_owner in levels
        if CONFIDENTIAL in (level, chain)
    ]


def _summed_q(principal: Principal) -> Q:
    """The same condition on contributions: those the principal's kept sums hold."""
    if principal.sees_everything:
        return Q(counted__kept=True)
    if not principal.authenticated:
        own = Q(confidentiality=PUBLIC)
        chain = Q(counted__chain=PUBLIC)
    else:
        own = Q(confidentiality__in=[PUBLIC, RESTRICTED])
        chain = Q(counted__chain__in=[PUBLIC, RESTRICTED])
        if principal.organization_id:
            own |= Q(confidentiality=CONFIDENTIAL, owner_id=principal.organization_id)
            chain |= Q(counted__chain=CONFIDENTIAL, counted__chain_owner_id=principal.organization_id)
    return Q(counted__kept=True) & own & chain


class _SeenOtherwise:
    """Records of a model the principal may see, confidential and not their organization's (seen
    through a share, or as their State's or organization's own), or hanging on such a record.

    One per look: the principal's shares are read once for every model, and each model's records
    once (an organization is reached through funds, programmes and donors alike)."""

    def __init__(self, principal: Principal) -> None:
        self.principal = principal
        self.found: dict[type[models.Model], set[int]] = {}
        self._shares: dict[int, list[int]] | None = None

    def shared(self, model: type[models.Model]) -> list[int]:
        if self._shares is None:
            self._shares = {}
            for kind, pk in all_shares(self.principal).values_list("content_type_id", "object_id"):
                self._shares.setdefault(kind, []).append(pk)
        return self._shares.get(ContentType.objects.get_for_model(model, for_concrete_model=True).pk, [])

    def __call__(self, model: type[models.Model]) -> set[int]:
        if model not in self.found:
            self.found[model] = self._find(model)
        return self.found[model]

    def _find(self, model: type[models.Model]) -> set[int]:
        principal, found = self.principal, set()
        if any(f.name == "confidentiality" for f in model._meta.get_fields()):
            shared = self.shared(model)
            why = belongs_q(model, principal) | (Q(pk__among=shared) if shared else Q(pk__in=[]))
            records = model._default_manager.filter(why, confidentiality=CONFIDENTIAL)
            if principal.organization_id:
                records = records.exclude(owner_id=principal.organization_id)
            records = records.filter(visibility_q(model, principal)).order_by()
            found |= set(records.values_list("pk", flat=True))
        for name in getattr(model, "visibility_requires", ()):
            related = cast(type[models.Model], model._meta.get_field(name).related_model)
            through = self(related)
            if through:
                hanging = model._default_manager.filter(**{f"{name}_id__among": through})
                found |= set(hanging.order_by().values_list("pk", flat=True))
        return found


def _live_ids(principal: Principal) -> list[int]:
    """Contributions the kept sums may leave out for the principal: not summed at all, or seen
    otherwise than as the owner of what is confidential in them. Gathered by one indexed query
    per way (a handful of rows each): as one condition of OR'ed joins, the database would read
    every contribution."""
    found = set(CountedContribution.objects.filter(kept=False).values_list("contribution_id", flat=True))
    if principal.sees_everything or not principal.authenticated:
        return sorted(found)
    if not (principal.organization_id or principal.state_id):
        return sorted(found)
    seen_otherwise = _SeenOtherwise(principal)
    shared = seen_otherwise.shared(Contribution)
    own = Contribution.objects.filter(confidentiality=CONFIDENTIAL).filter(
        belongs_q(Contribution, principal) | (Q(pk__among=shared) if shared else Q(pk__in=[]))
    )
    found |= set(own.order_by().values_list("pk", flat=True))
    for name in Contribution.visibility_requires:
        related = cast(type[models.Model], Contribution._meta.get_field(name).related_model)
        through = sorted(seen_otherwise(related))
        # By a few hundred keys at a time: given thousands at once, PostgreSQL reads the table.
        for start in range(0, len(through), 200):
            hanging = Contribution.objects.filter(**{f"{name}_id__among": through[start : start + 200]})
            found |= set(hanging.order_by().values_list("pk", flat=True))
    return sorted(found)


def _visible_among(principal: Principal, ids: list[int]) -> set[int]:
    """Which of these few contributions the principal may read: the visibility rule, with each
    record they hang on asked by its key. Asked of the contributions in one query, the database
    hashes every visible activity first (a million here) to check a few hundred."""
    if not ids:
        return set()
    links = [f"{name}_id" for name in Contribution.visibility_requires]
    own = Contribution.objects.filter(own_visibility_q(Contribution, principal), pk__among=ids).order_by()
    found = {row[0]: row[1:] for row in own.values_list("pk", *links)}
    for at, name in enumerate(Contribution.visibility_requires):
        related = cast(type[models.Model], Contribution._meta.get_field(name).related_model)
        wanted = {keys[at] for keys in found.values() if keys[at]}
        if not wanted:
            continue
        seen = set(
            related._default_manager.filter(visibility_q(related, principal), pk__among=wanted)
            .order_by()
            .values_list("pk", flat=True)
        )
        found = {pk: keys for pk, keys in found.items() if not keys[at] or keys[at] in seen}
    return set(found)


@dataclass
class Plan:
    """How the figures for one user as at one date are made: kept sums (those of `audiences`),
    less `after` (summed, but made after the date), plus `live` (not summed for this user)."""

    principal: Principal
    as_at: dt.date
    audiences: list[Audience] | None
    after: QuerySet
    settled_after: QuerySet
    live: QuerySet
    live_ids: list[int]
    #: How many summed contributions were made or settle after the date (`after` is then not
    #: empty); 0 for figures as at today.
    later: int
    #: Most summed contributions came after the date: a view that would take them off one by one
    #: reads the records made by then instead (the programme, donor and State views take off their
    #: sums of the periods after it).
    far: bool = False


def plan(user: Any, as_at: dt.date) -> Plan | None:
    """The kept sums' plan, or None when the figures are to be read from the records: some
    contributions have no rate (to be named), or the sums are in another reporting currency than
    the one set. (When most were made after the date, `Plan.far` says so.)"""
    principal = principal_for(user)
    decided = _decided(principal, as_at)
    if decided is None:
        return None
    live_ids, later, far = decided
    summed = Contribution.objects.filter(_summed_q(principal))
    return Plan(
        principal,
        as_at,
        audiences(principal),
        summed.filter(made_by__gt=as_at),
        summed.filter(counted__settles_from__gt=as_at, kind=Contribution.Kind.PAYMENT).exclude(settles=None),
        Contribution.objects.filter(pk__among=live_ids),
        live_ids,
        later,
        far,
    )


_MISSING = object()
#: Moves when what `_decide` returns changes shape: a cache kept across an upgrade is not misread.
PLAN_FORMAT = 3


def _decided(principal: Principal, as_at: dt.date) -> tuple[list[int], int, bool] | None:
    """`_decide`, kept in the shared cache under the data generation (core.public_cache): what a
    principal sees otherwise than as an owner changes only with the data, and finding it takes
    some twenty queries (most of an editor's figures). A committed write anywhere moves the
    generation, so no answer outlives the data it was made from; inside a transaction (a write
    not yet committed, the test suite) nothing is kept or read."""
    generation = None if connection.in_atomic_block else public_cache.generation()
    if generation is None or not settings.PUBLIC_CACHE_SECONDS:
        return _decide(principal, as_at)
    # The principal whole (frozen): what the visibility rule reads of a user, not who they are.
    who = hashlib.sha256(repr(principal).encode()).hexdigest()[:32]
    key = f"funding-plan:{PLAN_FORMAT}:{generation}:{reporting_currency()}:{as_at.isoformat()}:{who}"
    found = cache.get(key, _MISSING)
    if found is _MISSING:
        found = _decide(principal, as_at)
        cache.set(key, found, settings.PUBLIC_CACHE_SECONDS)
    return cast(tuple[list[int], int, bool] | None, found)


def _decide(principal: Principal, as_at: dt.date) -> tuple[list[int], int, bool] | None:
    """None to read the figures from the records; else the contributions the principal sees and
    the kept sums leave out for them (`Plan.live`), how many summed ones came later, and whether
    that is most of them (`Plan.far`)."""
    if FundingSum.objects.filter(unconverted__gt=0).exists():
        return None  # summed without a rate, as before 3 December 2026: until `count_again_unconverted`
    if FundingSum.objects.filter(by="base", n__gt=0).exclude(label=reporting_currency()).exists():
        return None  # summed in another reporting currency: until `rebuild_funding_sums`
    # Made after the date, or settling a pledge after it: two ranges of an index each (as one
    # condition with OR, the database visited every row's page to count them).
    made_later = CountedContribution.objects.filter(made_by__gt=as_at)
    settled_later = CountedContribution.objects.filter(made_by__lte=as_at, settles_from__gt=as_at)
    after = made_later[: AFTER_LIMIT + 1].count() + settled_later[: AFTER_LIMIT + 1].count()
    far = False
    if after > AFTER_LIMIT:
        after = made_later.count() + settled_later.count()
        far = after >= AFTER_SHARE * CountedContribution.objects.count()
    candidates = (
        Contribution.objects.filter(pk__among=_live_ids(principal), made_by__lte=as_at)
        .filter(~_summed_q(principal))
        .order_by()
        .values_list("pk", flat=True)
    )
    return sorted(_visible_among(principal, list(candidates))), after, far


def taken_off(plan: Plan, group: Iterable[str], until: dt.date | None = None) -> list[tuple]:
    """What the plan's summed contributions made after its date (and by `until`, when given)
    added to the sums, as each was counted (`CountedContribution.counted_as`), added up per
    `group` (keys of a description, `describe`): one tuple per group, its values then the sums of
    `amount` and `converted`.

    One grouped query over the counted contributions, which hold all it needs: read as the
    contributions themselves, each was joined to its count and its activity (39,364 half a year
    back on the benchmark database: some 220 ms)."""
    from django.db.models import BigIntegerField, DecimalField
    from django.db.models.fields.json import KT
    from django.db.models.functions import Cast

    group = list(group)
    money = DecimalField(max_digits=24, decimal_places=2)
    columns: dict[str, Any] = {}
    for name in group:
        text = KT(f"counted_as__{name}")
        columns[f"g_{name}"] = Cast(text, BigIntegerField()) if name in _NUMBERED else text
    counted = CountedContribution.objects.filter(made_by__gt=plan.as_at, kept=True)
    if until is not None:
        counted = counted.filter(made_by__lte=until)
    if plan.audiences is not None:
        counted = counted.filter(_counted_q(plan.audiences))
    amounts = {
        "t_amount": Cast(KT("counted_as__amount"), money),
        "t_converted": Cast(KT("counted_as__converted"), money),
    }
    values = counted.annotate(**columns, **amounts).order_by().values_list(*columns, *amounts)
    # Grouped over the values taken out: grouped by Django, the database sorted the rows whole,
    # their descriptions with them (15 MB on disk half a year back). OFFSET 0 keeps PostgreSQL
    # from folding the inner query back into the outer one.
    inner, params = values.query.sql_with_params()
    if connection.vendor == "postgresql":
        inner += " OFFSET 0"
    keys = ", ".join(connection.ops.quote_name(c) for c in columns)
    sql = f"SELECT {keys}, SUM(t_amount), SUM(t_converted) FROM ({inner}) taken GROUP BY {keys}"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    # SQLite sums decimals as floats: back to cents.
    return [(*row[:-2], _cents(row[-2]), _cents(row[-1])) for row in rows]


def month_rest(plan: Plan, view: str) -> list[tuple]:
    """What a view's sums (programme, donor or State: those kept per period) hold of after the
    plan's date within its month (the periods after it are taken off by
    `read(..., less=later(...))`), from the counted contributions and the payments, per line: the
    programme view's (programme, fund, kind, currency), kind "settled" for what payments settled of
    a pledge (by the day they settle from); the donor view's (donor State, donor organization,
    fiscal year, kind); each followed by amount and converted amount."""
    end = month_end(plan.as_at)
    if end == plan.as_at:
        return []
    if view == "donor":
        return taken_off(plan, ["ds", "do", "fiscal", "kind"], until=end)
    found = [
        (target, 0 if target else fund, kind, currency, amount, converted)
        for target, fund, kind, currency, amount, converted in taken_off(
            plan, ["target", "fund", "kind", "currency"], until=end
        )
    ]
    settled = plan.settled_after.filter(counted__settles_from__lte=end)
    for row in (
        settled.annotate(pledged_to=target_expression("settles__"))
        .exclude(pledged_to=None)
        .order_by()
        .values("pledged_to", "currency")
        .annotate(t=Sum("amount"))
    ):
        found.append((row["pledged_to"], 0, "settled", row["currency"], row["t"], ZERO))
    return found


#: Keys of a description that are numbers: cast back from the text a JSON key gives.
_NUMBERED = {"target", "fund", "ds", "do", "fiscal"}


def _cents(value: Any) -> Decimal:
    return Decimal(str(value)).quantize(CENT) if value is not None else ZERO


def _counted_q(kept_audiences: list[Audience]) -> Q:
    """The counted contributions of these audiences (`audiences`), by what each was counted as."""
    condition = Q(pk__in=[])
    for level, owner, chain, chain_owner in kept_audiences:
        if (level, owner, chain, chain_owner) == ROLLED:
            condition |= Q(counted_as__conf__in=OPEN, chain__in=OPEN)
        else:
            condition |= Q(
                counted_as__conf=level, counted_as__owner=owner, chain=chain, chain_owner_id=chain_owner
            )
    return condition


def read(
    plan: Plan,
    by: str | list[str],
    group: Iterable[str],
    summed: Iterable[str],
    split: tuple[str, list[str]] | None = None,
    less: Iterable[str] = (),
    **filters: Any,
) -> list[tuple]:
    """The plan's kept sums of one view (`by`), added up per `group` columns: one tuple per line,
    the group's values then the sum of each `summed` column. `split` (a column and its values):
    each sum given apart for each value, in that order (the donor view's pledged and paid on one
    line: half the rows to make into Python objects). `filters`: a column equal to a value, or
    `column__in` a list. `by` a list: the views' sums added up (each a range of the index).
    `less`: views whose sums are taken off (a view as at a past date, less its later periods: one
    query, the lines added up by the database).

    Each audience is read as its own range of the sums' index, and the ranges put together with
    UNION ALL: as one condition (an OR of the audiences), PostgreSQL reads an editor's nine
    ranges through a bitmap of the table's pages and sorts them (91 ms for the donor view's 55,492
    sums, 39 ms this way, which PostgreSQL adds up in a hash)."""
    group, summed = list(group), list(summed)
    quote = connection.ops.quote_name
    views = [by] if isinstance(by, str) else list(by)
    less = list(less)
    if not views:
        return []
    views += less
    conditions = [f"{quote('by')} IN ({', '.join(['%s'] * len(views))})"]
    params: list[Any] = list(views)
    for name, value in sorted(filters.items()):
        column, _, lookup = name.partition("__")
        if lookup == "in":
            values = list(value)
            if not values:
                return []
            conditions.append(f"{quote(column)} IN ({', '.join(['%s'] * len(values))})")
            params += values
        else:
            conditions.append(f"{quote(column)} = %s")
            params.append(value)
    columns = ", ".join(quote(c) for c in dict.fromkeys([*group, *summed, *(split[:1] if split else ())]))
    signs: list[Any] = []
    if less:
        taken = f"{quote('by')} IN ({', '.join(['%s'] * len(less))})"
        negated = [f"CASE WHEN {taken} THEN -{quote(c)} ELSE {quote(c)} END AS {quote(c)}" for c in summed]
        columns = ", ".join(
            [*(quote(c) for c in group), *negated, *(quote(c) for c in (split[:1] if split else ()))]
        )
        signs = less * len(summed)
    where = " AND ".join(conditions)
    branches, branch_params = [], []
    for audience in plan.audiences if plan.audiences is not None else [None]:
        if audience is None:
            # Every sum once: the open audiences' sum and each one with something confidential.
            extra, values = (
                " AND (confidentiality IN (%s, %s) OR chain = %s)",
                (SIGNED_IN, CONFIDENTIAL, CONFIDENTIAL),
            )
        else:
            extra = " AND confidentiality = %s AND owner_id = %s AND chain = %s AND chain_owner_id = %s"
            values = audience
        branches.append(f"SELECT {columns} FROM {FundingSum._meta.db_table} WHERE {where}{extra}")
        branch_params += [*signs, *params, *values]
    keys = ", ".join(quote(c) for c in group)
    if split:
        sums_of = [c for c in summed for _ in split[1]]
        # Nothing of that value: a sum of 0 in the column's own scale ("0.00" for an amount).
        when = f"CASE WHEN {quote(split[0])} = %s THEN {{}} ELSE {{}} END"
        totals = ", ".join(f"SUM({when.format(quote(c), '0.00' if c in CENTS else '0')})" for c in sums_of)
        branch_params = [v for _ in summed for v in split[1]] + branch_params
    else:
        totals, sums_of = ", ".join(f"SUM({quote(c)})" for c in summed), summed
    sql = f"SELECT {keys}, {totals} FROM ({' UNION ALL '.join(branches)}) sums GROUP BY {keys}"
    with connection.cursor() as cursor:
        cursor.execute(sql, branch_params)
        rows = cursor.fetchall()
    if connection.vendor != "sqlite":
        return rows
    # SQLite sums decimals as floats (and may give back an integer): back to cents.
    decimal = {i for i, c in enumerate(sums_of, len(group)) if c in CENTS}

    def cents(i: int, value: Any) -> Any:
        return Decimal(str(value)).quantize(CENT) if i in decimal and value is not None else value

    return [tuple(cents(i, v) for i, v in enumerate(row)) for row in rows]
