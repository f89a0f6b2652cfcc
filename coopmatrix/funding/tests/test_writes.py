"""Recording contributions: the page, the API and the template import share one path, refuse bad
input naming field (and row) and value, write nothing then, and a re-import changes nothing.

Every contribution here is made for tests."""

import io
from decimal import Decimal

import pytest
from openpyxl import Workbook

from coopmatrix.core.testing import login
from coopmatrix.funding import importers
from coopmatrix.funding.models import Contribution

MADE = "made for tests"
GOOD = {
    "donor": "state:Japan",
    "programme": "legal-regime-1",
    "kind": "payment",
    "earmarking": "earmarked",
    "amount": "150000",
    "currency": "USD",
    "date": "2004-05",
    "source": MADE,
}


def _post(client, data, **extra):
    return client.post("/api/v1/contributions", {**GOOD, **data, **extra}, content_type="application/json")


def test_an_editor_records_a_payment_owned_by_their_organization(client, cast, reference):
    login(client, cast.user("editor_a"))
    response = _post(client, {})
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["donor_state"], body["programme"], body["amount"], body["date"]) == (
        "JPN",
        "legal-regime-1",
        "150000.00",
        "2004-05",
    )
    record = Contribution.objects.get(pk=body["id"])
    assert record.owner == cast.org_a and record.made_by.isoformat() == "2004-05-31"
    assert record.history.first().history_user == cast.user("editor_a")


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("amount", "-5", "must be more than zero"),
        ("amount", "0", "must be more than zero"),
        ("amount", "lots", "'lots' is not a number"),
        ("amount", "12,5", "a decimal comma?"),
        ("amount", "NaN", "is not a number"),
        ("currency", "XYZ", "'XYZ' is not an ISO 4217 currency code"),
        ("donor", "state:Atlantis", "Atlantis"),
        ("donor", "Japan", "write state:<name or ISO code> or organization:<code>"),
        ("date", "2004-02-30", "not a real date"),
        ("kind", "gift", "must be one of pledge, payment"),
        ("programme", "nowhere", "no programme with code 'nowhere'"),
        ("settles", "999999", "no pledge with identifier or number '999999'"),
    ],
)
def test_bad_input_is_refused_naming_the_field_and_nothing_is_written(
    client, cast, reference, field, value, reason
):
    login(client, cast.user("secretariat"))
    before = Contribution.objects.count()
    response = _post(client, {field: value})
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert any(d["loc"][-1] == field and reason in d["msg"] for d in detail), detail
    assert Contribution.objects.count() == before


def test_a_programme_one_may_not_see_reads_as_an_unknown_one(client, cast, reference):
    from coopmatrix.matrix.models import Programme

    Programme.objects.create(
        code="mx-secret",
        title="MX secret",
        organization=cast.org_b,
        confidentiality="confidential",
        owner=cast.org_b,
    )
    login(client, cast.user("editor_a"))
    hidden = _post(client, {"programme": "mx-secret"}).json()["detail"]
    missing = _post(client, {"programme": "mx-nothing"}).json()["detail"]
    assert [d["msg"].replace("mx-secret", "X") for d in hidden] == [
        d["msg"].replace("mx-nothing", "X") for d in missing
    ]


def test_a_reader_may_not_record(client, cast, reference):
    login(client, cast.user("reader"))
    assert _post(client, {}).status_code == 403
    assert client.get("/funding/contributions/new/").status_code == 403


def test_a_payment_above_its_pledge_is_recorded_only_when_confirmed(client, cast, reference):
    login(client, cast.user("secretariat"))
    pledge = _post(client, {"kind": "pledge", "amount": "100000", "external_id": "MX-P1"}).json()
    assert _post(client, {"amount": "60000", "settles": "MX-P1"}).status_code == 201
    refused = _post(client, {"amount": "50000", "settles": str(pledge["id"])})
    assert refused.status_code == 422
    assert "would come to 110000" in refused.json()["detail"][0]["msg"]
    assert _post(client, {"amount": "50000", "settles": "MX-P1", "confirm": True}).status_code == 201
    # Another donor's pledge, or another currency, is not settled.
    other = _post(client, {"donor": "state:Norway", "amount": "1", "settles": "MX-P1"})
    assert "another donor's" in other.json()["detail"][0]["msg"]


def test_the_page_records_changes_and_deletes(client, cast, reference):
    login(client, cast.user("editor_a"))
    form = {**GOOD, "confidentiality": "public", "fund": "", "amount": "1 500,00"}
    refused = client.post("/funding/contributions/new/", form)
    assert refused.status_code == 422 and "a decimal comma?" in refused.content.decode()
    created = client.post("/funding/contributions/new/", {**form, "amount": "1,500.00"})
    assert created.status_code == 302
    record = Contribution.objects.get(source=MADE)
    assert record.amount == Decimal("1500.00")
    page = client.get(f"/funding/contributions/{record.pk}/change/")
    assert 'value="state:JPN"' in page.content.decode()
    client.post(
        f"/funding/contributions/{record.pk}/change/", {**form, "amount": "1600", "donor": "state:JPN"}
    )
    record.refresh_from_db()
    assert record.amount == Decimal("1600.00")
    login(client, cast.user("editor_b"))
    assert client.post(f"/funding/contributions/{record.pk}/delete/").status_code == 403
    login(client, cast.user("editor_a"))
    client.post(f"/funding/contributions/{record.pk}/delete/")
    assert not Contribution.objects.filter(pk=record.pk).exists()


# --- the template import -------------------------------------------------------------------------

HEADER = ",".join(importers.COLUMN_NAMES[:-1]) + "\n"  # every column but confidentiality


def _check(cast, text, role="secretariat", **options):
    return importers.check(cast.user(role), text.encode("utf-8"), "gifts.csv", **options)


def test_a_file_previews_then_imports_and_again_changes_nothing(cast, reference):
    text = HEADER + (
        "MX-1,state:Japan,,legal-regime-1,,pledge,earmarked,200000,USD,2004-04,2004,,,made for tests\n"
        "MX-2,state:JPN,,legal-regime-1,,payment,earmarked,150000,USD,2004-06-01,2004,MX-1,,made for tests\n"
        'MX-3,organization:unodc,cpcjf,,,payment,general,"1,000.50",USD,2004,,,,made for tests\n'
    )
    preview = _check(cast, text)
    assert preview.errors == [] and (preview.created, preview.updated) == (3, 0)
    assert Contribution.objects.filter(source=MADE).count() == 0  # a preview writes nothing
    importers.import_file(cast.user("secretariat"), text.encode(), "gifts.csv")
    payment = Contribution.objects.get(external_id="MX-2")
    assert payment.settles.external_id == "MX-1"  # a pledge on an earlier row of the same file
    assert Contribution.objects.get(external_id="MX-3").amount == Decimal("1000.50")
    again = _check(cast, text)
    assert (again.created, again.updated, again.unchanged, again.errors) == (0, 0, 3, [])


def test_every_bad_row_is_named_and_nothing_is_written(cast, reference):
    text = HEADER + (
        "MX-1,state:Japan,,legal-regime-1,,payment,earmarked,200000,USD,2004-04,,,,made for tests\n"
        "MX-2,state:Narnia,,legal-regime-1,,payment,earmarked,-3,EURO,2004-13,,,,made for tests\n"
        "MX-1,state:Japan,,legal-regime-1,,payment,earmarked,5,USD,2004,,,,made for tests\n"
    )
    preview = importers.import_file(cast.user("secretariat"), text.encode(), "gifts.csv")
    found = {(e.line, e.column) for e in preview.errors}
    assert {(3, "donor"), (3, "amount"), (3, "currency"), (3, "date"), (4, "external_id")} <= found
    messages = [str(e) for e in preview.errors]
    assert "gifts.csv, line 3, column 'currency': 'EURO': 'EURO' is not an ISO 4217 currency code" in messages
    assert Contribution.objects.filter(source=MADE).count() == 0


def test_a_file_with_decimal_commas_is_read_as_such_and_says_so(cast, reference):
    text = (
        HEADER + 'MX-9,state:France,cpcjf,,,payment,general,"247.578,50",EUR,2004-03-01,,,,made for tests\n'
    )
    preview = _check(cast, text)
    assert preview.errors == []
    assert preview.planned[0].fields["amount"] == Decimal("247578.50")
    assert any("decimal comma" in note for note in preview.notes)


def test_an_export_imports_back_unchanged(client, cast, reference):
    login(client, cast.user("secretariat"))
    text = b"".join(client.get("/funding/contributions/export.csv").streaming_content).decode("utf-8-sig")
    preview = _check(cast, text)
    assert preview.errors == [] and preview.unchanged == 8 and preview.created == 0


def test_an_xlsx_template_with_excel_numbers(cast, reference):
    book = Workbook()
    sheet = book.active
    sheet.title = "Contributions"
    sheet.append(HEADER.strip().split(","))
    sheet.append(
        [
            "MX-X",
            "state:Italy",
            "cpcjf",
            "",
            "",
            "payment",
            "general",
            1234.5,
            "USD",
            "2004-02-03",
            2004,
            "",
            "",
            MADE,
        ]
    )
    buffer = io.BytesIO()
    book.save(buffer)
    preview = importers.check(cast.user("secretariat"), buffer.getvalue(), "gifts.xlsx")
    assert preview.errors == []
    assert preview.planned[0].fields["amount"] == Decimal("1234.5")


def test_a_reader_may_not_import(cast, reference):
    preview = _check(cast, HEADER, role="reader")
    assert [e.reason for e in preview.errors] == ["your role may not import contributions"]
