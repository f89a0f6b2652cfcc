"""A setting of the whole process, changed while some work runs and set back after it."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Generic, TypeVar

T = TypeVar("T")


class Held(Generic[T]):
    """A process-wide setting (the cycle collector's thresholds, the interpreter's switch
    interval) at `value` while any block of any thread is inside `held()`, and as it was before
    once the last one ends: blocks of several threads overlap, and the setting is the process's."""

    def __init__(self, read: Callable[[], T], write: Callable[[T], None], value: T) -> None:
        self.read, self.write, self.value = read, write, value
        self._lock = threading.Lock()
        self._inside = 0
        self._before = read()

    @contextmanager
    def held(self) -> Iterator[None]:
        with self._lock:
            if self._inside == 0:
                self._before = self.read()
                self.write(self.value)
            self._inside += 1
        try:
            yield
        finally:
            with self._lock:
                self._inside -= 1
                if self._inside == 0:
                    self.write(self._before)
