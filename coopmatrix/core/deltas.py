"""Differences added to the rows of kept sums (the grid's counts, the funding sums).

A change adds its differences to the kept rows it touches, creating a row the first time. On
PostgreSQL they are copied into a scratch table and added by one upsert (COPY is its fast door: an
import adds hundreds of thousands); on SQLite each is upserted in turn.

Inside `held()` (an import, a rebuild: many chunks in one transaction) they gather in the scratch
table and are added once, when the block ends. Added chunk after chunk, the same rows (a world
total, a year's sum) were updated again and again in one transaction: each update leaves a version
of the row that the next one steps over until the transaction ends, so each upsert took longer than
the one before. In an import of 100,000 IATI activities, one upsert of a chunk took more than a
second. Inside `held()` the kept rows are not yet up to date: nothing in such a block reads them.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from typing import Any

from django.db import connection


@contextmanager
def held() -> Iterator[None]:
    """Every kind of kept sums' differences added once, when the block ends (`Deltas.held` of
    each): for a writer that does not know which apps keep sums of what it writes (an import)."""
    with ExitStack() as stack:
        for deltas in _ALL:
            stack.enter_context(deltas.held())
        yield


#: Rows gathered in a scratch table before they are added, though the block has not ended.
GATHERED_AT_MOST = 2_000_000


class Deltas:
    """Differences to the rows of a table of kept sums (each row found by its `keys` columns, its
    `values` columns added to), gathered in the temporary table `scratch` (`declared`: its
    columns' declarations)."""

    def __init__(self, scratch: str, declared: str, keys: Sequence[str], values: Sequence[str]) -> None:
        self.scratch = scratch
        self.declared = declared
        self.keys = tuple(keys)
        self.values = tuple(values)
        self._local = threading.local()
        _ALL.append(self)

    def add(self, cursor: Any, table: str, rows: Iterable[Sequence[Any]]) -> None:
        """Add the rows' values (keys, then values) to `table`: now, or on PostgreSQL when the
        current `held()` ends. Rows sorted by key lock their kept rows in the same order as
        another transaction's."""
        columns = ", ".join((*self.keys, *self.values))
        if connection.vendor != "postgresql":
            placeholders = ", ".join(["%s"] * len(self.keys + self.values))
            cursor.executemany(
                f"INSERT INTO {table} ({columns}) VALUES ({placeholders}) {self._upsert(table)}", rows
            )
            return
        self._scratch(cursor)
        copied = 0
        with cursor.cursor.copy(f"COPY {self.scratch} ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
                copied += 1
        held = getattr(self._local, "held", None)
        if held is None:
            self._flush(cursor, table)
            return
        if held[0] not in ("", table):
            raise ValueError(f"{self.scratch} holds differences to {held[0]}, not to {table}")
        held[0] = table
        held[1] += copied
        if held[1] >= GATHERED_AT_MOST:
            # The scratch table grows with the import (an activity adds dozens of rows) and is kept
            # until the transaction ends; added now and then, the kept rows are updated a few times.
            self._flush(cursor, table)
            held[1] = 0

    @contextmanager
    def held(self) -> Iterator[None]:
        """Differences added inside the block go to their rows once, when it ends (nested blocks
        join the outer one; a block that raises adds nothing, its transaction being undone)."""
        if connection.vendor != "postgresql" or getattr(self._local, "held", None) is not None:
            yield
            return
        self._local.held = ["", 0]
        try:
            yield
            table = self._local.held[0]
        finally:
            self._local.held = None
        if table:
            with connection.cursor() as cursor:
                self._flush(cursor, table)

    def _scratch(self, cursor: Any) -> None:
        # Made again if a savepoint that made it was undone since.
        made = f"CREATE TEMPORARY TABLE IF NOT EXISTS {self.scratch} ({self.declared}) ON COMMIT DROP"
        cursor.execute(made)

    def _flush(self, cursor: Any, table: str) -> None:
        self._scratch(cursor)
        keys = ", ".join(self.keys)
        added = ", ".join(f"sum({v})" for v in self.values)
        # Sorted, so that two transactions touching the same rows lock them in the same order; one
        # row a key, as an upsert may touch each row once.
        cursor.execute(
            f"INSERT INTO {table} ({keys}, {', '.join(self.values)}) "
            f"SELECT {keys}, {added} FROM {self.scratch} GROUP BY {keys} ORDER BY {keys} "
            f"{self._upsert(table)}"
        )
        cursor.execute(f"TRUNCATE {self.scratch}")

    def _upsert(self, table: str) -> str:
        updated = ", ".join(f"{v} = {table}.{v} + excluded.{v}" for v in self.values)
        return f"ON CONFLICT ({', '.join(self.keys)}) DO UPDATE SET {updated}"


_ALL: list[Deltas] = []
