"""Exporting the matrix as IATI 2.03: valid, streamed, only what may be seen, public by default,
and read back into the same activities."""

from __future__ import annotations

import functools
import re
import threading
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import connection
from lxml import etree

from coopmatrix.core import readahead
from coopmatrix.core.testing import login
from coopmatrix.directory.models import Organization
from coopmatrix.exchange import iati_export, importers
from coopmatrix.exchange.iati import schema
from coopmatrix.exchange.models import IatiRecord
from coopmatrix.funding.models import Contribution
from coopmatrix.matrix.models import Activity, ActivityProvider

SAMPLES = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "iati" / "samples"


def _body(response) -> bytes:
    assert response.status_code == 200, response.content[:500]
    assert response.streaming
    return b"".join(response.streaming_content)


def _valid(content: bytes) -> etree._Element:
    """The file, after checking it against the 2.03 schema as a whole."""
    root = etree.fromstring(content, etree.XMLParser(resolve_entities=False, no_network=True))
    assert schema().validate(root), [str(e) for e in schema().error_log][:5]
    return root


def _identifiers(root: etree._Element) -> set[str]:
    return {a.findtext("iati-identifier") for a in root.iterfind("iati-activity")}


def _made(cast, external_id: str, title: str, provider: bool = True, **fields) -> Activity:
    """A workshop of organization A made for a test, public unless `fields` say otherwise, with A
    as its implementing provider unless `provider` is off (an activity naming none is left out)."""
    values = {"modality": "workshop", "status": "planned", "confidentiality": "public", "owner": cast.org_a}
    activity = Activity.objects.create(external_id=external_id, title=title, **(values | fields))
    if provider:
        ActivityProvider.objects.create(activity=activity, organization=cast.org_a, role="implementing")
    return activity


def test_the_seed_matrix_exports_as_a_valid_iati_file(client, db):
    root = _valid(_body(client.get("/matrix/export.iati.xml")))
    public = Activity.objects.filter(confidentiality="public")
    assert len(root) == public.count() > 40
    first = root.find("iati-activity")
    assert first is not None and first.findtext("reporting-org/narrative")
    # The matrix's own thematic areas go out with their DAC codes and as the matrix names them.
    vocabularies = {s.get("vocabulary") for s in root.iter("sector")}
    assert {"1", "99"} <= vocabularies


def test_the_export_follows_the_matrix_filters(client, db):
    root = _valid(_body(client.get("/matrix/export.iati.xml?state=CRI")))
    wanted = Activity.objects.filter(confidentiality="public", reach__state__code="CRI").distinct()
    assert len(root) == wanted.count() > 0
    assert client.get("/matrix/export.iati.xml?state=NOWHERE").status_code == 400
    assert client.get("/matrix/export.iati.xml?levels=everything").status_code == 400


def test_only_public_activities_unless_asked_and_then_the_file_says_so(cast, client):
    for level in ("public", "restricted", "confidential"):
        _made(cast, f"XM-TEST-1-{level}", f"Export test {level} (made for tests)", confidentiality=level)
    login(client, cast.users["secretariat"])
    public = _body(client.get("/matrix/export.iati.xml?q=Export+test"))
    assert _identifiers(_valid(public)) == {"XM-TEST-1-public"}
    assert b"NOT FOR PUBLICATION" not in public
    response = client.get("/matrix/export.iati.xml?q=Export+test&levels=all")
    assert "not-for-publication" in response["Content-Disposition"]
    every = _body(response)
    assert b"NOT FOR PUBLICATION" in every
    assert _identifiers(_valid(every)) == {
        f"XM-TEST-1-{level}" for level in ("public", "restricted", "confidential")
    }
    # Whoever asks for everything gets only what they may see.
    client.logout()
    assert _identifiers(_valid(_body(client.get("/matrix/export.iati.xml?q=Export+test&levels=all")))) == {
        "XM-TEST-1-public"
    }
    login(client, cast.users["editor_b"])
    seen = _identifiers(_valid(_body(client.get("/matrix/export.iati.xml?q=Export+test&levels=all"))))
    assert seen == {"XM-TEST-1-public", "XM-TEST-1-restricted"}


def test_the_api_gives_the_same_file(client, db):
    page = _body(client.get("/matrix/export.iati.xml?state=CRI"))
    api = _body(client.get("/api/v1/activities.iati.xml?state=CRI"))
    assert _identifiers(_valid(api)) == _identifiers(_valid(page))
    assert client.get("/api/v1/activities.iati.xml?state=NOWHERE").status_code in (400, 422)


def test_the_matrix_offers_the_iati_file_with_its_filters(client, db):
    page = client.get("/matrix/?state=CRI").content.decode()
    assert 'href="/matrix/export.iati.xml?state=CRI"' in page


def _snapshot() -> dict[str, tuple]:
    """Every field IATI carries, per activity, in words that survive a new database."""
    found = {}
    for activity in Activity.objects.filter(iati__isnull=False).select_related("iati"):
        record = activity.iati
        found[activity.external_id] = (
            activity.title,
            activity.description,
            activity.status,
            activity.planned_start,
            activity.planned_end,
            activity.actual_start,
            activity.actual_end,
            activity.budget,
            activity.currency,
            activity.confidentiality,
            sorted(
                (p.organization.iati_identifier or p.organization.name, p.role)
                for p in activity.provider_roles.all()
            ),
            sorted(s.code for s in activity.recipient_states.all()),
            sorted(r.m49 for r in activity.recipient_regions.all()),
            sorted(t.code for t in activity.thematic_areas.all()),
            record.titles,
            record.descriptions,
            record.reporting_org,
            record.status,
            record.language,
            record.countries,
            record.regions,
            record.sectors,
            record.related,
            record.documents,
            record.contacts,
            sorted(
                (
                    b.type,
                    b.status,
                    b.period_start,
                    b.period_end,
                    b.value.normalize(),
                    b.currency,
                    b.value_date,
                )
                for b in record.budgets.all()
            ),
            sorted(
                (
                    t.ref,
                    t.type,
                    t.date,
                    t.value.normalize(),
                    t.currency,
                    t.value_date,
                    repr(t.description),
                    repr(t.provider),
                    repr(t.receiver),
                )
                for t in record.transactions.all()
            ),
        )
    return found


def test_an_export_imported_into_an_empty_database_gives_back_the_same_activities(cast, client):
    secretariat = cast.users["secretariat"]
    for path in sorted(SAMPLES.glob("*.xml")):
        importers.import_file(secretariat, path.read_bytes(), path.name)
    before = _snapshot()
    assert len(before) == 66
    login(client, secretariat)
    content = _body(client.get("/matrix/export.iati.xml?levels=all"))
    _valid(content)
    # An empty database: the activities, their records and the organizations the files brought.
    made = set(IatiRecord.objects.values_list("activity_id", flat=True))
    Contribution.objects.filter(external_id__startswith="iati:").delete()  # the files' transactions
    Activity.objects.filter(pk__in=made).delete()
    Organization.objects.filter(source__startswith="named in an IATI file").delete()
    assert not IatiRecord.objects.exists()
    preview = importers.import_file(secretariat, content, "exported.xml")
    imported = {a.external_id for a in Activity.objects.filter(iati__isnull=False)}
    assert before.keys() <= imported, preview.refused[:3]
    after = {key: value for key, value in _snapshot().items() if key in before}
    for key in before:
        differ = [(i, x, y) for i, (x, y) in enumerate(zip(before[key], after[key], strict=True)) if x != y]
        assert not differ, (key, differ)


def test_activities_with_full_records_go_out_in_smaller_chunks_and_the_file_is_the_same(
    cast, client, monkeypatch
):
    for path in sorted(SAMPLES.glob("*.xml")):
        importers.import_file(cast.users["secretariat"], path.read_bytes(), path.name)
    records = IatiRecord.objects.filter(activity__confidentiality="public").count()
    plain = Activity.objects.filter(confidentiality="public", iati=None).count()
    assert records > 20 and plain > 20

    def exported() -> tuple[bytes, int]:
        pieces = list(client.get("/matrix/export.iati.xml").streaming_content)
        # The generation time aside, which differs between two exports a second apart.
        return re.sub(rb'generated-datetime="[^"]*"', b"", b"".join(pieces)), len(pieces)

    whole, _pieces = exported()
    monkeypatch.setattr(iati_export, "CHUNK", 7)
    monkeypatch.setattr(iati_export, "RECORDS_CHUNK", 2)
    chunked, pieces = exported()
    assert chunked == whole
    assert len(_identifiers(_valid(chunked))) == records + plain
    # The declaration, the root's opening and its end, and a piece a chunk: at most 2 records or
    # 7 activities each.
    assert pieces - 3 >= max(records / 2, (records + plain) / 7)


@pytest.mark.parametrize("role", ["anonymous", "reader", "editor_a", "focal_point", "secretariat"])
def test_every_export_the_roles_make_is_valid(cast, client, role):
    login(client, cast.users[role])
    _valid(_body(client.get("/matrix/export.iati.xml?levels=all")))


def test_text_xml_marks_up_comes_back_as_written_and_control_characters_as_spaces(cast, client):
    title = "Fish & chips <\"quoted\"> 'single'\r\nline\tand tab"
    # A paste from a PDF: a form feed between its pages, a vertical tab.
    _made(cast, 'XM-TEST-2 & "3"', title, description="Page one\x0cpage two\x0bend")
    root = _valid(_body(client.get("/matrix/export.iati.xml?q=Fish")))
    assert _identifiers(root) == {'XM-TEST-2 & "3"'}
    written = root.find("iati-activity")
    assert written is not None
    assert written.findtext("title/narrative") == title
    assert written.findtext("description/narrative") == "Page one page two end"


def test_an_activity_left_out_for_naming_no_provider_keeps_the_file_well_formed(cast, client):
    # An identifier with what an XML comment cannot hold as it is: "--", a closing "-".
    _made(cast, "XM--TEST---4-", "Left out (made for tests)", provider=False)
    _made(cast, "XM-TEST-5", "Left out beside it (made for tests)")
    content = _body(client.get("/matrix/export.iati.xml?q=Left+out"))
    root = _valid(content)
    assert _identifiers(root) == {"XM-TEST-5"}
    assert b"XM- -TEST- - -4- is left out: it names no provider" in content


def test_an_owner_the_reader_may_not_see_is_not_named_as_reporting_org(cast, client):
    """A public activity kept by a confidential organization goes out to the public with
    coopmatrix as its reporting organisation; its keeper and the secretariat see the owner."""
    hidden = Organization.objects.create(
        code="test-hidden-owner",
        name="Hidden keeper (made for tests)",
        kind=Organization.Kind.REGIONAL,
        iati_identifier="XM-HIDDEN-KEEPER",
        confidentiality="confidential",
        owner=cast.org_a,
    )
    _made(cast, "XM-TEST-6", "Kept by a hidden keeper (made for tests)", owner=hidden)

    def reporting(role: str | None) -> tuple[str | None, str | None]:
        client.logout()
        if role:
            login(client, cast.users[role])
        content = _body(client.get("/matrix/export.iati.xml?q=hidden+keeper"))
        (activity,) = _valid(content).iterfind("iati-activity")
        org = activity.find("reporting-org")
        assert org is not None
        if role is None:
            assert b"Hidden keeper" not in content and b"XM-HIDDEN-KEEPER" not in content
        return org.get("ref"), org.findtext("narrative")

    assert reporting(None) == ("coopmatrix", "coopmatrix")
    assert reporting("editor_b") == ("coopmatrix", "coopmatrix")
    assert reporting("editor_a") == ("XM-HIDDEN-KEEPER", "Hidden keeper (made for tests)")
    assert reporting("secretariat") == ("XM-HIDDEN-KEEPER", "Hidden keeper (made for tests)")


def test_activities_gathered_by_the_database_are_those_read_through_the_orm(cast, client):
    """On PostgreSQL each activity and all it holds is read as one JSON text, all in one query
    (iati_export._streamed); what that gives is what the ORM reads (iati_export._read, the way on
    SQLite): amounts at the precision given and in the same shortest text, days and moments as
    written, States by name, providers in the order made."""
    for path in sorted(SAMPLES.glob("*.xml")):
        importers.import_file(cast.users["secretariat"], path.read_bytes(), path.name)
    record = IatiRecord.objects.filter(transactions__isnull=False).order_by("pk").first()
    assert record is not None
    amounts = ["1234567.8900000000", "0", "-5.1", "100000000000000000", "0.0000000001"]
    transactions = list(record.transactions.order_by("pk"))
    for transaction, amount in zip(transactions, amounts, strict=False):
        transaction.value = Decimal(amount)
        transaction.save()
    # A value orjson does not read (an integer beyond 64 bits) is read all the same.
    record.contacts = [*record.contacts, {"type": "1", "email": "x@example.org", "n": 2**70}]
    record.save()
    activities = Activity.objects.all()

    read = list(iati_export._read(activities))
    assert len(read) == Activity.objects.count() > 66
    row = next(row for row in read if row["pk"] == record.activity_id)
    written = [values[3] for values in row["iati"]["transactions"]]
    expected = ["1234567.89", "0", "-5.1", "100000000000000000", "0.0000000001"]
    assert written[: len(expected)] == expected[: len(written)]
    assert row["iati"]["contacts"][-1]["n"] == 2**70
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", row["updated"])
    assert any(len(row["states"]) > 1 for row in read)  # their order is compared below
    assert any(len(row["providers"]) > 1 for row in read)
    if connection.vendor == "postgresql":
        assert list(iati_export._streamed(activities)) == read


def test_a_download_stopped_early_leaves_the_connection_free(cast, monkeypatch):
    """A reader who stops the download (a closed tab: the server closes the response, and with it
    the file's pieces) stops the reading (on PostgreSQL its thread and its one query): the
    connection answers again at once."""
    monkeypatch.setattr(iati_export, "CHUNK", 2)
    # On PostgreSQL, a row at a time and one ahead: the reading is stopped half way.
    monkeypatch.setattr(iati_export, "rows_ahead", functools.partial(readahead.rows_ahead, batch=1, ahead=1))
    public = Activity.objects.filter(confidentiality="public")
    organizations = set(Organization.objects.values_list("pk", flat=True))
    pieces = iati_export.export(public, "http://testserver/thematic-areas/", organizations)
    taken = [next(pieces) for _ in range(4)]
    assert b"<iati-activity " in b"".join(taken)
    pieces.close()
    assert not [t for t in threading.enumerate() if t.name == "rows-ahead"]
    assert public.count() > 8
