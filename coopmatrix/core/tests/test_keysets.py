"""What an import remembers of each record, in little memory (core.keysets): the same answers as
Python's set and dict, before and after the recent keys are merged into the arrays."""

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
    # A Python set of a million keys takes some 60 MB with its numbers.
    assert peak < 20 * 2**20, f"{peak / 2**20:.0f} MB"


def test_first_seen_gives_the_first_line_of_each_identifier_across_merges(small_recent):
    seen = FirstSeen()
    identifiers = [f"XM-DAC-41114-{n}" for n in range(30)]
    for line, identifier in enumerate(identifiers, start=10):
        assert seen.first(identifier) is None
        seen.add(identifier, line)
    for line, identifier in enumerate(identifiers, start=100):
        seen.add(identifier, line)  # met again: the first line stays
    assert [seen.first(i) for i in identifiers] == list(range(10, 40))
    assert seen.first("XM-DAC-41114-30") is None and seen.first("") is None
    assert len(seen) == 30


def test_identifiers_take_some_twenty_bytes_each_not_a_hundred_and_twenty():
    tracemalloc.start()
    try:
        seen = FirstSeen()
        for line in range(200_000):
            seen.add(f"XB-BENCH-{line:07d}", line + 2)
        _now, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert seen.first("XB-BENCH-0000000") == 2 and seen.first("XB-BENCH-0199999") == 200_001
    # A dict of these 200,000 identifiers and their lines takes some 24 MB.
    assert peak < 8 * 2**20, f"{peak / 2**20:.1f} MB"
