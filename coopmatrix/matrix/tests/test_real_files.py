"""Real files are read right or refused, never misread in silence: a European Excel CSV
(Windows-1252, semicolons, decimal commas), date cells formatted as months, names typed with a
slip. What was read how is shown in the preview; what cannot be read for sure is refused naming
row, column, value and reason."""

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from openpyxl import Workbook

from coopmatrix.core.spreadsheets import FileRefused, amount_text
from coopmatrix.matrix import importers
from coopmatrix.matrix.models import Activity

COLUMNS = [
    "external_id",
    "title",
    "providers",
    "recipient_states",
    "modality",
    "status",
    "planned_start",
    "budget",
    "currency",
]


def _row(n, budget="", state="Benin", start="2005-03"):
    return [
        f"XM-REAL-{n}",
        f"Workshop {n} (made for tests)",
        "test-org-a:implementing",
        state,
        "workshop",
        "planned",
        start,
        budget,
        "EUR" if budget else "",
    ]


def _european_csv(*rows):
    """What Excel saves in France or Germany: semicolons, Windows-1252, decimal commas."""
    lines = [";".join(COLUMNS)] + [";".join(r) for r in rows]
    return ("\r\n".join(lines) + "\r\n").encode("cp1252")


@pytest.mark.parametrize(
    ("text", "mark", "read"),
    [
        ("1.234,56", "comma", "1234.56"),
        ("12,5", "comma", "12.5"),
        ("1 234,56", "comma", "1234.56"),
        ("1,234.56", "point", "1234.56"),
        ("12.5", "point", "12.5"),
        ("12,5", "point", None),
        ("1.234,56", "point", None),
        ("1,234.56", "comma", None),
    ],
)
def test_an_amount_is_read_with_its_decimal_mark_or_not_at_all(text, mark, read):
    assert amount_text(text, mark) == read


def test_a_european_excel_csv_is_read_with_its_decimal_comma_and_accents(cast, reference):
    content = _european_csv(_row(1, "1.234,56", "Côte d'Ivoire"), _row(2, "12,5"))
    preview = importers.check(cast.user("editor_a"), content, "europe.csv")
    assert preview.ok, preview.errors
    notes = " | ".join(preview.notes)
    assert "read as Windows-1252" in notes and "separated by semicolons" in notes
    assert "amounts read with a decimal comma (budget)" in notes
    importers.write(preview)
    budgets = dict(
        Activity.objects.filter(external_id__startswith="XM-REAL").values_list("external_id", "budget")
    )
    assert budgets == {"XM-REAL-1": Decimal("1234.56"), "XM-REAL-2": Decimal("12.5")}
    assert Activity.objects.get(external_id="XM-REAL-1").recipient_states.get().code == "CIV"


def test_a_file_mixing_decimal_marks_is_refused_naming_both_rows(cast, reference):
    content = _european_csv(_row(1, "1.234,56"), _row(2, "1,234.5"))
    with pytest.raises(FileRefused) as refused:
        list(importers.read_rows(content, "mixed.csv"))
    assert "row 2" in str(refused.value) and "row 3" in str(refused.value)
    preview = importers.check(cast.user("editor_a"), content, "mixed.csv")
    assert not preview.ok and "mixes decimal marks" in str(preview.errors[0])


def test_a_declared_decimal_point_refuses_a_decimal_comma_naming_the_cell(cast, reference):
    preview = importers.check(
        cast.user("editor_a"), _european_csv(_row(1, "12,5")), "x.csv", decimal_mark="point"
    )
    assert not preview.ok
    error = preview.errors[0]
    assert (error.line, error.column, error.value) == (2, "budget", "12,5")
    assert "decimal comma" in error.reason
    assert not Activity.objects.filter(external_id="XM-REAL-1").exists()


def test_the_api_refuses_a_decimal_comma_instead_of_reading_125(cast, client, reference):
    client.force_login(cast.user("editor_a"))
    payload = {
        "title": "Comma (made for tests)",
        "providers": [{"organization": "test-org-a", "role": "implementing"}],
        "modality": "workshop",
        "status": "planned",
        "budget": "12,5",
        "currency": "EUR",
    }
    response = client.post("/api/v1/activities", payload, content_type="application/json")
    assert response.status_code == 422
    assert not Activity.objects.filter(title="Comma (made for tests)").exists()


def test_a_month_that_excel_made_a_date_cell_stays_a_month(cast, reference):
    book = Workbook()
    sheet = book.active
    sheet.title = "Activities"
    sheet.append(COLUMNS)
    sheet.append(_row(1, start=""))
    sheet.append(_row(2, start=""))
    sheet["G2"] = dt.datetime(2005, 3, 1)
    sheet["G2"].number_format = "mmm-yy"
    sheet["G3"] = dt.datetime(2005, 3, 14)
    sheet["G3"].number_format = "yyyy-mm-dd"
    buffer = io.BytesIO()
    book.save(buffer)
    preview = importers.check(cast.user("editor_a"), buffer.getvalue(), "dates.xlsx")
    assert preview.ok, preview.errors
    importers.write(preview)
    month = Activity.objects.get(external_id="XM-REAL-1")
    day = Activity.objects.get(external_id="XM-REAL-2")
    assert (month.planned_start, month.planned_start_precision) == (dt.date(2005, 3, 1), "month")
    assert (day.planned_start, day.planned_start_precision) == (dt.date(2005, 3, 14), "day")


def test_a_name_read_by_spelling_is_shown_for_confirmation(cast, reference):
    preview = importers.check(
        cast.user("editor_a"), _european_csv(_row(1, state="Brunei Darussalem")), "x.csv"
    )
    assert preview.ok
    assert any("row 2: read 'Brunei Darussalem' as Brunei Darussalam (BRN)" in n for n in preview.notes)


def test_the_console_asks_before_importing_names_read_by_spelling(cast, reference, tmp_path):
    path = tmp_path / "slip.csv"
    path.write_bytes(_european_csv(_row(1, state="Craotia")))
    with pytest.raises(CommandError, match="--accept-readings"):
        call_command("import_activities", str(path), user="editor_a")
    assert not Activity.objects.filter(external_id="XM-REAL-1").exists()
    call_command("import_activities", str(path), user="editor_a", accept_readings=True)
    assert Activity.objects.get(external_id="XM-REAL-1").recipient_states.get().code == "HRV"


def test_a_historic_state_after_its_end_is_refused_with_its_successor(cast, reference):
    preview = importers.check(
        cast.user("editor_a"), _european_csv(_row(1, state="Burma", start="2015")), "x.csv"
    )
    assert not preview.ok
    assert "ceased to exist" in preview.errors[0].reason and "Myanmar" in preview.errors[0].reason


def test_a_console_import_keeps_who_imported_in_history(cast, reference, tmp_path):
    path = tmp_path / "who.csv"
    path.write_bytes(_european_csv(_row(1, "1.000,00")))
    call_command("import_activities", str(path), user="editor_a")
    record = Activity.objects.get(external_id="XM-REAL-1").history.earliest()
    assert record.history_user == cast.user("editor_a")


def test_an_activity_whose_dates_ended_is_not_under_way_whatever_its_recorded_status(cast, client, reference):
    """Seed activities of 2002-2004 recorded as ongoing: flagged on pages and in the API, left
    out of who to contact and of the monthly matrix of a later month."""
    from coopmatrix.matrix.models import ActivityProvider

    old = Activity.objects.create(
        title="Old mentorship (made for tests)",
        modality="mentorship",
        status="ongoing",
        actual_start=dt.date(2003, 1, 1),
        actual_start_precision="month",
        actual_end=dt.date(2004, 12, 1),
        actual_end_precision="month",
    )
    ActivityProvider.objects.create(activity=old, organization=cast.org_a, role="implementing")
    old.recipient_states.add(cast.state_y)
    assert old.past_its_end() and not old.past_its_end(dt.date(2004, 6, 1))
    page = client.get(old.get_absolute_url()).content.decode()
    assert "Ongoing, not confirmed: its dates ended 2004-12" in page
    assert client.get(f"/api/v1/activities/{old.pk}").json()["past_its_end"] is True
    flagged = client.get("/api/v1/activities?past_its_end=true&q=Old+mentorship").json()
    assert [a["title"] for a in flagged["items"]] == ["Old mentorship (made for tests)"]
    who = client.get(f"/api/v1/who-to-contact?state={cast.state_y.code}").json()
    assert "test-org-a" not in json_codes(who)
    from coopmatrix.matrix.monthly import build

    current = Activity.objects.create(
        title="Current mentorship (made for tests)",
        modality="mentorship",
        status="ongoing",
        planned_start=dt.date(2026, 1, 1),
        planned_end=dt.date(2027, 12, 31),
    )
    ActivityProvider.objects.create(activity=current, organization=cast.org_a, role="implementing")
    current.recipient_states.add(cast.state_y)
    this_month = build(dt.date.today().replace(day=1), "country", None, basis="records")
    titles = {line.title for g in this_month.groups for line in g.lines}
    assert "Current mentorship (made for tests)" in titles
    assert "Old mentorship (made for tests)" not in titles


def json_codes(value):
    import json

    return json.dumps(value)


def test_headline_numbers_reconcile(client, reference):
    """The programme page counts what its link opens; the map says why States are counted; a
    2002 activity for "members of IGAD" reaches IGAD's members of 2002, not South Sudan."""
    import re

    from coopmatrix.matrix.models import Programme

    programme = Programme.objects.get(code="gpat")
    page = client.get(programme.get_absolute_url()).content.decode()
    shown = int(re.search(r'data-testid="activity-count">(\d+)<', page).group(1))
    listed = client.get(f"/matrix/?programme={programme.code}").content.decode()
    assert f'<span data-testid="count">{shown}</span>' in listed
    igad = Activity.objects.get(external_id="XM-COOPMATRIX-SEED-2004-p61-au-igad")
    codes = set(igad.recipient_states.values_list("code", flat=True))
    assert "SSD" not in codes and {"DJI", "ETH", "KEN", "SOM", "SDN", "UGA", "ERI"} == codes
    mapped = client.get("/matrix/map/").content.decode()
    reached = int(re.search(r'data-testid="reached">(\d+)<', mapped).group(1))
    named = int(re.search(r'data-testid="named">(\d+)<', mapped).group(1))
    through = int(re.search(r'data-testid="through-regions">(\d+)<', mapped).group(1))
    assert reached == named + through and through > 0
