"""A callback run once after the current transaction commits, however often it is asked for.

An import changes hundreds of thousands of records in one transaction, each change asking for
the same work after the commit (the public cache's generation moved, the activities checked for
overlaps). Django keeps every callback asked for, with a copy of the savepoints open at the time:
a list as long as the changes. Here the callback is added once, and found again while it is
still in Django's list; a savepoint rolled back takes it away with its writes, and the next
change adds it again.

In tests, Django's `captureOnCommitCallbacks` runs the callbacks added inside its block only: one
added before it (by a record the test made first, in the test's transaction) is not added again.
Make that record inside a capture block of its own, as it would have been committed.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.db import connection, transaction


def once_on_commit(func: Callable[[], Any], robust: bool = False, db: Any = None) -> None:
    """`transaction.on_commit(func)` unless `func` already waits for this transaction's commit
    (outside a transaction: run now, as Django does)."""
    db = db or connection
    if not db.in_atomic_block:
        transaction.on_commit(func, using=db.alias, robust=robust)
        return
    # Where it was put is remembered: looking through a list of hundreds of thousands of
    # callbacks at every write took longer than the writes.
    known: dict[Callable[[], Any], tuple[int, Any]] = db.__dict__.setdefault("_coopmatrix_once", {})
    callbacks = db.run_on_commit
    at, entry = known.get(func, (-1, None))
    if 0 <= at < len(callbacks) and callbacks[at] is entry and not entry[1].ran:
        return
    for at, entry in enumerate(callbacks):
        if isinstance(entry[1], _Once) and entry[1].func is func and not entry[1].ran:
            known[func] = (at, entry)  # moved by a savepoint's rollback: found again
            return
    transaction.on_commit(_Once(func), using=db.alias, robust=robust)
    known[func] = (len(callbacks) - 1, callbacks[-1])


class _Once:
    """The callback as added, knowing whether it has run: a test's capture of the callbacks runs
    them and leaves them in the transaction's list, where a later change must not find them."""

    def __init__(self, func: Callable[[], Any]) -> None:
        functools.update_wrapper(self, func)  # Django names a failing callback by its __qualname__
        self.func = func
        self.ran = False

    def __call__(self) -> Any:
        self.ran = True
        return self.func()
