"""What is kept ahead of time from records (the grid's counts, the funding sums) follows each
change at once, or once at the end of a batch of changes (one import, one save of many rows)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager


class Deferred:
    """Calls `refresh(ids)` for the records that changed: at once, or once at the end of the
    current `batch()` of this thread, still inside the caller's transaction (nested batches join
    the outer one)."""

    def __init__(self, refresh: Callable[[list[int]], None]) -> None:
        self._refresh = refresh
        self._local = threading.local()

    def changed(self, ids: Iterable[int | None]) -> None:
        found = [pk for pk in ids if pk is not None]
        held = getattr(self._local, "ids", None)
        if held is None:
            if found:
                self._refresh(found)
        else:
            held.update(found)

    @contextmanager
    def batch(self) -> Iterator[None]:
        if getattr(self._local, "ids", None) is not None:
            yield
            return
        self._local.ids = set()
        try:
            yield
            ids = self._local.ids
        finally:
            self._local.ids = None
        if ids:
            self._refresh(sorted(ids))
