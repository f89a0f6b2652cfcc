"""The least time the database itself needs to write what an import wrote (PostgreSQL only).

An import's rate is bounded by the rows it leaves: some 70 an activity of an IATI file (the
activity, its States reached, providers, budgets, transactions, contributions, the records they
are counted as, and a history row for most). This measure takes those rows as the import left
them and has PostgreSQL write them again, server side, into copies of their tables made in one
transaction: the same columns, indexes, unique and check constraints, and foreign keys (to the
tables themselves), checked before the clock stops. No client parses or sends a row; nothing
is read from the file, compared or summed. The transaction is then rolled back: the copies go,
nothing real is touched.

The figure is a floor, not a target: an importer doing everything else besides can only be
slower. On a machine of two cores the database's processor time an activity here, beside the
reading process's, says how far any importer of these rows could go.
"""

from __future__ import annotations

import os
import time
from typing import Any

#: Rows of a table an import adds from this many on count as written by it (a table it only
#: touches, a few sums or counts, is left out: a floor leaves out what it cannot tell).
SMALLEST = 100


def tables_now() -> dict[str, list[Any]]:
    """Each table of the database with a one-column integer key: [key column, largest key now].
    Taken before an import, it tells which rows the import added afterwards."""
    from django.db import connection

    found: dict[str, list[Any]] = {}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, a.attname FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            " JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = i.indkey[0]"
            " WHERE i.indisprimary AND i.indnatts = 1 AND n.nspname = current_schema()"
            " AND a.atttypid IN ('int4'::regtype, 'int8'::regtype)"
        )
        keys = cursor.fetchall()
        for table, column in keys:
            cursor.execute(f"SELECT max({_q(column)}) FROM {_q(table)}")
            found[table] = [column, cursor.fetchone()[0] or 0]
    return found


def measure(before: dict[str, list[Any]]) -> dict[str, Any]:
    """Write again, into copies of their tables, the rows added since `before` (tables_now), and
    roll back. Answers the seconds (keys_seconds of them checking foreign keys), the rows, the
    tables, and the backend's processor time (None where the server is not on this machine)."""
    from django.db import connection, transaction

    from benchmarks.harness import backend_cpu_seconds

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    written = _written(before)
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                copies = {table: f"bench_floor_{n}" for n, table in enumerate(written)}
                for table, copy in copies.items():
                    cursor.execute(f"CREATE TABLE {copy} (LIKE {_q(table)} INCLUDING ALL)")
                for statement in _foreign_keys(cursor, copies):
                    cursor.execute(statement)
                cpu, started, rows = backend_cpu_seconds(backend), time.perf_counter(), 0
                for table, copy in copies.items():
                    column, largest = written[table]
                    cursor.execute(
                        f"INSERT INTO {copy} SELECT * FROM {_q(table)} WHERE {_q(column)} > %s",
                        [largest],
                    )
                    rows += cursor.rowcount
                inserted = time.perf_counter()
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the keys checked, as at a commit
                seconds = time.perf_counter() - started
                keys = time.perf_counter() - inserted
                cpu_after = backend_cpu_seconds(backend)
            raise _Undo
    except _Undo:
        pass
    return {
        "seconds": seconds,
        "keys_seconds": keys,
        "rows": rows,
        "tables": len(copies),
        "cpu_database": None if cpu is None or cpu_after is None else cpu_after - cpu,
    }


class _Undo(Exception):
    """Rolls the copies back."""


def _written(before: dict[str, list[Any]]) -> dict[str, list[Any]]:
    from django.db import connection

    written = {}
    with connection.cursor() as cursor:
        for table, (column, largest) in before.items():
            cursor.execute(
                f"SELECT count(*) FROM (SELECT 1 FROM {_q(table)} WHERE {_q(column)} > %s LIMIT %s) x",
                [largest, SMALLEST],
            )
            if cursor.fetchone()[0] >= SMALLEST:
                written[table] = [column, largest]
    return written


def _foreign_keys(cursor: Any, copies: dict[str, str]) -> list[str]:
    """The copies' foreign keys, as the tables' own and deferred as Django makes them, to the
    tables themselves: the rows they point to are there (a copy holds only the rows the import
    added, and a new row may point to an older one)."""
    cursor.execute(
        "SELECT c.conrelid::regclass::text, pg_get_constraintdef(c.oid) FROM pg_constraint c"
        " WHERE c.contype = 'f' AND c.conrelid::regclass::text = ANY(%s)",
        [list(copies)],
    )
    return [f"ALTER TABLE {copies[table]} ADD {definition}" for table, definition in cursor.fetchall()]


def _q(name: str) -> str:
    from django.db import connection

    return connection.ops.quote_name(name)


def summary(floor: dict[str, Any], count: int, each: str) -> str:
    """A floor (`measure`) said of an import of `count` things (`each`: "an activity", "a row"): its
    rows each, seconds, share checking keys, and the rate the database's processor time allows
    on this machine's cores with nothing else running."""
    if not floor.get("rows") or not count:
        return "not measured (PostgreSQL only, after an import that wrote rows)"
    keys = floor["keys_seconds"] / floor["seconds"] * 100 if floor["seconds"] else 0
    said = (
        f"the database alone writes the import's {floor['rows'] / count:.1f} rows {each} again"
        f" in {floor['seconds']:.1f} s ({keys:.0f} % of it checking foreign keys)"
    )
    if floor.get("cpu_database"):
        ms = floor["cpu_database"] * 1000 / count
        cores = os.cpu_count() or 1
        said += (
            f", {ms:.2f} ms of its processor time {each}: on {cores} "
            f"cores, with nothing else running, at most {cores * 1000 / ms:,.0f} a second"
        )
    return said
