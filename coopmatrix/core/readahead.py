"""The rows of one long query, read ahead by a thread while the caller works on those before.

An export that asks PostgreSQL for all its rows in one query can have them made on one core
while it writes on the other. Read in the caller's own thread, the rows come no faster than
the socket between the two lets PostgreSQL work ahead: a few hundred KB, some tens of rows of an
IATI activity, so each side waited for the other most of the time (an export of 120,054
activities: 22.8 s, 15.7 of them this process's work). A second thread reads the rows into a
queue of bounded size (memory stays flat however long the query), and is stopped, the query
cancelled, when the caller stops early.

The reading thread needs the interpreter for a moment each time data arrives, and a thread that
works without pause (the caller) hands it over only every 5 ms (Python's switch interval): the
reader then drained the socket so slowly that PostgreSQL waited, and the export took 20.7 s.
While rows are read ahead the interval is 1 ms (15.1 s; 0.5 ms gave no more).
"""

from __future__ import annotations

import queue
import sys
import threading
from collections.abc import Generator, Sequence
from typing import Any

import psycopg
from django.db import NotSupportedError, connection

from .processwide import Held

#: Rows handed over at a time, and the most batches waiting: 20 × 100 IATI activities are some
#: 11 MB of JSON text.
BATCH = 100
AHEAD = 20

#: The interpreter's switch interval while rows are read ahead (see above).
SWITCH_INTERVAL = 0.001

_END = object()
_switching = Held(sys.getswitchinterval, sys.setswitchinterval, SWITCH_INTERVAL)


class StreamBusy(RuntimeError):
    """A query asked for on the connection while another's rows were still coming."""


def rows_ahead(sql: str, params: Sequence[Any], batch: int = BATCH, ahead: int = AHEAD) -> Generator[Any]:
    """The rows of `sql` (PostgreSQL only), read by a second thread at most `ahead` batches of
    `batch` rows ahead of the caller. Until the last row is read or the iterator is closed, the
    connection is the query's: another query on it (which would otherwise wait for ever, as
    psycopg holds the connection for the rows) is refused with StreamBusy. For a query that
    reads: inside a transaction, one stopped early is rolled back to where it began."""
    if connection.vendor != "postgresql":
        raise NotSupportedError(f"rows are read ahead from PostgreSQL only, not {connection.display_name}")
    connection.ensure_connection()
    cursor = connection.connection.cursor()
    # Rows come from libpq in batches where it can (version 17 or later), one by one otherwise.
    size = batch if psycopg.pq.version() >= 170000 else 1
    pending: queue.Queue[Any] = queue.Queue(maxsize=ahead)
    stop = threading.Event()

    def put(item: Any) -> bool:
        while not stop.is_set():
            try:
                pending.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def read() -> None:
        rows = cursor.stream(sql, params, size=size)
        try:
            chunk = []
            for row in rows:
                chunk.append(row)
                if len(chunk) == batch:
                    if not put(chunk):
                        return
                    chunk = []
            if put(chunk):
                put(_END)
        except BaseException as error:  # handed to the caller, and raised there
            put(error)
        finally:
            rows.close()  # a query left early is cancelled (psycopg)

    reader = threading.Thread(target=read, name="rows-ahead", daemon=True)
    # A query stopped early (cancelled) or failed spoils the transaction it runs in: inside one,
    # it runs in a savepoint of its own, rolled back then, and the transaction goes on.
    inside = cursor.connection.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS
    if inside:
        cursor.execute("SAVEPOINT rows_ahead")
    whole = False
    with connection.execute_wrapper(_refused), _switching.held():
        reader.start()
        try:
            while (item := pending.get()) is not _END:
                if isinstance(item, BaseException):
                    with connection.wrap_database_errors:
                        raise item
                yield from item
            whole = True
        finally:
            stop.set()
            reader.join()
            if inside:
                if not whole:
                    cursor.execute("ROLLBACK TO SAVEPOINT rows_ahead")
                cursor.execute("RELEASE SAVEPOINT rows_ahead")
            cursor.close()


def _refused(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
    raise StreamBusy(f"the connection is reading a long query's rows; not run: {sql[:100]}")
