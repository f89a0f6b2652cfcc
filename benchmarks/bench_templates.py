"""The CSV template importers' speed and memory (issue 18): `BENCH_ONLY=templates make bench`.

Issue 18 asks the template importers (activities, treaty actions, contacts) to write through the
bulk path and reach the IATI import's rate, 2,000 rows a second; it gives 20,000 activity rows in
some 540 s on SQLite (40 a second) as the figure before. Each importer here reads a synthetic file
of BENCH_TEMPLATE_ROWS rows (default 20,000, the importers' limit) made from the reference data
(current States, thematic areas, organizations, instruments), through its console command as the
secretariat, in a child process that reports its own time and peak memory. Synthetic rows carry
"benchmark" in their source and exist only in the benchmark database; a cleanup step (a process
of its own, not timed) removes the treaty actions, contacts and activities of an earlier run. The
activities are removed as the IATI benchmark removes its own (their history rows in bulk): each
run draws the same rows, and those of earlier runs left in place were checked for overlaps too,
so that each run took longer than the one before (96.9 s, then 103.1 s with 100,000 left).
Activity rows still take new identifiers each run.
On PostgreSQL each import is followed by its write floor (write_floor.py): the rows it wrote,
written again by the database alone and rolled back, printed under the table.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

RATE = 2000
SOURCE = "benchmark (synthetic rows)"
KINDS = ("activities", "treaty actions", "contacts")
#: Per State and instrument, in this order, 90 days apart.
ACTIONS = ("signature", "ratification", "declaration", "reservation", "objection")
COMMANDS = {
    "activities": "import_activities",
    "treaty actions": "import_treaty_actions",
    "contacts": "import_contacts",
}


def run() -> str:
    rows = int(os.environ.get("BENCH_TEMPLATE_ROWS", "20000"))
    _child("cleanup", "", rows)
    lines = [("importer", "rows", "seconds", "rows per second", "peak MB", "target", "verdict")]
    floors = []
    for kind in KINDS:
        figures = _child("import", kind, rows)
        rate = figures["rows"] / figures["seconds"] if figures["seconds"] else 0
        if figures.get("floor"):
            from benchmarks.write_floor import summary

            floors.append(f"write floor, {kind}: {summary(figures['floor'], figures['rows'], 'a row')}")
        lines.append(
            (
                kind,
                f"{figures['rows']:,}",
                f"{figures['seconds']:.1f}",
                f"{rate:,.0f}",
                f"{figures['peak_mb']:.0f}",
                f"≥ {RATE:,}/s",
                "ok" if rate >= RATE else "MISSED",
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    out = [" | ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)) for line in lines]
    out.insert(1, "-+-".join("-" * w for w in widths))
    from benchmarks.harness import machine_speed

    return f"CSV template imports (issue 18); {machine_speed()}\n" + "\n".join([*out, *floors])


def _child(step: str, kind: str, rows: int) -> dict[str, Any]:
    from benchmarks.harness import run_child

    env = {"BENCH_TEMPLATE_STEP": step, "BENCH_TEMPLATE_KIND": kind, "BENCH_TEMPLATE_ROWS": str(rows)}
    return run_child(str(Path(__file__)), env, f"template {step} {kind}")


def _step(step: str, kind: str, rows: int) -> None:
    import django

    django.setup()
    from benchmarks.bench_iati import _secretariat
    from benchmarks.bench_matrix import _peak_rss_mb

    if step == "cleanup":
        _cleanup()
        print(json.dumps({"seconds": 0.0, "rows": 0, "peak_mb": _peak_rss_mb()}))
        return
    path = ROOT / "var" / f"bench-template-{kind.replace(' ', '-')}.csv"
    made = _file(kind, rows, path)
    from django.core.management import call_command
    from django.db import connection

    from benchmarks import write_floor

    user = _secretariat()
    before = write_floor.tables_now() if connection.vendor == "postgresql" else None
    started = time.perf_counter()
    with open(os.devnull, "w") as quiet:
        call_command(COMMANDS[kind], str(path), user=user.username, stdout=quiet, stderr=quiet)
    seconds = time.perf_counter() - started
    figures: dict[str, Any] = {"seconds": seconds, "rows": made, "peak_mb": _peak_rss_mb()}
    if before is not None:
        figures["floor"] = write_floor.measure(before)
    print(json.dumps(figures))


def _cleanup() -> None:
    from django.db import transaction

    from benchmarks.bench_iati import _vacuum, remove_activities
    from coopmatrix.directory.models import Contact
    from coopmatrix.funding import sums
    from coopmatrix.matrix import counts
    from coopmatrix.matrix.models import Activity
    from coopmatrix.treaties.models import TreatyAction

    keys = list(Activity.objects.filter(source=SOURCE).order_by("pk").values_list("pk", flat=True))
    with transaction.atomic(), sums.batch(), counts.batch():
        TreatyAction.objects.filter(source=SOURCE).delete()
        Contact.objects.filter(source=SOURCE).delete()
        remove_activities(keys)
    _vacuum()


def _file(kind: str, rows: int, path: Path) -> int:
    """Write the synthetic file of `kind`; how many rows it holds."""
    from coopmatrix.directory.models import Organization
    from coopmatrix.geo.models import State
    from coopmatrix.treaties.models import Instrument
    from coopmatrix.vocabulary.models import ThematicArea

    draw = random.Random(18)
    states = sorted(State.objects.filter(ended=None).exclude(iso3="").values_list("iso3", flat=True))
    organizations = sorted(Organization.objects.values_list("code", flat=True))
    run = time.strftime("%Y%m%d%H%M%S")
    lines: list[str] = []
    if kind == "activities":
        areas = sorted(ThematicArea.objects.values_list("code", flat=True))
        lines.append(
            "external_id,title,providers,recipient_states,thematic_areas,modality,status,"
            "planned_start,planned_end,budget,currency,description,source"
        )
        for n in range(rows):
            year, month = draw.randint(2002, 2025), draw.randint(1, 12)
            reached = ";".join(draw.sample(states, draw.randint(1, 3)))
            lines.append(
                f"bench-template-{run}-{n:06d},Workshop {n} on {draw.choice(areas)},"
                f"{draw.choice(organizations)}:implementing,{reached},"
                f"{';'.join(draw.sample(areas, draw.randint(1, 2)))},workshop,completed,"
                f"{year}-{month:02d},{year + 1}-{month:02d},{draw.randint(1000, 90000)},USD,"
                f'"Training of prosecutors and judges on the universal instruments, session {n}",{SOURCE}'
            )
    elif kind == "treaty actions":
        instruments = list(Instrument.objects.exclude(adopted=None).values_list("code", "adopted"))
        lines.append("state,instrument,action,date,text,source")
        # Per State and instrument: a signature, a ratification, a declaration, a reservation
        # and an objection, on dates after the instrument's adoption.
        pairs = [(s, code, adopted) for s in states for code, adopted in instruments]
        draw.shuffle(pairs)
        for state, code, adopted in pairs:
            if len(lines) > rows:
                break
            start = max(adopted, dt.date(1970, 1, 1)) + dt.timedelta(days=draw.randint(0, 2000))
            for offset, action in enumerate(
                ("signature", "ratification", "declaration", "reservation", "objection")
            ):
                day = min(start + dt.timedelta(days=90 * offset), dt.date(2025, 12, 31))
                text = f"Benchmark statement {offset}" if offset > 1 else ""
                lines.append(f"{state},{code},{action},{day.isoformat()},{text},{SOURCE}")
        lines = lines[: rows + 1]
    else:
        lines.append(
            "person_name,function,organization,state,email,telephone,languages,confidentiality,source"
        )
        for n in range(rows):
            lines.append(
                f"Bench Contact {run} {n:06d},Focal point,{draw.choice(organizations)},,"
                f"bench.contact.{run}.{n:06d}@example.org,+43 1 2606 {n:04d},en,public,{SOURCE}"
            )
    path.parent.mkdir(exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(lines) - 1


if __name__ == "__main__":
    from benchmarks.harness import as_child

    as_child()
    _step(
        os.environ["BENCH_TEMPLATE_STEP"],
        os.environ["BENCH_TEMPLATE_KIND"],
        int(os.environ["BENCH_TEMPLATE_ROWS"]),
    )
