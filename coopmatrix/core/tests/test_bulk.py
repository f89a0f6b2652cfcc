"""core.bulk: many rows written the fast way each database offers, each with its key, as saved."""

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from coopmatrix.core import bulk
from coopmatrix.core.models import Job
from coopmatrix.core.testing import table_definitions

pytestmark = pytest.mark.django_db


def test_many_rows_get_their_keys_in_order_across_statements():
    """More rows than one statement takes (SQLite: a thousand a statement): each key is its own
    row's, in the order given, and the next record saved takes a key after them."""
    names = [f"bulk group {n:04d} (made for tests)" for n in range(2500)]
    keys = bulk.insert_values(Group, ["name"], [(name,) for name in names])
    assert len(keys) == len(set(keys)) == 2500
    assert dict(Group.objects.filter(pk__in=keys).values_list("pk", "name")) == dict(
        zip(keys, names, strict=True)
    )
    assert Group.objects.create(name="after the bulk (made for tests)").pk > max(keys)


def test_objects_written_in_bulk_read_as_saved_ones():
    """Dates, times, texts and empty values come back as a save writes them; each object gets its
    key and is known to be saved."""
    when = timezone.now().replace(microsecond=123456)
    made = [
        Job(kind="bulk-test", payload={"n": n, "day": "2026-12-03"}, phase=f"step {n}", heartbeat=when)
        for n in range(3)
    ]
    before = timezone.now()
    bulk.insert(Job, made)
    saved = Job.objects.create(kind="bulk-test", payload={"n": 9, "day": "2026-12-03"}, phase="step 9")
    assert all(job.pk and not job._state.adding for job in made)
    for job in made:
        read = Job.objects.get(pk=job.pk)
        assert (read.kind, read.payload, read.phase, read.user_id) == (job.kind, job.payload, job.phase, None)
        assert read.heartbeat == when
        assert before <= read.created <= saved.created  # made on writing, as a save makes it
        assert read.status == saved.status  # the field's default, as a save gives it


#: JSON values whose text the fast encoder and the standard library's write differently, or which
#: only the standard library writes (a key that is not text, an integer beyond 64 bits).
AWKWARD_JSON = [
    {"text": 'l\'État "cité"\ttab\nline\u2028sep \U0001f30d \\ back'},
    {"nested": [1, -2, 3.5, True, None, {"deep": [[], {}]}], "": "empty key"},
    {1: "a key that is a number", "big": 2**70},
    ["a list", {"in": "it"}],
    {},
]


def test_json_values_written_in_bulk_read_as_saved_ones():
    """Whatever a JSON value holds, a row written in bulk, by objects or by values, reads back as
    the same value saved alone does."""
    saved = [Job.objects.create(kind="bulk-test", payload=payload) for payload in AWKWARD_JSON]
    made = [Job(kind="bulk-test", payload=payload) for payload in AWKWARD_JSON]
    bulk.insert(Job, made)
    when = timezone.now()
    keys = bulk.insert_rows(
        Job, ["kind", "payload", "heartbeat"], [("bulk-test", payload, when) for payload in AWKWARD_JSON]
    )
    expected = [Job.objects.get(pk=job.pk).payload for job in saved]
    assert expected[2] == {"1": "a key that is a number", "big": 2**70}
    assert [Job.objects.get(pk=job.pk).payload for job in made] == expected
    assert [Job.objects.get(pk=key).payload for key in keys] == expected
    assert {Job.objects.get(pk=key).heartbeat for key in keys} == {when}


def test_objects_changed_in_bulk_read_as_saved_ones():
    """The fields named are written, each object's to its own row, as a save writes them (a JSON
    value, a time, an empty value, a number); the others, and the rows not given, stay."""
    when = timezone.now().replace(microsecond=250000)
    jobs = [
        Job.objects.create(kind="bulk-test", payload={"n": n}, phase=f"step {n}", done=n) for n in range(4)
    ]
    changed = jobs[:3]
    for n, job in enumerate(changed):
        job.payload = {"n": n, "now": ["changed", n], "text": 'l\'État "quoted"\ttabbed'}
        job.heartbeat = when if n else None
        job.phase = f"changed {n}"
        job.done = 10 + n
        job.message = "not written: not named"
    bulk.update(Job, changed, ["payload", "heartbeat", "phase", "done"])

    for n, job in enumerate(changed):
        read = Job.objects.get(pk=job.pk)
        assert (read.payload, read.heartbeat, read.phase, read.done) == (
            {"n": n, "now": ["changed", n], "text": 'l\'État "quoted"\ttabbed'},
            when if n else None,
            f"changed {n}",
            10 + n,
        )
        assert read.message == "" and read.kind == "bulk-test"
    untouched = Job.objects.get(pk=jobs[3].pk)
    assert (untouched.payload, untouched.phase, untouched.done) == ({"n": 3}, "step 3", 3)
    bulk.update(Job, [], ["phase"])  # nothing to write: no statement fails


@pytest.mark.django_db(transaction=True)
def test_objects_changed_in_bulk_outside_a_transaction_are_written():
    """Called with no transaction open (a console session), the change is written and kept."""
    from django.db import connection

    job = Job.objects.create(kind="bulk-test", phase="step 0")
    assert not connection.in_atomic_block
    job.phase = "changed outside a transaction"
    bulk.update(Job, [job], ["phase"])
    assert Job.objects.get(pk=job.pk).phase == "changed outside a transaction"


def _write_runs(rows: list[tuple[int, str]], job: int | None = None) -> None:
    """Rows of scheduled runs with their own keys, as a load that brings its keys writes them."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO core_scheduledrun (id, name, period, created, job_id)"
            " VALUES (%s, %s, '2026-12', %s, %s)",
            [(key, name, timezone.now(), job) for key, name in rows],
        )


def test_a_load_sets_keys_and_indexes_aside_and_makes_them_again_as_they_were():
    """A large load sets a table's indexes and constraints aside (PostgreSQL), its primary key too
    unless a foreign key names it, and makes them again from what the database gave: the same
    definitions after, holding every row written meanwhile. Two rows with one key are refused when
    the key is made again, and nothing of the load is kept."""
    from django.db import IntegrityError, connection, transaction

    from coopmatrix.core.models import ScheduledRun

    tables = ["core_job", "core_scheduledrun"]
    before = table_definitions(*tables)
    with transaction.atomic(), bulk.indexes_set_aside(Job, ScheduledRun):
        inside = table_definitions(*tables)
        _write_runs([(900_001, "aside one"), (900_002, "aside two")])
    assert table_definitions(*tables) == before
    assert set(ScheduledRun.objects.filter(name__startswith="aside").values_list("pk", flat=True)) == {
        900_001,
        900_002,
    }
    if connection.vendor == "postgresql":
        # Only what must stay: the job's key, named by the runs' foreign key, and the checks.
        assert inside == sorted(d for d in before if "core_job_pkey" in d or "CHECK" in d), inside
    with pytest.raises(IntegrityError), transaction.atomic(), bulk.indexes_set_aside(Job, ScheduledRun):
        _write_runs([(900_003, "aside three"), (900_001, "aside again")])
    assert not ScheduledRun.objects.filter(name__in=["aside three", "aside again"]).exists()
    assert table_definitions(*tables) == before


# A table never analysed has -1 rows for the planner: -1 merges every check.
@pytest.mark.parametrize("merged_from", [-1, 10**12], ids=["merged", "hashed"])
# Committed for real: SQLite checks foreign keys when the transaction ends.
@pytest.mark.django_db(transaction=True)
def test_a_load_naming_a_missing_record_is_refused_however_the_key_is_checked(monkeypatch, merged_from):
    """A foreign key made again checks every row loaded, whether the rows are merged with the named
    table (a large one) or looked up in a hash of it: a run naming a job that does not exist is
    refused and nothing of the load is kept; a load that names real jobs leaves the planner's
    settings as they were."""
    from django.db import IntegrityError, connection, transaction

    from coopmatrix.core.models import ScheduledRun

    monkeypatch.setattr(bulk, "MERGED_CHECK_ROWS", merged_from)
    job = Job.objects.create(kind="bulk-test", payload={}, phase="named")
    missing = job.pk + 1000
    with pytest.raises(IntegrityError), transaction.atomic(), bulk.indexes_set_aside(Job, ScheduledRun):
        _write_runs([(900_011, "names a job"), (900_012, "names it too")], job=job.pk)
        _write_runs([(900_013, "names a missing job")], job=missing)
    assert not ScheduledRun.objects.filter(pk__in=[900_011, 900_012, 900_013]).exists()
    with transaction.atomic():
        with bulk.indexes_set_aside(Job, ScheduledRun):
            _write_runs([(900_014, "names a job")], job=job.pk)
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SHOW enable_hashjoin")
                assert cursor.fetchone()[0] == "on"
    assert ScheduledRun.objects.get(pk=900_014).job_id == job.pk


def test_rows_given_as_values_read_as_saved_ones_with_their_history():
    """Rows written from values (no object each) read back, with their history, as saved ones:
    keys in order, a field not named takes its default, the automatic date is the write's, and
    each has one creation history row naming the user and the reason."""
    from django.contrib.auth import get_user_model

    from coopmatrix.core.models import SavedView

    user = get_user_model().objects.create_user("bulk-values", password="x")
    when = timezone.now().replace(microsecond=654321)
    names = ["user_id", "name", "path", "query", "last_count"]
    rows = [(user.pk, f"view {n}", "/activities/", f"state=FRA&page={n}", n or None) for n in range(1500)]
    keys = bulk.values_with_history(SavedView, names, rows, user, "written in bulk", when)
    saved = SavedView.objects.create(user=user, name="saved", path="/activities/", query="q", last_count=3)

    assert len(keys) == len(set(keys)) == 1500 and saved.pk > max(keys)
    read = {v.pk: v for v in SavedView.objects.filter(pk__in=keys)}
    for key, row in zip(keys, rows, strict=True):
        view = read[key]
        assert tuple(getattr(view, name) for name in names) == row
        assert (view.subscribed, view.fingerprint, view.last_sent) == (
            saved.subscribed,
            saved.fingerprint,
            saved.last_sent,
        )
        assert view.created == when
    history = SavedView.history.filter(id__in=keys)
    assert history.count() == 1500
    for entry in history.filter(id__in=keys[:3] + keys[-3:]):
        assert (entry.history_type, entry.history_user_id, entry.history_change_reason) == (
            "+",
            user.pk,
            "written in bulk",
        )
        assert entry.history_date == when
        assert entry.instance.query == read[entry.id].query
        assert entry.instance.created == when


def test_rows_given_as_values_naming_no_such_field_write_nothing():
    from coopmatrix.core.models import SavedView

    with pytest.raises(ValueError, match="SavedView has no field colour"):
        bulk.values_with_history(SavedView, ["name", "colour"], [("a", "red")], None, None, timezone.now())
    assert not SavedView.objects.exists() and not SavedView.history.exists()


def _views(user, count):
    from coopmatrix.core.models import SavedView

    names = ["user_id", "name", "path", "query"]
    rows = [(user.pk, f"view {n}", "/activities/", f"page={n}") for n in range(count)]
    keys = bulk.values_with_history(SavedView, names, rows, user, "written in bulk", timezone.now())
    return list(SavedView.objects.filter(pk__in=keys).order_by("pk"))


def test_changes_and_deletions_written_in_bulk_have_history_rows_as_saved_ones():
    """A change written in bulk gets a "~" history row holding the record as it now reads, and a
    deletion a "-" row holding it as it was; each history key is its own record's, in the order
    the records were given (here not the order of their keys)."""
    from django.contrib.auth import get_user_model

    from coopmatrix.core.models import SavedView

    user = get_user_model().objects.create_user("bulk-changes", password="x")
    views = _views(user, 5)
    changed = list(reversed(views[:3]))
    for n, view in enumerate(changed):
        view.query, view.last_count = f"changed={n}", 10 + n
    bulk.update(SavedView, changed, ["query", "last_count"])
    when = timezone.now()
    keys = bulk.history_rows(SavedView, changed, user, "changed in bulk", when, kind="~")

    assert len(keys) == 3
    for key, view in zip(keys, changed, strict=True):
        entry = SavedView.history.get(history_id=key)
        assert (entry.id, entry.history_type, entry.history_change_reason) == (
            view.pk,
            "~",
            "changed in bulk",
        )
        assert (entry.query, entry.last_count, entry.history_user_id, entry.history_date) == (
            view.query,
            view.last_count,
            user.pk,
            when,
        )
    gone = views[3]
    (key,) = bulk.history_rows(SavedView, [gone], None, "deleted in bulk", when, kind="-")
    # As the importers delete rows whose history rows they wrote: without a deletion's signals.
    SavedView.objects.filter(pk=gone.pk)._raw_delete(SavedView.objects.db)
    entry = SavedView.history.get(history_id=key)
    assert (entry.id, entry.history_type, entry.query, entry.history_user_id) == (
        gone.pk,
        "-",
        "page=3",
        None,
    )
    assert SavedView.history.filter(id=gone.pk).count() == 2  # made, then deleted


def test_history_rows_written_while_indexes_are_set_aside_read_as_saved_ones():
    """Inside a load that set a table's indexes aside (PostgreSQL), new rows still get their
    history rows, each its own record's, in order."""
    from django.contrib.auth import get_user_model
    from django.db import transaction

    from coopmatrix.core.models import SavedView

    user = get_user_model().objects.create_user("bulk-aside", password="x")
    with transaction.atomic(), bulk.indexes_set_aside(SavedView):
        views = _views(user, 40)
    history = dict(SavedView.history.filter(id__in=[v.pk for v in views]).values_list("id", "query"))
    assert history == {view.pk: view.query for view in views}


def test_a_history_row_for_a_record_not_in_the_database_is_not_written_silently():
    """History is never lost in silence: on PostgreSQL, where history rows are copied from the
    rows themselves, asking for the history of a record that is not there is refused naming how
    many are missing, and writes no history row for the others either; SQLite writes it from the
    record as given."""
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction

    from coopmatrix.core.models import SavedView

    user = get_user_model().objects.create_user("bulk-missing", password="x")
    (kept,) = _views(user, 1)
    gone = SavedView(pk=kept.pk + 1000, user=user, name="never written", path="/", created=timezone.now())
    before = SavedView.history.count()
    if connection.vendor == "postgresql":
        missing = "1 of the SavedView rows given a history row are not in"
        with pytest.raises(ValueError, match=missing), transaction.atomic():
            bulk.history_rows(SavedView, [kept, gone], user, "changed", timezone.now(), kind="~")
        assert SavedView.history.count() == before
    else:
        bulk.history_rows(SavedView, [kept, gone], user, "changed", timezone.now(), kind="~")
        assert SavedView.history.get(id=gone.pk).name == "never written"
