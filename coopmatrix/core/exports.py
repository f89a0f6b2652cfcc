"""Exports of what a user sees: CSV streamed row by row, so size does not cost memory; XLSX
with a cover sheet (filters, date, who exported, the highest confidentiality inside)."""

from __future__ import annotations

import csv
import tempfile
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from django.http import FileResponse, HttpRequest, StreamingHttpResponse
from django.utils import timezone
from openpyxl import Workbook
from openpyxl.styles import Font

from .models import CONFIDENTIALITY_ORDER


class _Echo:
    def write(self, value: str) -> str:
        return value


Column = tuple[str, Callable[[Any], Any]]


def csv_rows(records: Iterable[Any], columns: list[Column]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow([title for title, _ in columns])  # BOM: spreadsheets read UTF-8
    for record in records:
        yield writer.writerow([_cell(getter(record)) for _, getter in columns])


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    text = str(value)
    # A cell starting with = + - @ is a formula to a spreadsheet; quote it so it stays text.
    if text[:1] in ("=", "+", "-", "@") and not _is_number(text):
        return "'" + text
    return text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def csv_response(records: Iterable[Any], columns: list[Column], filename: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(csv_rows(records, columns), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def describe_filters(filterset) -> list[tuple[str, str]]:
    described = []
    for name, value in filterset.form.cleaned_data.items():
        if value in (None, "", [], ()) or (hasattr(value, "exists") and not value.exists()):
            continue
        if hasattr(value, "__iter__") and not isinstance(value, str):
            value = ", ".join(str(v) for v in value)
        described.append((str(filterset.form.fields[name].label), str(value)))
    return described


def xlsx_response(
    request: HttpRequest, filterset, columns, filename: str, title: str, rows: Any = None
) -> FileResponse:
    """Stream an XLSX of the filtered rows; openpyxl's write-only mode keeps memory flat."""
    workbook = Workbook(write_only=True)
    cover = workbook.create_sheet("Cover")
    sheet = workbook.create_sheet("Data")
    sheet.append([name for name, _ in columns])
    highest = 0
    count = 0
    for record in rows if rows is not None else filterset.qs.iterator(chunk_size=2000):
        sheet.append([_xlsx_cell(getter(record)) for _, getter in columns])
        level = record["confidentiality"] if isinstance(record, dict) else record.confidentiality
        highest = max(highest, CONFIDENTIALITY_ORDER.index(level))
        count += 1
    bold = Font(bold=True)
    rows = [
        (str(title), ""),
        ("As at", timezone.localtime().strftime("%Y-%m-%d %H:%M %Z")),
        (
            "Exported by",
            request.user.get_username() if request.user.is_authenticated else "public (not signed in)",
        ),
        ("Records", str(count)),
        ("Highest confidentiality inside", str(CONFIDENTIALITY_ORDER[highest].label) if count else "—"),
        ("Filters", "none" if not describe_filters(filterset) else ""),
        *describe_filters(filterset),
    ]
    for label, value in rows:
        cover.append([_bold(workbook, label, bold), value])
    handle = tempfile.TemporaryFile()  # noqa: SIM115 - FileResponse closes it once sent
    workbook.save(handle)
    handle.seek(0)
    stamp = timezone.localdate().isoformat()
    return FileResponse(
        handle,
        as_attachment=True,
        filename=f"{filename}-{stamp}.xlsx",
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )


def _bold(workbook, text: str, font: Font):
    from openpyxl.cell import WriteOnlyCell

    cell = WriteOnlyCell(workbook.worksheets[0], value=text)
    cell.font = font
    return cell


def _xlsx_cell(value):
    from decimal import Decimal

    if isinstance(value, Decimal):
        return float(value)
    text = value if isinstance(value, int | float) else str(value)
    if isinstance(text, str) and text[:1] in ("=", "+", "-", "@"):
        return "'" + text
    return text
