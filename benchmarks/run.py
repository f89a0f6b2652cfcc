"""Run the benchmarks and print one table: `make bench`.

BENCH_DATABASE_URL picks the database (default: var/bench.sqlite3, never the application's own);
BENCH_ACTIVITIES the number of synthetic activities (default 1,000,000, as issue 4 asks);
BENCH_ONLY=uploads runs only the upload probes (issue 14), without generating activities;
BENCH_ONLY=load only the load benchmark (issue 16: gunicorn and locust, see bench_load.py);
BENCH_ONLY=overlaps only the quality of possible overlaps (issue 17, see bench_overlaps.py),
BENCH_ONLY=overlaps-scale their speed over the synthetic activities (BENCH_OVERLAP_BUDGET: the
seconds the full computation's search may run before it stops and says so, default 600),
BENCH_ONLY=overlaps-latency only the check on save and the review queue over the pairs kept,
BENCH_ONLY=iati only IATI import and export (issue 18, see bench_iati.py; BENCH_IATI_ACTIVITIES),
BENCH_ONLY=templates only the CSV template importers (issue 18, see bench_templates.py;
BENCH_TEMPLATE_ROWS).
BENCH_ONLY=funding only the funding gap and Table 1 (issue 19, see bench_funding.py) over the
synthetic activities and BENCH_CONTRIBUTIONS synthetic contributions (default 2,000,000).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.harness import as_child  # noqa: E402 - needs the project on the path

# The benchmark database, never the application's own; the request log's lines of the workloads
# timed in this process would bury the table.
as_child()


def main() -> None:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from benchmarks import (
        bench_iati,
        bench_load,
        bench_matrix,
        bench_overlaps,
        bench_reference,
        bench_templates,
        bench_treaties,
        bench_uploads,
    )
    from benchmarks.harness import measure, table

    activities = int(os.environ.get("BENCH_ACTIVITIES", "1000000"))
    call_command("migrate", verbosity=0)
    call_command("load_reference", verbosity=0)
    if os.environ.get("BENCH_ONLY") == "overlaps":
        print(bench_overlaps.quality())
        return
    if os.environ.get("BENCH_ONLY") == "overlaps-latency":
        print(bench_overlaps.latency())
        return
    if os.environ.get("BENCH_ONLY") == "overlaps-scale":
        call_command("generate_synthetic", activities=activities, seed=1)
        print(bench_overlaps.scale())
        return
    if os.environ.get("BENCH_ONLY") == "iati":
        print(bench_iati.run())
        return
    if os.environ.get("BENCH_ONLY") == "templates":
        print(bench_templates.run())
        return
    if os.environ.get("BENCH_ONLY") == "uploads":
        print(table(bench_uploads.probes(), f"{connection.vendor} ({connection.settings_dict['NAME']})"))
        return
    treaty_actions = int(os.environ.get("BENCH_TREATY_ACTIONS", "5000"))
    call_command("generate_synthetic", activities=activities, treaty_actions=treaty_actions, seed=1)
    if os.environ.get("BENCH_ONLY") == "funding":
        print(_funding())
        return
    if os.environ.get("BENCH_ONLY") == "load":
        print(table([measure(w) for w in bench_load.workloads()], f"{connection.vendor}"))
        print(bench_load.run())
        return
    modules = (bench_reference, bench_matrix, bench_treaties)
    results = [measure(w) for module in modules for w in module.workloads()]
    results.append(bench_matrix.export_probe())
    results.extend(measure(w) for w in bench_load.workloads())
    results.extend(bench_uploads.probes())
    print(table(results, f"{connection.vendor} ({connection.settings_dict['NAME']})"))
    print(bench_overlaps.quality())
    print(bench_overlaps.scale())
    print(bench_load.run())
    print(bench_iati.run())
    print(bench_templates.run())
    print(_funding())


def _funding() -> str:
    from django.core.management import call_command
    from django.db import connection

    from benchmarks import bench_funding
    from benchmarks.harness import measure, table

    contributions = int(os.environ.get("BENCH_CONTRIBUTIONS", "2000000"))
    call_command("generate_synthetic_funding", contributions=contributions, seed=1)
    return table([measure(w) for w in bench_funding.workloads()], f"{connection.vendor}")


if __name__ == "__main__":
    main()
