"""Statistics for PostgreSQL's planner while one transaction writes a great many rows.

The planner reads a table's size and each column's distinct values from the table's last ANALYZE.
In a database that was empty, or small, before a large import, those say the tables hold next to
nothing: a lookup by a chunk's 500 keys (`= ANY`) is then estimated to match most of the table
and planned accordingly, and each chunk took longer than the one before. Measured in an IATI
import into a database holding only the reference data: 250 activities a second over the first
30,000, 227 on average up to 170,000, 150 from there to 220,000, where a chunk's read of its
contributions took 195 ms and of its transactions 110 ms. Autovacuum cannot help: it does not see
rows not yet committed. ANALYZE run inside the transaction counts the transaction's own rows.

Every import writes through `core.bulk`, which tells `written(n)` the rows it has just written:
so the template importers, the IATI and HXL importers and the synthetic data all get this without
asking. Every LOOK_EVERY rows the transaction's own count of rows written is read; at FIRST, then
each time that count has grown GROWTH-fold, the tables the transaction has written many more rows
to than their statistics know of are analysed (some 50 ms each). Nothing happens on SQLite, whose
planner uses an index for such lookups without statistics, nor outside a transaction.
"""

from __future__ import annotations

import threading

from django.db import OperationalError, connection, transaction

#: Rows written in bulk between two readings of the transaction's own count (one small query).
LOOK_EVERY = 20_000
#: Rows the transaction has written (all tables, its scratch tables too) before the statistics are
#: looked at first, and the growth after which they are looked at again. An IATI activity of the
#: benchmark's file writes some 81 rows (measured): a first look after some 1,200 of them.
FIRST = 100_000
GROWTH = 4
#: A table is analysed where the transaction has written more rows to it than this share of what
#: its statistics count.
STALE = 0.2
#: ANALYZE holds a lock until the transaction ends that another's ANALYZE or VACUUM waits for:
#: taken only if free within this long, else the table is left (another import analysing it, say,
#: which would otherwise wait for this one, and could deadlock with it).
LOCK_WAIT = "100ms"


class _Seen(threading.local):
    """What this thread's connection has written since it last looked, and in which transaction
    the next look is due at how many rows (Django's connection is one a thread)."""

    def __init__(self) -> None:
        self.pending = 0
        self.transaction: str | None = None
        self.due = FIRST


_seen = _Seen()


def written(rows: int) -> list[str]:
    """`rows` just written in bulk; the tables analysed now (if any)."""
    if connection.vendor != "postgresql" or not connection.in_atomic_block:
        return []
    _seen.pending += rows
    if _seen.pending < LOOK_EVERY:
        return []
    _seen.pending = 0
    with connection.cursor() as cursor:
        # The transaction's own identifier and count: a new transaction starts the count again.
        cursor.execute(
            "SELECT pg_current_xact_id_if_assigned()::text,"
            " COALESCE(SUM(n_tup_ins + n_tup_upd), 0) FROM pg_stat_xact_user_tables"
        )
        current, total = cursor.fetchone()
    if current != _seen.transaction:
        _seen.transaction, _seen.due = current, FIRST
    if total < _seen.due:
        return []
    _seen.due = total * GROWTH
    return analyze_stale()


def analyze_stale() -> list[str]:
    """Analyse the tables this transaction has written more rows to than their statistics know of;
    the tables analysed (none on SQLite)."""
    if connection.vendor != "postgresql":
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT s.schemaname, s.relname FROM pg_stat_xact_user_tables s "
            "JOIN pg_class c ON c.oid = s.relid "
            "WHERE s.n_tup_ins + s.n_tup_upd > %s * GREATEST(c.reltuples, 0) + 1000 "
            "ORDER BY s.relname",
            [STALE],
        )
        stale = cursor.fetchall()
        cursor.execute("SHOW lock_timeout")
        before = cursor.fetchone()[0]
        analysed = []
        for schema, table in stale:
            name = f"{connection.ops.quote_name(schema)}.{connection.ops.quote_name(table)}"
            try:
                with transaction.atomic():
                    cursor.execute("SELECT set_config('lock_timeout', %s, true)", [LOCK_WAIT])
                    cursor.execute(f"ANALYZE {name}")
                analysed.append(table)
            except OperationalError:
                pass  # the lock was not free: left as it is
            finally:
                cursor.execute("SELECT set_config('lock_timeout', %s, true)", [before])
        return analysed
