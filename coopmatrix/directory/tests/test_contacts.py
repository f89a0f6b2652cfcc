"""The list of contacts: recording, duplicates, staleness, verification links, erasure, exports.

Every person, address and number here is made for tests (example.org, reserved numbers).
"""

import datetime as dt
import io
import re

import pytest
from django.core import mail
from django.utils import timezone
from openpyxl import load_workbook

from coopmatrix.core.testing import login
from coopmatrix.directory import contacts as entries
from coopmatrix.directory.models import Contact, ContactExport, Correction, Verification

pytestmark = pytest.mark.django_db


def _post_contact(client, **fields):
    data = {"confidentiality": "restricted", **fields}
    return client.post("/contacts/new/", data)


def _contact(cast, **fields):
    values = {"function": "Legal adviser (made for tests)", "organization": cast.org_a, **fields}
    roles = values.pop("roles", [])
    contact = Contact.objects.create(**values)
    contact.roles.set(roles)
    return contact


# --- Recording ---------------------------------------------------------------------------------


def test_a_new_entry_is_restricted_and_its_numbers_are_written_internationally(cast, client):
    login(client, cast.user("editor_a"))
    response = _post_contact(
        client,
        person_name="Ana Testperson",
        function="Counter-terrorism focal point (made for tests)",
        organization="test-org-a",
        state="AUT",
        roles=["ct-focal-point"],
        email="Ana.Testperson@Example.org",
        telephone="01 260 60",
        languages="German, en",
    )
    assert response.status_code == 302
    contact = Contact.objects.get(person_name="Ana Testperson")
    assert contact.confidentiality == "restricted"
    assert contact.email == "ana.testperson@example.org"
    assert contact.telephone == "+43 1 26060"  # Austria's country code from the State
    assert contact.languages == "de en"
    assert contact.owner == cast.org_a
    assert list(contact.roles.values_list("code", flat=True)) == ["ct-focal-point"]
    # The public does not see it; a signed-in reader does.
    client.logout()
    assert client.get(contact.get_absolute_url()).status_code == 404


def test_bad_values_are_named_on_their_fields_and_nothing_is_written(cast, client):
    login(client, cast.user("editor_a"))
    before = Contact.objects.count()
    response = _post_contact(
        client,
        function="Adviser (made for tests)",
        organization="test-org-a",
        email="not-an-address",
        telephone="call me",
        languages="Klingonese",
        valid_from="2004-05-01",
        valid_to="2004-01-01",
    )
    assert response.status_code == 422
    page = response.content.decode()
    for field in ("email", "telephone", "languages", "valid_to"):
        assert f'data-error-for="{field}"' in page, field
    assert "not an e-mail address" in page
    assert Contact.objects.count() == before


def test_an_editor_records_only_its_own_organizations_contacts(cast, client):
    login(client, cast.user("editor_a"))
    response = _post_contact(client, function="Adviser (made for tests)", organization="test-org-b")
    assert response.status_code == 403
    login(client, cast.user("reader"))
    assert client.get("/contacts/new/").status_code == 403
    # A focal point records its own State's.
    login(client, cast.user("focal_point"))
    assert (
        _post_contact(client, function="Central authority (made for tests)", state="XXA").status_code == 302
    )
    assert (
        _post_contact(client, function="Central authority (made for tests)", state="XXB").status_code == 403
    )


def test_a_matching_entry_is_proposed_as_a_merge_not_duplicated(cast, client):
    existing = _contact(cast, person_name="Jean Dupont", email="jean.dupont@example.org", owner=cast.org_a)
    login(client, cast.user("editor_a"))
    fields = {"person_name": "DUPONT, Jean", "organization": "test-org-a", "telephone": "+33 1 00 00 00 00"}
    response = _post_contact(client, **fields)
    assert response.status_code == 422
    assert 'data-testid="matches"' in response.content.decode()
    assert Contact.objects.filter(normalized_name="dupont jean").count() == 1
    # Merging keeps what the new entry leaves empty and adds what it gives.
    response = _post_contact(client, **fields, merge_into=existing.pk)
    assert response.status_code == 302
    existing.refresh_from_db()
    assert existing.email == "jean.dupont@example.org"
    assert existing.telephone == "+33 1 00 00 00 00"
    assert Contact.objects.filter(normalized_name="dupont jean").count() == 1
    # The same e-mail elsewhere is a match too; "another person" records it anyway.
    other = {
        "function": "Deputy (made for tests)",
        "organization": "test-org-a",
        "email": "JEAN.DUPONT@example.org",
    }
    assert _post_contact(client, **other).status_code == 422
    assert _post_contact(client, **other, another_person="yes").status_code == 302
    assert Contact.objects.filter(email="jean.dupont@example.org").count() == 2


def test_a_match_the_user_cannot_see_is_not_disclosed(cast, client):
    _contact(
        cast,
        organization=cast.org_b,
        email="hidden@example.org",
        confidentiality="confidential",
        owner=cast.org_b,
    )
    login(client, cast.user("editor_a"))
    response = _post_contact(
        client, function="Adviser (made for tests)", organization="test-org-a", email="hidden@example.org"
    )
    assert response.status_code == 302  # recorded: editor A cannot know of B's confidential entry


# --- Stale entries -----------------------------------------------------------------------------


def test_entries_unverified_for_twelve_months_are_flagged_everywhere(cast, client, settings):
    today = timezone.localdate()
    old = _contact(cast, function="Old entry (made for tests)", verified_on=today - dt.timedelta(days=400))
    fresh = _contact(cast, function="Fresh entry (made for tests)", verified_on=today - dt.timedelta(days=30))
    never = _contact(cast, function="Never verified (made for tests)")
    login(client, cast.user("reader"))
    assert 'data-testid="stale"' in client.get(old.get_absolute_url()).content.decode()
    assert 'data-testid="stale"' not in client.get(fresh.get_absolute_url()).content.decode()
    listed = client.get("/contacts/?stale=yes&q=made+for+tests").content.decode()
    assert "Old entry" in listed and "Never verified" in listed and "Fresh entry" not in listed
    body = b"".join(client.get("/contacts/export/?q=made+for+tests").streaming_content).decode("utf-8-sig")
    rows = {line.split(",")[2]: line.split(",")[-1] for line in body.splitlines()[1:]}
    assert rows == {
        "Old entry (made for tests)": "yes",
        "Fresh entry (made for tests)": "no",
        "Never verified (made for tests)": "yes",
    }
    api = {c["function"]: c["stale"] for c in client.get("/api/v1/contacts?q=made+for+tests").json()["items"]}
    assert api[old.function] and not api[fresh.function] and api[never.function]
    # The limit is a setting.
    settings.CONTACT_STALE_MONTHS = 24
    assert 'data-testid="stale"' not in client.get(old.get_absolute_url()).content.decode()


def test_the_stale_limit_falls_on_the_same_day_or_the_months_last():
    from coopmatrix.directory.models import stale_before

    assert stale_before(dt.date(2026, 11, 25)) == dt.date(2025, 11, 25)
    assert stale_before(dt.date(2024, 2, 29)) == dt.date(2023, 2, 28)


# --- Verification links ------------------------------------------------------------------------


def _send(client, cast, contact, to="checker@example.org"):
    login(client, cast.user("secretariat"))
    response = client.post(f"/contact/{contact.pk}/send-verification/", {"sent_to": to})
    assert response.status_code == 302
    link = re.search(r"https?://[^\s]+/verify/[^\s]+/", mail.outbox[-1].body).group(0)
    client.logout()
    return link.split("testserver", 1)[1]


def _answer(contact, **changes):
    fields = ("person_name", "function", "email", "telephone", "fax", "postal_address", "languages")
    data = {f"{contact.pk}-{name}": getattr(contact, name) for name in fields}
    data.update({f"{contact.pk}-{k}": v for k, v in changes.items()})
    return data


def test_a_link_confirms_an_entry_once_and_only_once(cast, client):
    contact = _contact(cast, person_name="Lena Check", email="lena@example.org")
    path = _send(client, cast, contact)
    assert mail.outbox[-1].to == ["checker@example.org"]
    page = client.get(path)
    assert page.status_code == 200 and "Lena Check" in page.content.decode()
    response = client.post(path, _answer(contact))
    assert response.status_code == 200 and 'data-testid="done"' in response.content.decode()
    contact.refresh_from_db()
    assert contact.verified_on == timezone.localdate()
    assert "checker@example.org" in contact.verified_by
    assert contact.history.first().history_change_reason == "confirmed through a verification link"
    # Used: the same link is refused and changes nothing.
    Contact.objects.filter(pk=contact.pk).update(verified_on=dt.date(2020, 1, 1))
    again = client.post(path, _answer(contact, telephone="+43 1 26060"))
    assert again.status_code == 410
    assert "already used" in again.content.decode()
    contact.refresh_from_db()
    assert contact.verified_on == dt.date(2020, 1, 1) and not Correction.objects.exists()


def test_tampered_and_expired_links_get_a_clear_page_and_change_nothing(cast, client):
    contact = _contact(cast, email="x@example.org")
    path = _send(client, cast, contact)
    tampered = client.get(path[:-6] + "AAAAA/")
    assert tampered.status_code == 400 and "not valid" in tampered.content.decode()
    Verification.objects.update(expires=timezone.now() - dt.timedelta(minutes=1))
    expired = client.post(path, _answer(contact))
    assert expired.status_code == 410 and "expired" in expired.content.decode()
    contact.refresh_from_db()
    assert contact.verified_on is None
    assert Verification.objects.get().used is None


def test_corrections_wait_for_the_secretariats_approval(cast, client):
    contact = _contact(cast, person_name="Omar Test", telephone="+43 1 26060")
    path = _send(client, cast, contact)
    bad = client.post(path, _answer(contact, telephone="no number"))
    assert bad.status_code == 422 and not Correction.objects.exists()
    response = client.post(path, _answer(contact, telephone="+43 1 26061", note="new extension"))
    assert response.status_code == 200
    contact.refresh_from_db()
    assert contact.telephone == "+43 1 26060"  # unchanged until approved
    correction = Correction.objects.get()
    assert correction.proposed == {"telephone": "+43 1 26061"}
    # A reader may not decide; the secretariat approves.
    login(client, cast.user("reader"))
    assert client.get("/contacts/corrections/").status_code == 403
    login(client, cast.user("secretariat"))
    assert "+43 1 26061" in client.get("/contacts/corrections/").content.decode()
    client.post("/contacts/corrections/", {"correction": correction.pk, "decision": "approve"})
    contact.refresh_from_db()
    assert contact.telephone == "+43 1 26061"
    assert contact.verified_on == timezone.localdate()
    assert contact.history.first().history_change_reason == "correction approved by secretariat"
    correction.refresh_from_db()
    assert correction.status == "approved" and correction.decided_by == cast.user("secretariat")


def test_an_organizations_link_covers_its_units_entries(cast, client):
    from coopmatrix.directory.models import Organization

    unit = Organization.objects.create(
        code="test-unit", name="Unit of A (made for tests)", kind="regional", parent=cast.org_a
    )
    first = _contact(cast, function="Head (made for tests)")
    second = _contact(cast, function="Unit head (made for tests)", organization=unit)
    login(client, cast.user("secretariat"))
    client.post(f"/organization/{cast.org_a.code}/send-verification/", {"sent_to": "org@example.org"})
    path = re.search(r"/verify/[^\s]+/", mail.outbox[-1].body).group(0)
    client.logout()
    data = {**_answer(first), **_answer(second, function="Head of unit (made for tests)")}
    assert client.post(path, data).status_code == 200
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.verified_on == timezone.localdate()
    assert second.verified_on is None and Correction.objects.get().contact == second


def test_only_the_secretariat_sends_links(cast, client):
    contact = _contact(cast, owner=cast.org_a)
    login(client, cast.user("editor_a"))
    assert (
        client.post(f"/contact/{contact.pk}/send-verification/", {"sent_to": "a@example.org"}).status_code
        == 403
    )
    assert not mail.outbox


# --- Personal data -----------------------------------------------------------------------------


def test_erasure_removes_personal_details_from_the_entry_and_its_history(cast, client):
    contact = _contact(
        cast,
        person_name="Erin Erase",
        email="erin@example.org",
        telephone="+43 1 26060",
        verified_by="erin@example.org, through a verification link",
    )
    contact.email = "erin.new@example.org"
    contact.save()
    login(client, cast.user("editor_a"))
    assert client.post(f"/contacts/{contact.pk}/erase/").status_code == 403
    login(client, cast.user("secretariat"))
    client.post(f"/contacts/{contact.pk}/erase/", {"note": "request of 1 May (made for tests)"})
    contact.refresh_from_db()
    assert contact.person_name == contact.email == contact.telephone == ""
    assert contact.erased_on == timezone.localdate()
    history = contact.history.all()
    assert all(h.person_name == h.email == h.telephone == h.verified_by == "" for h in history)
    assert history.first().history_change_reason.startswith("personal details erased on request")
    page = client.get(contact.get_absolute_url()).content.decode()
    assert 'data-testid="erased"' in page and "erin" not in page.lower()


def test_every_export_of_contacts_is_logged(cast, client):
    contact = _contact(
        cast, person_name="Vera Card", email="vera@example.org", telephone="+43 1 26060", roles=[]
    )
    login(client, cast.user("reader"))
    vcf = client.get(f"/contacts/{contact.pk}/vcard/")
    text = vcf.content.decode()
    assert vcf["Content-Type"].startswith("text/vcard")
    assert "FN:Vera Card" in text and "EMAIL;TYPE=INTERNET:vera@example.org" in text and "+43 1 26060" in text
    assert "STALE" in text  # never verified
    listed = client.get("/contacts/export/?format=vcf&q=Vera").content.decode()
    assert listed.count("BEGIN:VCARD") == 1
    pdf = client.get("/contacts/export/?format=pdf&q=Vera")
    assert pdf.content.startswith(b"%PDF")
    xlsx = client.get("/contacts/export/?format=xlsx&q=Vera")
    workbook = load_workbook(io.BytesIO(b"".join(xlsx.streaming_content)))
    cover = {row[0]: row[1] for row in workbook["Cover"].iter_rows(values_only=True)}
    assert cover["Highest confidentiality inside"] == "Restricted" and cover["Exported by"] == "reader"
    logs = list(ContactExport.objects.order_by("when").values_list("format", "count", "user__username"))
    assert logs == [("vcf", 1, "reader"), ("vcf", 1, "reader"), ("pdf", 1, "reader"), ("xlsx", 1, "reader")]
    assert ContactExport.objects.last().contact_ids == [contact.pk]


def test_filters_by_role_language_and_organization_with_its_units(cast, client):
    from coopmatrix.directory.models import ContactRole, Organization

    unit = Organization.objects.create(
        code="test-unit2", name="Unit (made for tests)", kind="regional", parent=cast.org_a
    )
    mla = ContactRole.objects.get(code="central-authority-mla")
    a = _contact(cast, function="Speaks French (made for tests)", languages="fr en", roles=[mla])
    b = _contact(cast, function="In the unit (made for tests)", organization=unit, languages="ar")
    login(client, cast.user("reader"))

    def functions(query):
        return {c["function"] for c in client.get(f"/api/v1/contacts?{query}").json()["items"]}

    assert functions("role=central-authority-mla") >= {a.function} and b.function not in functions(
        "role=central-authority-mla"
    )
    assert functions("language=fr&q=made+for+tests") == {a.function}
    assert functions("language=Arabic&q=made+for+tests") == {b.function}
    assert functions("organization=test-org-a&q=made+for+tests") == {a.function, b.function}
    bad = client.get("/api/v1/contacts?language=xx-unknown")
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["query", "language"]


def test_the_api_refuses_a_silent_duplicate_and_merges_on_request(cast, client):
    existing = _contact(cast, email="api@example.org", owner=cast.org_a)
    login(client, cast.user("editor_a"))
    payload = {
        "function": "API entry (made for tests)",
        "organization": "test-org-a",
        "email": "api@example.org",
        "roles": ["fiu"],
    }
    refused = client.post("/api/v1/contacts", payload, content_type="application/json")
    assert refused.status_code == 409 and refused.json()["matches"] == [existing.pk]
    merged = client.post(
        "/api/v1/contacts", {**payload, "merge_into": existing.pk}, content_type="application/json"
    )
    assert (
        merged.status_code == 201 and merged.json()["id"] == existing.pk and merged.json()["roles"] == ["fiu"]
    )
    bad = client.post(
        "/api/v1/contacts", {"function": "x", "organization": "nowhere"}, content_type="application/json"
    )
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "organization"]
    assert client.delete(f"/api/v1/contacts/{existing.pk}").status_code == 204


def test_duplicates_compare_names_folded():
    assert entries.normalize_name("Dr. José  GARCÍA") == entries.normalize_name("garcia, jose")
    assert entries.normalize_name("Ana Lima") != entries.normalize_name("Ana Lim")


def test_an_organizations_editor_keeps_its_entries_whoever_recorded_them(cast, client):
    by_secretariat = _contact(
        cast, function="Recorded by the secretariat (made for tests)", confidentiality="confidential"
    )
    of_b = _contact(
        cast, organization=cast.org_b, function="Of B (made for tests)", confidentiality="confidential"
    )
    login(client, cast.user("editor_a"))
    assert client.get(by_secretariat.get_absolute_url()).status_code == 200
    assert client.get(f"/contacts/{by_secretariat.pk}/change/").status_code == 200
    assert client.get(f"/contacts/{of_b.pk}/change/").status_code == 404
    response = client.put(
        f"/api/v1/contacts/{by_secretariat.pk}",
        {
            "function": "Renamed (made for tests)",
            "organization": "test-org-a",
            "confidentiality": "confidential",
        },
        content_type="application/json",
    )
    assert response.status_code == 200 and response.json()["function"] == "Renamed (made for tests)"


def test_a_change_that_makes_an_entry_match_another_asks_first(cast, client):
    _contact(cast, function="First (made for tests)", email="same@example.org", owner=cast.org_a)
    second = _contact(cast, function="Second (made for tests)", email="other@example.org", owner=cast.org_a)
    login(client, cast.user("editor_a"))
    fields = {"function": second.function, "organization": "test-org-a", "email": "same@example.org"}
    response = client.post(f"/contacts/{second.pk}/change/", {"confidentiality": "restricted", **fields})
    assert response.status_code == 422 and "Merge into this entry" not in response.content.decode()
    second.refresh_from_db()
    assert second.email == "other@example.org"
    api = client.put(f"/api/v1/contacts/{second.pk}", fields, content_type="application/json")
    assert api.status_code == 409
    saved = client.post(
        f"/contacts/{second.pk}/change/", {"confidentiality": "restricted", "another_person": "yes", **fields}
    )
    assert saved.status_code == 302
    # Kept on purpose beside its look-alike: later changes elsewhere are not questioned again.
    again = client.post(
        f"/contacts/{second.pk}/change/",
        {"confidentiality": "restricted", **fields, "telephone": "+43 1 26060"},
    )
    assert again.status_code == 302


def test_a_link_older_than_the_limit_is_refused_by_its_signature(cast, client, settings):
    contact = _contact(cast, email="late@example.org")
    path = _send(client, cast, contact)
    settings.VERIFICATION_LINK_DAYS = 0  # the signature's own timestamp, whatever the record says
    refused = client.get(path)
    assert refused.status_code == 410 and "expired" in refused.content.decode()


def test_an_unknown_export_format_is_refused_and_not_logged(cast, client):
    login(client, cast.user("reader"))
    response = client.get("/contacts/export/?format=docx")
    assert response.status_code == 400 and "csv, xlsx, vcf or pdf" in response.content.decode()
    assert not ContactExport.objects.exists()
