"""Helpers of the console commands."""

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any


class Progress:
    """A one-line progress bar on standard error."""

    def __init__(self, total: int, stream: Any = None) -> None:
        # Looked up now, not at import: a test may have replaced standard error since.
        self.total, self.stream, self.shown = max(total, 1), stream or sys.stderr, -1

    def __call__(self, done: int) -> None:
        percent = done * 100 // self.total
        if percent != self.shown:
            self.shown = percent
            bar = "#" * (percent // 4)
            self.stream.write(f"\r[{bar:<25}] {percent:3d}% ({done}/{self.total})")
            self.stream.flush()


def import_source(path: Path, username: str) -> tuple[Any, bytes]:
    """The user an import command acts as and the file's content; CommandError naming what is
    wrong otherwise (every import command starts so)."""
    return import_user(path, username), path.read_bytes()


def import_user(path: Path, username: str) -> Any:
    """`import_source` without reading the file (an importer that streams it reads it itself)."""
    from django.contrib.auth import get_user_model
    from django.core.management.base import CommandError

    if not path.is_file():
        raise CommandError(f"{path}: no such file")
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise CommandError(f"no user {username!r}")
    return user


@contextmanager
def acting_as(user: Any) -> Iterator[None]:
    """Changes made inside are kept in history as made by `user`, as a page's are by its signed-in
    user (django-simple-history reads the user from the request it is handed by its middleware;
    a console command has none, so it is handed one)."""
    from simple_history.models import HistoricalRecords

    before = getattr(HistoricalRecords.context, "request", None)
    HistoricalRecords.context.request = SimpleNamespace(user=user)
    try:
        yield
    finally:
        if before is None:
            del HistoricalRecords.context.request
        else:
            HistoricalRecords.context.request = before
