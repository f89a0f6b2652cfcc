"""Synthetic funds, programmes, needs, exchange rates and contributions, for benchmarks only.

Written only to a database whose name contains "bench", beside the synthetic activities of
`generate_synthetic`; every record says it is synthetic. No history rows are written for them:
the benchmark measures the figures, not the history.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from array import array
from decimal import Decimal

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

from coopmatrix.core import bulk
from coopmatrix.directory.models import Organization
from coopmatrix.geo.models import State
from coopmatrix.matrix.models import Activity, Programme

from ... import sums
from ...models import Contribution, ExchangeRate, Fund, FundingNeed, last_day

SOURCE = "synthetic, for benchmarks only"
PREFIX = "synthetic-"
BATCH = 50_000
FUNDS, PROGRAMMES = 5, 300
#: Synthetic rates into US dollars, one a month (made up: benchmarks only).
RATES = {"EUR": 1.15, "GBP": 1.35}


class Command(BaseCommand):
    help = (
        "Synthetic contributions (and the funds, programmes, needs and rates they use), for benchmarks only."
    )

    def add_arguments(self, parser):
        parser.add_argument("--contributions", type=int, required=True)
        parser.add_argument("--seed", type=int, default=1)

    def handle(self, *args, **options):
        name = str(settings.DATABASES["default"]["NAME"])
        if "bench" not in name:
            raise CommandError(
                f"writes only to a benchmark database (its name must contain 'bench'); this one is {name!r}"
            )
        wanted = options["contributions"]
        existing = Contribution.objects.filter(source=SOURCE).count()
        if existing >= wanted:
            self.stdout.write(f"{existing} synthetic contributions already there; nothing to do.")
            return
        rng = random.Random(options["seed"] * 7_919 + existing)
        started = time.monotonic()
        world = _World(rng)
        for first in range(existing, wanted, BATCH):
            world.contributions(first, min(BATCH, wanted - first))
            done = min(first + BATCH, wanted)
            rate = (done - existing) / max(time.monotonic() - started, 0.001)
            self.stderr.write(f"\r{done}/{wanted} contributions ({rate:,.0f}/s)", ending="")
        self.stderr.write("")
        # Written by COPY, past the signals: summed for the funding views here, as any import is.
        new = (
            Contribution.objects.filter(source=SOURCE).order_by("pk").values_list("pk", flat=True)[existing:]
        )
        ids = list(new)
        for start in range(0, len(ids), sums.CHUNK):
            sums.refresh(ids[start : start + sums.CHUNK])
            self.stderr.write(
                f"\r{min(start + sums.CHUNK, len(ids))}/{len(ids)} contributions summed", ending=""
            )
        self.stderr.write("")
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        self.stdout.write(
            f"{wanted - existing} synthetic contributions written in {time.monotonic() - started:.0f} s."
        )


class _World:
    @transaction.atomic
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        organizations = list(
            Organization.objects.exclude(kind="national_agency").values_list("pk", flat=True)
        )
        self.organizations = organizations
        states = list(State.objects.exclude(status=State.Status.HISTORIC).values_list("pk", flat=True))
        rng.shuffle(states)
        self.states, self.state_weights = states, [1 / (rank + 1) ** 0.8 for rank in range(len(states))]
        self.funds = [
            Fund.objects.get_or_create(
                code=f"{PREFIX}fund-{n}",
                defaults={
                    "name": f"Synthetic fund {n}",
                    "managed_by_id": rng.choice(organizations),
                    "source": SOURCE,
                },
            )[0].pk
            for n in range(1, FUNDS + 1)
        ]
        self.programmes = self._programmes()
        # The synthetic activities' keys, compactly: a contribution goes to one of them.
        synthetic = Activity.objects.filter(external_id__startswith="SYNTH-")
        self.activities = array("q", synthetic.values_list("pk", flat=True))
        if not self.activities:
            raise CommandError("no synthetic activity: run generate_synthetic first")
        self._rates()

    def _programmes(self) -> list[int]:
        made = list(Programme.objects.filter(code__startswith=PREFIX).values_list("pk", flat=True))
        if made:
            return made
        rng = self.rng
        for n in range(1, PROGRAMMES + 1):
            parent = rng.choice(made) if made and rng.random() < 0.6 else None
            programme = Programme.objects.create(
                code=f"{PREFIX}programme-{n}",
                title=f"Synthetic programme {n}",
                organization_id=rng.choice(self.organizations),
                parent_id=parent,
                source=SOURCE,
            )
            made.append(programme.pk)
            FundingNeed.objects.create(
                programme=programme,
                amount=Decimal(rng.randrange(100_000, 20_000_000)),
                currency="USD",
                source=SOURCE,
            )
        return made

    def _rates(self) -> None:
        if ExchangeRate.objects.filter(source=SOURCE).exists():
            return
        rows = []
        for currency, level in RATES.items():
            for year in range(2000, 2027):
                for month in range(1, 13):
                    wobble = Decimal(str(round(level * (0.9 + 0.2 * self.rng.random()), 4)))
                    rows.append(
                        ExchangeRate(
                            currency=currency,
                            base="USD",
                            date=dt.date(year, month, 1),
                            rate=wobble,
                            source=SOURCE,
                        )
                    )
        ExchangeRate.objects.bulk_create(rows)

    @transaction.atomic
    def contributions(self, first: int, size: int) -> None:
        rng = self.rng
        rows = []
        for _index in range(first, first + size):
            where = rng.random()
            activity = rng.choice(self.activities) if where < 0.5 else None
            programme = rng.choice(self.programmes) if 0.5 <= where < 0.85 else None
            fund = rng.choice(self.funds) if where >= 0.85 or rng.random() < 0.2 else None
            date = dt.date(2001, 1, 1) + dt.timedelta(days=rng.randrange(0, 26 * 365))
            precision = "year" if rng.random() < 0.05 else "day"
            if precision == "year":
                date = dt.date(date.year, 1, 1)
            by_state = rng.random() < 0.7
            level = rng.choices(("public", "restricted", "confidential"), (90, 7, 3))[0]
            rows.append(
                Contribution(
                    donor_state_id=rng.choices(self.states, self.state_weights)[0] if by_state else None,
                    donor_organization_id=None if by_state else rng.choice(self.organizations),
                    fund_id=fund,
                    programme_id=programme,
                    activity_id=activity,
                    kind="pledge" if rng.random() < 0.4 else "payment",
                    earmarking="earmarked" if programme or activity else "general",
                    amount=Decimal(rng.randrange(1_000, 5_000_000)),
                    currency=rng.choices(("USD", "EUR", "GBP"), (85, 10, 5))[0],
                    date=date,
                    date_precision=precision,
                    made_by=last_day(date, precision),
                    confidentiality=level,
                    owner_id=rng.choice(self.organizations),
                    source=SOURCE,
                )
            )
        bulk.insert(Contribution, rows)
