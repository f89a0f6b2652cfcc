"""Peak memory of one upload at the limits (issue 14): each case runs in a child process that
signs in, uploads one file through the import page and reports its own peak RSS and time.

The cases are the files an attacker or a large real file would send: the largest activities
file the page takes, one that passes the row limit, a one-column CSV of short lines, a workbook
whose shared strings expand as far as they may, and a workbook that declares 100,000 rows of
16,384 columns.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_matrix import _peak_rss_mb  # noqa: E402 - the probe runs as a script
from benchmarks.harness import Result, Workload  # noqa: E402

TARGET_MB = 300
CASES = ("rows_at_limit", "confirm_at_limit", "rows_past_limit", "one_column", "shared_strings", "wide_rows")


def probes() -> list[Result]:
    return [_run(case) for case in CASES]


def _run(case: str) -> Result:
    # The file is made here, not in the probe, so that making it does not count in its peak.
    what, content, name = _case(case)
    path = ROOT / "var" / f"bench-upload-{name}"
    path.write_bytes(content)
    del content
    env = {**os.environ, "BENCH_UPLOAD_FILE": str(path), "BENCH_UPLOAD_WHAT": what}
    if case == "confirm_at_limit":
        env["BENCH_UPLOAD_CONFIRM"] = "1"
    output = subprocess.run(
        [sys.executable, str(Path(__file__)), "probe"], env=env, capture_output=True, text=True, cwd=ROOT
    )
    path.unlink()
    if output.returncode:
        raise RuntimeError(f"upload probe {case} failed:\n{output.stderr[-3000:]}")
    figures = json.loads(output.stdout.strip().splitlines()[-1])
    verdict = "ok" if figures["peak_mb"] <= TARGET_MB else "MISSED"
    workload = Workload(
        f"Upload, {figures['what']}: HTTP {figures['status']}, peak RSS {figures['peak_mb']:.0f} MB "
        f"(before {figures['base_mb']:.0f} MB; target {TARGET_MB} MB: {verdict})",
        f"{figures['bytes'] / 2**20:.1f} MB file",
        lambda: None,
    )
    return Result(workload, figures["seconds"] * 1000, figures["seconds"] * 1000, None)


def _activities_csv(rows: int, size: int) -> bytes:
    """`rows` activities, each with a description long enough that the file is `size` bytes.
    Their identifiers are new at every run, so that a confirmed import creates every row (the
    benchmark database keeps them: deleting 20,000 activities with their history takes longer
    than writing them)."""
    run = time.strftime("%Y%m%d%H%M%S")
    lines = ["external_id,title,providers,recipient_states,modality,status,description"]
    pad = max(0, size // rows - 110)
    words = ("Training of prosecutors and judges on the universal instruments " * (pad // 60 + 1))[:pad]
    for n in range(rows):
        lines.append(
            f'bench-upload-{run}-{n:07d},Workshop {n},osce:implementing,BEN,workshop,planned,"{words}"'
        )
    return ("\n".join(lines) + "\n").encode()


def _workbook_with_shared_strings(expanded: int) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Activities"
    sheet.append(["external_id", "title", "providers", "modality", "status"])
    cell = "x" * 30_000  # distinct strings, each kept once in sharedStrings.xml
    for n in range(expanded // 30_000):
        sheet.append([f"bench-{n}", f"{n}{cell}", "osce:implementing", "workshop", "planned"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _wide_rows_workbook() -> bytes:
    """A sheet whose dimension says A1:XFD100000, with 100,000 empty rows and one far cell each."""
    import zipfile

    from openpyxl import Workbook

    workbook = Workbook()
    workbook.active.title = "Activities"
    workbook.active.append(["external_id", "title", "providers", "modality", "status"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    rows = "".join(f'<row r="{n}"><c r="XFD{n}" t="n"><v>1</v></c></row>' for n in range(2, 100_001))
    out = io.BytesIO()
    with zipfile.ZipFile(buffer) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                text = data.decode()
                text = text.replace('<dimension ref="A1:E1"/>', '<dimension ref="A1:XFD100000"/>')
                text = text.replace("</row></sheetData>", "</row>" + rows + "</sheetData>")
                data = text.encode()
            dst.writestr(item, data)
    return out.getvalue()


def _case(case: str) -> tuple[str, bytes, str]:
    from django.conf import settings

    from coopmatrix.matrix import importers

    limit = settings.COOPMATRIX_UPLOAD_BYTES
    size = limit - 64 * 1024
    if case in ("rows_at_limit", "confirm_at_limit"):
        rows = importers.MAX_ROWS
        what = f"{rows:,} activities with long descriptions (the row and size limits)"
        if case == "confirm_at_limit":
            what += ", previewed then confirmed (written)"
        return what, _activities_csv(rows, size), "activities.csv"
    if case == "rows_past_limit":
        rows = importers.MAX_ROWS + 1
        return f"{rows:,} activities (one row past the limit)", _activities_csv(rows, size), "activities.csv"
    if case == "one_column":
        header = b"external_id,title,providers,modality,status\n"
        content = header + b"x\n" * ((size - len(header)) // 2)
        return "CSV of one-cell 2-byte lines", content, "column.csv"
    if case == "shared_strings":
        from coopmatrix.core import spreadsheets

        expanded = spreadsheets.XLSX_SHARED_STRINGS_BYTES - 2**20
        return "XLSX, shared strings at their cap", _workbook_with_shared_strings(expanded), "strings.xlsx"
    return "XLSX declaring 100,000 rows × 16,384 columns", _wide_rows_workbook(), "wide.xlsx"


def _probe() -> None:
    import django

    django.setup()
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.test import Client

    from benchmarks.bench_matrix import _editor

    user, _org = _editor()
    client = Client()
    client.force_login(user)
    client.get("/matrix/import/")
    path = Path(os.environ["BENCH_UPLOAD_FILE"])
    base_mb = _peak_rss_mb()
    # The test client builds the request body in memory: the peak includes that copy of the
    # file, which a real server (reading the body from the socket in chunks) does not hold.
    upload = SimpleUploadedFile(path.name.removeprefix("bench-upload-"), path.read_bytes())
    size = path.stat().st_size
    start = time.perf_counter()
    response = client.post("/matrix/import/", {"file": upload, "decimal_mark": "auto"})
    if os.environ.get("BENCH_UPLOAD_CONFIRM") and response.status_code == 200:
        from coopmatrix.core.models import PendingImport

        kept = PendingImport.objects.filter(user=user).latest("created")
        response = client.post("/matrix/import/", {"confirm": kept.pk})
    seconds = time.perf_counter() - start
    _report(response.status_code, size, seconds, base_mb, _peak_rss_mb())


def _report(status: int, size: int, seconds: float, base_mb: float, peak_mb: float) -> None:
    print(
        json.dumps(
            {
                "what": os.environ["BENCH_UPLOAD_WHAT"],
                "status": status,
                "bytes": size,
                "seconds": seconds,
                "base_mb": base_mb,
                "peak_mb": peak_mb,
            }
        )
    )


if __name__ == "__main__" and sys.argv[1:] == ["probe"]:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "coopmatrix.settings")
    _probe()
