"""Funding's reference data: Table 1 and the needs of paragraphs 15–16 loaded with their source;
a wrong row is named and nothing is loaded."""

import shutil
from decimal import Decimal
from pathlib import Path

import pytest

from coopmatrix.core.importing import ImportFailed
from coopmatrix.core.reference import load_reference, reference_files
from coopmatrix.funding.models import Contribution, FundingNeed, PublishedContribution

APP_DIR = Path(__file__).resolve().parents[2]


def test_table1_is_eight_payments_to_the_fund_each_with_its_source(reference):
    gifts = Contribution.objects.select_related("donor_state", "fund", "programme")
    assert gifts.count() == 8
    assert {(g.fund.code, g.programme.code, g.kind, g.currency) for g in gifts} == {
        ("cpcjf", "gpat", "payment", "USD")
    }
    assert sum(g.amount for g in gifts) == Decimal(2_212_098)
    assert all("paragraph 17 and Table 1" in g.source for g in gifts)
    # The table gives no date: each is dated by the report, at the precision that says so.
    assert {g.date_display for g in gifts} == {"2004-03-17 (reporting period)"}
    published = PublishedContribution.objects.order_by("row")
    assert [p.label for p in published][-1] == "Total" and published.last().amount == 2_212_098


def test_the_needs_of_paragraphs_15_and_16(reference):
    needs = {n.programme.code: n for n in FundingNeed.objects.select_related("programme")}
    assert set(needs) == {"legal-regime-1", "legal-regime-2"}
    assert needs["legal-regime-1"].amount == needs["legal-regime-2"].amount == Decimal(2_500_000)
    assert "paragraphs 12 and 15" in needs["legal-regime-1"].source
    assert needs["legal-regime-1"].start_precision == "month"  # "started in January 2003"


def _copy_data(tmp_path: Path) -> Path:
    for name in reference_files():
        (match,) = APP_DIR.glob(f"*/data/{name}")
        shutil.copy(match, tmp_path / name)
    return tmp_path


@pytest.mark.parametrize(
    ("old", "new", "where"),
    [
        (",1025674,USD,", ",-1025674,USD,", "column 'amount': '-1025674': must be more than zero"),
        (",1025674,USD,", ",1025674,ATS,", "column 'currency': 'ATS': not an ISO 4217 currency code"),
        (
            ",1025674,USD,",
            ',"1.025.674,00",USD,',
            "column 'amount': '1.025.674,00': must be a number written with a point",
        ),
        ("state:Austria,cpcjf", "state:Austrai-Hungary,cpcjf", "column 'donor': 'state:Austrai-Hungary'"),
        ("period:2004-03-17", "2004-02-30", "column 'date': '2004-02-30'"),
        (",gpat,,payment,", ",gpat,,gift,", "column 'kind': 'gift': must be pledge or payment"),
    ],
)
def test_a_wrong_contribution_names_line_column_value_and_loads_nothing(reference, tmp_path, old, new, where):
    before = Contribution.history.count()
    data = _copy_data(tmp_path)
    path = data / "contributions.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    assert old in lines[1]
    lines[1] = lines[1].replace(old, new, 1)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(ImportFailed) as failure:
        load_reference(data)
    assert f"contributions.csv, line 2, {where}" in str(failure.value)
    assert Contribution.history.count() == before


def test_a_rerun_changes_nothing(reference):
    before = (
        Contribution.history.count() + PublishedContribution.history.count() + FundingNeed.history.count()
    )
    stats = load_reference()
    assert sum(stats.created.values()) == 0 and sum(stats.updated.values()) == 0
    after = Contribution.history.count() + PublishedContribution.history.count() + FundingNeed.history.count()
    assert after == before
