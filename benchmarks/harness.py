"""A small benchmark harness: time workloads, compare them with targets and hand-written SQL.

Benchmarks run on demand (`make bench`), never in the test suite, against their own database
(BENCH_DATABASE_URL, default var/bench.sqlite3), so synthetic data never mixes with real records.
"""

from __future__ import annotations

import os
import pathlib
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class Workload:
    name: str
    size: str
    run: Callable[[], object]
    target_ms: float | None = None
    sql: str | None = None  # the same answer by hand, for the ratio column
    repeat: int = 20
    max_ratio: float | None = None  # at most this many times the hand-written SQL


@dataclass
class Result:
    workload: Workload
    p50: float
    p95: float
    sql_p50: float | None

    @property
    def ratio(self) -> float | None:
        return self.p50 / self.sql_p50 if self.sql_p50 else None

    @property
    def verdict(self) -> str:
        checks = []
        if self.workload.target_ms is not None:
            checks.append(self.p50 <= self.workload.target_ms)
        if self.workload.max_ratio is not None:
            checks.append(self.ratio is not None and self.ratio <= self.workload.max_ratio)
        if not checks:
            return "—"
        return "ok" if all(checks) else "MISSED"


def _times(fn: Callable[[], object], repeat: int) -> list[float]:
    fn()  # warm caches and connections once
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return times


def _percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def measure(workload: Workload) -> Result:
    from django.db import connection

    times = _times(workload.run, workload.repeat)
    sql_p50 = None
    if workload.sql:

        def by_hand() -> None:
            with connection.cursor() as cursor:
                cursor.execute(workload.sql)
                cursor.fetchall()

        sql_p50 = statistics.median(_times(by_hand, workload.repeat))
    return Result(workload, statistics.median(times), _percentile(times, 95), sql_p50)


def table(results: list[Result], engine: str) -> str:
    header = ("workload", "size", "p50 ms", "p95 ms", "target ms", "SQL p50 ms", "× SQL", "max ×", "verdict")
    rows = [header]
    for r in results:
        rows.append(
            (
                r.workload.name,
                r.workload.size,
                f"{r.p50:.1f}",
                f"{r.p95:.1f}",
                f"{r.workload.target_ms:g}" if r.workload.target_ms else "—",
                f"{r.sql_p50:.1f}" if r.sql_p50 else "—",
                f"{r.ratio:.2f}" if r.ratio else "—",
                f"{r.workload.max_ratio:g}" if r.workload.max_ratio else "—",
                r.verdict,
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = [f"Database: {engine}; {machine_speed()}"]
    for n, row in enumerate(rows):
        lines.append(" | ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))
        if n == 0:
            lines.append("-+-".join("-" * w for w in widths))
    return "\n".join(lines)


def machine_speed() -> str:
    """How fast this machine runs plain Python just now, to set beside the figures: on a shared
    2-core machine the same code measured 1.7 times slower from one hour to the next."""
    times = []
    for _ in range(3):
        start = time.perf_counter()
        sum(range(10_000_000))
        times.append((time.perf_counter() - start) * 1000)
    return f"reference loop (sum of ten million integers) {min(times):.0f} ms"


def backend_cpu_seconds(pid: int) -> float | None:
    """The processor time a process of this machine has used (the database's backend serving
    this process), or None where it cannot be seen (a server elsewhere, SQLite)."""
    if not local_backend(pid):
        return None
    try:
        fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def local_backend(pid: int) -> int:
    """`pid` if it is a PostgreSQL process of this machine, else 0 (SQLite's 0, or a server
    elsewhere, whose backend's number here may be any other process)."""
    try:
        return pid if pid and pathlib.Path(f"/proc/{pid}/comm").read_text().startswith("postgres") else 0
    except OSError:
        return 0


def run_child(script: str, env: dict[str, str], what: str) -> dict[str, float]:
    """Run a benchmark's step in a process of its own (its time and peak memory are its own):
    `script` with `env` added, answering one line of JSON, its last."""
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    done = subprocess.run(
        [sys.executable, script],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    if done.returncode:
        raise RuntimeError(f"{what} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def as_child() -> None:
    """The settings of a benchmark's child process: the benchmark database, never the
    application's own (as `benchmarks/run.py` sets them)."""
    import os
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "coopmatrix.settings")
    os.environ["DATABASE_URL"] = os.environ.get(
        "BENCH_DATABASE_URL", f"sqlite:///{root / 'var' / 'bench.sqlite3'}"
    )
    os.environ.setdefault("ALLOWED_HOSTS", "testserver,127.0.0.1,localhost")
    os.environ.setdefault("REQUEST_LOG_LEVEL", "WARNING")
