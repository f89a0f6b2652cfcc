"""A callback asked for by each of many changes runs once after the commit (core.committing): an
import of a million changes does not keep a million callbacks. A savepoint rolled back takes it
away, and the next change asks for it again."""

from __future__ import annotations

import logging

import pytest
from django.db import connection, transaction

from coopmatrix.core.committing import once_on_commit

pytestmark = pytest.mark.django_db


class _Undone(Exception):
    pass


def test_many_changes_leave_one_callback_that_runs_once(django_capture_on_commit_callbacks):
    ran = []

    def check():
        ran.append(1)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        before = len(connection.run_on_commit)
        for _change in range(10_000):
            with transaction.atomic():  # each change in a savepoint of its own, as a save is
                once_on_commit(check)
        assert len(connection.run_on_commit) == before + 1
    assert len(callbacks) == 1 and ran == [1]


def test_a_savepoint_rolled_back_takes_it_away_and_the_next_change_asks_again(
    django_capture_on_commit_callbacks,
):
    ran = []

    def check():
        ran.append(1)

    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(_Undone), transaction.atomic():
            once_on_commit(check)
            raise _Undone
        assert not any(entry[1].__qualname__.endswith("check") for entry in connection.run_on_commit)
        once_on_commit(check)
    assert ran == [1]


def test_only_a_rolled_back_savepoint_loses_it(django_capture_on_commit_callbacks):
    ran = []

    def check():
        ran.append(1)

    with django_capture_on_commit_callbacks(execute=True):
        once_on_commit(check)  # in the transaction itself
        with pytest.raises(_Undone), transaction.atomic():
            once_on_commit(check)  # found: the one above
            raise _Undone
    assert ran == [1]


def test_once_run_it_is_asked_for_again_by_the_next_change(django_capture_on_commit_callbacks):
    ran = []

    def check():
        ran.append(1)

    for _round in range(3):
        with django_capture_on_commit_callbacks(execute=True):
            once_on_commit(check)
            once_on_commit(check)
    assert ran == [1, 1, 1]


def test_a_robust_callback_that_fails_is_logged_by_its_name(django_capture_on_commit_callbacks, caplog):
    def check_overlaps():
        raise RuntimeError("the database went away")

    with caplog.at_level(logging.ERROR), django_capture_on_commit_callbacks(execute=True):
        once_on_commit(check_overlaps, robust=True)
    assert "check_overlaps" in caplog.text and "the database went away" in caplog.text


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_it_runs_at_once():
    ran = []
    assert not connection.in_atomic_block
    once_on_commit(lambda: ran.append(1))
    assert ran == [1]
    with transaction.atomic():
        once_on_commit(lambda: ran.append(2))
        assert ran == [1]
    assert ran == [1, 2]
