"""Dates with the precision their source gives: a day, a month or a year.

A source that says "1977" or "March 2004" must not become 1 January 1977 or 1 March 2004 on screen;
the date is stored as its first day together with its precision, and always shown at that precision.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _


class Precision(models.TextChoices):
    DAY = "day", _("day")
    MONTH = "month", _("month")
    YEAR = "year", _("year")
    # The source says only that it happened within a reporting period ("during the period under
    # review"): the date is that period's first or last day, never a day of the event itself.
    PERIOD = "period", _("within the reporting period")


_PATTERNS = (
    (re.compile(r"^(\d{4})-(\d{2})-(\d{2})$"), Precision.DAY),
    (re.compile(r"^(\d{4})-(\d{2})$"), Precision.MONTH),
    (re.compile(r"^(\d{4})$"), Precision.YEAR),
)


@dataclass(frozen=True)
class PartialDate:
    date: dt.date
    precision: str = Precision.DAY

    @classmethod
    def parse(cls, text: str) -> PartialDate:
        """Read YYYY-MM-DD, YYYY-MM, YYYY or period:YYYY-MM-DD; raise ValueError naming the text otherwise."""
        text = (text or "").strip()
        if text.startswith("period:"):
            day = cls.parse(text[len("period:") :])
            if day.precision != Precision.DAY:
                raise ValueError(f"{text!r}: a reporting period's bound is a day (period:YYYY-MM-DD)")
            return cls(day.date, Precision.PERIOD)
        for pattern, precision in _PATTERNS:
            match = pattern.match(text)
            if not match:
                continue
            parts = [int(p) for p in match.groups()] + [1] * (3 - len(match.groups()))
            try:
                return cls(dt.date(*parts), precision)
            except ValueError as exc:
                raise ValueError(f"{text!r} is not a real date ({exc})") from exc
        raise ValueError(f"{text!r} is not a date: write YYYY-MM-DD, YYYY-MM or YYYY")

    def __str__(self) -> str:
        return format_partial(self.date, self.precision)

    @property
    def last_day(self) -> dt.date:
        """The last day the date may stand for (31 December for a year)."""
        if self.precision == Precision.YEAR:
            return dt.date(self.date.year, 12, 31)
        if self.precision == Precision.MONTH:
            nxt = dt.date(self.date.year + self.date.month // 12, self.date.month % 12 + 1, 1)
            return nxt - dt.timedelta(days=1)
        return self.date


def format_partial(date: dt.date | None, precision: str | None) -> str:
    """ISO text of a date at its precision: 2004-03-09, 2004-03 or 2004."""
    if date is None:
        return ""
    if precision == Precision.YEAR:
        return f"{date.year:04d}"
    if precision == Precision.MONTH:
        return f"{date.year:04d}-{date.month:02d}"
    if precision == Precision.PERIOD:
        return f"{date.isoformat()} (reporting period)"
    return date.isoformat()


def partial_text(date: dt.date | None, precision: str | None) -> str:
    """The same date as PartialDate.parse reads it back (period:YYYY-MM-DD for a reporting period):
    what exports and the API write, so that a record round-trips unchanged."""
    if date is not None and precision == Precision.PERIOD:
        return f"period:{date.isoformat()}"
    return format_partial(date, precision)


def parse_day(value: Any, field: str, errors: dict[str, str], hint: str = "YYYY-MM-DD") -> dt.date | None:
    """A date given to the day (empty: None); a wrong one is noted in `errors[field]`."""
    if value in (None, ""):
        return None
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        errors[field] = f"{value!r} is not a date ({hint})"
        return None
