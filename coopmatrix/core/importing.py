"""The one import path: parse, check every row, then write all or nothing.

An importer collects RowErrors (file, line, column, value, reason) for every row before it
writes anything; if any error is found, ImportFailed carries all of them and nothing changes.
Writes go through `upsert`, keyed by a stable identifier, and save only what differs, so a rerun
of the same file changes nothing and adds no history.
"""

from __future__ import annotations

import csv
import io
import json
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Generic, Protocol, TypeVar

from django.db import models

T = TypeVar("T")


@dataclass(frozen=True)
class RowError:
    file: str
    line: int
    column: str
    value: str
    reason: str

    def __str__(self) -> str:
        where = f"{self.file}, line {self.line}" if self.line else self.file
        if self.column:
            where += f", column {self.column!r}"
        value = f" {self.value!r}:" if self.value else ""
        return f"{where}:{value} {self.reason}"


class ImportFailed(Exception):
    """Raised with every error found; the database is unchanged."""

    def __init__(self, errors: Iterable[RowError]) -> None:
        self.errors = list(errors)
        super().__init__("\n".join(str(e) for e in self.errors))


class NoteTaker(Protocol):
    """Where a reader puts what it read how (a list, or a preview's Notes)."""

    def append(self, note: str, /) -> None: ...


#: Notes a preview holds in memory; the others wait in a temporary file. A file of a million IATI
#: activities makes some 120,000 (one activity in eight names a code kept as given): 25 MB.
NOTES_IN_MEMORY = 2000


class Notes:
    """An import's notes, in the order they were made: the first NOTES_IN_MEMORY in memory, the
    others in a temporary file (one JSON text a line), read back in turn when iterated."""

    def __init__(self, notes: Iterable[str] = ()) -> None:
        self._kept: list[str] = []
        self._file: IO[str] | None = None
        self._spilled = 0
        self.extend(notes)

    def append(self, note: str, /) -> None:
        if len(self._kept) < NOTES_IN_MEMORY:
            self._kept.append(note)
            return
        if self._file is None:
            # Open as long as the preview is kept; gone with it.
            self._file = tempfile.TemporaryFile("w+", encoding="utf-8", prefix="coopmatrix-notes-")  # noqa: SIM115
        self._file.seek(0, io.SEEK_END)
        self._file.write(json.dumps(note) + "\n")
        self._spilled += 1

    def extend(self, notes: Iterable[str]) -> None:
        for note in notes:
            self.append(note)

    def __iter__(self) -> Iterator[str]:
        yield from self._kept
        if self._file is None:
            return
        # From a position of its own: notes may be added, or another iteration run, meanwhile.
        self._file.flush()
        at = read = 0
        while read < self._spilled:
            read += 1
            self._file.seek(at)
            line = self._file.readline()
            at = self._file.tell()
            yield json.loads(line)

    def __len__(self) -> int:
        return len(self._kept) + self._spilled

    def __bool__(self) -> bool:
        return bool(self._kept)

    def __repr__(self) -> str:
        return f"Notes({list(self)!r})"


@dataclass
class Preview(Generic[T]):
    """What an import would do: counts, every error, and the checked rows to write."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)
    planned: list[T] = field(default_factory=list)
    #: The file's row number and key of each planned record, in the same order, where the
    #: importer keeps them (notes about a planned record name its row).
    sources: list[tuple[int, str]] = field(default_factory=list)
    #: What the user should read before confirming (e.g. "row 4 merges into entry #12").
    notes: Notes = field(default_factory=Notes)

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass
class Stats:
    created: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)
    unchanged: dict[str, int] = field(default_factory=dict)

    def count(self, what: str, outcome: str) -> None:
        bucket = getattr(self, outcome)
        bucket[what] = bucket.get(what, 0) + 1

    def summary(self) -> str:
        names = sorted(set(self.created) | set(self.updated) | set(self.unchanged))
        return "; ".join(
            f"{name}: {self.created.get(name, 0)} created, {self.updated.get(name, 0)} updated, "
            f"{self.unchanged.get(name, 0)} unchanged"
            for name in names
        )


def read_csv(
    path: Path, required: Iterable[str], errors: list[RowError]
) -> Iterator[tuple[int, dict[str, str]]]:
    """Rows of a UTF-8 CSV file with their line numbers (the header is line 1).

    A missing file, undecodable bytes or missing columns are recorded as errors and yield no rows.
    """
    name = path.name
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        errors.append(RowError(name, 0, "", "", "file not found"))
        return
    except UnicodeDecodeError as exc:
        errors.append(RowError(name, 0, "", "", f"not UTF-8 text ({exc.reason} at byte {exc.start})"))
        return
    reader = csv.DictReader(text.splitlines())
    missing = [c for c in required if c not in (reader.fieldnames or [])]
    if missing:
        errors.append(RowError(name, 1, ", ".join(missing), "", "missing column(s)"))
        return
    for number, row in enumerate(reader, start=2):
        if None in row:
            errors.append(RowError(name, number, "", "", "more cells than the header has columns"))
            continue
        yield number, {k: (v or "").strip() for k, v in row.items()}


def upsert(model: type[models.Model], lookup: dict[str, Any], values: dict[str, Any], stats: Stats) -> Any:
    """Create or update one record, saving only when a value differs."""
    label = model._meta.verbose_name_plural
    obj = model._default_manager.filter(**lookup).first()
    if obj is None:
        obj = model(**lookup, **values)
        obj._change_reason = "reference data loaded"  # type: ignore[attr-defined]
        obj.save()
        stats.count(str(label), "created")
        return obj
    changed = [name for name, value in values.items() if getattr(obj, name) != value]
    if changed:
        for name in changed:
            setattr(obj, name, values[name])
        obj._change_reason = "reference data updated"  # type: ignore[attr-defined]
        obj.save()
        stats.count(str(label), "updated")
    else:
        stats.count(str(label), "unchanged")
    return obj


def expect(progress: Any, total: int) -> None:
    """Tell a progress callback how many rows there are, if it can use it (a job's tracker)."""
    if progress is not None and hasattr(progress, "expect"):
        progress.expect(total)


def step(progress: Any, phase: str) -> None:
    """Tell a progress callback that a new phase starts ("Writing"), if it can show it."""
    if progress is not None and hasattr(progress, "step"):
        progress.step(phase)
