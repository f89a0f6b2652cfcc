"""core.bulk: many rows written the fast way each database offers, each with its key, as saved."""

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from coopmatrix.core import bulk
from coopmatrix.core.models import Job

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
