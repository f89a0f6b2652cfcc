"""Python's cycle collector run less often inside a bulk block (core.collecting), and as before
once the block ends: a process that stopped collecting for good would grow without end."""

from __future__ import annotations

import gc
import threading

import pytest

from coopmatrix.core import aside, collecting


@pytest.fixture(autouse=True)
def _thresholds_kept():
    before = gc.get_threshold()
    yield
    gc.set_threshold(*before)


def test_the_collector_runs_as_before_once_the_block_ends_even_when_it_raises():
    gc.set_threshold(700, 10, 10)
    with collecting.fewer_collections():
        assert gc.get_threshold() == collecting.THRESHOLDS
    assert gc.get_threshold() == (700, 10, 10)
    with pytest.raises(LookupError), collecting.fewer_collections():
        raise LookupError("a file cut short")
    assert gc.get_threshold() == (700, 10, 10)


def test_a_block_inside_another_leaves_the_thresholds_to_the_outer_one():
    gc.set_threshold(700, 10, 10)
    with collecting.fewer_collections():
        with collecting.fewer_collections():
            pass
        assert gc.get_threshold() == collecting.THRESHOLDS
    assert gc.get_threshold() == (700, 10, 10)


def test_blocks_of_two_threads_keep_the_thresholds_until_the_last_one_ends():
    gc.set_threshold(700, 10, 10)
    entered, release = threading.Event(), threading.Event()

    def other() -> None:
        with collecting.fewer_collections():
            entered.set()
            release.wait(10)

    thread = threading.Thread(target=other)
    with collecting.fewer_collections():
        thread.start()
        assert entered.wait(10)
    # This thread's block ended first; the other's still runs.
    assert gc.get_threshold() == collecting.THRESHOLDS
    release.set()
    thread.join(10)
    assert gc.get_threshold() == (700, 10, 10)


def _thresholds_there() -> object:
    yield gc.get_threshold()


def test_the_process_reading_a_file_aside_collects_less_often():
    assert list(aside.chunks_aside(_thresholds_there, (), 10)) == [[collecting.THRESHOLDS]]
