"""Importing organizations, memberships and contacts: all or nothing, idempotent, merging.

The files are written here, by the tests; every organization, person and number in them is
made for tests.
"""

import io
import re

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from openpyxl import Workbook

from coopmatrix.core.testing import login, run_jobs
from coopmatrix.directory import importers
from coopmatrix.directory.models import Contact, Membership, Organization

pytestmark = pytest.mark.django_db

ORG = [
    "test-forum",
    "Test Forum (made for tests)",
    "TF",
    "regional",
    "",
    "",
    "AUT",
    "Vienna",
    "https://example.org",
    "",
    "aviation-security",
    "",
    "made for tests",
]
MEMBER = ["test-forum", "Benin", "member", "2003-05", "", "", "", "made for tests"]
CONTACT = [
    "",
    "Ida Import",
    "Secretary (made for tests)",
    "test-forum",
    "",
    "ct-focal-point; fiu",
    "ida@example.org",
    "+43 1 26060",
    "",
    "",
    "",
    "en fr",
    "",
    "",
    "2026-01-10",
    "",
    "made for tests",
]


def workbook(organizations=(), memberships=(), contacts=()) -> bytes:
    book = Workbook()
    book.remove(book.active)
    for sheet, rows in (
        ("Organizations", organizations),
        ("Memberships", memberships),
        ("Contacts", contacts),
    ):
        data = book.create_sheet(sheet)
        data.append([name for name, _ in importers.SHEETS[sheet]])
        for row in rows:
            data.append(list(row))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_one_workbook_creates_an_organization_its_members_and_contacts_then_changes_nothing(cast):
    content = workbook([ORG], [MEMBER], [CONTACT])
    user = cast.user("secretariat")
    preview = importers.check(user, content, "directory.xlsx")
    assert preview.errors == [] and preview.created == 3
    assert not Organization.objects.filter(code="test-forum").exists()  # a preview writes nothing
    importers.import_file(user, content, "directory.xlsx")
    forum = Organization.objects.get(code="test-forum")
    assert forum.headquarters.code == "AUT" and [a.code for a in forum.thematic_areas.all()] == [
        "aviation-security"
    ]
    membership = Membership.objects.get(organization=forum)
    assert membership.state.code == "BEN" and membership.joined_display == "2003-05"  # the precision given
    contact = Contact.objects.get(email="ida@example.org")
    assert contact.organization == forum and contact.languages == "en fr"
    assert sorted(contact.roles.values_list("code", flat=True)) == ["ct-focal-point", "fiu"]
    again = importers.import_file(user, content, "directory.xlsx")
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)
    assert Contact.objects.filter(email="ida@example.org").count() == 1


def test_bad_rows_are_each_named_and_nothing_is_written(cast):
    bad_org = [*ORG[:6], "Atlantis", *ORG[7:]]
    bad_contact = list(CONTACT)
    bad_contact[5], bad_contact[6], bad_contact[7] = "chief-spy", "ida-at-example", "12"
    unknown_org = list(CONTACT)
    unknown_org[3], unknown_org[6] = "no-such-org", "other@example.org"
    content = workbook(
        [bad_org],
        [["test-forum", "Ruritania", "member", "2003-13", "", "", "", "made for tests"]],
        [bad_contact, unknown_org],
    )
    preview = importers.import_file(cast.user("secretariat"), content, "bad.xlsx")
    found = {(e.file.split("[")[1].rstrip("]"), e.line, e.column) for e in preview.errors}
    assert ("Organizations", 2, "headquarters") in found
    assert ("Memberships", 2, "state") in found and ("Memberships", 2, "joined") in found
    assert {
        ("Contacts", 2, "roles"),
        ("Contacts", 2, "email"),
        ("Contacts", 2, "telephone"),
        ("Contacts", 3, "organization"),
    } <= found
    assert not Organization.objects.filter(code="test-forum").exists()
    assert not Contact.objects.filter(person_name="Ida Import").exists()


def test_files_that_are_not_the_template_are_refused(cast):
    user = cast.user("secretariat")
    for content, words in (
        (b"\x00\x01binary", "not a spreadsheet"),
        (b"a,b\n1,2\n", "columns"),
        (b"PK\x03\x04broken", "damaged"),
    ):
        preview = importers.check(user, content, "f")
        assert preview.errors and words in preview.errors[0].reason


def test_a_contact_matching_a_kept_entry_merges_into_it(cast):
    kept = Contact.objects.create(
        function="Secretary (made for tests)", organization=cast.org_a, email="ida@example.org"
    )
    row = list(CONTACT)
    row[3] = "test-org-a"
    preview = importers.import_file(cast.user("secretariat"), workbook(contacts=[row]), "c.xlsx")
    assert preview.updated == 1 and any(f"#{kept.pk}" in note for note in preview.notes)
    kept.refresh_from_db()
    assert kept.person_name == "Ida Import" and kept.telephone == "+43 1 26060"
    assert Contact.objects.filter(email="ida@example.org").count() == 1


def test_an_export_imports_back_unchanged(cast, client):
    Contact.objects.create(
        function="Round trip (made for tests)",
        organization=cast.org_a,
        email="rt@example.org",
        languages="es",
    )
    login(client, cast.user("secretariat"))
    body = b"".join(client.get("/contacts/export/?q=Round+trip").streaming_content)
    preview = importers.import_file(cast.user("secretariat"), body, "contacts.csv")
    assert preview.errors == [] and (preview.created, preview.updated, preview.unchanged) == (0, 0, 1)


def test_only_the_secretariat_imports_organizations(cast):
    preview = importers.check(cast.user("editor_a"), workbook([ORG]), "o.xlsx")
    assert preview.errors and "only the secretariat" in preview.errors[0].reason


def test_the_page_previews_then_imports(cast, client):
    login(client, cast.user("secretariat"))
    upload = io.BytesIO(workbook([ORG], [MEMBER], [CONTACT]))
    upload.name = "directory.xlsx"
    preview = client.post("/contacts/import/", {"file": upload})
    assert preview.status_code == 200 and "3 to create" in preview.content.decode()
    pending = preview.context["pending"]
    done = client.post("/contacts/import/", {"confirm": pending.pk})
    assert done.status_code == 302
    (job,) = run_jobs()
    assert job.status == "succeeded", job.message
    assert Organization.objects.filter(code="test-forum").exists()
    # Written by the worker, kept in history as the confirming user's, as a command's or a form's.
    written = [Organization.objects.get(code="test-forum"), Contact.objects.get(email="ida@example.org")]
    for record in written:
        assert {h.history_user for h in record.history.all()} == {cast.user("secretariat")}, record
    template = client.get("/contacts/template.xlsx")
    assert template.status_code == 200 and template.content[:2] == b"PK"


def test_the_command_checks_then_imports(cast, tmp_path, capsys):
    path = tmp_path / "directory.xlsx"
    path.write_bytes(workbook([ORG], [MEMBER], [CONTACT]))
    call_command("import_contacts", str(path), user="secretariat", dry_run=True)
    assert "Would import: 3 created" in capsys.readouterr().out
    assert not Organization.objects.filter(code="test-forum").exists()
    call_command("import_contacts", str(path), user="secretariat")
    assert Organization.objects.filter(code="test-forum").exists()
    bad = tmp_path / "bad.csv"
    bad.write_text("person_name,function,organization,email\nX,,nowhere,bad\n")
    with pytest.raises(CommandError, match="nothing was imported"):
        call_command("import_contacts", str(bad), user="secretariat")


def test_a_row_naming_an_entry_the_user_may_not_see_or_a_wrong_date_is_refused(cast):
    hidden = Contact.objects.create(
        function="Hidden (made for tests)",
        organization=cast.org_b,
        confidentiality="confidential",
        owner=cast.org_b,
    )
    kept = Contact.objects.create(function="Kept (made for tests)", organization=cast.org_a, owner=cast.org_a)
    header = "id,function,organization,verified_on\n"
    body = f"{hidden.pk},Renamed,test-org-a,\n{kept.pk},Kept (made for tests),test-org-a,2026-13-01\n"
    preview = importers.import_file(cast.user("editor_a"), (header + body).encode(), "c.csv")
    found = {(e.line, e.column): e.reason for e in preview.errors}
    assert "no entry with this id" in found[(2, "id")]
    assert "is not a date" in found[(3, "verified_on")]
    hidden.refresh_from_db()
    kept.refresh_from_db()
    assert hidden.function == "Hidden (made for tests)" and kept.verified_on is None


def test_a_reader_imports_no_contacts(cast):
    row = list(CONTACT)
    row[3] = "test-org-a"
    preview = importers.import_file(cast.user("reader"), workbook(contacts=[row]), "c.xlsx")
    assert preview.errors and "may record contacts" in preview.errors[0].reason
    assert not Contact.objects.filter(email="ida@example.org").exists()


def _contact(**values):
    names = [name for name, _ in importers.SHEETS["Contacts"]]
    row = dict(zip(names, CONTACT, strict=False))
    row.update(values)
    return [row.get(name, "") for name in names]


def test_entries_sharing_an_office_address_stay_apart_and_a_second_import_changes_nothing(cast):
    """A committee's office address serves its chair and its team: two rows, two entries."""
    rows = [
        _contact(person_name="", function="Chair's office (made for tests)", email="office@example.org"),
        _contact(person_name="", function="Technical team (made for tests)", email="office@example.org"),
    ]
    user = cast.user("secretariat")
    first = importers.import_file(user, workbook([ORG], [], rows), "office.xlsx")
    assert first.errors == [] and Contact.objects.filter(email="office@example.org").count() == 2
    again = importers.import_file(user, workbook([ORG], [], rows), "office.xlsx")
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)
    functions = set(Contact.objects.filter(email="office@example.org").values_list("function", flat=True))
    assert functions == {"Chair's office (made for tests)", "Technical team (made for tests)"}


def test_a_merge_joins_languages_and_addresses_instead_of_replacing_them(cast):
    user = cast.user("secretariat")
    importers.import_file(
        user,
        workbook([ORG], [], [_contact(languages="en", postal_address="Room 1 (made for tests)")]),
        "a.xlsx",
    )
    importers.import_file(
        user,
        workbook([ORG], [], [_contact(languages="fr", postal_address="Room 2 (made for tests)")]),
        "b.xlsx",
    )
    entry = Contact.objects.get(email="ida@example.org")
    assert entry.languages == "en fr"
    assert entry.postal_address == "Room 1 (made for tests)\nRoom 2 (made for tests)"


def test_languages_written_in_words_and_numbers_with_letters(cast):
    user = cast.user("secretariat")
    preview = importers.import_file(
        user,
        workbook(
            [ORG],
            [],
            [
                _contact(languages="English and French"),
                _contact(person_name="Lee Letters", email="lee@example.org", telephone="+62 21 ABC 1234"),
            ],
        ),
        "words.xlsx",
    )
    assert [(e.line, e.column, e.value) for e in preview.errors] == [(3, "telephone", "+62 21 ABC 1234")]
    assert "has letters in it" in preview.errors[0].reason
    preview = importers.import_file(
        user, workbook([ORG], [], [_contact(languages="English and French")]), "w.xlsx"
    )
    assert preview.errors == []
    assert Contact.objects.get(email="ida@example.org").languages == "en fr"


def test_a_contacts_csv_saved_by_european_excel_is_read_and_said_so(cast):
    names = [name for name, _ in importers.SHEETS["Contacts"]]
    row = _contact(person_name="Zoë Çelik (made for tests)", email="zoe@example.org")
    import csv

    text = io.StringIO()
    writer = csv.writer(text, delimiter=";")  # as Excel saves it: cells with ";" are quoted
    writer.writerows([names, row])
    content = text.getvalue().encode("cp1252")
    user = cast.user("secretariat")
    importers.import_file(user, workbook([ORG], [], []), "org.xlsx")
    preview = importers.import_file(user, content, "contacts.csv")
    assert preview.errors == []
    assert any("Windows-1252" in n for n in preview.notes) and any("semicolons" in n for n in preview.notes)
    assert Contact.objects.get(email="zoe@example.org").person_name == "Zoë Çelik (made for tests)"


def _directory_as_kept() -> list[tuple]:
    """Every entry as the directory and its history hold it: its fields, its roles, and each
    history row (kind, who, why, the fields and roles it records), without keys and times."""
    from coopmatrix.directory.contacts import _roles_history

    roles_of: dict[int, list[str]] = {}
    for history_id, code in _roles_history().objects.values_list("history_id", "contactrole__code"):
        roles_of.setdefault(history_id, []).append(code)
    skip = {"id", "history_id", "history_date"}
    # Organizations by code: the file's own gets another key in each run.
    code = dict(Organization.objects.values_list("pk", "code"))

    def plain(values: dict) -> dict:
        return {k: code.get(v) if k == "organization_id" else v for k, v in values.items() if k not in skip}

    kept = []
    for contact in Contact.objects.order_by("email", "function"):
        fields = plain({f.attname: getattr(contact, f.attname) for f in Contact._meta.fields})
        history = [
            (plain(row), sorted(roles_of.get(row["history_id"], [])))
            for row in contact.history.order_by("history_id").values()
        ]
        kept.append((fields, sorted(contact.roles.values_list("code", flat=True)), history))
    return kept


def test_new_entries_written_together_read_as_entries_written_one_by_one(cast, monkeypatch):
    """New entries are written together: each reads, in the directory and in its history (its
    roles at each step, who and why), as one written alone; a row matching an entry an earlier
    row of the same file made merges into it; an address of letters beyond ASCII, and rows
    sharing an office address, are matched as before."""
    from django.db import transaction

    from coopmatrix.core.console import acting_as
    from coopmatrix.directory import contacts

    rows = [
        _contact(person_name="Ana Bulk", email="ana@example.org", roles="ct-focal-point; fiu"),
        _contact(person_name="Ben Bulk", email="ben@example.org", roles="", telephone=""),
        _contact(person_name="", function="Chair's office (made for tests)", email="office@example.org"),
        _contact(person_name="", function="Technical team (made for tests)", email="office@example.org"),
        _contact(person_name="Ana Bulk", email="ANA@example.org", languages="es", roles="fiu"),
        _contact(
            person_name="Zoë Bulk", email="zoe@exämple.org", roles="fiu", confidentiality="confidential"
        ),
        _contact(person_name="Ida Import", email="ida.second@example.org", roles="ct-focal-point"),
    ]
    user = cast.user("secretariat")
    Contact.objects.create(
        function="Kept (made for tests)", organization=cast.org_a, email="BEN@example.org", owner=cast.org_a
    )

    def imported() -> tuple:
        # As the command and the page's job run it: their writes name the user.
        with transaction.atomic(), acting_as(user):
            preview = importers.import_file(user, workbook([ORG], [], rows), "c.xlsx")
            kept = _directory_as_kept()
            transaction.set_rollback(True)
        # Keys differ from one run to the next (a sequence is not rolled back): not the entries.
        notes = [re.sub(r"#\d+", "#", note) for note in preview.notes]
        return (preview.created, preview.updated, preview.unchanged, preview.errors, notes), kept

    together = imported()

    def one_by_one(user, entries, reason=""):
        return [contacts.write(user, cleaned, reason=reason) for cleaned in entries]

    monkeypatch.setattr(contacts, "write_new", one_by_one)
    alone = imported()
    assert together == alone
    (created, updated, _unchanged, errors, _notes), kept = together
    assert errors == [] and (created, updated) == (6, 2)
    ana = next(entry for entry in kept if entry[0]["email"] == "ana@example.org")
    assert ana[0]["languages"] == "en fr es" and ana[1] == ["ct-focal-point", "fiu"]
    assert [
        (row["history_type"], row["history_user_id"], row["history_change_reason"], roles)
        for row, roles in ana[2]
    ] == [
        ("+", user.pk, "imported", []),
        ("~", user.pk, "imported", ["ct-focal-point", "fiu"]),
        ("~", user.pk, "imported", ["ct-focal-point", "fiu"]),
    ]
