"""What an import remembers of each record it has met, in memory that grows by bytes, not by
Python objects.

An import of a million IATI activities must need no more memory than one of a hundred thousand
(issue 18). Two things it kept grew with every activity: the identifiers met so far, to refuse
one the file holds twice (a dict: some 120 bytes each, with its text and line), and the keys of
the activities changed, to check them for overlaps when the transaction commits (two sets: some
67 bytes each). Here the keys are 8 bytes each in sorted arrays, the last few thousand added in a
Python set, so that a single save pays nothing for them, and past SPILL of them in a temporary
file; the identifiers are in a temporary table of the database.
"""

from __future__ import annotations

import io
import tempfile
import uuid
from collections.abc import Iterable, Iterator
from typing import IO

import numpy as np
from django.db import DatabaseError, connection, transaction

#: Keys added since the arrays were last merged: merging costs a pass over all of them.
RECENT = 1 << 14
#: Keys a Keys holds in memory at most (1 MB): an import of a million activities noted 8 MB of
#: them twice over, and 8 more while the arrays merged, where one of 100,000 needed 1.6.
SPILL = 1 << 17


class Keys:
    """A set of integer keys (64-bit): the recent ones in a Python set, the others in a sorted
    array without repeats; past SPILL of those, the array goes to a temporary file, as a sorted
    run of its own, and memory holds no more than SPILL keys however many are added."""

    def __init__(self, keys: Iterable[int] = ()) -> None:
        self._recent: set[int] = set()
        self._settled = np.empty(0, dtype=np.int64)
        self._file: IO[bytes] | None = None
        self._runs: list[tuple[int, int]] = []  # where each run starts in the file, and its length
        self.update(keys)

    def update(self, keys: Iterable[int]) -> None:
        self._recent.update(keys)
        if len(self._recent) >= RECENT:
            self._settle()

    def difference_update(self, keys: Iterable[int] | np.ndarray) -> None:
        if not self._settled.size and not self._runs:
            self._recent.difference_update(keys.tolist() if isinstance(keys, np.ndarray) else keys)
            return
        gone = keys if isinstance(keys, np.ndarray) else np.fromiter(keys, dtype=np.int64)
        if not self._runs:
            self._settle()
            self._settled = np.setdiff1d(self._settled, gone)
            return
        # Rare (a check before an import's commit): every run is read, and written again.
        kept = np.setdiff1d(self.sorted(), gone)
        self.clear()
        for start in range(0, kept.size, SPILL):
            self._spill(kept[start : start + SPILL])

    def clear(self) -> None:
        self._recent.clear()
        self._settled = np.empty(0, dtype=np.int64)
        self._runs = []
        if self._file is not None:
            self._file.close()
            self._file = None

    def sorted(self) -> np.ndarray:
        """Every key, in increasing order, each once (an array of its own)."""
        self._settle()
        if not self._runs:
            return self._settled.copy()
        return np.unique(np.concatenate([self._settled, *self._spilled()]))

    def __contains__(self, key: object) -> bool:
        if key in self._recent:
            return True
        if not isinstance(key, int | np.integer):
            return False
        return any(_holds(run, int(key)) for run in (self._settled, *self._spilled()))

    def __len__(self) -> int:
        self._settle()
        return int(self._settled.size) if not self._runs else int(self.sorted().size)

    def __bool__(self) -> bool:
        return bool(self._recent) or bool(self._settled.size) or bool(self._runs)

    def __iter__(self) -> Iterator[int]:
        return iter(self.sorted().tolist())

    def _settle(self) -> None:
        if self._recent:
            recent = np.fromiter(self._recent, dtype=np.int64, count=len(self._recent))
            recent.sort()
            at = np.searchsorted(self._settled, recent)
            known = at < self._settled.size
            known[known] = self._settled[at[known]] == recent[known]
            # Inserted where they belong: one new array, where a union of the two sorted the
            # million keys again and held three copies of them.
            self._settled = np.insert(self._settled, at[~known], recent[~known])
            self._recent.clear()
        if self._settled.size >= SPILL:
            self._spill(self._settled)
            self._settled = np.empty(0, dtype=np.int64)

    def _spill(self, run: np.ndarray) -> None:
        if self._file is None:
            # Open as long as the keys are kept: closed (and gone) by clear, or with the Keys.
            self._file = tempfile.TemporaryFile(prefix="coopmatrix-keys-")  # noqa: SIM115
        self._file.seek(0, io.SEEK_END)
        self._runs.append((self._file.tell(), int(run.size)))
        self._file.write(run.astype(np.int64).tobytes())

    def _spilled(self) -> Iterator[np.ndarray]:
        for start, count in self._runs:
            assert self._file is not None
            self._file.seek(start)
            yield np.frombuffer(self._file.read(count * 8), dtype=np.int64)


def _holds(run: np.ndarray, key: int) -> bool:
    at = int(run.searchsorted(key))
    return at < run.size and int(run[at]) == key


class FirstSeen:
    """Where each text (an identifier) was first met in a file: the line or row of the first,
    for the message refusing a second ("also at line 12"). Kept in a temporary table of the
    database, in the import's transaction: the texts are asked for and added a chunk at a time
    (two queries for 500), and memory holds none of them. In memory, as hashes in sorted
    arrays, a million took 16 MB, and 16 more while the arrays merged.

    Use it inside a transaction, as a context manager (or `close` it): the table goes at the end,
    or with a rollback."""

    def __init__(self) -> None:
        self._table = f"coopmatrix_seen_{uuid.uuid4().hex}"
        with connection.cursor() as cursor:
            cursor.execute(
                f"CREATE TEMPORARY TABLE {self._table} (text TEXT PRIMARY KEY, line BIGINT NOT NULL)"
            )

    def lines_of(self, texts: Iterable[str]) -> dict[str, int]:
        """The line where each of `texts` met before was first met; the others are not there."""
        wanted = list(dict.fromkeys(texts))
        found: dict[str, int] = {}
        with connection.cursor() as cursor:
            for start in range(0, len(wanted), ASKED_AT_ONCE):
                some = wanted[start : start + ASKED_AT_ONCE]
                marks = ", ".join(["%s"] * len(some))
                cursor.execute(f"SELECT text, line FROM {self._table} WHERE text IN ({marks})", some)
                found.update((text, int(line)) for text, line in cursor.fetchall())
        return found

    def add(self, lines: dict[str, int]) -> None:
        """Note each text as met at its line; one met before keeps its first line."""
        pairs = list(lines.items())
        with connection.cursor() as cursor:
            for start in range(0, len(pairs), ASKED_AT_ONCE):
                some = pairs[start : start + ASKED_AT_ONCE]
                rows = ", ".join(["(%s, %s)"] * len(some))
                cursor.execute(
                    f"INSERT INTO {self._table} (text, line) VALUES {rows} ON CONFLICT (text) DO NOTHING",
                    [value for pair in some for value in pair],
                )

    def __len__(self) -> int:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT COUNT(*) FROM {self._table}")
            return int(cursor.fetchone()[0])

    def __enter__(self) -> FirstSeen:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Drop the table. Where the transaction has failed, the rollback to come drops it: the
        error that failed it is the one to see, not this one's."""
        if connection.needs_rollback:
            return
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(f"DROP TABLE IF EXISTS {self._table}")
        except DatabaseError:
            pass


#: Texts asked for, or added, in one query (SQLite allows 32,766 parameters).
ASKED_AT_ONCE = 1000
