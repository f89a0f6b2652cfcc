"""Funding workloads of issue 19: the funding gap and Table 1 over the 1,000,000 synthetic
activities and 2,000,000 synthetic contributions (`generate_synthetic_funding`)."""

from __future__ import annotations

import datetime as dt

from benchmarks.harness import Workload

AS_AT = dt.date(2026, 6, 30)


def workloads() -> list[Workload]:
    from django.test import Client

    from benchmarks.bench_matrix import _editor
    from coopmatrix.funding import gap
    from coopmatrix.funding.models import Contribution, Fund
    from coopmatrix.funding.table1 import Recipient, table1

    editor, _org = _editor()
    client = Client()
    client.force_login(editor)
    size = f"{Contribution.objects.count():,} contributions"
    fund = Fund.objects.filter(code="synthetic-fund-1").first()
    visible = Contribution.objects.visible_to(None)
    return [
        Workload(
            "funding gap per programme, the public",
            size,
            lambda: gap.by_programme(None, AS_AT),
            target_ms=100,
            repeat=7,
        ),
        Workload(
            "funding gap per programme, an editor",
            size,
            lambda: gap.by_programme(editor, AS_AT),
            target_ms=100,
            repeat=7,
        ),
        Workload(
            "funding gap per donor and year, the public",
            size,
            lambda: gap.by_donor_and_year(None, AS_AT),
            target_ms=100,
            repeat=7,
        ),
        Workload(
            "funding gap per recipient State, the public",
            size,
            lambda: gap.by_recipient_state(None, AS_AT),
            target_ms=100,
            repeat=7,
        ),
        Workload(
            "funding gap page (per programme), an editor",
            size,
            lambda: client.get(f"/funding/gap/?as_at={AS_AT.isoformat()}"),
            target_ms=100,
            repeat=7,
        ),
        Workload(
            "Table 1 of a synthetic fund, the public",
            size,
            lambda: table1(visible, Recipient("fund", fund), AS_AT),
            target_ms=100,
            repeat=7,
        ),
    ]
