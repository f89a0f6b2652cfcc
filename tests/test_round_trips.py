"""Every export of a list imports back unchanged through the matching importer, XLSX included.

The records are the reference data as `make run` loads them (the seed report's activities, the
organizations and their memberships, the directory's entries) and treaty actions and contacts
recorded here; each export is taken as the secretariat, who sees them all, and checked by the
importer: nothing would be created or changed, and nothing is refused.
"""

from __future__ import annotations

import pytest

from coopmatrix.core.testing import login
from coopmatrix.directory import importers as directory_importers
from coopmatrix.directory.models import Contact, Membership, Organization
from coopmatrix.matrix import importers as matrix_importers
from coopmatrix.matrix.models import Activity
from coopmatrix.treaties import importers as treaty_importers
from coopmatrix.treaties.models import TreatyAction


def _body(response) -> bytes:
    assert response.status_code == 200, response.status_code
    return b"".join(response.streaming_content) if response.streaming else response.content


@pytest.fixture
def secretariat(cast, client):
    login(client, cast.user("secretariat"))
    return cast.user("secretariat")


def _unchanged(preview, expected: int) -> None:
    assert preview.errors == [], preview.errors[:5]
    assert (preview.created, preview.updated, preview.unchanged) == (0, 0, expected)


@pytest.mark.parametrize("url", ["/matrix/export.csv", "/matrix/export.xlsx"])
def test_the_matrix_exports_import_back_unchanged(secretariat, client, url):
    total = Activity.objects.count()
    assert total >= 50  # the seed report's activities, with descriptions, instruments, documents
    assert Activity.objects.exclude(description="").exists()
    preview = matrix_importers.check(secretariat, _body(client.get(url)), url.rsplit("/", 1)[1])
    _unchanged(preview, total)


def test_the_matrix_export_holds_every_column_the_importer_reads(secretariat, client):
    header = _body(client.get("/matrix/export.csv")).decode("utf-8-sig").splitlines()[0].split(",")
    assert header == matrix_importers.COLUMN_NAMES


def test_the_organizations_export_imports_back_unchanged(secretariat, client):
    body = _body(client.get("/organizations/export.csv"))
    header = body.decode("utf-8-sig").splitlines()[0]
    assert "website" in header and "mandate" in header and "thematic_areas" in header
    preview = directory_importers.check(secretariat, body, "organizations.csv")
    _unchanged(preview, Organization.objects.count())


def test_the_memberships_export_imports_back_unchanged(secretariat, client):
    preview = directory_importers.check(
        secretariat, _body(client.get("/memberships/export.csv")), "memberships.csv"
    )
    _unchanged(preview, Membership.objects.count())


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_the_contacts_exports_import_back_unchanged(secretariat, client, cast, fmt):
    Contact.objects.create(
        person_name="Rita Roundtrip",
        function="Focal point (made for tests)",
        organization=cast.org_a,
        email="rita@example.org",
        telephone="+43 1 26060",
        languages="en fr",
        postal_address="Room 1 (made for tests)",
    )
    preview = directory_importers.check(
        secretariat, _body(client.get(f"/contacts/export/?format={fmt}")), f"contacts.{fmt}"
    )
    _unchanged(preview, Contact.objects.count())


def test_the_treaty_actions_export_imports_back_unchanged(secretariat, client):
    recorded = (
        "state,instrument,action,date,effective,effective_source,text,source,confidentiality\n"
        "Benin,terrorist-financing-1999,ratification,2003-07-31,,,,made for tests,\n"
        "Croatia,terrorist-financing-1999,accession,2003-06-02,,,,made for tests,\n"
        "Jordan,terrorist-bombings-1997,declaration,2003-08-28,,,"
        '"A declaration, made for tests",made for tests,\n'
    )
    assert treaty_importers.import_file(secretariat, recorded.encode(), "recorded.csv").ok
    preview = treaty_importers.check(
        secretariat, _body(client.get("/treaty-actions/export.csv")), "treaty-actions.csv"
    )
    _unchanged(preview, TreatyAction.objects.count())


FORMULA = '=HYPERLINK("http://example.org/x","click")'


def test_text_that_looks_like_a_formula_stays_text_in_every_spreadsheet(secretariat, client):
    """Issue 14: an imported =HYPERLINK(…) was written as a live formula in the monthly matrix's
    XLSX, and a leading TAB escaped the CSV guard. Every spreadsheet keeps such text as text, and
    the exports still import back unchanged."""
    import datetime as dt
    import io

    from openpyxl import load_workbook

    from coopmatrix.matrix.models import ActivityProvider
    from coopmatrix.matrix.monthly import as_xlsx, build

    activity = Activity.objects.create(
        external_id="XM-FORMULA-1",
        title=FORMULA,
        description="\t=1+2 (made for tests)",
        modality="workshop",
        status="planned",
        planned_start=dt.date.today().replace(day=1),
        planned_start_precision="month",
    )
    ActivityProvider.objects.create(
        activity=activity, organization=Organization.objects.get(code="unodc"), role="implementing"
    )
    from coopmatrix.geo.models import State

    activity.recipient_states.add(State.objects.get(code="BEN"))

    book = load_workbook(io.BytesIO(_body(client.get("/matrix/export.xlsx?q=HYPERLINK"))))
    cells = [c for row in book["Data"].iter_rows() for c in row if c.value == FORMULA]
    assert cells and all(c.data_type == "s" for c in cells)

    csv_text = _body(client.get("/matrix/export.csv?q=HYPERLINK")).decode("utf-8-sig")
    assert "'=HYPERLINK" in csv_text and "'\t=1+2" in csv_text

    handle = io.BytesIO()
    as_xlsx(build(dt.date.today().replace(day=1), "country", secretariat, basis="records"), handle)
    monthly = load_workbook(io.BytesIO(handle.getvalue()))
    cells = [c for row in monthly["Matrix"].iter_rows() for c in row if c.value == FORMULA]
    assert cells and all(c.data_type == "s" for c in cells)

    # The importers take a cell as typed, without surrounding spaces and tabs: the text kept after
    # a round trip is the same text without its leading TAB, so the check starts from that.
    activity.description = "=1+2 (made for tests)"
    activity.save()
    for url in ("/matrix/export.csv", "/matrix/export.xlsx"):
        preview = matrix_importers.check(secretariat, _body(client.get(url)), url.rsplit("/", 1)[1])
        _unchanged(preview, Activity.objects.count())
