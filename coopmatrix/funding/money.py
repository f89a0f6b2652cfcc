"""Currencies and conversion: an amount is kept in its own currency and shown, converted at the
rate of its date, in the reporting currency (settings.COOPMATRIX_REPORTING_CURRENCY).

A rate is valid from its date until the next one of its currency, for at most
COOPMATRIX_RATE_VALID_DAYS days; with none, the conversion fails naming the currency and the
date. It never falls back to 1.
"""

from __future__ import annotations

import bisect
import datetime as dt
from decimal import ROUND_HALF_EVEN, Decimal

from django.conf import settings
from django.utils.translation import gettext as _

from coopmatrix.exchange import codelists

CENT = Decimal("0.01")


class MissingRate(Exception):
    """No kept rate converts `currency` into `base` on `date`."""

    def __init__(self, currency: str, base: str, date: dt.date):
        self.currency, self.base, self.date = currency, base, date
        super().__init__(
            _("No exchange rate from %(c)s to %(b)s on %(d)s: record one with its source.")
            % {"c": currency, "b": base, "d": date.isoformat()}
        )


def reporting_currency() -> str:
    return settings.COOPMATRIX_REPORTING_CURRENCY


def currencies() -> dict[str, str]:
    """ISO 4217 codes (IATI's replicated Currency codelist, kept in the repository) and names."""
    return codelists.names("Currency")


def is_currency(code: str) -> bool:
    return code in currencies()


class Rates:
    """The kept rates into one currency, read once: for converting many amounts in a figure."""

    def __init__(self, base: str | None = None) -> None:
        from .models import ExchangeRate

        self.base = base or reporting_currency()
        self.valid = dt.timedelta(days=settings.COOPMATRIX_RATE_VALID_DAYS)
        self._by_currency: dict[str, list[tuple[dt.date, Decimal]]] = {}
        for currency, date, rate in (
            ExchangeRate.objects.filter(base=self.base)
            .order_by("currency", "date")
            .values_list("currency", "date", "rate")
        ):
            self._by_currency.setdefault(currency, []).append((date, rate))

    def rate(self, currency: str, date: dt.date) -> Decimal:
        if currency == self.base:
            return Decimal(1)
        kept = self._by_currency.get(currency, [])
        # The last rate dated on or before `date` (the list is in date order).
        at = bisect.bisect_right(kept, date, key=lambda item: item[0])
        if at == 0 or date - kept[at - 1][0] > self.valid:
            raise MissingRate(currency, self.base, date)
        return kept[at - 1][1]

    def convert(self, amount: Decimal, currency: str, date: dt.date) -> Decimal:
        """`amount` in the base currency, to the cent (banker's rounding, as accounts do)."""
        return (amount * self.rate(currency, date)).quantize(CENT, rounding=ROUND_HALF_EVEN)
