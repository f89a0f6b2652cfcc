"""A large import into a database that held little: the tables it wrote are analysed inside its
transaction (core.planner, told by core.bulk), so that PostgreSQL's planner knows of their new
rows."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.db import connection, connections, transaction

from coopmatrix.core import bulk, planner

pytestmark = pytest.mark.django_db(transaction=True)


def _rows_believed(table: str) -> float:
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE relname = %s", [table])
        return cursor.fetchone()[0]


def _users(start: int, count: int) -> list:
    users = get_user_model()
    return [users(username=f"planner-{n}") for n in range(start, start + count)]


@pytest.fixture
def small(monkeypatch):
    monkeypatch.setattr(planner, "LOOK_EVERY", 1000)
    monkeypatch.setattr(planner, "FIRST", 2000)
    monkeypatch.setattr(planner, "_seen", planner._Seen())


def test_the_tables_a_bulk_write_filled_are_analysed_in_its_transaction(small):
    users = get_user_model()
    with transaction.atomic():
        bulk.insert(users, _users(0, 1500))
        if connection.vendor == "postgresql":
            assert _rows_believed("auth_user") < 1500  # looked at, not yet due
        bulk.insert(users, _users(1500, 1000))
        if connection.vendor == "postgresql":
            assert _rows_believed("auth_user") >= 2500
            with connection.cursor() as cursor:
                cursor.execute("SHOW lock_timeout")
                assert cursor.fetchone()[0] == "0"  # as it was
        users.objects.create(username="planner-last")
    # The next transaction counts its own rows from nothing: due again at FIRST, not at four times
    # what the last one wrote.
    with transaction.atomic():
        bulk.insert(users, _users(2500, 3000))
        if connection.vendor == "postgresql":
            assert _rows_believed("auth_user") >= 5500
    assert users.objects.filter(username__startswith="planner-").count() == 5501


def test_nothing_is_analysed_on_sqlite_nor_outside_a_transaction(small):
    if connection.vendor == "postgresql":
        bulk.insert(get_user_model(), _users(0, 2500))  # autocommit: each statement its own
        assert _rows_believed("auth_user") < 2500
    else:
        with transaction.atomic():
            bulk.insert(get_user_model(), _users(0, 2500))
            assert planner.written(5000) == []
    assert get_user_model().objects.filter(username__startswith="planner-").count() == 2500


def test_a_table_another_transaction_holds_is_left_within_the_wait(small):
    """Another session's ANALYZE (or VACUUM) holds the table: this import does not wait for it
    past LOCK_WAIT, leaves the table as it is, and goes on writing in the same transaction."""
    users = get_user_model()
    if connection.vendor != "postgresql":
        with transaction.atomic():
            users.objects.bulk_create(_users(0, 2500))
            assert planner.analyze_stale() == []  # SQLite has no such statistics to make
        return
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            other.set_autocommit(False)
            cursor.execute("LOCK TABLE auth_user IN SHARE UPDATE EXCLUSIVE MODE")
            with transaction.atomic():
                users.objects.bulk_create(_users(0, 2500))
                assert planner.analyze_stale() == []
                assert _rows_believed("auth_user") < 2500
                with connection.cursor() as mine:
                    mine.execute("SHOW lock_timeout")
                    assert mine.fetchone()[0] == "0"
                users.objects.create(username="planner-last")
            other.rollback()
    finally:
        other.close()
    assert users.objects.filter(username__startswith="planner-").count() == 2501
    # Free again: analysed.
    with transaction.atomic():
        users.objects.bulk_create(_users(2500, 2500))
        assert planner.analyze_stale() == ["auth_user"]
