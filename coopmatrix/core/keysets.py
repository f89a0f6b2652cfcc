"""What an import remembers of each record it has met, in memory that grows by bytes, not by
Python objects.

An import of a million IATI activities must need no more memory than one of a hundred thousand
(issue 18). Two things it kept grew with every activity: the identifiers met so far, to refuse
one the file holds twice (a dict: some 120 bytes each, with its text and line), and the keys of
the activities changed, to check them for overlaps when the transaction commits (two sets: some
67 bytes each). Here a key takes 8 bytes and an identifier 16, in sorted arrays; the last few
thousand added stay in a Python set or dict, so that a single save pays nothing for it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np

#: Keys added since the arrays were last merged: merging costs a pass over all of them.
RECENT = 1 << 14


class Keys:
    """A set of integer keys (64-bit): the recent ones in a Python set, the others in a sorted
    array without repeats."""

    def __init__(self, keys: Iterable[int] = ()) -> None:
        self._recent: set[int] = set()
        self._settled = np.empty(0, dtype=np.int64)
        self.update(keys)

    def update(self, keys: Iterable[int]) -> None:
        self._recent.update(keys)
        if len(self._recent) >= RECENT:
            self._settle()

    def difference_update(self, keys: Iterable[int] | np.ndarray) -> None:
        if not self._settled.size:
            self._recent.difference_update(keys.tolist() if isinstance(keys, np.ndarray) else keys)
            return
        self._settle()
        gone = keys if isinstance(keys, np.ndarray) else np.fromiter(keys, dtype=np.int64)
        self._settled = np.setdiff1d(self._settled, gone)

    def clear(self) -> None:
        self._recent.clear()
        self._settled = np.empty(0, dtype=np.int64)

    def sorted(self) -> np.ndarray:
        """Every key, in increasing order, each once (an array of its own)."""
        self._settle()
        return self._settled.copy()

    def __contains__(self, key: object) -> bool:
        if key in self._recent:
            return True
        if not isinstance(key, int | np.integer) or not self._settled.size:
            return False
        at = int(self._settled.searchsorted(key))
        return at < self._settled.size and int(self._settled[at]) == key

    def __len__(self) -> int:
        self._settle()
        return int(self._settled.size)

    def __bool__(self) -> bool:
        return bool(self._recent) or bool(self._settled.size)

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


class FirstSeen:
    """Where each text (an identifier) was first met in a file: the line or row of the first,
    for the message refusing a second ("also at line 12"). The recent texts are kept whole; the
    others as their hash beside their line, in sorted arrays (16 bytes each).

    Two different texts with the same 64-bit hash would read as the same: among a million
    identifiers the odds that any two do are some 1 in 37 million, and the refusal still names
    the line of the other, where the reader sees a different identifier."""

    def __init__(self) -> None:
        self._recent: dict[str, int] = {}
        self._hashes = np.empty(0, dtype=np.int64)
        self._lines = np.empty(0, dtype=np.int64)

    def first(self, text: str) -> int | None:
        """The line where `text` was first met, or None."""
        line = self._recent.get(text)
        if line is not None or not self._hashes.size:
            return line
        wanted = hash(text)
        at = int(self._hashes.searchsorted(wanted))
        if at < self._hashes.size and int(self._hashes[at]) == wanted:
            return int(self._lines[at])
        return None

    def add(self, text: str, line: int) -> None:
        """Note `text` as met at `line` (unless it was met before: the first line stays)."""
        if self.first(text) is not None:
            return
        self._recent[text] = line
        if len(self._recent) >= RECENT:
            self._settle()

    def __len__(self) -> int:
        return len(self._recent) + int(self._hashes.size)

    def _settle(self) -> None:
        count = len(self._recent)
        hashes = np.fromiter(map(hash, self._recent), np.int64, count)
        lines = np.fromiter(self._recent.values(), np.int64, count)
        order = np.argsort(hashes, kind="stable")
        hashes, lines = hashes[order], lines[order]
        # After those met before with the same hash: `first` finds the earliest.
        at = np.searchsorted(self._hashes, hashes, side="right")
        self._hashes = np.insert(self._hashes, at, hashes)
        self._lines = np.insert(self._lines, at, lines)
        self._recent.clear()
