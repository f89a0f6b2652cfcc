"""Exchange rates: kept by the secretariat with their source; figures use the rate of their date.

Every rate here is made for tests: coopmatrix ships none."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from coopmatrix.core.testing import login
from coopmatrix.funding.models import ExchangeRate

MADE = "made for tests"


def _post(client, **data):
    body = {"currency": "EUR", "date": "2004-03-01", "rate": "1.2345", "source": MADE, **data}
    return client.post("/api/v1/exchange-rates", body, content_type="application/json")


def test_the_secretariat_records_a_rate_and_records_it_again_as_a_change(client, cast, reference):
    login(client, cast.user("secretariat"))
    assert _post(client).status_code == 201
    assert _post(client, rate="1.25").status_code == 201
    (rate,) = ExchangeRate.objects.all()
    assert (rate.base, rate.rate, rate.date) == ("USD", Decimal("1.25"), dt.date(2004, 3, 1))
    assert rate.history.count() == 2
    listed = client.get("/api/v1/exchange-rates?currency=eur").json()["items"]
    assert [(r["currency"], r["rate"]) for r in listed] == [("EUR", "1.2500000000")]


def test_only_the_secretariat_keeps_rates(client, cast, reference):
    login(client, cast.user("editor_a"))
    assert _post(client).status_code == 403
    assert not ExchangeRate.objects.exists()


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("currency", "EUX", "not an ISO 4217 currency code"),
        ("currency", "USD", "a rate converts one currency into another"),
        ("rate", "0", "must be more than zero"),
        ("rate", "-1.2", "must be more than zero"),
        ("source", "", "kept with its source"),
    ],
)
def test_a_wrong_rate_is_refused_naming_the_field(client, cast, reference, field, value, reason):
    login(client, cast.user("secretariat"))
    response = _post(client, **{field: value})
    assert response.status_code == 422
    assert any(d["loc"][-1] == field and reason in d["msg"] for d in response.json()["detail"])
    assert not ExchangeRate.objects.exists()


def test_a_file_of_rates_is_imported_all_or_nothing(cast, reference, tmp_path, capsys):
    good = tmp_path / "rates.csv"
    good.write_text(
        f"currency,base,date,rate,source\nEUR,USD,2004-03-01,1.2345,{MADE}\nGBP,USD,2004-03-01,1.8,{MADE}\n"
    )
    call_command("import_exchange_rates", str(good), user="secretariat")
    assert ExchangeRate.objects.count() == 2
    call_command("import_exchange_rates", str(good), user="secretariat")
    assert ExchangeRate.objects.count() == 2 and ExchangeRate.history.count() == 2
    bad = tmp_path / "bad.csv"
    bad.write_text(
        f"currency,base,date,rate,source\nCHF,USD,2004-03-01,0.8,{MADE}\nXXQ,USD,2004-02-30,abc,{MADE}\n"
    )
    with pytest.raises(CommandError) as failure:
        call_command("import_exchange_rates", str(bad), user="secretariat")
    message = str(failure.value)
    assert "bad.csv, row 3, column 'currency': 'XXQ'" in message and "column 'date'" in message
    assert not ExchangeRate.objects.filter(currency="CHF").exists()
    with pytest.raises(CommandError, match="only the secretariat"):
        call_command("import_exchange_rates", str(good), user="editor_a")
