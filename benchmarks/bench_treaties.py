"""Treaty participation workloads of issue 5 against synthetic treaty actions."""

from __future__ import annotations

import datetime as dt

from benchmarks.harness import Workload

# The same answer by hand: each pair's latest consent on or before the date, not denounced after.
TABLE2_SQL = """
WITH events AS (
  SELECT state_id, instrument_id, action, deposited,
         ROW_NUMBER() OVER (PARTITION BY state_id, instrument_id ORDER BY deposited DESC,
                            CASE action WHEN 'denunciation' THEN 0 ELSE 1 END) AS latest
  FROM treaties_treatyaction
  WHERE deposited <= '2020-01-01' AND confidentiality IN ('public', 'restricted')
    AND action IN ('ratification', 'acceptance', 'approval', 'accession', 'succession', 'denunciation')
)
SELECT instrument_id, COUNT(*) FROM events
WHERE latest = 1 AND action <> 'denunciation' GROUP BY instrument_id
"""


def workloads() -> list[Workload]:
    from django.contrib.auth import get_user_model
    from django.db.models import Count
    from django.test import Client

    from coopmatrix.treaties import participation
    from coopmatrix.treaties.models import TreatyAction

    user = get_user_model().objects.get(username="bench-matrix-editor")
    client = Client()
    client.force_login(user)
    size = f"{TreatyAction.objects.count():,} treaty actions"
    visible = TreatyAction.objects.visible_to(user)
    # The State with the most actions: the longest profile.
    busiest = (
        TreatyAction.objects.values("state__code").annotate(n=Count("pk")).order_by("-n").first() or {}
    ).get("state__code", "BEN")
    return [
        Workload(
            "Table 2 as at a date, all 19 instruments, every State",
            size,
            lambda: participation.table2(visible, dt.date(2020, 1, 1), dt.date(2001, 9, 11), "all"),
            target_ms=50,
            sql=TABLE2_SQL,
            repeat=15,
        ),
        Workload(
            "Table 2 page, all 19 instruments",
            size,
            lambda: client.get("/parties/?as_at=2020-01-01&instruments=all"),
            target_ms=50,
            repeat=15,
        ),
        Workload(
            f"State profile page ({busiest})",
            size,
            lambda: client.get(f"/states/{busiest}/?as_at=2020-01-01"),
            target_ms=100,
            repeat=15,
        ),
    ]
