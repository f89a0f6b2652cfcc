"""Importing IATI files: the real samples, the preview, all or nothing, idempotent, who may."""

from __future__ import annotations

import datetime as dt
import gc
import html
import io
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, transaction

from coopmatrix.core import collecting, keysets
from coopmatrix.core.testing import login, run_jobs
from coopmatrix.directory.models import Organization
from coopmatrix.exchange import importers
from coopmatrix.exchange.models import IatiBudget, IatiRecord, IatiTransaction
from coopmatrix.matrix.models import Activity

SAMPLES = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "iati" / "samples"
ALL_SAMPLES = sorted(SAMPLES.glob("*.xml"))


def _activity(
    identifier: str,
    *,
    status: str = "2",
    updated: str = "2020-01-01T00:00:00",
    extra: str = "",
    org: str = "",
) -> str:
    return (
        f'<iati-activity last-updated-datetime="{updated}" xml:lang="en" default-currency="EUR">'
        f"<iati-identifier>{identifier}</iati-identifier>"
        '<reporting-org ref="XM-TEST-1" type="40"><narrative>Test organization A (made for tests)</narrative>'
        "</reporting-org>"
        "<title><narrative>Workshop on the universal instruments (made for tests)</narrative>"
        '<narrative xml:lang="fr">Atelier sur les instruments universels (fait pour les tests)'
        "</narrative></title>"
        "<description><narrative>Made for tests.</narrative></description>"
        '<participating-org role="4" ref="XM-TEST-1" type="40"><narrative>Test organization A</narrative>'
        f"</participating-org>{org}"
        f'<activity-status code="{status}"/>'
        '<activity-date type="1" iso-date="2005-03-01"/><activity-date type="3" iso-date="2005-03-20"/>'
        '<recipient-country code="BJ"/><recipient-region code="1030"/>'
        '<sector vocabulary="1" code="15130"/>'
        f"{extra}"
        "</iati-activity>"
    )


def _file(*activities: str) -> bytes:
    return ('<iati-activities version="2.03">' + "".join(activities) + "</iati-activities>").encode()


def _import(user, content: bytes, name: str = "test.xml", **options) -> importers.Preview:
    return importers.import_file(user, content, name, **options)


@pytest.fixture
def secretariat(cast):
    Organization.objects.filter(code="test-org-a").update(iati_identifier="XM-TEST-1")
    return cast.users["secretariat"]


@pytest.fixture(params=["read here", "read aside"])
def reading(request, monkeypatch):
    """The file read in this process, or (as a large one is) in a second one while this one writes."""
    aside = request.param == "read aside"
    monkeypatch.setattr(importers, "READ_ASIDE_BYTES", 0 if aside else 1 << 40)
    started = []
    second_process = importers.aside.chunks_aside
    monkeypatch.setattr(importers.aside, "chunks_aside", lambda *a: started.append(a) or second_process(*a))
    yield request.param
    assert bool(started) == aside
    # Chunks as the test sets them, the first ones too.
    assert all(max(a[3], default=0) <= a[2] for a in started)


def test_every_shared_sample_is_imported_and_what_was_refused_is_said(secretariat, reading, capsys):
    call_command("import_iati", *map(str, ALL_SAMPLES), user="secretariat")
    out = capsys.readouterr().out
    assert "datastore-2020-un-multilateral-ngo-50.xml: 50 activities, imported 49 created" in out
    assert "dfid-GB-1-2016.xml: 8 activities, imported 3 created" in out
    assert "iati-activity-standard-example-annotated-203.xml: 1 activities, imported 1 created" in out
    assert "iati-example-203.xml: 13 activities, imported 13 created" in out
    assert "refused: line 28, GB-1-109616-101: line 99: <capital-spend> lacks its required attribute" in out
    assert IatiRecord.objects.count() == 66 and Activity.objects.filter(iati__isnull=False).count() == 66
    # Imported as published: public, with the file and identifier as their source.
    assert set(Activity.objects.filter(iati__isnull=False).values_list("confidentiality", flat=True)) == {
        "public"
    }
    activity = Activity.objects.get(external_id="GB-1-109635")
    assert activity.source == "IATI file dfid-GB-1-2016.xml, activity GB-1-109635"


def test_a_file_read_a_few_activities_at_a_time_gives_the_same_matrix(secretariat, reading, monkeypatch):
    """The import reads the file once and writes each chunk as soon as it is checked: with chunks
    of two activities, a real file comes in whole, its duplicate refused, its unknown
    organizations created once (each before the first chunk that names it), and a second import
    changes nothing."""
    name = "datastore-2020-un-multilateral-ngo-50.xml"
    content = (SAMPLES / name).read_bytes()
    monkeypatch.setattr(importers, "CHUNK", 2)
    preview = _import(secretariat, content, name)
    assert preview.ok and preview.planned == [] and preview.created == 49 and preview.total == 50
    assert IatiRecord.objects.count() == 49 == Activity.objects.filter(iati__isnull=False).count()
    made = {o.code for o in preview.new_organizations}
    assert made and Organization.objects.filter(code__in=made).count() == len(made)
    again = _import(secretariat, content, name)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 49) and not again.new_organizations


@pytest.mark.parametrize("gathered_at_most", [None, 300])
def test_the_counts_and_sums_of_an_import_in_chunks_are_added_once_and_agree_with_the_records(
    secretariat, monkeypatch, gathered_at_most
):
    """An import of many chunks adds to the grid's counts and the funding sums once, at its end:
    added chunk after chunk in one transaction, the same rows were updated again and again, each
    time more slowly (PostgreSQL). What is kept equals a count made from the records, also when
    what is gathered is added now and then (a very large import)."""
    import re

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from coopmatrix.core import deltas
    from coopmatrix.funding import sums
    from coopmatrix.funding.models import Contribution
    from coopmatrix.matrix import counts

    name = "datastore-2020-un-multilateral-ngo-50.xml"
    monkeypatch.setattr(importers, "CHUNK", 5)
    if gathered_at_most:
        monkeypatch.setattr(deltas, "GATHERED_AT_MOST", gathered_at_most)
    with CaptureQueriesContext(connection) as queries:
        preview = _import(secretariat, (SAMPLES / name).read_bytes(), name)
    assert preview.ok and preview.created == 49
    assert Contribution.objects.filter(iati_transaction__isnull=False).count() > 100
    upserts = [
        table
        for q in queries
        for table in re.findall(r"INSERT INTO \"?(matrix_gridcount|funding_fundingsum)\b", q["sql"])
    ]
    if connection.vendor == "postgresql" and gathered_at_most:
        # Added whenever 300 rows were gathered, and what is left at the end: some, not one a chunk.
        assert 2 < upserts.count("matrix_gridcount") < 10, upserts
    elif connection.vendor == "postgresql":
        assert sorted(upserts) == ["funding_fundingsum", "matrix_gridcount"], upserts
    else:  # row by row, as SQLite has no COPY
        assert upserts.count("matrix_gridcount") >= 10
    assert counts.drift() == {}
    assert sums.drift() == {}


def test_a_file_cut_short_after_its_first_chunks_were_written_keeps_nothing(
    secretariat, reading, monkeypatch
):
    """Chunks are written as they are checked: a file found cut short further on undoes what its
    first chunks wrote (an activity, its record, an organization made for it) and says why."""
    monkeypatch.setattr(importers, "CHUNK", 1)
    content = _file(
        _activity("XM-TEST-1-E1", org=NEW_ORGANIZATION),
        _activity("XM-TEST-1-E2"),
        _activity("XM-TEST-1-E3"),
    )
    whole = _import(secretariat, content, "whole.xml")
    assert whole.created == 3 and any("XM-NEW-9" in note and "was created as" in note for note in whole.notes)
    Activity.objects.filter(external_id__startswith="XM-TEST-1-E").delete()
    Organization.objects.filter(iati_identifier="XM-NEW-9").delete()
    cut = content[: content.rindex(b"<iati-activity ")] + b"<iati-activity><iati-identi"
    preview = _import(secretariat, cut, "cut.xml")
    assert not preview.ok and "cut.xml: the XML stops before it is complete" in preview.errors[0].reason
    assert "the file is truncated" in preview.errors[0].reason
    assert not Activity.objects.filter(external_id__startswith="XM-TEST-1-E").exists()
    assert not IatiRecord.objects.filter(identifier__startswith="XM-TEST-1-E").exists()
    assert not Organization.objects.filter(iati_identifier="XM-NEW-9").exists()


NEW_ORGANIZATION = (
    '<participating-org role="1" ref="XM-NEW-9" type="60">'
    "<narrative>A foundation (made for tests)</narrative></participating-org>"
)


def test_an_import_collects_cycles_less_often_while_it_writes_and_as_before_after(secretariat):
    seen = []

    def written(sender, records, user, **kwargs):
        seen.append(gc.get_threshold())

    before = gc.get_threshold()
    importers.records_written.connect(written)
    try:
        preview = _import(secretariat, _file(_activity("XM-TEST-1-GC")))
    finally:
        importers.records_written.disconnect(written)
    assert preview.created == 1
    assert seen == [collecting.THRESHOLDS]
    assert gc.get_threshold() == before


def test_a_large_file_leaves_no_check_of_its_keys_waiting_in_the_database(secretariat, monkeypatch):
    """The rows of an import have their foreign keys checked as they are written, not at the
    commit: PostgreSQL holds a check waiting for every key of every row until then, in the memory
    of the connection's server process (some 85 an activity: a gigabyte and more for a million).
    That memory stays the same from the first chunk to the last. After the import, keys are
    deferred again, as Django makes them, for whatever the transaction writes next."""
    name = "datastore-2020-un-multilateral-ngo-50.xml"
    monkeypatch.setattr(importers, "CHUNK", 5)
    waiting = []

    def written(sender, records, user, **kwargs):
        waiting.append(_checks_waiting())

    importers.records_written.connect(written)
    try:
        preview = _import(secretariat, (SAMPLES / name).read_bytes(), name)
    finally:
        importers.records_written.disconnect(written)
    assert preview.created == 49 and len(waiting) == 10
    assert max(waiting) == waiting[0], waiting
    record = IatiRecord.objects.get(identifier="DAC-1601-OPP1122378")
    broken = {"type": "1", "status": "1", "value": 1, "currency": "EUR"}
    # Deferred again: a budget of a record not (yet) there is written, and refused when checked.
    written_alone = False
    with pytest.raises(IntegrityError), transaction.atomic():
        IatiBudget.objects.create(
            record_id=record.pk + 10**6,
            period_start=dt.date(2020, 1, 1),
            period_end=dt.date(2020, 12, 31),
            **broken,
        )
        written_alone = True
        connection.check_constraints()
    assert written_alone


def _checks_waiting() -> int:
    """The bytes the connection's PostgreSQL process holds for checks waiting for the commit (0 on
    SQLite, which holds no check for each key: it counts the keys broken and not yet mended)."""
    if connection.vendor != "postgresql":
        return 0
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COALESCE(sum(used_bytes), 0) FROM pg_backend_memory_contexts"
            " WHERE name = 'AfterTriggerEvents'"
        )
        return int(cursor.fetchone()[0])


def test_the_texts_an_import_keeps_get_no_statistics_and_their_keys_do(secretariat):
    """PostgreSQL's ANALYZE, run inside a large import's transaction (core.planner) and by
    autovacuum, describes the identifiers and dates an import looks up, not the texts kept as JSON,
    which no query filters on: describing those took nine tenths of its time on the records."""
    name = "datastore-2020-un-multilateral-ngo-50.xml"
    preview = _import(secretariat, (SAMPLES / name).read_bytes(), name)
    assert preview.created == 49
    if connection.vendor != "postgresql":
        return  # SQLite's ANALYZE describes indexes only
    described = {}
    with connection.cursor() as cursor:
        for table in ("exchange_iatirecord", "exchange_historicaliatirecord", "exchange_iatitransaction"):
            cursor.execute(f"ANALYZE {table}")
            cursor.execute("SELECT attname FROM pg_stats WHERE tablename = %s", [table])
            described[table] = {row[0] for row in cursor.fetchall()}
    assert {"identifier", "last_updated", "activity_id"} <= described["exchange_iatirecord"]
    assert {"identifier", "history_date"} <= described["exchange_historicaliatirecord"]
    assert {"record_id", "value_date"} <= described["exchange_iatitransaction"]
    for texts in ("titles", "descriptions", "participating", "documents", "contacts"):
        assert texts not in described["exchange_iatirecord"] | described["exchange_historicaliatirecord"]
    assert not {"description", "provider", "receiver"} & described["exchange_iatitransaction"]


def _cycles_left(user, content: bytes) -> int:
    """The objects an import leaves in reference cycles: freed only by the cycle collector."""
    gc.collect()
    gc.disable()
    try:
        _import(user, content)
        return gc.collect()
    finally:
        gc.enable()


def test_what_an_import_makes_is_freed_with_its_chunk_new_or_unchanged(secretariat):
    """During an import the collector seldom makes a full pass (core.collecting): an object left
    in a cycle once its chunk is written stays until then, and memory grows with the file (a
    record read with its activity, or made with it: some 130 MB over a rerun of 100,000)."""
    left = {}
    for n in (5, 40):
        content = _file(*(_activity(f"XM-TEST-1-CY{n}-{i}") for i in range(n)))
        left[n] = (_cycles_left(secretariat, content), _cycles_left(secretariat, content))
        assert Activity.objects.filter(external_id__startswith=f"XM-TEST-1-CY{n}-").count() == n
    (new_few, again_few), (new_many, again_many) = left[5], left[40]
    # 35 activities more: fewer than one object in a cycle for each.
    assert new_many - new_few < 35, left
    assert again_many - again_few < 35, left


def test_a_sample_activity_is_mapped_field_by_field(secretariat):
    _import(secretariat, (SAMPLES / "dfid-GB-1-2016.xml").read_bytes(), "dfid-GB-1-2016.xml")
    activity = Activity.objects.get(external_id="GB-1-109635")
    record = activity.iati
    assert activity.title == record.titles["en"]
    assert activity.status == "completed" and record.status == "4"
    assert activity.modality == ""  # IATI has none; never guessed
    roles = {(p.organization.iati_identifier, p.role) for p in activity.provider_roles.all()}
    assert ("GB", "funding") in roles and ("GB-GOV-1", "extending") in roles
    assert record.reporting_org["ref"] == "GB-GOV-1"


def test_budgets_and_transactions_are_kept_with_their_currency_and_dates(secretariat):
    _import(secretariat, (SAMPLES / "iati-activity-standard-example-annotated-203.xml").read_bytes())
    record = IatiRecord.objects.get(identifier="AA-AAA-123456789-ABC123")
    budget = record.budgets.get()
    assert (budget.period_start, budget.value, budget.currency) == (
        dt.date(2014, 1, 1),
        Decimal("1000"),
        "AUD",
    )
    transaction = record.transactions.first()
    assert transaction is not None
    assert (transaction.type, transaction.date, transaction.value) == (
        "1",
        dt.date(1995, 1, 1),
        Decimal("1000"),
    )
    assert transaction.provider["activity_id"] == "BB-BBB-123456789-1234AA"


def test_recipients_sectors_and_dates_map_to_the_matrix(secretariat):
    preview = _import(secretariat, _file(_activity("XM-TEST-1-A1")))
    assert preview.ok and preview.created == 1, preview.refused
    activity = Activity.objects.get(external_id="XM-TEST-1-A1")
    assert [s.iso3 for s in activity.recipient_states.all()] == ["BEN"]
    # DAC region 1030 "Western Africa, regional" is M49 011, Western Africa.
    assert [r.m49 for r in activity.recipient_regions.all()] == [11]
    # DAC 15130 is the DAC code of the matrix's areas of legal and judicial work.
    assert set(activity.thematic_areas.values_list("dac_code", flat=True)) == {"15130"}
    assert (activity.planned_start, activity.planned_end) == (dt.date(2005, 3, 1), dt.date(2005, 3, 20))
    assert activity.iati.titles["fr"].startswith("Atelier")
    assert [(p.organization.code, p.role) for p in activity.provider_roles.all()] == [
        ("test-org-a", "implementing")
    ]


def test_a_second_import_changes_nothing_and_adds_no_history(secretariat):
    content = (SAMPLES / "iati-example-203.xml").read_bytes()
    _import(secretariat, content)
    counts = (
        Activity.history.count(),
        IatiRecord.history.count(),
        IatiTransaction.history.count(),
        IatiBudget.history.count(),
        Organization.objects.count(),
    )
    again = _import(secretariat, content)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 13)
    assert counts == (
        Activity.history.count(),
        IatiRecord.history.count(),
        IatiTransaction.history.count(),
        IatiBudget.history.count(),
        Organization.objects.count(),
    )


def test_the_same_file_under_another_name_changes_nothing_until_an_activity_does(secretariat):
    """A publisher's file fetched again is often saved under another name (a date in it, a
    browser's "(1)"): its unchanged activities stay unchanged, with no history row, and keep the
    name they came with; a changed one takes the new name with its change. A source written by
    hand since is not the import's: the file's activity is written back over it."""
    first = _file(_activity("XM-TEST-1-N1"), _activity("XM-TEST-1-N2"), _activity("XM-TEST-1-N3"))
    _import(secretariat, first, "publisher-2026-11.xml")
    Activity.objects.filter(external_id="XM-TEST-1-N3").update(source="Entered by the secretariat (test)")
    history = Activity.history.count()
    again = _import(secretariat, first, "publisher-2026-12 (1).xml")
    assert (again.created, again.updated, again.unchanged) == (0, 1, 2)
    assert Activity.history.count() == history + 1
    sources = dict(
        Activity.objects.filter(external_id__startswith="XM-TEST-1-N").values_list("external_id", "source")
    )
    assert sources == {
        "XM-TEST-1-N1": "IATI file publisher-2026-11.xml, activity XM-TEST-1-N1",
        "XM-TEST-1-N2": "IATI file publisher-2026-11.xml, activity XM-TEST-1-N2",
        "XM-TEST-1-N3": "IATI file publisher-2026-12 (1).xml, activity XM-TEST-1-N3",
    }
    changed = _file(
        _activity("XM-TEST-1-N1"), _activity("XM-TEST-1-N2", status="3"), _activity("XM-TEST-1-N3")
    )
    later = _import(secretariat, changed, "publisher-2027-01.xml")
    assert (later.created, later.updated, later.unchanged) == (0, 1, 2)
    activity = Activity.objects.get(external_id="XM-TEST-1-N2")
    assert activity.source == "IATI file publisher-2027-01.xml, activity XM-TEST-1-N2"
    assert activity.status == "completed" and activity.iati.file == "publisher-2027-01.xml"
    assert Activity.objects.get(external_id="XM-TEST-1-N1").iati.file == "publisher-2026-11.xml"


def test_a_changed_activity_is_updated_not_duplicated(secretariat):
    _import(secretariat, _file(_activity("XM-TEST-1-A2", status="2")))
    preview = _import(
        secretariat, _file(_activity("XM-TEST-1-A2", status="4", updated="2021-01-01T00:00:00"))
    )
    assert (preview.created, preview.updated) == (0, 1)
    activity = Activity.objects.filter(external_id="XM-TEST-1-A2").get()
    assert activity.status == "completed"
    # One change in each history, naming the importing user and why.
    latest = activity.history.order_by("-history_date", "-history_id").first()
    assert (latest.history_type, latest.history_user, latest.history_change_reason, latest.status) == (
        "~",
        secretariat,
        "imported from IATI",
        "completed",
    )
    record = IatiRecord.objects.get(activity=activity)
    rows = list(record.history.order_by("history_id"))
    assert [(r.history_type, r.history_user, r.status) for r in rows] == [
        ("+", secretariat, "2"),
        ("~", secretariat, "4"),
    ]
    assert record.imported == rows[1].imported > rows[0].imported


def _transaction(value: str, date: str) -> str:
    return (
        f'<transaction><transaction-type code="3"/><transaction-date iso-date="{date}"/>'
        f'<value currency="EUR" value-date="{date}">{value}</value></transaction>'
    )


def test_a_changed_transaction_alone_updates_the_record(secretariat):
    first = _transaction("500", "2005-04-01") + _transaction("250.50", "2005-05-01")
    _import(secretariat, _file(_activity("XM-TEST-1-A4", extra=first)))
    changed = _transaction("500", "2005-04-01") + _transaction("260.50", "2005-05-01")
    preview = _import(
        secretariat, _file(_activity("XM-TEST-1-A4", extra=changed, updated="2021-01-01T00:00:00"))
    )
    assert (preview.updated, preview.unchanged) == (1, 0)
    kept = IatiTransaction.objects.filter(record__identifier="XM-TEST-1-A4").order_by("date")
    assert [t.value for t in kept] == [Decimal("500"), Decimal("260.50")]


def test_a_changed_transaction_is_changed_in_place_and_its_contribution_with_it(secretariat):
    """The n-th transaction kept takes the file's n-th: changed, it keeps its row and the
    contribution made from it (one change in each history, not a row removed and another made);
    one added is added, one no longer listed goes."""
    from coopmatrix.funding import sums
    from coopmatrix.funding.models import Contribution

    def kinds(model, pk):
        return sorted(model.history.filter(id=pk).values_list("history_type", flat=True))

    def transactions():
        return list(IatiTransaction.objects.filter(record__identifier="XM-TEST-1-A6").order_by("pk"))

    first = _transaction("500", "2005-04-01") + _transaction("250.50", "2005-05-01")
    _import(secretariat, _file(_activity("XM-TEST-1-A6", extra=first)))
    before = [t.pk for t in transactions()]
    gift = Contribution.objects.get(iati_transaction_id=before[1])
    changed = first.replace("250.50", "260.50") + _transaction("100", "2005-06-01")
    _import(secretariat, _file(_activity("XM-TEST-1-A6", extra=changed, updated="2021-01-01T00:00:00")))
    now = transactions()
    assert [t.pk for t in now[:2]] == before
    assert [t.value for t in now] == [Decimal("500"), Decimal("260.50"), Decimal("100")]
    assert kinds(IatiTransaction, before[0]) == ["+"]
    assert kinds(IatiTransaction, before[1]) == ["+", "~"]
    assert IatiTransaction.history.get(id=before[1], history_type="~").history_user == secretariat
    gift.refresh_from_db()
    assert gift.amount == Decimal("260.50") and gift.iati_transaction_id == before[1]
    assert kinds(Contribution, gift.pk) == ["+", "~"]
    change = Contribution.history.get(id=gift.pk, history_type="~")
    assert (change.history_user, change.history_change_reason, change.amount) == (
        secretariat,
        "from an IATI transaction",
        Decimal("260.50"),
    )
    assert not sums.drift()  # the funding sums moved with it
    assert Contribution.objects.filter(external_id__startswith="iati:XM-TEST-1-A6#").count() == 3
    # The publisher lists the first one alone: the others go, with their contributions.
    alone = first[: first.index("</transaction>") + len("</transaction>")]
    _import(secretariat, _file(_activity("XM-TEST-1-A6", extra=alone, updated="2022-01-01T00:00:00")))
    assert [t.pk for t in transactions()] == before[:1]
    assert kinds(IatiTransaction, now[2].pk) == ["+", "-"]
    assert Contribution.objects.filter(external_id__startswith="iati:XM-TEST-1-A6#").count() == 1
    assert not sums.drift()


def test_the_same_transactions_listed_in_another_order_change_nothing(secretariat):
    one, two = _transaction("500", "2005-04-01"), _transaction("250.50", "2005-05-01")
    _import(secretariat, _file(_activity("XM-TEST-1-A5", extra=one + two)))
    history = IatiTransaction.history.count()
    preview = _import(secretariat, _file(_activity("XM-TEST-1-A5", extra=two + one)))
    assert (preview.updated, preview.unchanged) == (0, 1)
    assert IatiTransaction.history.count() == history


def test_an_older_activity_is_kept_unless_the_user_chooses_to_overwrite(secretariat):
    _import(secretariat, _file(_activity("XM-TEST-1-A3", status="2", updated="2021-01-01T00:00:00")))
    older = _file(_activity("XM-TEST-1-A3", status="5", updated="2020-01-01T00:00:00"))
    preview = _import(secretariat, older)
    assert preview.older == ["XM-TEST-1-A3"] and preview.updated == 0
    assert Activity.objects.get(external_id="XM-TEST-1-A3").status == "ongoing"
    preview = _import(secretariat, older, older="overwrite")
    assert preview.updated == 1 and Activity.objects.get(external_id="XM-TEST-1-A3").status == "cancelled"


def test_unknown_organizations_are_listed_and_created_only_on_confirmation(secretariat):
    content = _file(
        _activity(
            "XM-TEST-1-A4",
            org='<participating-org role="1" ref="XM-NEW-9" type="60">'
            "<narrative>A foundation (made for tests)</narrative></participating-org>",
        )
    )
    preview = importers.check(secretariat, content, "new.xml")
    assert [(o.iati_identifier, o.kind) for o in preview.new_organizations] == [("XM-NEW-9", "foundation")]
    assert any(
        "A foundation (made for tests)" in note and "when you confirm" in note for note in preview.notes
    )
    assert not Organization.objects.filter(iati_identifier="XM-NEW-9").exists()
    importers.write(preview, secretariat)
    organization = Organization.objects.get(iati_identifier="XM-NEW-9")
    assert organization.kind == "foundation" and organization.confidentiality == "public"
    # Matched by its identifier the next time, not created again.
    assert importers.check(secretariat, content, "new.xml").new_organizations == []


def test_an_organization_is_matched_by_name_whatever_the_case(secretariat):
    Organization.objects.filter(code="test-org-a").update(iati_identifier="")
    content = _file(_activity("XM-TEST-1-A5")).replace(
        b">Test organization A<", b">ORGANIZATION A (MADE FOR TESTS)<"
    )
    preview = importers.check(secretariat, content, "x.xml")
    assert preview.new_organizations == [] and preview.created == 1, preview.notes


def test_an_identifier_recorded_outside_iati_is_not_overwritten(secretariat):
    Activity.objects.create(
        external_id="XM-TEST-1-A6",
        title="Recorded by hand (made for tests)",
        modality="workshop",
        status="planned",
    )
    preview = importers.check(secretariat, _file(_activity("XM-TEST-1-A6")), "x.xml")
    assert preview.created == preview.updated == 0
    assert "not from IATI: not overwritten" in preview.refused[0].reasons[0]


def test_an_activity_without_a_status_or_ending_before_it_starts_is_refused_naming_why(secretariat):
    no_status = _activity("XM-TEST-1-A7").replace('<activity-status code="2"/>', "")  # 2.03 requires one
    backwards = _activity("XM-TEST-1-A8").replace(
        'type="3" iso-date="2005-03-20"', 'type="3" iso-date="2004-03-20"'
    )
    preview = importers.check(secretariat, _file(no_status, backwards, _activity("XM-TEST-1-A9")), "x.xml")
    reasons = {r.identifier: " ".join(r.reasons) for r in preview.refused}
    assert "<activity-date> is not expected here: one of" in reasons["XM-TEST-1-A7"]
    assert "<activity-status> must come before it" in reasons["XM-TEST-1-A7"]
    assert reasons["XM-TEST-1-A8"].startswith(
        "activity-date type 3 (planned end): ends (2004-03-20) before it starts"
    )
    assert preview.created == 1  # the valid one is still imported


def test_the_same_identifier_twice_in_a_file_is_refused_the_second_time(secretariat):
    preview = importers.check(
        secretariat, _file(_activity("XM-TEST-1-B1"), _activity("XM-TEST-1-B1")), "x.xml"
    )
    assert preview.created == 1 and "holds it twice" in preview.refused[0].reasons[0]


def test_an_identifier_met_chunks_before_is_refused_naming_the_line_of_the_first(secretariat, monkeypatch):
    """The identifiers met are kept compactly once there are many (core.keysets): one met in an
    earlier chunk, long merged into the arrays, is still found, with the line where it was."""
    monkeypatch.setattr(importers, "CHUNK", 2)
    monkeypatch.setattr(keysets, "RECENT", 2)
    names = ["XM-TEST-1-E1", "XM-TEST-1-E2", "XM-TEST-1-E3", "XM-TEST-1-E4", "XM-TEST-1-E5"]
    names += ["XM-TEST-1-E1", "XM-TEST-1-E3"]
    # One activity a line: the n-th (from 0) is on line n + 2.
    content = '<iati-activities version="2.03">\n' + "\n".join(map(_activity, names)) + "\n</iati-activities>"
    preview = _import(secretariat, content.encode())
    assert preview.created == 5
    refused = {(r.identifier, r.line): r.reasons for r in preview.refused}
    assert refused == {
        ("XM-TEST-1-E1", 7): ("the file holds it twice (also at line 2)",),
        ("XM-TEST-1-E3", 8): ("the file holds it twice (also at line 4)",),
    }
    assert Activity.objects.filter(external_id__startswith="XM-TEST-1-E").count() == 5


@pytest.mark.parametrize("role", ["editor_a", "reader", "focal_point"])
def test_only_the_secretariat_imports_iati(cast, role):
    preview = importers.check(cast.users[role], _file(_activity("XM-TEST-1-C1")), "x.xml")
    assert not preview.ok and "only the secretariat" in preview.errors[0].reason
    assert not Activity.objects.filter(external_id="XM-TEST-1-C1").exists()


def test_a_file_that_is_not_iati_writes_nothing_from_any_file(secretariat, tmp_path):
    good = tmp_path / "good.xml"
    good.write_bytes(_file(_activity("XM-TEST-1-D1")))
    bad = tmp_path / "page.xml"
    bad.write_bytes(b"<!DOCTYPE html><html><body>Not found</body></html>")
    with pytest.raises(CommandError, match="an HTML page"):
        call_command("import_iati", str(good), str(bad), user="secretariat")
    assert not Activity.objects.filter(external_id="XM-TEST-1-D1").exists()


def test_a_dry_run_writes_nothing(secretariat, capsys):
    call_command("import_iati", str(SAMPLES / "iati-example-203.xml"), user="secretariat", dry_run=True)
    assert "would import 13 created" in capsys.readouterr().out
    assert not IatiRecord.objects.exists()


def test_the_upload_page_previews_then_imports_in_a_job(secretariat, client):
    login(client, secretariat)
    page = client.get("/matrix/import/iati/")
    assert page.status_code == 200 and b"How IATI is read" in page.content
    content = (SAMPLES / "dfid-GB-1-2016.xml").read_bytes()
    response = client.post("/matrix/import/iati/", {"file": SimpleUploadedFile("dfid.xml", content)})
    text = html.unescape(response.content.decode())
    assert response.status_code == 200
    assert "3 to create" in text and "5 activities refused" in text
    assert "GB-1-109616-101" in text and "lacks its required attribute percentage" in text
    assert "'Department for International Development' (GB-GOV-1) is not in the directory" in text
    assert not Activity.objects.filter(iati__isnull=False).exists()
    pending = response.context["pending"]
    response = client.post("/matrix/import/iati/", {"confirm": pending.pk})
    assert response.status_code == 302
    run_jobs()
    assert Activity.objects.filter(iati__isnull=False).count() == 3
    activity = Activity.objects.get(external_id="GB-1-109635")
    page = client.get(activity.get_absolute_url())
    assert b'data-testid="iati-panel"' in page.content and b"GB-1-109635" in page.content


def test_the_upload_page_refuses_a_file_that_is_not_iati(secretariat, client):
    login(client, secretariat)
    response = client.post(
        "/matrix/import/iati/", {"file": SimpleUploadedFile("x.xml", b"<foo/>"), "older": "keep"}
    )
    assert response.status_code == 422
    assert "root element is &lt;foo&gt;" in response.content.decode()
    response = client.post(
        "/matrix/import/iati/", {"file": SimpleUploadedFile("x.xml", b"<a/>"), "older": "x"}
    )
    assert response.status_code == 400


@pytest.mark.parametrize("role", ["anonymous", "reader", "editor_a"])
def test_the_upload_page_is_closed_to_other_roles(cast, client, role):
    login(client, cast.users[role])
    response = client.get("/matrix/import/iati/")
    assert response.status_code in (302, 403)


def test_amounts_keep_every_decimal_the_file_gives(secretariat):
    extra = (
        '<budget type="1" status="1"><period-start iso-date="2005-01-01"/><period-end iso-date="2005-12-31"/>'
        '<value currency="USD" value-date="2005-01-01">99955.5547626</value></budget>'
    )
    _import(secretariat, _file(_activity("XM-TEST-1-E1", extra=extra)))
    budget = IatiBudget.objects.get(record__identifier="XM-TEST-1-E1")
    assert budget.value == Decimal("99955.5547626")
    activity = Activity.objects.get(external_id="XM-TEST-1-E1")
    assert (activity.budget, activity.currency) == (Decimal("99955.55"), "USD")


def test_io_streams_are_read_too(secretariat):
    from coopmatrix.exchange.iati import read

    assert len(list(read(io.BytesIO(_file(_activity("XM-TEST-1-F1"))), "stream.xml"))) == 1


def test_the_progress_bar_counts_activities_on_disk_whatever_the_blocks(tmp_path):
    # A closing tag cut by the end of the first block read (1 MiB) is counted once.
    tag = b"</iati-activity>"
    head = b"<iati-activities><iati-activity>"
    padding = b" " * ((1 << 20) - 5 - len(head))
    content = head + padding + tag + b"<iati-activity>" + tag + b"</iati-activities>"
    assert content.index(tag) == (1 << 20) - 5
    path = tmp_path / "big.xml"
    path.write_bytes(content)
    assert importers.activities_in(path) == importers.activities_in(content) == 2
