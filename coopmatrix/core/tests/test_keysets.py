"""What an import remembers of each record, in little memory (core.keysets): the same answers as
Python's set and dict, before and after the recent keys are merged into the arrays and the arrays
go to a file, and the identifiers met in the database's temporary table."""

from __future__ import annotations

import random
import tracemalloc

import numpy as np
import pytest

from coopmatrix.core import keysets
from coopmatrix.core.keysets import FirstSeen, Keys


@pytest.fixture
def small_recent(monkeypatch):
    """Merged every few keys, so that each test crosses the arrays many times."""
    monkeypatch.setattr(keysets, "RECENT", 5)


def test_keys_answer_as_a_set_does_across_merges(small_recent):
    rng = random.Random(18)
    keys, same = Keys(), set()
    for _round in range(40):
        added = [rng.randrange(-50, 400) for _ in range(rng.randrange(0, 12))]
        keys.update(added)
        same.update(added)
        gone = [rng.randrange(-50, 400) for _ in range(rng.randrange(0, 6))]
        keys.difference_update(np.array(gone, dtype=np.int64) if _round % 2 else gone)
        same.difference_update(gone)
        assert len(keys) == len(same)
        assert bool(keys) == bool(same)
        assert list(keys) == sorted(same)
        assert keys.sorted().tolist() == sorted(same)
        for probe in range(-60, 410, 7):
            assert (probe in keys) == (probe in same)
    keys.clear()
    assert not keys and len(keys) == 0 and list(keys) == []


def test_keys_of_an_empty_import_and_of_one_save():
    assert not Keys() and Keys().sorted().size == 0
    one = Keys([7])
    one.difference_update([8])
    assert list(one) == [7] and 7 in one and 8 not in one and "7" not in one


def test_a_million_keys_take_megabytes_not_a_hundred():
    tracemalloc.start()
    try:
        keys = Keys()
        for start in range(0, 1_000_000, 500):
            keys.update(range(start, start + 500))  # by the chunk, as an import notes them
        _now, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(keys) == 1_000_000
    # A Python set of a million keys takes some 60 MB with its numbers; sorted arrays took 16 MB
    # at their peak; past SPILL the keys go to a file.
    assert peak < 4 * 2**20, f"{peak / 2**20:.0f} MB"


@pytest.mark.django_db
def test_first_seen_gives_the_first_line_of_each_identifier_from_its_table():
    seen = FirstSeen()
    identifiers = [f"XM-DAC-41114-{n}" for n in range(2500)]  # more than one query asks for
    assert seen.lines_of(identifiers) == {}
    seen.add({identifier: line for line, identifier in enumerate(identifiers, start=10)})
    seen.add({identifier: line for line, identifier in enumerate(identifiers, start=9000)})  # the first stays
    asked = ["XM-DAC-41114-2500", "", *identifiers, "xm-dac-41114-0"]
    assert seen.lines_of(asked) == {identifier: line for line, identifier in enumerate(identifiers, start=10)}
    assert len(seen) == 2500
    seen.close()


def test_keys_past_spill_go_to_a_file_and_still_answer_as_a_set_does(monkeypatch):
    monkeypatch.setattr(keysets, "RECENT", 7)
    monkeypatch.setattr(keysets, "SPILL", 20)
    rng = random.Random(1818)
    keys, same = Keys(), set()
    for _round in range(60):
        added = [rng.randrange(0, 600) for _ in range(rng.randrange(0, 30))]
        keys.update(added)
        same.update(added)
        if _round % 9 == 8:
            gone = [rng.randrange(0, 600) for _ in range(40)]
            keys.difference_update(gone)
            same.difference_update(gone)
        assert keys.sorted().tolist() == sorted(same)
        assert len(keys) == len(same) and bool(keys) == bool(same)
        assert keys._settled.size < 20 + 7  # the rest is in the file
        for probe in range(0, 600, 13):
            assert (probe in keys) == (probe in same)
    assert keys._runs
    keys.clear()
    assert not keys and list(keys) == [] and keys._file is None
