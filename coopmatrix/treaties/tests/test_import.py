"""Importing treaty actions: the template and a depositary's status table, all or nothing.

The files are written here, by the tests, and marked as made for tests.
"""

import datetime as dt

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from coopmatrix.core.roles import principal_for
from coopmatrix.core.testing import login, run_jobs
from coopmatrix.treaties import importers
from coopmatrix.treaties.models import TreatyAction

HEADER = "state,instrument,action,date,effective,effective_source,text,source,confidentiality\n"
GOOD = HEADER + (
    "Benin,terrorist-financing-1999,ratification,2003-09-24,,,,made for tests,\n"
    "KGZ,terrorist-bombings-1997,accession,2001-05-01,,,,made for tests,\n"
    'Jordan,terrorist-bombings-1997,declaration,2003-08-28,,,"A declaration made for tests",made for tests,\n'
)

# A status table as the UN Treaty Collection lays it out, with footnote marks; made for tests.
CONSENT_HEADER = "Ratification, Acceptance(A), Approval(AA), Accession(a), Succession(d)"
DEPOSITARY_TEXT = f"""Participant\tSignature\t{CONSENT_HEADER}
Benin 2\t\t31 Jul 2003
Croatia\t\t2 Jun 2003 a
Czech Republic 3,4\t6 Sep 2000\t27 Dec 2005
Georgia\t\t27 Sep 2002 a
Montenegro\t\t23 Oct 2006 d
"""

DEPOSITARY_HTML = """<html><body><p>Status (made for tests)</p>
<table><tr><th>Participant</th><th>Signature</th>
<th>Ratification, Acceptance(A), Approval(AA), Accession(a), Succession(d)</th></tr>
<tr><td>Azerbaijan<sup>1</sup></td><td></td><td>26 Jan 2004 a</td></tr>
<tr><td>Comoros</td><td></td><td>25 Sep 2003 a</td></tr>
<tr><td>Ruritania</td><td>1 Jan 2001</td><td></td></tr>
</table></body></html>"""


def _check(cast, content, **options):
    return importers.check(cast.user("secretariat"), content.encode(), "test.csv", **options)


def test_a_good_file_previews_then_imports_all_rows(cast, reference):
    preview = _check(cast, GOOD)
    assert (preview.created, preview.updated, preview.unchanged, preview.errors) == (3, 0, 0, [])
    assert not TreatyAction.objects.exists()  # a preview writes nothing
    importers.import_file(cast.user("secretariat"), GOOD.encode(), "test.csv")
    benin = TreatyAction.objects.get(state__code="BEN")
    assert (benin.deposited, benin.effective) == (dt.date(2003, 9, 24), dt.date(2003, 10, 24))
    # Imported twice, nothing changes and nothing is added.
    again = _check(cast, GOOD)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)
    assert TreatyAction.history.count() == 3


def test_imported_actions_read_as_actions_saved_one_by_one(cast, reference):
    """New actions are written together: each reads, in its record and its history, as one saved
    alone (its owner, its effective date by the instrument's rule, one creation row naming who);
    a changed one keeps its history; what the file leaves alone is not touched."""
    user = cast.user("secretariat")
    importers.import_file(user, GOOD.encode(), "test.csv")
    changed = GOOD.replace("A declaration made for tests", "A declaration, amended, made for tests")
    more = changed + "Benin,terrorist-bombings-1997,accession,2004-02-10,,,,made for tests,\n"
    preview = importers.import_file(user, more.encode(), "test.csv")
    assert (preview.created, preview.updated, preview.unchanged, preview.errors) == (1, 1, 2, [])
    added = TreatyAction.objects.get(state__code="BEN", action="accession")
    assert added.effective == added.instrument.in_force_for_state(dt.date(2004, 2, 10))
    assert added.effective_source == ""
    assert added.owner_id == principal_for(user).organization_id
    assert [(h.history_type, h.history_user) for h in added.history.all()] == [("+", user)]
    declaration = TreatyAction.objects.get(state__code="JOR")
    assert declaration.text == "A declaration, amended, made for tests"
    assert [h.history_type for h in declaration.history.order_by("history_id")] == ["+", "~"]
    assert TreatyAction.history.count() == 5


def test_every_bad_row_is_named_and_nothing_is_written(cast, reference):
    bad = HEADER + (
        "Benin,terrorist-financing-1999,ratification,2003-09-24,,,,made for tests,\n"
        "Atlantis,terrorist-financing-1999,ratification,2003-09-24,,,,made for tests,\n"
        "Benin,no-such-treaty,ratification,2003-09-24,,,,made for tests,\n"
        "Benin,hostages-1979,ratified,2003-09-24,,,,made for tests,\n"
        "Benin,hostages-1979,accession,2003,,,,made for tests,\n"
        "Benin,hostages-1979,accession,2003-02-01,2003-03-01,,,made for tests,\n"
    )
    preview = importers.import_file(cast.user("secretariat"), bad.encode(), "bad.csv")
    found = {(e.line, e.column, e.value) for e in preview.errors}
    assert (3, "state", "Atlantis") in found
    assert (4, "instrument", "no-such-treaty") in found
    assert (5, "action", "ratified") in found
    assert (6, "date", "2003") in found
    assert (7, "effective_source", "") in found
    assert not TreatyAction.objects.exists()


def test_a_file_that_is_not_the_template_is_refused(cast, reference):
    preview = _check(cast, "name,when\nBenin,2003\n")
    assert "missing column(s): state, instrument, action, date" in preview.errors[0].reason
    preview = importers.check(cast.user("secretariat"), b"\x00\x01\x02", "x.csv")
    assert "not a spreadsheet" in preview.errors[0].reason


def test_an_export_imports_back_unchanged(cast, client, reference):
    importers.import_file(cast.user("secretariat"), GOOD.encode(), "test.csv")
    login(client, cast.user("secretariat"))
    exported = b"".join(client.get("/treaty-actions/export.csv").streaming_content)
    preview = importers.check(cast.user("secretariat"), exported, "export.csv")
    assert (preview.created, preview.updated, preview.unchanged, preview.errors) == (0, 0, 3, [])


def test_a_depositary_table_pasted_as_text(cast, reference):
    preview = _check(cast, DEPOSITARY_TEXT, fmt="depositary", instrument="terrorist-financing-1999")
    assert preview.errors == []
    assert preview.created == 6  # five consents and the Czech Republic's signature
    importers.write(cast.user("secretariat"), preview)
    actions = {(a.state.code, a.action, a.deposited) for a in TreatyAction.objects.select_related("state")}
    assert ("HRV", "accession", dt.date(2003, 6, 2)) in actions
    assert ("MNE", "succession", dt.date(2006, 10, 23)) in actions
    assert ("CZE", "signature", dt.date(2000, 9, 6)) in actions
    assert ("CZE", "ratification", dt.date(2005, 12, 27)) in actions  # footnote marks "3,4" dropped


def test_a_depositary_page_reports_unknown_names(cast, reference):
    preview = _check(cast, DEPOSITARY_HTML, fmt="depositary", instrument="terrorist-bombings-1997")
    # Row 4 of the table, counting its header row.
    assert [(e.line, e.column, e.value) for e in preview.errors] == [(4, "Participant", "Ruritania")]
    assert preview.errors[0].reason.startswith("unknown State 'Ruritania'; closest matches: Mauritania")
    assert preview.created == 2  # counted, but nothing is written while an error stands
    assert not TreatyAction.objects.exists()


def test_a_wrong_depositary_date_names_its_cell(cast, reference):
    text = DEPOSITARY_TEXT.replace("2 Jun 2003 a", "2 Juin 2003 a")
    preview = _check(cast, text, fmt="depositary", instrument="terrorist-financing-1999")
    assert [(e.line, e.column, e.value) for e in preview.errors] == [(3, "Consent", "2 Juin 2003 a")]


def test_the_command_with_dry_run_and_progress(cast, reference, tmp_path, capsys):
    path = tmp_path / "status.txt"
    path.write_text(DEPOSITARY_TEXT, encoding="utf-8")
    args = [str(path), "--format", "depositary", "--instrument", "terrorist-financing-1999"]
    call_command("import_treaty_actions", *args, "--user", "secretariat", "--dry-run")
    assert "Would import: 6 created" in capsys.readouterr().out
    assert not TreatyAction.objects.exists()
    call_command("import_treaty_actions", *args, "--user", "secretariat")
    assert TreatyAction.objects.count() == 6
    with pytest.raises(CommandError, match="no instrument with code 'nope'"):
        call_command(
            "import_treaty_actions",
            str(path),
            "--format",
            "depositary",
            "--instrument",
            "nope",
            "--user",
            "secretariat",
        )
    with pytest.raises(CommandError, match="your role may not import treaty actions"):
        call_command("import_treaty_actions", *args, "--user", "editor_a")


def test_the_import_page_previews_then_confirms(cast, client, reference):
    login(client, cast.user("secretariat"))
    response = client.post(
        "/treaty-actions/import/",
        {"format": "depositary", "instrument": "terrorist-financing-1999", "pasted": DEPOSITARY_TEXT},
    )
    assert response.status_code == 200
    assert "6 to create, 0 to update, 0 unchanged." in response.content.decode()
    assert not TreatyAction.objects.exists()
    pending = response.context["pending"]
    done = client.post("/treaty-actions/import/", {"confirm": pending.pk})
    assert done.status_code == 302
    (job,) = run_jobs()
    assert job.status == "succeeded", job.message
    assert TreatyAction.objects.count() == 6
    template = client.get("/treaty-actions/template.xlsx")
    assert template.status_code == 200 and template.content[:2] == b"PK"


# A status table pasted from a PDF: the columns are single spaces; made for tests.
PDF_PASTE = f"""Participant Signature {CONSENT_HEADER}
Benin 2 31 Jul 2003 Rt
Croatia 2 Jun 2003 a
Czech Republic 3,4 6 Sep 2000 27 Dec 2005
Georgia 27 Sep 2002 a
Montenegro 23 Oct 2006 d
"""


def test_a_table_pasted_from_a_pdf_is_read_from_its_dates_and_marks(cast, reference):
    preview = _check(cast, PDF_PASTE, fmt="depositary", instrument="terrorist-financing-1999")
    assert preview.errors == []
    importers.write(cast.user("secretariat"), preview)
    actions = {(a.state.code, a.action, a.deposited) for a in TreatyAction.objects.select_related("state")}
    assert actions == {
        ("BEN", "ratification", dt.date(2003, 7, 31)),  # "Rt", and the footnote mark "2" dropped
        ("HRV", "accession", dt.date(2003, 6, 2)),
        ("CZE", "signature", dt.date(2000, 9, 6)),
        ("CZE", "ratification", dt.date(2005, 12, 27)),
        ("GEO", "accession", dt.date(2002, 9, 27)),
        ("MNE", "succession", dt.date(2006, 10, 23)),
    }


def test_one_unmarked_date_without_columns_is_refused_not_guessed(cast, reference):
    text = PDF_PASTE + "Albania 10 Jul 2002\n"
    preview = _check(cast, text, fmt="depositary", instrument="terrorist-financing-1999")
    assert [(e.line, e.value) for e in preview.errors] == [(7, "10 Jul 2002")]
    assert "signature or a ratification" in preview.errors[0].reason
    assert not TreatyAction.objects.exists()


def test_a_participant_consenting_twice_in_one_table_is_refused(cast, reference):
    text = DEPOSITARY_TEXT + "Georgia\t\t3 Oct 2002 a\n"
    preview = _check(cast, text, fmt="depositary", instrument="terrorist-financing-1999")
    assert len(preview.errors) == 1
    error = preview.errors[0]
    assert error.line == 7 and "consents on row 5 (2002-09-27) and here (2002-10-03)" in error.reason


def test_a_historic_state_acting_after_its_end_is_refused(cast, reference):
    text = HEADER + "Zaire,terrorist-financing-1999,accession,2003-05-01,,,,made for tests,\n"
    preview = _check(cast, text)
    assert [e.column for e in preview.errors] == ["state"]
    assert "ceased to exist" in preview.errors[0].reason
    assert "Democratic Republic of the Congo" in preview.errors[0].reason


def test_a_console_import_records_who_and_which_table(cast, reference, tmp_path):
    path = tmp_path / "status-1999.txt"
    path.write_text(DEPOSITARY_TEXT, encoding="utf-8")
    call_command(
        "import_treaty_actions",
        str(path),
        format="depositary",
        instrument="terrorist-financing-1999",
        status_date="2004-03-09",
        user="secretariat",
    )
    action = TreatyAction.objects.get(state__code="HRV")
    assert action.history.earliest().history_user == cast.user("secretariat")
    assert "status table of" in action.source and "file status-1999.txt" in action.source
    assert "status as at 2004-03-09" in action.source and "Secretary-General" in action.source
