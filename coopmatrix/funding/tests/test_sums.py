"""The funding views read kept sums (sums.py) where they can: for every role and date, they give
exactly what the records give, whichever way a contribution is seen (as public, as its owner's,
through a share, as a donor State's own, through a confidential activity, under several owners),
and they follow every change (the suite checks `sums.drift()` after each test).

Every contribution here is made for tests; the needs and Table 1 are the seed's."""

import datetime as dt
from decimal import Decimal

import pytest

from coopmatrix.core.testing import at_once, share
from coopmatrix.directory.models import Organization
from coopmatrix.funding import gap, sums
from coopmatrix.funding import table1 as table1_module
from coopmatrix.funding.models import Contribution, CountedContribution, ExchangeRate, Fund
from coopmatrix.funding.table1 import recipient, table1
from coopmatrix.geo.models import State
from coopmatrix.matrix import actions
from coopmatrix.matrix.models import Programme

MADE = "made for tests"
DATES = [
    dt.date(2003, 12, 31),
    dt.date(2004, 3, 17),
    dt.date(2004, 6, 30),
    dt.date(2004, 12, 31),
    dt.date(2026, 1, 1),
    # Within a month, before a payment of that month which settles a pledge: the programme view
    # takes off the rest of the month from the records, the months and years after from the sums.
    dt.date(2004, 2, 3),
    dt.date(2004, 9, 1),
]


def _gift(kind="payment", amount="1000", date=dt.date(2004, 2, 1), **fields):
    if "donor_organization" not in fields:
        fields.setdefault("donor_state", State.objects.get(code="JPN"))
    if "fund" not in fields and "activity" not in fields:
        fields.setdefault("programme", Programme.objects.get(code="legal-regime-1"))
    return Contribution.objects.create(
        kind=kind,
        earmarking="earmarked" if fields.get("programme") or fields.get("activity") else "general",
        amount=Decimal(amount),
        currency=fields.pop("currency", "USD"),
        date=date,
        source=fields.pop("source", MADE),
        **fields,
    )


@pytest.fixture
def many_ways(cast, reference):
    """Contributions seen in every way the visibility rule allows."""
    secretariat = cast.user("secretariat")
    ExchangeRate.objects.create(
        currency="EUR", base="USD", date=dt.date(2004, 1, 1), rate="1.25", source=MADE
    )
    pledge = _gift("pledge", "600000", dt.date(2004, 1, 5))
    _gift("payment", "250000", dt.date(2004, 2, 5), settles=pledge)
    _gift("payment", "100000", dt.date(2004, 9, 5), settles=pledge)
    _gift(amount="1000", confidentiality="confidential", owner=cast.org_b)
    _gift(amount="2000", confidentiality="confidential", owner=cast.org_b, donor_state=cast.state_x)
    shared = _gift(amount="3000", confidentiality="confidential", owner=cast.org_a)
    share(shared, organization=cast.org_b)
    activity = actions.save_activity(
        secretariat,
        {
            "title": "Workshop made for tests",
            "status": "completed",
            "modality": "workshop",
            "recipient_states": ["KEN", "UGA"],
            "programme": "legal-regime-1",
            "providers": [{"organization": "unodc-tpb", "role": "implementing"}],
            "confidentiality": "confidential",
            "owner": cast.org_a.code,
        },
    )
    assert activity.confidentiality == "confidential" and activity.owner == cast.org_a
    _gift(amount="4000", activity=activity)
    share(activity, organization=cast.org_b)
    overpaid = _gift("pledge", "100", dt.date(2004, 3, 1))
    _gift("payment", "80", dt.date(2004, 3, 2), settles=overpaid)
    _gift("payment", "50", dt.date(2004, 4, 2), settles=overpaid)
    _gift(amount="1000", currency="EUR", date=dt.date(2004, 1, 10))
    _gift(
        amount="500",
        confidentiality="restricted",
        fund=Fund.objects.get(code="cpcjf"),
        donor_organization=cast.org_a,
    )
    _gift("pledge", "7000", dt.date(2004, 1, 1), date_precision="year")
    hidden_donor = Organization.objects.create(
        code="test-org-c",
        name="Organization C (made for tests)",
        kind="regional",
        confidentiality="confidential",
        owner=cast.org_b,
    )
    _gift(amount="9000", activity=activity, donor_organization=hidden_donor)
    # No rate for their day: left to the records, each time, and the rate named missing; a pledge
    # without one takes the payment settling it along (summed together or not at all).
    gpat = Programme.objects.get(code="gpat")
    _gift(amount="700", currency="GBP", date=dt.date(2004, 5, 1), programme=gpat)
    unrated = _gift("pledge", "2000", dt.date(2003, 12, 20), currency="EUR", programme=gpat)
    _gift("payment", "500", dt.date(2004, 2, 1), currency="EUR", settles=unrated, programme=gpat)
    return activity


def _missing(view):
    return sorted({(m.currency, m.base, m.date) for m in view.missing_rates})


def _figures(user):
    found = {}
    for as_at in DATES:
        programmes = gap.by_programme(user, as_at)
        found[("programmes", as_at)] = (
            [(r.programme.code, r.need, r.pledged, r.paid, r.unpaid, r.missing) for r in programmes.rows],
            [(str(f), k, a) for f, k, a in programmes.unattributed],
            _missing(programmes),
        )
        donors = gap.by_donor_and_year(user, as_at)
        found[("donors", as_at)] = (
            [(str(r.donor), r.year, r.pledged, r.paid) for r in donors.rows],
            _missing(donors),
        )
        states = gap.by_recipient_state(user, as_at)
        found[("states", as_at)] = (
            [(r.state.code, r.pledged, r.paid, r.contributions) for r in states.rows],
            states.not_attributable,
            _missing(states),
        )
        for target in ("fund:cpcjf", "programme:gpat", "programme:legal-regime-1"):
            for kind in ("payment", "pledge"):
                table = table1(
                    Contribution.objects.visible_to(user), recipient(target, user), as_at, kind, user=user
                )
                found[(target, kind, as_at)] = (
                    [(r.label, r.amount, r.contributions, sorted(r.currencies)) for r in table.rows],
                    table.sources,
                    table.dated_by_period,
                    table.total,
                )
    return found


ROLES = ["anonymous", "reader", "editor_a", "editor_b", "focal_point", "secretariat"]


@pytest.mark.parametrize("role", ROLES)
def test_kept_sums_give_what_the_records_give(role, cast, many_ways, monkeypatch):
    user = cast.user(role)
    assert all(sums.plan(user, as_at) is not None for as_at in DATES[1:])
    kept = _figures(user)
    # Many made after the date, but fewer than half of all: still the sums less what came after.
    monkeypatch.setattr(sums, "AFTER_LIMIT", 0)
    later = CountedContribution.objects.filter(made_by__gt=DATES[2]).count()
    assert 0 < later < CountedContribution.objects.count() / 2 and sums.plan(user, DATES[2]) is not None
    assert kept == _figures(user)
    # More contributions "made after the date" than a view would take off one by one: the
    # programme view takes off its sums of the periods after the date, the others read the records.
    monkeypatch.setattr(sums, "AFTER_LIMIT", -1)
    monkeypatch.setattr(sums, "AFTER_SHARE", 0)
    assert all(sums.plan(user, as_at).far for as_at in DATES)
    assert kept == _figures(user)
    # From the records alone, every view.
    monkeypatch.setattr(gap, "plan", lambda user, as_at: None)
    monkeypatch.setattr(table1_module, "plan", lambda user, as_at: None)
    assert kept == _figures(user)


def test_each_way_of_seeing_is_counted_once(cast, many_ways):
    def paid(role):
        row = next(
            r
            for r in gap.by_programme(cast.user(role), dt.date(2026, 1, 1)).rows
            if r.programme.code == "legal-regime-1"
        )
        return row.paid

    public = Decimal("350000") + Decimal("130") + Decimal("1250")
    assert paid("anonymous") == public
    # Editor A: its own confidential gift, its confidential activity's gift.
    assert paid("editor_a") == public + 3000 + 4000
    # Editor B: its own two, the one shared with it, the activity shared with it, and the gift of
    # the organization it keeps confidential to the activity shared with it.
    assert paid("editor_b") == public + 1000 + 2000 + 3000 + 4000 + 9000
    # Testland X's focal point: the gift Testland X made, confidential as it is.
    assert paid("focal_point") == public + 2000
    assert paid("secretariat") == public + 1000 + 2000 + 3000 + 4000 + 9000


def test_what_cannot_be_a_difference_of_sums_is_read_from_the_records(cast, many_ways):
    not_kept = Contribution.objects.filter(counted__kept=False)
    # The pledge paid beyond its amount with its payments; the gift hanging on two owners' records;
    # the gift and the pledge with no rate for their day, and the payment settling that pledge.
    assert sorted(not_kept.values_list("amount", flat=True)) == [
        Decimal("50"),
        Decimal("80"),
        Decimal("100"),
        Decimal("500"),
        Decimal("700"),
        Decimal("2000"),
        Decimal("9000"),
    ]
    assert CountedContribution.objects.count() == Contribution.objects.count()


def test_sums_follow_a_change_of_level_of_what_a_gift_hangs_on(cast, many_ways):
    activity = many_ways
    before = gap.by_recipient_state(None, dt.date(2026, 1, 1))
    assert "KEN" not in {r.state.code for r in before.rows}
    activity.confidentiality = "public"
    activity.save()
    after = {r.state.code: r for r in gap.by_recipient_state(None, dt.date(2026, 1, 1)).rows}
    assert after["KEN"].paid == Decimal("4000") and after["KEN"].contributions == 1
    assert sums.drift() == {}


def test_a_rate_recorded_later_converts_what_was_waiting_for_it(cast, reference):
    gift = _gift(amount="1000", currency="GBP", date=dt.date(2004, 2, 10))
    # A rate is missing: the gift is left to the records (named, its figure withheld), the rest summed.
    assert not CountedContribution.objects.get(contribution=gift).kept
    found = sums.plan(None, dt.date(2026, 1, 1))
    assert found is not None and found.live_ids == [gift.pk]
    assert [m.currency for m in gap.by_programme(None, dt.date(2026, 1, 1)).missing_rates] == ["GBP"]
    ExchangeRate.objects.create(currency="GBP", base="USD", date=dt.date(2004, 2, 1), rate="1.5", source=MADE)
    assert CountedContribution.objects.get(contribution=gift).kept
    assert sums.plan(None, dt.date(2026, 1, 1)).live_ids == []
    row = next(
        r for r in gap.by_programme(None, dt.date(2026, 1, 1)).rows if r.programme.code == "legal-regime-1"
    )
    assert row.paid == Decimal("1500.00")


def test_rebuild_gives_the_same_sums(cast, many_ways):
    from coopmatrix.funding.models import FundingSum

    before = sorted(FundingSum.objects.exclude(n=0).values_list(*sums.KEY_FIELDS, *sums.VALUE_FIELDS))
    assert sums.rebuild() == Contribution.objects.count()
    assert sorted(FundingSum.objects.exclude(n=0).values_list(*sums.KEY_FIELDS, *sums.VALUE_FIELDS)) == before


def test_the_migration_adds_the_signed_in_users_sums_as_they_are_kept(cast, many_ways):
    """Sums kept before the open audiences had their own sum get it from the migration, equal to
    what the sums keep for it now."""
    import importlib

    from django.db import connection

    from coopmatrix.funding.models import FundingSum

    migration = importlib.import_module("coopmatrix.funding.migrations.0004_sums_for_every_signed_in_user")
    rows = FundingSum.objects.values_list(*sums.KEY_FIELDS, *sums.VALUE_FIELDS)
    kept = sorted(rows)
    signed_in = FundingSum.objects.filter(confidentiality=sums.SIGNED_IN)
    assert signed_in.filter(by="donor").exists()
    signed_in.delete()
    assert sums.drift()

    class Editor:
        def execute(self, sql):
            with connection.cursor() as cursor:
                cursor.execute(sql)

    migration.add(None, Editor())
    assert sorted(rows) == kept
    assert sums.drift() == {}


def test_the_migration_adds_the_sums_of_each_period_as_they_are_kept(cast, many_ways):
    """Sums kept before the programme, donor and State views kept them per year and month get them
    from the migration, from what each contribution was last counted as: equal to what the sums keep."""
    import importlib

    from django.apps import apps
    from django.db.models import Q

    from coopmatrix.funding.models import FundingSum

    migration = importlib.import_module("coopmatrix.funding.migrations.0006_sums_per_period")
    rows = FundingSum.objects.values_list(*sums.KEY_FIELDS, *sums.VALUE_FIELDS)
    kept = sorted(rows)
    periods = FundingSum.objects.filter(
        Q(by__startswith="programme ") | Q(by__startswith="donor ") | Q(by__startswith="state ")
    )
    # Years and months, settled payments among them, for the public and for signed-in users.
    kept_by = set(periods.values_list("by", flat=True))
    assert {"programme y2004", "programme m2004-09", "donor y2004", "donor m2004-02"} <= kept_by
    # Per recipient State, and for what went to no activity.
    assert periods.filter(by="state m2004-02").exclude(d1=0).exists()
    assert periods.filter(by="state m2004-01", d1=0).exists()
    assert periods.filter(kind="settled", confidentiality=sums.SIGNED_IN).exists()
    periods.delete()
    assert sums.drift()
    migration.add(apps, None)
    assert sorted(rows) == kept
    assert sums.drift() == {}


def test_sums_in_another_reporting_currency_are_not_read(cast, many_ways, settings):
    assert sums.plan(None, dt.date(2026, 1, 1)) is not None
    settings.COOPMATRIX_REPORTING_CURRENCY = "EUR"
    # Summed in US dollars: the figures come from the records until the sums are made again.
    assert sums.plan(None, dt.date(2026, 1, 1)) is None
    sums.rebuild()
    # No rate into euros: only gifts in euros summed, the others read from the records and the
    # rate named.
    summed = Contribution.objects.filter(counted__kept=True)
    assert set(summed.values_list("currency", flat=True)) == {"EUR"}
    assert {m.currency for m in gap.by_programme(None, dt.date(2026, 1, 1)).missing_rates} == {"USD", "GBP"}
    settings.COOPMATRIX_REPORTING_CURRENCY = "USD"
    sums.rebuild()


@pytest.mark.django_db(transaction=True)
def test_what_an_editor_sees_otherwise_is_kept_until_the_next_write(reference, cast):
    """The contributions a user sees otherwise than as an owner are kept between requests (finding
    them takes a score of queries) and forgotten at the first committed write."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    editor = cast.user("editor_b")
    as_at = dt.date(2026, 1, 1)
    gift = _gift(amount="3000", confidentiality="confidential", owner=cast.org_a)

    def paid():
        with CaptureQueriesContext(connection) as queries:
            rows = gap.by_programme(editor, as_at).rows
        return next(r.paid for r in rows if r.programme.code == "legal-regime-1"), len(queries)

    before, first = paid()
    again, second = paid()
    assert again == before and second < first
    share(gift, organization=cast.org_b)
    after, _ = paid()
    assert after == before + Decimal("3000")


def test_gifts_to_a_programme_and_a_fund_shared_with_an_editor_are_counted_for_them(cast, reference):
    """A public gift hangs on a confidential programme, another on a confidential fund, both
    organization A's and shared with B: B's figures hold both, as its records do, and A's
    shares of one kind of record do not open the other kind."""
    unodc = Organization.objects.get(code="unodc-tpb")
    project = Programme.objects.create(
        code="test-shared-project",
        title="Project made for tests",
        organization=unodc,
        confidentiality="confidential",
        owner=cast.org_a,
    )
    fund = Fund.objects.create(
        code="test-shared-fund",
        name="Fund made for tests",
        managed_by=unodc,
        confidentiality="confidential",
        owner=cast.org_a,
    )
    _gift(amount="700", programme=project)
    _gift(amount="900", fund=fund, donor_organization=cast.org_a)
    as_at = dt.date(2026, 1, 1)

    def seen(role):
        user = cast.user(role)
        programmes = gap.by_programme(user, as_at)
        paid = {r.programme.code: r.paid for r in programmes.rows}.get("test-shared-project")
        to_fund = {(str(f), kind): a for f, kind, a in programmes.unattributed}.get((str(fund), "payment"))
        return paid, to_fund

    assert seen("editor_b") == (None, None)
    share(project, organization=cast.org_b)
    assert seen("editor_b") == (Decimal("700"), None)
    share(fund, organization=cast.org_b)
    assert seen("editor_b") == (Decimal("700"), Decimal("900"))
    assert seen("editor_a") == (Decimal("700"), Decimal("900"))
    assert seen("anonymous") == (None, None)
    # The kept sums and the records agree, for those the shares concern and for the public.
    for role in ("anonymous", "editor_a", "editor_b"):
        kept = _figures(cast.user(role))
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(sums, "AFTER_LIMIT", -1)
            patch.setattr(sums, "AFTER_SHARE", 0)
            assert kept == _figures(cast.user(role)), role


def test_sums_kept_with_a_gift_without_a_rate_are_counted_again_after_a_migration(cast, reference):
    """An earlier version summed a contribution with no rate for its day (its converted figure
    left out), and while such a sum was kept every view read every contribution from the records.
    After a migration it is counted again as this version counts it: left to the records."""
    from django.core.management.sql import emit_post_migrate_signal

    gift = _gift(amount="1000", currency="GBP", date=dt.date(2004, 2, 10))
    counted = CountedContribution.objects.get(contribution=gift)
    earlier = {**counted.counted_as, "kept": True}
    sums._add(sums.facts(earlier))
    CountedContribution.objects.filter(pk=counted.pk).update(kept=True, counted_as=earlier)
    assert sums.plan(None, dt.date(2026, 1, 1)) is None  # every figure from the records
    emit_post_migrate_signal(verbosity=0, interactive=False, db="default")
    assert not CountedContribution.objects.get(contribution=gift).kept
    assert sums.plan(None, dt.date(2026, 1, 1)) is not None
    assert [m.currency for m in gap.by_programme(None, dt.date(2026, 1, 1)).missing_rates] == ["GBP"]


def test_payments_of_one_month_settling_one_pledge_are_summed_together(cast, reference):
    """Contributions that add to the same sums are added together before their sums are found
    (`sums._summed`): two payments of one month settling one pledge, counted in one refresh, add
    both their amounts and two to the count of what settles it."""
    from coopmatrix.funding.models import FundingSum

    programme = Programme.objects.get(code="legal-regime-1")
    with sums.batch():
        pledge = _gift("pledge", "900", dt.date(2004, 5, 3))
        _gift("payment", "200", dt.date(2004, 5, 10), settles=pledge)
        _gift("payment", "300", dt.date(2004, 5, 20), settles=pledge)
    assert not sums.drift()
    settled = FundingSum.objects.get(
        by="programme", d1=programme.pk, kind="settled", currency="USD", confidentiality="public"
    )
    assert (settled.amount, settled.n) == (Decimal("500.00"), 2)


@pytest.mark.django_db(transaction=True)
def test_two_changes_of_a_contribution_at_once_keep_the_sums(reference):
    """Two users change one contribution at the same moment: the second's refresh waits on the
    first's lock on what the contribution was counted as, then reads what the first wrote there
    (a row deleted and made again was gone for it: it summed the contribution twice, and its own
    row collided with the first's)."""
    gift = _gift(amount="1000")
    assert CountedContribution.objects.filter(contribution=gift, kept=True).exists()

    def first():
        Contribution.objects.filter(pk=gift.pk).update(amount=Decimal("1500"))
        sums.refresh([gift.pk])

    at_once(first, lambda: sums.refresh([gift.pk]))
    assert sums.drift() == {}
    assert CountedContribution.objects.get(contribution=gift).counted_as["amount"] == "1500.00"
