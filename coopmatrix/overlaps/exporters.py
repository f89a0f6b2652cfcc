"""The review queue as CSV and XLSX: one row per pair, both activities named, every reason."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from .models import Overlap


def rows(records: Iterable[Overlap]) -> Iterator[Overlap]:
    yield from getattr(records, "iterator", lambda **_: records)(chunk_size=2000)


def _reasons(o: Overlap) -> str:
    return " | ".join(o.explanation())


COLUMNS: list[tuple[str, Any]] = [
    ("id", lambda o: o.pk),
    ("score", lambda o: f"{o.score:.4f}"),
    ("first_activity", lambda o: o.first_id),
    ("first_title", lambda o: o.first.title),
    ("second_activity", lambda o: o.second_id),
    ("second_title", lambda o: o.second.title),
    ("reasons", _reasons),
    ("verdict", lambda o: o.verdict),
    ("to_review", lambda o: "yes" if o.to_review else "no"),
    ("comment", lambda o: o.comment),
    ("reviewed", lambda o: o.reviewed_at.date().isoformat() if o.reviewed_at else ""),
]
