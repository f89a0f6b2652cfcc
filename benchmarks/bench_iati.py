"""IATI import and export speed and memory (issue 18): `BENCH_ONLY=iati make bench`.

A file of BENCH_IATI_ACTIVITIES activities (default 100,000) is built from the real samples in
the shared data (the valid activities of the IATI example file and the Datastore export, repeated
under new identifiers, same structure). Each step runs in a child process that reports its own
time and peak memory:
- parse only: lxml's iterparse over the file, each activity cleared once read (the limit);
- read and validate: coopmatrix.exchange.iati.read (schema and codelists) over the file;
- import: `coopmatrix import_iati` as the secretariat, into the benchmark database;
- write floor (PostgreSQL): the rows that import wrote, written again by the database alone into
  copies of their tables, and rolled back (write_floor.py): the least any importer of them needs;
- import again: the same file once more, as a publisher's file is fetched again each month (every
  activity unchanged: compared, nothing written);
- settle: the database vacuumed and analysed (not timed against a target), so that the exports
  are measured on a settled database, not beside autovacuum's first pass over the import's rows;
- export: the IATI file of what was imported, as the matrix's export link gives it;
- hxl-export: the same activities as an HXL 3W sheet.
An import's peak memory is that of its process and of the second process reading the file (their
resident sizes added, looked at every 20 ms), or its own peak if larger.
The first import's processor time is printed under the table, by whom (the importing process, the
process reading the file, PostgreSQL's backend when it runs on this machine), in milliseconds an
activity, with the rate those would allow if the machine's cores shared them out perfectly: the
ceiling of this code on this machine, however the work were overlapped.
Targets: import ≥ 2,000 activities a second with peak memory ≤ 300 MB; export ≥ 5,000 a second.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SAMPLES = ROOT.parent / "shared" / "data" / "iati" / "samples"
IMPORT_RATE, EXPORT_RATE, IMPORT_MB = 2000, 5000, 300


def build(count: int, path: Path) -> int:
    """Write the benchmark file; how many activities it holds."""
    from lxml import etree

    from coopmatrix.exchange.iati import IatiActivity, read

    valid: list[bytes] = []
    for name in ("iati-example-203.xml", "datastore-2020-un-multilateral-ngo-50.xml"):
        source = SAMPLES / name
        keep = {a.identifier for a in read(source, name) if isinstance(a, IatiActivity)}
        for _event, element in etree.iterparse(str(source), tag="iati-activity"):
            if (element.findtext("iati-identifier") or "").strip() in keep:
                valid.append(etree.tostring(element))
    with path.open("wb") as out:
        out.write(b'<iati-activities version="2.03">\n')
        for n in range(count):
            element = etree.fromstring(valid[n % len(valid)])
            identifier = element.find("iati-identifier")
            assert identifier is not None
            identifier.text = f"XB-BENCH-{n}-{identifier.text}"[:150]
            out.write(etree.tostring(element) + b"\n")
        out.write(b"</iati-activities>\n")
    return count


def run() -> str:
    count = int(os.environ.get("BENCH_IATI_ACTIVITIES", "100000"))
    path = ROOT / "var" / f"bench-iati-{count}.xml"
    path.parent.mkdir(exist_ok=True)
    if not path.exists():
        build(count, path)
    size = f"{count:,} activities, {path.stat().st_size / 2**20:.0f} MB"
    rows = [("step", "size", "seconds", "per second", "peak MB", "target", "verdict")]
    _child("cleanup", path)
    spent = ""
    floor = ""
    settled = 0.0
    for step in ("parse", "read", "import", "write floor", "import again", "export", "hxl-export"):
        if step == "export":
            # The exports are measured on a settled database: the rows the import wrote vacuumed,
            # as autovacuum does in the minutes after it. Measured right after the writes, the
            # export also paid for the first read of those rows (their hint bits set, pages
            # written again) and for autovacuum's workers beside it on two cores: the same export
            # of 100,000 took 41.7 s right after an import had changed them, 18.7 s run again.
            settled = _child("settle", path)["seconds"]
        figures = _child(step, path)
        if step == "write floor":
            from benchmarks.write_floor import summary

            floor = f"write floor: {summary(figures, count, 'an activity')}"
            if not figures.get("rows"):
                continue
        # An export holds every activity the public sees: in a database with other public
        # activities (the synthetic million), more than the file's.
        done = int(figures.get("activities", count))
        rate = done / figures["seconds"] if figures["seconds"] else 0
        if done != count:
            size = f"{done:,} activities exported (the file's {count:,} among them)"
        else:
            size = f"{count:,} activities, {path.stat().st_size / 2**20:.0f} MB"
        if step == "write floor":
            size = f"the import's {figures['rows']:,.0f} rows in {figures['tables']:.0f} tables"
        target, verdict = "—", "—"
        if step in ("import", "import again"):
            target = f"≥ {IMPORT_RATE:,}/s, ≤ {IMPORT_MB} MB"
            verdict = "ok" if rate >= IMPORT_RATE and figures["peak_mb"] <= IMPORT_MB else "MISSED"
        elif step in ("export", "hxl-export"):
            target = f"≥ {EXPORT_RATE:,}/s"
            verdict = "ok" if rate >= EXPORT_RATE else "MISSED"
        rows.append(
            (
                step,
                size,
                f"{figures['seconds']:.1f}",
                f"{rate:,.0f}",
                f"{figures['peak_mb']:.0f}",
                target,
                verdict,
            )
        )
        if step == "import":
            spent = _processor_time(figures, count)
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [" | ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    from benchmarks.harness import machine_speed

    settle = (
        f"before the exports, the database vacuumed and analysed (VACUUM (ANALYZE)) in {settled:.1f} s"
        if settled
        else ""
    )
    return f"IATI (issue 18); {machine_speed()}\n" + "\n".join([*lines, spent, floor, settle])


def _processor_time(figures: dict[str, float], count: int) -> str:
    """The import's processor time by whom, in ms an activity, and the rate it allows at most."""
    parts = {"importing process": figures["cpu_writer"], "reading process": figures["cpu_reader"]}
    if figures.get("cpu_database") is not None:
        parts["database"] = figures["cpu_database"]
    each = {who: seconds * 1000 / count for who, seconds in parts.items()}
    total = sum(each.values())
    cores = os.cpu_count() or 1
    told = ", ".join(f"{who} {ms:.2f}" for who, ms in each.items())
    unseen = "" if "database" in each else " (the database's own not seen: not on this machine)"
    backend = ""
    if figures.get("backend_mb"):
        backend = f"; the database's backend held up to {figures['backend_mb']:.0f} MB of its own memory"
    return (
        f"import: processor time an activity {total:.2f} ms ({told}){unseen}; on {cores} cores "
        f"at most {cores * 1000 / total:,.0f} activities a second, against {IMPORT_RATE:,}{backend}"
    )


def _child(step: str, path: Path) -> dict[str, float]:
    from benchmarks.harness import run_child

    env = {"BENCH_IATI_STEP": step, "BENCH_IATI_FILE": str(path)}
    return run_child(str(Path(__file__)), env, f"IATI {step}")


def _step(step: str, path: Path) -> None:
    from benchmarks.bench_matrix import _peak_rss_mb

    if step == "parse":
        from lxml import etree

        started = time.perf_counter()
        for _event, element in etree.iterparse(str(path), tag="iati-activity"):
            element.clear(keep_tail=True)
            while element.getprevious() is not None:
                del element.getparent()[0]
        seconds = time.perf_counter() - started
    else:
        import django

        django.setup()
        if step == "read":
            from coopmatrix.exchange.iati import read

            started = time.perf_counter()
            for _item in read(path, path.name):
                pass
            seconds = time.perf_counter() - started
        elif step == "cleanup":
            _cleanup()
            seconds = 0.0
        elif step == "settle":
            from django.db import connection

            # SQLite has nothing to vacuum (`_vacuum`): 0, and no line for it under the table.
            started = time.perf_counter()
            _vacuum()
            seconds = time.perf_counter() - started if connection.vendor == "postgresql" else 0.0
        elif step == "write floor":
            print(json.dumps({"peak_mb": _peak_rss_mb(), **_write_floor(path)}))
            return
        elif step in ("import", "import again"):
            import resource

            from django.db import connection

            from benchmarks import write_floor
            from benchmarks.harness import backend_cpu_seconds, local_backend

            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()" if connection.vendor == "postgresql" else "SELECT 0")
                backend = cursor.fetchone()[0]
            before = (resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN))
            if step == "import" and connection.vendor == "postgresql":
                _floor_mark(path).write_text(json.dumps(write_floor.tables_now()))
            database = backend_cpu_seconds(backend)
            # A large file is read in a second process (core.aside): its memory counts too.
            with _TreeMemory(local_backend(backend)) as tree:
                seconds = _import(path)
            after = (resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN))
            database_after = backend_cpu_seconds(backend)
            used = [
                a.ru_utime + a.ru_stime - b.ru_utime - b.ru_stime for a, b in zip(after, before, strict=True)
            ]
            figures = {
                "seconds": seconds,
                "peak_mb": max(_peak_rss_mb(), tree.peak_mb),
                "cpu_writer": used[0],
                "cpu_reader": used[1],
                "cpu_database": (
                    None if database is None or database_after is None else database_after - database
                ),
                "backend_mb": tree.backend_mb,
            }
            print(json.dumps(figures))
            return
        else:
            seconds, exported = _export(step)
            print(json.dumps({"seconds": seconds, "peak_mb": _peak_rss_mb(), "activities": exported}))
            return
    print(json.dumps({"seconds": seconds, "peak_mb": _peak_rss_mb()}))


def _floor_mark(path: Path) -> Path:
    """Where the import step leaves the tables' largest keys before it (write_floor)."""
    return path.with_name(f"{path.stem}-before-import.json")


def _write_floor(path: Path) -> dict[str, float]:
    from django.db import connection

    from benchmarks import write_floor

    mark = _floor_mark(path)
    if connection.vendor != "postgresql" or not mark.exists():
        return {"seconds": 0.0, "rows": 0}
    try:
        return write_floor.measure(json.loads(mark.read_text()))
    finally:
        mark.unlink()


class _TreeMemory:
    """The largest memory this process and the processes it started held at once, looked at every
    20 ms (their resident sizes added); and the largest private memory of the database's backend
    serving it, where it runs on this machine (its share of the server's buffers left out)."""

    def __init__(self, backend: int = 0) -> None:
        import threading

        self.peak_mb = 0.0
        self.backend_mb = 0.0
        self._backend = backend
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> _TreeMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _watch(self) -> None:
        while not self._stop.wait(0.02):
            self.peak_mb = max(self.peak_mb, sum(map(_rss_mb, _tree(os.getpid()))))
            if self._backend:
                self.backend_mb = max(self.backend_mb, _rss_mb(self._backend, "RssAnon:"))


def _tree(pid: int) -> list[int]:
    found = [pid]
    for children in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            found += [n for child in children.read_text().split() for n in _tree(int(child))]
        except OSError:
            continue  # gone meanwhile
    return found


def _rss_mb(pid: int, field: str = "VmRSS:") -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field):
                return int(line.split()[1]) / 1024
    except OSError:
        pass  # gone meanwhile
    return 0.0


def _secretariat():
    from django.contrib.auth import get_user_model

    from coopmatrix.accounts.models import Profile, Role

    user, made = get_user_model().objects.get_or_create(username="bench-secretariat")
    if made:
        Profile.objects.create(user=user, role=Role.SECRETARIAT)
    return user


def _cleanup() -> None:
    """From an empty state each time: the benchmark's activities of an earlier run are removed,
    with the contributions their IATI transactions became (which keep an activity from going).
    In a process of its own, so that its memory is not the import's."""
    from django.db import transaction

    from coopmatrix.exchange.models import IatiRecord
    from coopmatrix.funding import sums
    from coopmatrix.matrix import counts

    keys = list(IatiRecord.objects.order_by("activity_id").values_list("activity_id", flat=True))
    with transaction.atomic(), sums.batch(), counts.batch():
        remove_activities(keys)
    _vacuum()


def remove_activities(keys: list[int]) -> None:
    """Remove these activities, a chunk at a time, with the contributions hanging on them (which
    keep an activity from going) and the history rows of all (`_delete`)."""
    from coopmatrix.funding.models import Contribution
    from coopmatrix.matrix.models import Activity

    for start in range(0, len(keys), CLEANUP_CHUNK):
        earlier = Activity.objects.filter(pk__in=keys[start : start + CLEANUP_CHUNK])
        _delete(Contribution.objects.filter(activity__in=earlier).exclude(settles=None))
        _delete(Contribution.objects.filter(activity__in=earlier))
        _delete(earlier)


def _vacuum() -> None:
    """The clean-up leaves millions of dead rows (some 70 an activity removed), the import millions
    of new ones: vacuumed and analysed here, so that autovacuum does not go over them beside the
    step measured next (on two cores, its workers ran through that step). A database in use has
    autovacuum keep up with its changes as they come."""
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM (ANALYZE)")


#: Activities removed at a time: Django's deletion holds each row it removes as a model object
#: (some 40 an activity: budgets, transactions, contributions, providers, links).
CLEANUP_CHUNK = 1000


def _delete(records) -> None:
    """Delete `records` and what goes with them as Django does, with the history row simple-history
    writes for each row deleted, but written in bulk: one INSERT a row, 40 an activity, took 2.8 s
    for 20 activities and more than half an hour for 20,000."""
    from django.db import router
    from django.db.models.deletion import Collector
    from django.test import override_settings
    from django.utils import timezone

    from coopmatrix.core.bulk import history_rows

    collector = Collector(using=router.db_for_write(records.model))
    collector.collect(records)
    when = timezone.now()
    for model, objects in collector.data.items():
        if hasattr(model, "history") and objects:
            history_rows(model, list(objects), None, "benchmark clean-up", when, kind="-")
    # History switched off for this process only (a benchmark's own), once written above; the
    # other receivers (the grid's counts, the funding sums, the overlaps) still hear each row.
    with override_settings(SIMPLE_HISTORY_ENABLED=False):
        collector.delete()


def _import(path: Path) -> float:
    from django.core.management import call_command

    user = _secretariat()
    started = time.perf_counter()
    with open(os.devnull, "w") as quiet:
        call_command("import_iati", str(path), user=user.username, stdout=quiet, stderr=quiet)
    return time.perf_counter() - started


def _export(step: str) -> tuple[float, int]:
    """Seconds to stream the export, and how many activities it held (counted afterwards)."""
    import csv
    import tempfile

    from django.test import Client

    iati = step == "export"
    address = "/matrix/export.iati.xml" if iati else "/matrix/export.hxl.csv"
    # As the public: the imported activities are public (IATI is published data).
    client = Client()
    found = 0
    with tempfile.TemporaryFile() as kept:
        started = time.perf_counter()
        response = client.get(address)
        for chunk in response.streaming_content:
            if iati:  # each activity opens with this tag
                found += chunk.count(b"<iati-activity ") + chunk.count(b"<iati-activity>")
            else:
                kept.write(chunk)
        seconds = time.perf_counter() - started
        if not iati:
            # A sheet's rows, read as CSV (a description may hold line breaks), less its header
            # and its tag row.
            kept.seek(0)
            with open(kept.fileno(), encoding="utf-8", newline="", closefd=False) as text:
                found = sum(1 for _row in csv.reader(text)) - 2
    return seconds, found


if __name__ == "__main__":
    from benchmarks.harness import as_child

    as_child()
    _step(os.environ["BENCH_IATI_STEP"], Path(os.environ["BENCH_IATI_FILE"]))
