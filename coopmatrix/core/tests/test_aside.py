"""Reading in a second process (core.aside): what the reader yields comes back in order, what it
raises is raised, a reader that dies or is left is not waited for."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from coopmatrix.core import aside


def _numbers_then_fail(count: int) -> object:
    yield from range(count)
    raise LookupError(f"no number after {count}")


class _Unpicklable(Exception):
    def __init__(self) -> None:
        super().__init__("made with a function, which does not travel")
        self.made_with = lambda: None


def _unpicklable() -> object:
    yield 1
    raise _Unpicklable()


def _dies() -> object:
    yield 1
    os._exit(3)


def _forever(pid_file: str) -> object:
    Path(pid_file).write_text(str(os.getpid()))
    n = 0
    while True:
        yield n
        n += 1


def test_what_the_reader_yields_comes_back_in_chunks_in_order():
    assert list(aside.chunks_aside(range, (7,), 3)) == [[0, 1, 2], [3, 4, 5], [6]]


def test_the_first_chunks_may_be_smaller_and_then_all_are_of_the_size():
    # An import starts writing on a few activities while the next are read.
    chunks = list(aside.chunks_aside(range, (12,), 4, (1, 2)))
    assert chunks == [[0], [1, 2], [3, 4, 5, 6], [7, 8, 9, 10], [11]]


def test_what_the_reader_raises_is_raised_after_what_it_read():
    got = []
    with pytest.raises(LookupError, match="no number after 4"):
        for chunk in aside.chunks_aside(_numbers_then_fail, (4,), 2):
            got.append(chunk)
    assert got == [[0, 1], [2, 3]]


def test_an_error_that_cannot_travel_comes_back_as_its_text():
    with pytest.raises(RuntimeError, match="_Unpicklable: made with a function"):
        list(aside.chunks_aside(_unpicklable, (), 5))


def test_a_reader_that_dies_is_named_not_waited_for():
    with pytest.raises(aside.ReaderGone, match=r"stopped before the end \(exit code 3\)"):
        list(aside.chunks_aside(_dies, (), 1))


def test_a_reader_left_by_its_writer_is_stopped(tmp_path):
    pid_file = tmp_path / "reader.pid"
    chunks = aside.chunks_aside(_forever, (str(pid_file),), 100)
    assert next(chunks) == list(range(100))
    pid = int(pid_file.read_text())
    chunks.close()
    # Stopped and waited for: no such process any more.
    for _ in range(50):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        pytest.fail(f"the reader {pid} still runs")
