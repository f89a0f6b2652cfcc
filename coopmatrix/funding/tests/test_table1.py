"""Table 1 of the report of 17 March 2004, reproduced from the eight contributions loaded with
their source, and computed for any recipient and date from the records a user may see."""

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from openpyxl import load_workbook

from coopmatrix.core.testing import login
from coopmatrix.funding.models import Contribution, ExchangeRate, Fund
from coopmatrix.geo.models import State
from coopmatrix.matrix.models import Programme

#: Table 1 as the report prints it: the figures a reader checks against.
PUBLISHED = {
    "Austria": 1_025_674,
    "Italy": 469_366,
    "France": 247_578,
    "United States of America": 230_000,
    "Germany": 162_690,
    "Canada": 47_070,
    "Turkey": 25_000,
    "Netherlands": 4_720,
}
#: The names the States go by today, where the report's differ.
TODAY = {"Turkey": "Türkiye", "Netherlands": "Netherlands (Kingdom of the)"}
TOTAL = 2_212_098


def _expected_rows():
    return [(TODAY.get(name, name), Decimal(value)) for name, value in PUBLISHED.items()]


def _rows_of_csv(text):
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    return rows[:-1], rows[-1]


def test_table1_gives_each_donor_to_the_dollar_and_the_total_2212098(client, reference):
    body = client.get("/api/v1/table1").json()
    assert body["recipient"] == "fund:cpcjf"
    assert body["as_at"] == "2004-03-17"  # the published table's date, by default
    assert [(r["donor"], Decimal(r["amount"])) for r in body["rows"]] == _expected_rows()
    assert all(Decimal(r["difference"]) == 0 for r in body["rows"])
    assert Decimal(body["total"]) == TOTAL
    assert Decimal(body["published_total"]) == TOTAL
    assert Decimal(body["total_difference"]) == 0
    assert body["published_document"] == "E/CN.15/2004, Table 1"
    assert [source for source, _n in body["sources"]] == [
        "SG report E/CN.15/2004 of 17 March 2004, paragraph 17 and Table 1 (the table gives no date of "
        "its own: the contributions were made by the date of the report)"
    ]


def test_the_page_shows_the_records_beside_the_published_figures(client, reference):
    page = client.get("/funding/table1/").content.decode()
    assert 'data-donor="Austria"' in page
    assert "1,025,674.00" in page and "2,212,098.00" in page
    # The report's name for a State whose name has changed since is shown beside today's.
    assert "“Turkey” in the source" in page
    # The chart's numbers are written out for screen readers and print.
    assert 'data-testid="chart-donors"' in page and "1025674" in page


def test_csv_xlsx_pdf_and_the_command_give_the_same_figures(client, reference, tmp_path, capsys):
    text = client.get("/funding/table1/?format=csv").content.decode()
    rows, total = _rows_of_csv(text)
    assert [(r["donor"], Decimal(r["value (records)"])) for r in rows] == _expected_rows()
    assert Decimal(total["value (records)"]) == TOTAL and Decimal(total["published"]) == TOTAL

    call_command("table1", "--recipient", "fund:cpcjf", "--as-at", "2004-03-17")
    assert capsys.readouterr().out == text

    response = client.get("/funding/table1/?format=xlsx")
    book = load_workbook(io.BytesIO(response.content), read_only=True)
    cover = {row[0]: row[1] for row in book["Cover"].iter_rows(values_only=True) if row and row[0]}
    assert cover["As at"] == "2004-03-17" and cover["Exported by"] == "anonymous (public records)"
    lines = list(book["Table 1"].iter_rows(values_only=True))
    assert lines[-1][1:3] == ("Total", TOTAL)

    out = tmp_path / "table1.pdf"
    call_command("table1", "--recipient", "fund:cpcjf", "--as-at", "2004-03-17", "--format", "pdf", "-o", out)
    from pypdf import PdfReader

    pdf = "\n".join(page.extract_text() for page in PdfReader(out).pages)
    assert "2,212,098.00" in pdf and "Austria" in pdf


def test_before_the_report_nothing_is_certainly_made_yet(client, reference):
    # The table gives no date of its own: each contribution counts from the report's date.
    body = client.get("/api/v1/table1?as_at=2004-03-16").json()
    assert body["rows"] == [] and Decimal(body["total"]) == 0
    assert Decimal(body["total_difference"]) == -TOTAL


def test_a_programme_counts_what_its_projects_received(client, cast, reference):
    project = Programme.objects.get(code="legal-regime-1")
    Contribution.objects.create(
        donor_state=State.objects.get(code="JPN"),
        programme=project,
        kind="payment",
        earmarking="earmarked",
        amount=Decimal("1000.50"),
        currency="USD",
        date=dt.date(2004, 2, 1),
        source="made for tests",
    )
    body = client.get("/api/v1/table1?recipient=programme:gpat&as_at=2004-03-17").json()
    assert Decimal(body["total"]) == TOTAL + Decimal("1000.50")
    assert body["published_total"] is None  # Table 1 is the fund's, not the programme's
    body = client.get("/api/v1/table1?recipient=programme:legal-regime-1&as_at=2004-03-17").json()
    assert [(r["donor"], r["amount"]) for r in body["rows"]] == [("Japan", "1000.50")]


def test_a_year_counts_from_its_last_day(client, reference):
    fund = Fund.objects.get(code="cpcjf")
    Contribution.objects.create(
        donor_state=State.objects.get(code="NOR"),
        fund=fund,
        kind="payment",
        earmarking="general",
        amount=Decimal(500),
        currency="USD",
        date=dt.date(2004, 1, 1),
        date_precision="year",
        source="made for tests",
    )
    donors = lambda as_at: [r["donor"] for r in client.get(f"/api/v1/table1?as_at={as_at}").json()["rows"]]  # noqa: E731
    assert "Norway" not in donors("2004-06-30")
    assert "Norway" in donors("2004-12-31")


def test_pledges_are_counted_apart_from_payments(client, reference):
    fund = Fund.objects.get(code="cpcjf")
    Contribution.objects.create(
        donor_state=State.objects.get(code="AUT"),
        fund=fund,
        kind="pledge",
        earmarking="general",
        amount=Decimal(300000),
        currency="USD",
        date=dt.date(2004, 1, 10),
        source="made for tests",
    )
    pledges = client.get("/api/v1/table1?kind=pledge").json()
    assert [(r["donor"], r["amount"]) for r in pledges["rows"]] == [("Austria", "300000.00")]
    assert pledges["published_total"] is None  # Table 1 published payments made
    assert Decimal(client.get("/api/v1/table1").json()["total"]) == TOTAL


def _euro_gift(amount="1000.00", date=dt.date(2004, 3, 1)):
    return Contribution.objects.create(
        donor_state=State.objects.get(code="BEL"),
        fund=Fund.objects.get(code="cpcjf"),
        kind="payment",
        earmarking="general",
        amount=Decimal(amount),
        currency="EUR",
        date=date,
        source="made for tests",
    )


def test_a_missing_rate_is_named_and_no_total_is_given(client, reference):
    _euro_gift()
    body = client.get("/api/v1/table1").json()
    assert body["total"] is None
    assert [(m["currency"], m["base"], m["date"]) for m in body["missing_rates"]] == [
        ("EUR", "USD", "2004-03-01")
    ]
    page = client.get("/funding/table1/")
    assert "No exchange rate from EUR to USD on 2004-03-01" in page.content.decode()
    # An export without its total would mislead: it is refused, saying why.
    refused = client.get("/funding/table1/?format=csv")
    assert refused.status_code == 422 and b"EUR" in refused.content
    with pytest.raises(CommandError, match="EUR to USD on 2004-03-01"):
        call_command("table1", "--recipient", "fund:cpcjf", "--as-at", "2004-03-17")


def test_an_amount_is_converted_at_the_rate_of_its_date(client, reference):
    _euro_gift("1000.00", dt.date(2004, 3, 1))
    # Rates made for tests: only the one in force on the gift's date may be used.
    for date, rate in (
        (dt.date(2004, 2, 1), "1.2000"),
        (dt.date(2004, 3, 1), "1.2345"),
        (dt.date(2004, 4, 1), "2"),
    ):
        ExchangeRate.objects.create(
            currency="EUR", base="USD", date=date, rate=Decimal(rate), source="made for tests"
        )
    body = client.get("/api/v1/table1").json()
    belgium = next(r for r in body["rows"] if r["donor"] == "Belgium")
    assert Decimal(belgium["amount"]) == Decimal("1234.50")
    assert Decimal(body["total"]) == TOTAL + Decimal("1234.50")


def test_a_rate_too_old_for_the_date_is_a_missing_rate(client, reference, settings):
    settings.COOPMATRIX_RATE_VALID_DAYS = 31
    _euro_gift("1000.00", dt.date(2004, 3, 15))
    ExchangeRate.objects.create(
        currency="EUR", base="USD", date=dt.date(2004, 1, 1), rate=Decimal("1.25"), source="made for tests"
    )
    assert client.get("/api/v1/table1").json()["missing_rates"][0]["date"] == "2004-03-15"


def test_a_hidden_contribution_is_not_counted_for_those_who_may_not_see_it(client, cast, reference):
    gift = _euro_gift()
    gift.currency, gift.confidentiality, gift.owner = "USD", "confidential", cast.org_b
    gift.save()
    total = lambda: Decimal(client.get("/api/v1/table1").json()["total"])  # noqa: E731
    assert total() == TOTAL
    login(client, cast.user("editor_b"))
    assert total() == TOTAL + 1000


@pytest.mark.parametrize(
    "query",
    ["recipient=fund:nowhere", "recipient=cpcjf", "recipient=activity:abc", "as_at=2004-13-01", "kind=gift"],
)
def test_a_wrong_parameter_is_refused_naming_it(client, reference, query):
    page = client.get(f"/funding/table1/?{query}")
    assert page.status_code == 400
    api = client.get(f"/api/v1/table1?{query}")
    assert api.status_code == 422
    assert api.json()["detail"][0]["loc"][-1] == query.split("=")[0]


def test_a_hidden_fund_reads_as_a_missing_one(client, cast, reference):
    Fund.objects.create(
        code="mx-secret",
        name="MX secret fund",
        managed_by=cast.org_b,
        confidentiality="confidential",
        owner=cast.org_b,
    )
    hidden = client.get("/api/v1/table1?recipient=fund:mx-secret").json()
    missing = client.get("/api/v1/table1?recipient=fund:mx-nothing").json()
    assert hidden["detail"][0]["msg"].replace("mx-secret", "X") == missing["detail"][0]["msg"].replace(
        "mx-nothing", "X"
    )
    login(client, cast.user("editor_b"))
    assert client.get("/api/v1/table1?recipient=fund:mx-secret").status_code == 200
