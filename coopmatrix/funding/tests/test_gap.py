"""The funding gap: need against what was pledged and paid, per programme, donor and State.

The needs and Table 1 are the seed's; every other contribution here is made for tests."""

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from coopmatrix.core.testing import login
from coopmatrix.funding.models import Contribution
from coopmatrix.geo.models import State
from coopmatrix.matrix import actions
from coopmatrix.matrix.models import Programme

MADE = "made for tests"


def _rows(client, view="programmes", as_at="2026-01-01"):
    body = client.get(f"/api/v1/funding-gap?view={view}&as_at={as_at}").json()
    return {tuple(row[:2]) if view == "donors" else row[1] or row[0]: row for row in body["rows"]}


def _gift(kind="payment", amount="1000", state="JPN", date=dt.date(2004, 2, 1), **where):
    where.setdefault("programme", Programme.objects.get(code="legal-regime-1"))
    return Contribution.objects.create(
        donor_state=State.objects.get(code=state),
        kind=kind,
        earmarking="earmarked",
        amount=Decimal(amount),
        currency=where.pop("currency", "USD"),
        date=date,
        source=MADE,
        **where,
    )


def test_the_seed_needs_five_million_and_table1_paid_for_part(client, reference):
    rows = _rows(client)
    gpat = rows["gpat"]
    # The programme adds its two phases' needs (2.5 million each) to its own (none).
    assert gpat[3:] == ["5000000.00", "0.00", "2212098.00", "0.00", "2787902.00"]
    # Table 1's payments were earmarked to the programme, not to a phase: each phase still lacks all.
    assert rows["legal-regime-1"][3:] == ["2500000.00", "0.00", "0.00", "0.00", "2500000.00"]
    assert rows["legal-regime-2"][2] == "gpat"


def test_a_pledge_counts_until_payments_settle_it(client, reference):
    pledge = _gift("pledge", "600000", date=dt.date(2004, 1, 5))
    _gift("payment", "250000", date=dt.date(2004, 2, 5), settles=pledge)
    _gift("payment", "100000", date=dt.date(2004, 9, 5), settles=pledge)
    before = _rows(client, as_at="2004-06-30")["legal-regime-1"]
    assert before[3:] == ["2500000.00", "600000.00", "250000.00", "350000.00", "1900000.00"]
    after = _rows(client, as_at="2004-12-31")["legal-regime-1"]
    assert after[3:] == ["2500000.00", "600000.00", "350000.00", "250000.00", "1900000.00"]
    # Nothing pledged or paid before the pledge's date.
    assert _rows(client, as_at="2003-12-31")["legal-regime-1"][4:7] == ["0.00", "0.00", "0.00"]


def test_a_payment_above_the_need_leaves_nothing_missing(client, reference):
    _gift("payment", "3000000")
    assert _rows(client)["legal-regime-1"][-1] == "0.00"


def test_per_donor_and_fiscal_year(client, reference):
    _gift("pledge", "500", fiscal_year=2005)
    _gift("payment", "200", date=dt.date(2005, 3, 1))
    rows = _rows(client, "donors")
    assert rows[("Japan", 2005)][2:] == ["500.00", "200.00"]
    assert rows[("Austria", 2004)][2:] == ["0.00", "1025674.00"]


def test_per_state_a_gift_to_an_activity_counts_for_each_state_it_reaches(client, cast, reference):
    activity = actions.save_activity(
        cast.user("secretariat"),
        {
            "title": "Workshop made for tests",
            "status": "completed",
            "modality": "workshop",
            "recipient_states": ["KEN", "UGA"],
            "programme": "legal-regime-1",
            "providers": [{"organization": "unodc-tpb", "role": "implementing"}],
        },
    )
    _gift("payment", "800", activity=activity, programme=None)
    rows = _rows(client, "states")
    assert rows["KEN"][2:] == ["0.00", "800.00", 1] and rows["UGA"][2:] == ["0.00", "800.00", 1]
    assert rows["paid to programmes and funds, no State named"][3] == "2212098.00"
    # The activity's programme counts it too.
    assert _rows(client)["legal-regime-1"][5] == "800.00"


def test_what_a_user_may_not_see_is_not_counted(client, cast, reference):
    _gift("payment", "1000", confidentiality="confidential", owner=cast.org_b)
    assert _rows(client)["legal-regime-1"][5] == "0.00"
    login(client, cast.user("editor_b"))
    assert _rows(client)["legal-regime-1"][5] == "1000.00"


def test_a_missing_rate_withholds_the_figures_it_touches(client, reference):
    _gift("payment", "1000", currency="EUR")
    body = client.get("/api/v1/funding-gap?as_at=2026-01-01").json()
    rows = {row[1]: row for row in body["rows"]}
    assert rows["legal-regime-1"][5] is None and rows["legal-regime-1"][7] is None
    assert rows["legal-regime-2"][7] == "2500000.00"  # untouched figures are still given
    assert [m["currency"] for m in body["missing_rates"]] == ["EUR"]
    assert client.get("/funding/gap/?format=csv").status_code == 422


@pytest.mark.parametrize("view", ["programmes", "donors", "states"])
def test_csv_and_xlsx_hold_the_apis_rows(client, reference, view):
    api = client.get(f"/api/v1/funding-gap?view={view}&as_at=2026-01-01").json()
    text = client.get(f"/funding/gap/?view={view}&as_at=2026-01-01&format=csv").content.decode()
    lines = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert lines[0] == api["columns"]
    assert lines[1:] == [["" if v is None else str(v) for v in row] for row in api["rows"]]
    book = load_workbook(io.BytesIO(client.get(f"/funding/gap/?view={view}&format=xlsx").content))
    cover = {row[0]: row[1] for row in book["Cover"].iter_rows(values_only=True) if row and row[0]}
    assert cover["Exported by"] == "anonymous (public records)"
    assert len(list(book.worksheets[1].iter_rows())) == len(api["rows"]) + 1


def test_a_wrong_view_or_date_is_refused_naming_it(client, reference):
    assert client.get("/funding/gap/?view=everything").status_code == 400
    refused = client.get("/api/v1/funding-gap?view=everything")
    assert refused.status_code == 422 and refused.json()["detail"][0]["loc"][-1] == "view"
    assert client.get("/api/v1/funding-gap?as_at=2004-02-30").status_code == 422


def test_the_page_draws_need_against_funded(client, reference):
    page = client.get("/funding/gap/").content.decode()
    assert 'data-testid="chart-need"' in page
    assert 'data-bar="Global Programme against Terrorism/paid"' in page
    assert 'data-bar="Global Programme against Terrorism/missing"' in page


def test_a_programmes_paid_figure_opens_as_many_contributions_with_its_projects(client, reference):
    _gift("payment", "1000")
    assert _rows(client)["gpat"][5] == "2213098.00"
    page = client.get("/funding/contributions/?programme=gpat&kind=payment").content.decode()
    assert '<span data-testid="count">9</span>' in page


def test_a_gift_to_an_activity_of_no_programme_is_listed_apart(client, cast, reference):
    activity = actions.save_activity(
        cast.user("secretariat"),
        {
            "title": "Mission made for tests",
            "status": "completed",
            "modality": "advisory_mission",
            "recipient_states": ["KEN"],
            "providers": [{"organization": "unodc-tpb", "role": "implementing"}],
        },
    )
    _gift("payment", "700", activity=activity, programme=None)
    rows = _rows(client)
    assert rows["activities of no programme: payments not given to a programme"][5] == "700.00"
    assert "activities of no programme" in client.get("/funding/gap/").content.decode()


def test_a_long_gap_is_given_a_page_at_a_time_with_each_programme_whole(client, reference, monkeypatch):
    from coopmatrix.funding import views

    # Two programmes on show: the seed's (with its two phases, as projects) and one made here.
    gpat = Programme.objects.get(code="gpat")
    other = Programme.objects.create(
        code="test-programme", title="Zonal programme (made for tests)", organization=gpat.organization
    )
    _gift("payment", "500", programme=other)
    monkeypatch.setattr(views, "GAP_PAGE_SIZE", 1)
    first = client.get("/funding/gap/?as_at=2026-01-01").content.decode()
    shown = [
        code
        for code in ("gpat", "legal-regime-1", "legal-regime-2", "test-programme")
        if f'data-programme="{code}"' in first
    ]
    assert shown == ["gpat", "legal-regime-1", "legal-regime-2"]
    assert "Page 1 of 2" in first and 'rel="next" href="?as_at=2026-01-01&amp;page=2"' in first
    second = client.get("/funding/gap/?as_at=2026-01-01&page=2").content.decode()
    assert 'data-programme="test-programme"' in second and 'data-programme="gpat"' not in second
    assert 'rel="prev"' in second
    # The chart draws the page's programmes; the export, every one.
    assert 'data-bar="Global Programme against Terrorism/paid"' in first
    assert 'data-bar="Global Programme against Terrorism/paid"' not in second
    exported = client.get("/funding/gap/?as_at=2026-01-01&page=2&format=csv").content.decode()
    assert "gpat" in exported and "test-programme" in exported
