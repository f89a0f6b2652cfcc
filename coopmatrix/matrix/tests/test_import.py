"""Importing activities from the template: preview, all or nothing, idempotent."""

import html
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from openpyxl import Workbook, load_workbook

from coopmatrix.core.testing import run_jobs
from coopmatrix.matrix import importers
from coopmatrix.matrix.models import Activity

HEADER = ",".join(
    [
        "external_id",
        "title",
        "providers",
        "recipient_states",
        "modality",
        "status",
        "planned_start",
        "planned_end",
        "budget",
        "currency",
        "source",
    ]
)
GOOD = [
    "XM-TEST-1,Workshop in Cotonou (made for tests),test-org-a:implementing,Benin; Togo,workshop,planned,"
    "2005-03,2005-03-20,15000,EUR,made for tests",
    "XM-TEST-2,Mentorship in Bishkek (made for tests),test-org-a:implementing,KGZ,mentorship,ongoing,"
    "2005,,,,made for tests",
]


def _csv(*rows):
    return ("\n".join([HEADER, *rows]) + "\n").encode()


class _Page:
    def __init__(self, response):
        self.status_code = response.status_code
        self.text = html.unescape(response.content.decode())


def _upload(client, content, name="activities.csv"):
    return _Page(client.post("/matrix/import/", {"file": SimpleUploadedFile(name, content)}))


def test_the_template_has_the_columns_and_instructions(client, db):
    workbook = load_workbook(io.BytesIO(client.get("/matrix/import/template.xlsx").content))
    header = next(workbook["Activities"].iter_rows(values_only=True))
    assert list(header) == importers.COLUMN_NAMES
    instructions = {row[0]: row[1] for row in workbook["Instructions"].iter_rows(values_only=True)}
    assert "workshop" in instructions["modality"]
    assert client.get("/matrix/import/template.csv").content.decode().startswith("external_id,title,")


def test_an_upload_is_previewed_then_imported_once(cast, client, reference):
    client.force_login(cast.user("editor_a"))
    preview = _upload(client, _csv(*GOOD)).text
    assert "2 to create, 0 to update, 0 unchanged." in preview
    assert not Activity.objects.filter(external_id__startswith="XM-TEST").exists()
    from coopmatrix.core.models import PendingImport

    pending = PendingImport.objects.get()
    response = client.post("/matrix/import/", {"confirm": pending.pk})
    assert response.status_code == 302 and response["Location"].startswith("/me/jobs/")
    assert not Activity.objects.filter(external_id__startswith="XM-TEST").exists()  # queued, not yet run
    (job,) = run_jobs()
    assert job.status == "succeeded" and job.message.endswith("2 created, 0 updated, 0 unchanged.")
    page = client.get(response["Location"]).text
    assert "Done" in page and "2 created" in page
    workshop = Activity.objects.get(external_id="XM-TEST-1")
    assert sorted(workshop.recipient_states.values_list("code", flat=True)) == ["BEN", "TGO"]
    assert (workshop.date_display("planned_start"), str(workshop.budget)) == ("2005-03", "15000.00")
    assert workshop.owner == cast.org_a
    history = Activity.history.count()
    again = _upload(client, _csv(*GOOD)).text
    assert "0 to create, 0 to update, 2 unchanged." in again
    client.post("/matrix/import/", {"confirm": PendingImport.objects.get().pk})
    run_jobs()
    assert Activity.history.count() == history


@pytest.mark.parametrize(
    ("row", "column", "reason"),
    [
        (GOOD[0].replace("Benin; Togo", "Benin; Atlantis"), "recipient_states", "unknown State 'Atlantis'"),
        (GOOD[0].replace("2005-03-20", "2005-02-20"), "planned_end", "before it starts"),
        (GOOD[0].replace(",EUR,", ",EUROS,"), "currency", "ISO 4217"),
        (GOOD[0].replace(",15000,", ",fifteen thousand,"), "budget", "is not a number"),
        (GOOD[0].replace(",workshop,", ",party,"), "modality", "must be one of"),
        (GOOD[0].replace("2005-03,", "2005-13,"), "planned_start", "not a real date"),
        (GOOD[0].replace("test-org-a:implementing", "test-org-a:sponsor"), "providers", "role 'sponsor'"),
    ],
)
def test_a_bad_row_is_named_and_nothing_is_imported(cast, client, reference, row, column, reason):
    client.force_login(cast.user("editor_a"))
    response = _upload(client, _csv(GOOD[1], row))
    page = response.text
    assert response.status_code == 422
    assert f"<td>3</td><td>{column}</td>" in page
    assert reason in page
    assert "nothing will be imported" in page
    assert not Activity.objects.filter(external_id__startswith="XM-TEST").exists()


def test_files_that_are_not_the_template_are_refused(cast, client, reference):
    client.force_login(cast.user("editor_a"))
    pdf = _upload(client, b"%PDF-1.4\x00\x01\x02 binary", "report.pdf").text
    assert "is not a spreadsheet" in pdf or "neither an XLSX workbook nor UTF-8 CSV" in pdf
    wrong = _upload(client, b"name,country\nx,y\n").text
    assert "missing column(s): external_id, title, providers, modality, status" in wrong
    assert "unknown column(s): name, country" in wrong
    broken = _upload(client, b"PK\x03\x04 not really a workbook", "a.xlsx").text
    assert "damaged or unknown workbook" in broken


def test_a_repeated_identifier_is_an_error(cast, client, reference):
    client.force_login(cast.user("editor_a"))
    page = _upload(client, _csv(GOOD[0], GOOD[0])).text
    assert "also on row 2" in page


def test_an_editor_cannot_import_over_another_organizations_activity(cast, client, reference):
    client.force_login(cast.user("editor_b"))
    _upload(client, _csv(GOOD[0].replace("test-org-a", "test-org-b")))
    from coopmatrix.core.models import PendingImport

    client.post("/matrix/import/", {"confirm": PendingImport.objects.get().pk})
    run_jobs()
    client.force_login(cast.user("editor_a"))
    page = _upload(client, _csv(GOOD[0])).text
    assert "you may not change this activity" in page


def test_an_xlsx_upload_with_real_dates_and_numbers(cast, client, reference):
    import datetime as dt

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Activities"
    sheet.append(
        [
            "external_id",
            "title",
            "providers",
            "recipient_states",
            "modality",
            "status",
            "actual_start",
            "people_trained",
        ]
    )
    sheet.append(
        [
            "XM-TEST-X",
            "Training (made for tests)",
            "test-org-a:implementing",
            "Mali",
            "training",
            "completed",
            dt.date(2004, 2, 3),
            25,
        ]
    )
    buffer = io.BytesIO()
    workbook.save(buffer)
    client.force_login(cast.user("editor_a"))
    assert "1 to create" in _upload(client, buffer.getvalue(), "a.xlsx").text


def test_the_command_imports_and_its_dry_run_writes_nothing(cast, reference, tmp_path, capsys):
    path = tmp_path / "activities.csv"
    path.write_bytes(_csv(*GOOD))
    call_command("import_activities", str(path), user="editor_a", dry_run=True)
    assert "Would import: 2 created" in capsys.readouterr().out
    assert not Activity.objects.filter(external_id__startswith="XM-TEST").exists()
    call_command("import_activities", str(path), user="editor_a")
    assert Activity.objects.filter(external_id__startswith="XM-TEST").count() == 2
    call_command("import_activities", str(path), user="editor_a")
    assert "0 created, 0 updated, 2 unchanged" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("before", "after", "states", "roles"),
    [
        ("Benin; Togo", "Benin", ["BEN"], ["implementing"]),  # a State no longer reached
        ("test-org-a:implementing", "test-org-a:funding", ["BEN", "TGO"], ["funding"]),  # a role
    ],
)
def test_a_rerun_changing_a_link_alone_updates_the_activity(
    cast, reference, tmp_path, capsys, before, after, states, roles
):
    path = tmp_path / "activities.csv"
    path.write_bytes(_csv(*GOOD))
    call_command("import_activities", str(path), user="editor_a")
    path.write_bytes(_csv(GOOD[0].replace(before, after), GOOD[1]))
    capsys.readouterr()
    call_command("import_activities", str(path), user="editor_a")
    assert "0 created, 1 updated, 1 unchanged" in capsys.readouterr().out
    activity = Activity.objects.get(external_id="XM-TEST-1")
    assert sorted(activity.recipient_states.values_list("iso3", flat=True)) == states
    assert sorted(activity.reach.values_list("state__iso3", flat=True)) == states
    assert sorted(activity.provider_roles.values_list("role", flat=True)) == roles
    latest = activity.history.order_by("-history_date", "-history_id").first()
    assert (latest.history_type, latest.history_user.username, latest.history_change_reason) == (
        "~",
        "editor_a",
        "imported from a file",
    )
    assert sorted(s.state.iso3 for s in latest.recipient_states.all()) == states


def test_the_command_lists_every_error(cast, reference, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_bytes(_csv(GOOD[0].replace("Benin; Togo", "Narnia"), GOOD[1].replace(",2005,", ",someday,")))
    with pytest.raises(CommandError) as failure:
        call_command("import_activities", str(path), user="editor_a")
    message = str(failure.value)
    assert "bad.csv, line 2, column 'recipient_states': 'Narnia'" in message
    assert "bad.csv, line 3, column 'planned_start': 'someday'" in message
    assert not Activity.objects.filter(external_id__startswith="XM-TEST").exists()


def test_readers_cannot_import(cast, client, reference):
    client.force_login(cast.user("reader"))
    # Refused before the file is read (issue 14: readers could exhaust the server by uploading).
    response = _upload(client, _csv(*GOOD))
    assert response.status_code == 403
    assert "Your role may not import these records." in response.text
