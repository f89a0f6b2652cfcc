"""Statistics for PostgreSQL's planner while one transaction writes a great many rows.

The planner reads a table's size and each column's distinct values from the table's last ANALYZE.
In a database that was empty, or small, before a large import, those say the tables hold next to
nothing: a lookup by a chunk's 500 keys (`= ANY`) is then estimated to match most of the table
and planned accordingly, and each chunk took longer than the one before (in an IATI import into a
database holding only the reference data, by its 230,000th activity a chunk's read of its
contributions took 195 ms, of its transactions 110 ms; the import wrote 140 activities a second
where it had written 300). Autovacuum cannot help: it does not see rows not yet committed.
ANALYZE run inside the transaction counts the transaction's own rows.

`Statistics.written(n)` is told how far an import has come; at FIRST rows, then each time that
count has grown GROWTH-fold, the tables the transaction has written many more rows to than their
statistics know of are analysed (some 50 ms each). Nothing happens on SQLite, whose planner uses
an index for such lookups without statistics.
"""

from __future__ import annotations

from django.db import OperationalError, connection, transaction

#: Rows (activities) written before the statistics are looked at first, and the growth after
#: which they are looked at again.
FIRST = 10_000
GROWTH = 4
#: A table is analysed where the transaction has written more rows to it than this share of what
#: its statistics count.
STALE = 0.2
#: ANALYZE holds a lock until the transaction ends that another's ANALYZE or VACUUM waits for:
#: taken only if free within this long, else the table is left (another import analysing it, say,
#: which would otherwise wait for this one, and could deadlock with it).
LOCK_WAIT = "100ms"


class Statistics:
    def __init__(self) -> None:
        self.next = FIRST

    def written(self, rows: int) -> list[str]:
        """`rows` written so far in this transaction; the tables analysed now (if any)."""
        if rows < self.next or connection.vendor != "postgresql":
            return []
        self.next = rows * GROWTH
        return analyze_stale()


def analyze_stale() -> list[str]:
    """Analyse the tables this transaction has written more rows to than their statistics know of;
    the tables analysed."""
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
