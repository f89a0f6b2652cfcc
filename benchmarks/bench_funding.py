"""Funding workloads of issue 19: the funding gap and Table 1 over the 1,000,000 synthetic
activities and 2,000,000 synthetic contributions (`generate_synthetic_funding`)."""

from __future__ import annotations

import datetime as dt

from benchmarks.harness import Workload

#: The synthetic contributions are dated up to the end of 2026: as at its last day, every one
#: counts (the view of "today" in a database whose records are all in the past).
AS_AT = dt.date(2026, 12, 31)
#: Half a year back: some 38,000 contributions were made after it.
PAST = dt.date(2026, 6, 30)
#: Ten years back: most were made after it; the programme and donor views take off their sums of
#: the years and months after the date (sums.periods).
LONG_AGO = dt.date(2016, 6, 30)


def workloads() -> list[Workload]:
    from django.test import Client

    from benchmarks.bench_matrix import _editor
    from coopmatrix.core import public_cache
    from coopmatrix.funding import gap
    from coopmatrix.funding.models import Contribution, Fund
    from coopmatrix.funding.table1 import Recipient, table1
    from coopmatrix.matrix.models import Programme

    editor, _org = _editor()
    client = Client()
    client.force_login(editor)
    size = f"{Contribution.objects.count():,} contributions"
    fund = Fund.objects.filter(code="synthetic-fund-1").first()
    visible = Contribution.objects.visible_to(None)
    programme = Programme.objects.filter(code__startswith="synthetic-", parent=None).order_by("pk").first()
    return [
        Workload(
            "funding gap per programme, the public",
            size,
            lambda: gap.by_programme(None, AS_AT),
            target_ms=100,
            repeat=15,
        ),
        Workload(
            "funding gap per programme, an editor",
            size,
            lambda: gap.by_programme(editor, AS_AT),
            target_ms=100,
            repeat=15,
        ),
        Workload(
            # What the editor sees otherwise than as an owner is kept until the next write
            # (sums._decided): here every look follows one, so it is found again each time.
            "funding gap per programme, an editor, each look after a write",
            size,
            lambda: (public_cache.bump(), gap.by_programme(editor, AS_AT)),
            target_ms=100,
            repeat=15,
        ),
        Workload(
            "funding gap per donor and year, the public",
            size,
            lambda: gap.by_donor_and_year(None, AS_AT),
            target_ms=100,
            repeat=15,
        ),
        Workload(
            "funding gap per donor and year, an editor",
            size,
            lambda: gap.by_donor_and_year(editor, AS_AT),
            target_ms=100,
            repeat=15,
        ),
        Workload(
            "funding gap per recipient State, the public",
            size,
            lambda: gap.by_recipient_state(None, AS_AT),
            target_ms=100,
            repeat=15,
        ),
        Workload(
            "funding gap per recipient State, an editor",
            size,
            lambda: gap.by_recipient_state(editor, AS_AT),
            target_ms=100,
            repeat=15,
        ),
        Workload(
            "funding gap page (per programme, its first page), an editor",
            size,
            lambda: client.get(f"/funding/gap/?as_at={AS_AT.isoformat()}"),
            target_ms=100,
            repeat=15,
        ),
        Workload(
            "Table 1 of a synthetic fund, the public",
            size,
            lambda: table1(visible, Recipient("fund", fund), AS_AT),
            target_ms=100,
            repeat=15,
        ),
        Workload(
            "Table 1 of a synthetic programme and its projects, an editor",
            size,
            lambda: table1(
                Contribution.objects.visible_to(editor), Recipient("programme", programme), AS_AT, user=editor
            ),
            target_ms=100,
            repeat=15,
        ),
        # As at a past date (sums.periods), the public.
        *(
            Workload(
                f"funding gap per {view} as at {day}, the public",
                size,
                lambda made=made, day=day: made(None, day),
                target_ms=100,
                repeat=7,
            )
            for view, made, day in (
                ("programme", gap.by_programme, PAST),
                ("programme", gap.by_programme, LONG_AGO),
                ("donor and year", gap.by_donor_and_year, PAST),
                ("donor and year", gap.by_donor_and_year, LONG_AGO),
                ("recipient State", gap.by_recipient_state, PAST),
            )
        ),
    ]
