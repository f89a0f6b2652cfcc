"""Rows of a long query read ahead by a thread (core.readahead): all of them, in order; the
connection refused to other queries meanwhile and free again once they stop; an error raised to
the caller."""

from __future__ import annotations

import sys
import threading

import pytest
from django.db import DataError, NotSupportedError, connection

from coopmatrix.core import readahead
from coopmatrix.core.readahead import StreamBusy, rows_ahead
from coopmatrix.directory.models import Organization

SERIES = "SELECT g FROM generate_series(1, %s) g ORDER BY g"


def _readers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "rows-ahead"]


def test_every_row_comes_in_order_however_they_are_batched(db):
    if connection.vendor != "postgresql":
        with pytest.raises(NotSupportedError, match="PostgreSQL only, not SQLite"):
            next(rows_ahead(SERIES, [3]))
        return
    assert [g for (g,) in rows_ahead(SERIES, [250], batch=7, ahead=2)] == list(range(1, 251))
    assert [g for (g,) in rows_ahead(SERIES, [0])] == []
    assert not _readers()


def test_a_query_meanwhile_is_refused_and_the_connection_is_free_once_stopped_early(db):
    if connection.vendor != "postgresql":
        with pytest.raises(NotSupportedError):
            next(rows_ahead(SERIES, [3]))
        return
    before = sys.getswitchinterval()
    rows = rows_ahead(SERIES, [1_000_000], batch=10, ahead=2)
    assert next(rows) == (1,)
    assert sys.getswitchinterval() == readahead.SWITCH_INTERVAL
    with pytest.raises(StreamBusy, match="not run: SELECT COUNT"):
        Organization.objects.count()
    rows.close()  # the query is cancelled, the thread ends
    assert not _readers()
    assert sys.getswitchinterval() == before
    assert Organization.objects.filter(pk=-1).count() == 0
    with connection.cursor() as cursor:
        cursor.execute("SELECT 41 + 1")
        assert cursor.fetchone() == (42,)


def test_an_error_in_the_query_reaches_the_caller_after_the_rows_before_it(db):
    if connection.vendor != "postgresql":
        with pytest.raises(NotSupportedError):
            next(rows_ahead(SERIES, [3]))
        return
    got = []
    # Inside the test's transaction: it goes on after the failed query.
    with pytest.raises(DataError, match="division by zero"):
        for (value,) in rows_ahead("SELECT 10 / (5 - g) FROM generate_series(1, 9) g", [], batch=1):
            got.append(value)
    assert got == [2, 3, 5, 10]
    assert not _readers()
    with connection.cursor() as cursor:
        cursor.execute("SELECT 41 + 1")
        assert cursor.fetchone() == (42,)
