"""Python's cycle collector run less often while much is made at once (an import, a rebuild).

The collector looks for unreachable cycles each time some hundreds of container objects have
been made and not freed (700, Python's default), and now and then goes through every object the
process holds. Work that makes millions of short-lived objects (the dataclasses an IATI file is
read into, the rows written from them, the model objects a chunk makes) sets it off thousands of
times, each pass going over what the chunk keeps. In imports of 2,000 and 20,000 IATI
activities it was a third of the writing process's CPU time, and two thirds of the time spent
unpickling the chunks read aside. Objects without cycles are freed at once whatever the collector
does, so what the collector would find later is the little cyclic garbage made meanwhile.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

from .processwide import Held

#: The collector's thresholds inside `fewer_collections()`: a young pass every 50,000 objects
#: (not 700), an older one every 20 young ones, and the full pass as Python paces it.
THRESHOLDS = (50_000, 20, 10)

_thresholds = Held(gc.get_threshold, lambda thresholds: gc.set_threshold(*thresholds), THRESHOLDS)


@contextmanager
def fewer_collections() -> Iterator[None]:
    """Inside the block the cycle collector runs at `THRESHOLDS`; as before once the last block
    (of any thread: the thresholds are the process's) ends."""
    with _thresholds.held():
        yield


def for_this_process() -> None:
    """The thresholds of `fewer_collections()` for the rest of the process: for a process that
    does nothing but such work (the reader of an import)."""
    gc.set_threshold(*THRESHOLDS)
