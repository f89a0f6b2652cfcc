"""Matrix workloads of issue 4 against synthetic activities (see generate_synthetic)."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.harness import Result, Workload  # noqa: E402 - the probe runs as a script

# The same answer by hand: the kept counts the user may read, plus the confidential activities
# shared with the user's organization, counted from the records.
GRID_SQL = """
SELECT row_id, col_id, SUM(n) FROM (
  SELECT g.row_id, g.col_id, g.n FROM matrix_gridcount g
  WHERE g.rows_by = 'subregion' AND g.cols_by = 'thematic_area' AND g.status IN ('ongoing', 'planned')
    AND g.row_id IN (SELECT id FROM geo_region WHERE parent_id = (SELECT id FROM geo_region WHERE m49 = 2))
    AND ((g.confidentiality IN ('public', 'restricted') AND g.owner_id = 0)
         OR (g.confidentiality = 'confidential' AND g.owner_id = {org}))
  UNION ALL
  SELECT s.subregion_id, t.thematicarea_id, COUNT(DISTINCT a.id)
  FROM core_share sh
  JOIN matrix_activity a ON a.id = sh.object_id
  JOIN matrix_activityreach r ON r.activity_id = a.id
  JOIN geo_state s ON s.id = r.state_id
  JOIN matrix_activity_thematic_areas t ON t.activity_id = a.id
  WHERE sh.organization_id = {org}
    AND sh.content_type_id = (SELECT id FROM django_content_type
                              WHERE app_label = 'matrix' AND model = 'activity')
    AND a.status IN ('ongoing', 'planned') AND a.confidentiality = 'confidential'
    AND (a.owner_id IS NULL OR a.owner_id <> {org})
    AND s.region_id = (SELECT id FROM geo_region WHERE m49 = 2)
  GROUP BY 1, 2
) cells GROUP BY 1, 2
"""

# Counting from the records alone, without the kept counts: what the grid cost before them.
GRID_FROM_RECORDS_SQL = """
SELECT s.subregion_id, t.thematicarea_id, COUNT(DISTINCT a.id)
FROM matrix_activity a
JOIN matrix_activityreach r ON r.activity_id = a.id
JOIN geo_state s ON s.id = r.state_id
JOIN matrix_activity_thematic_areas t ON t.activity_id = a.id
WHERE a.status IN ('ongoing', 'planned')
  AND s.region_id = (SELECT id FROM geo_region WHERE m49 = 2)
  AND (a.confidentiality IN ('public', 'restricted') OR a.owner_id = {org})
GROUP BY 1, 2
"""

TABLE_SQL = """
SELECT a.* FROM matrix_activity a
WHERE a.status = 'ongoing'
  AND a.id IN (SELECT r.activity_id FROM matrix_activityreach r JOIN geo_state s ON s.id = r.state_id
               WHERE s.region_id = (SELECT id FROM geo_region WHERE m49 = 142))
  AND (a.confidentiality IN ('public', 'restricted') OR a.owner_id = {org})
ORDER BY a.period_start DESC LIMIT 50
"""


def _editor():
    from django.contrib.auth import get_user_model

    from coopmatrix.accounts.models import Profile
    from coopmatrix.core.roles import Role
    from coopmatrix.directory.models import Organization

    user, _ = get_user_model().objects.get_or_create(username="bench-matrix-editor")
    org = Organization.objects.get(code="osce")
    Profile.objects.get_or_create(user=user, defaults={"role": Role.ORGANIZATION_EDITOR, "organization": org})
    return user, org


def workloads() -> list[Workload]:
    from django.test import Client

    from coopmatrix.matrix import monthly
    from coopmatrix.matrix.models import Activity

    user, org = _editor()
    client = Client()
    client.force_login(user)
    public = Client()
    count = Activity.objects.count()
    size = f"{count:,} activities"
    return [
        Workload(
            "Grid: sub-regions × thematic areas, 2 filters",
            size,
            lambda: client.get("/matrix/grid/?" + GRID_QUERY),
            target_ms=150,
            sql=GRID_SQL.format(org=org.pk),
            repeat=7,
        ),
        Workload(
            "Grid counts through coopmatrix's query layer (no page), 2 filters",
            size,
            lambda: _grid_counts(user),
            sql=GRID_SQL.format(org=org.pk),
            max_ratio=1.5,
            repeat=15,
        ),
        Workload(
            "Grid counted from the records, by hand (no kept counts; for comparison)",
            size,
            lambda: _sql(GRID_FROM_RECORDS_SQL.format(org=org.pk)),
            repeat=3,
        ),
        Workload(
            "Table: first page, filtered, sorted",
            size,
            lambda: client.get("/matrix/?region=142&status=ongoing&sort=-period_start"),
            target_ms=50,
            sql=TABLE_SQL.format(org=org.pk),
            repeat=15,
        ),
        # The home page's figures (issue 15, no target there): who does what, where, counted.
        Workload("Home page, an editor", size, lambda: client.get("/"), repeat=7),
        Workload(
            "Home page, the public (the shared cache after the first look)",
            size,
            lambda: public.get("/"),
            repeat=7,
        ),
        Workload(
            "Monthly matrix, all sub-regions (2015-06)",
            size,
            lambda: monthly.build(dt.date(2015, 6, 1), "subregion", user),
            target_ms=15_000,
            repeat=3,
        ),
    ]


GRID_QUERY = "rows=subregion&region=2&status=ongoing&status=planned"


def _grid_counts(user):
    """The grid's counts as the page computes them (filters, visibility, kept counts and shares),
    without drawing the page: the same answer as GRID_SQL, for the ratio the issue asks for."""
    from django.test import RequestFactory

    from coopmatrix.core.roles import principal_for
    from coopmatrix.matrix import grid
    from coopmatrix.matrix.filtersets import ActivityFilterSet
    from coopmatrix.matrix.models import Activity

    request = RequestFactory().get("/matrix/grid/?" + GRID_QUERY)
    request.user = user
    filterset = ActivityFilterSet(request.GET, queryset=Activity.objects.visible_to(user), request=request)
    if not filterset.is_valid():
        raise RuntimeError(filterset.errors)
    return grid.count(filterset, "subregion", "thematic_area", principal_for(user))


def _sql(query: str) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(query)
        cursor.fetchall()


def export_probe() -> Result:
    """CSV export of about 100,000 rows in a child process, which reports its time and peak memory."""
    env = {**os.environ, "BENCH_PROBE": "export"}
    output = subprocess.run(
        [sys.executable, str(Path(__file__)), "probe"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    figures = json.loads(output.stdout.strip().splitlines()[-1])
    workload = Workload(
        f"CSV export, streamed (peak RSS {figures['peak_mb']:.0f} MB, target 300 MB)",
        f"{figures['rows']:,} rows",
        lambda: None,
        target_ms=20_000,
    )
    return Result(workload, figures["seconds"] * 1000, figures["seconds"] * 1000, None)


def _peak_rss_mb() -> float:
    """This process's own peak memory. Not getrusage(): on Linux its ru_maxrss survives exec, so a
    child started by a large parent would report the parent's peak."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def _probe() -> None:
    import django

    django.setup()
    from django.test import Client

    from coopmatrix.matrix.models import Activity

    user, _ = _editor()
    client = Client()
    client.force_login(user)
    # The oldest activities first: the day that leaves about 100,000 rows starting on or before it.
    # Counted among the rows the user may see, so that the export holds at least 100,000 of them.
    dated = Activity.objects.visible_to(user).filter(period_start__isnull=False).order_by("period_start")
    cutoff = dated.values_list("period_start", flat=True)[min(100_000, dated.count() - 1)]
    start = time.perf_counter()
    response = client.get(f"/matrix/export.csv?period_to={cutoff}")
    rows = sum(chunk.count(b"\n") for chunk in response.streaming_content) - 1
    seconds = time.perf_counter() - start
    peak_mb = _peak_rss_mb()
    print(json.dumps({"rows": rows, "seconds": seconds, "peak_mb": peak_mb}))


if __name__ == "__main__" and sys.argv[1:] == ["probe"]:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "coopmatrix.settings")
    _probe()
