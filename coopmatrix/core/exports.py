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
        yield writer.writerow([csv_cell(getter(record)) for _, getter in columns])


#: What makes a spreadsheet read a CSV cell as a formula: = + - @, and a leading TAB or carriage
#: return before them, which some spreadsheets skip.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    """A CSV cell: text that a spreadsheet would run as a formula gets a leading apostrophe,
    which the importers take off again (core.spreadsheets), so that an export imports back."""
    if value is None:
        return ""
    text = str(value)
    if text[:1] in FORMULA_START and not _is_number(text):
        return "'" + text
    return text


def add_row(sheet: Any, values: Iterable[Any]) -> None:
    """Append a row to any XLSX sheet of coopmatrix, every text cell kept as text: openpyxl
    writes a string starting with "=" as a live formula (an imported =HYPERLINK(…) would run
    in the reader's spreadsheet). Amounts are written as numbers. A control character a
    worksheet cannot hold (a form feed or vertical tab pasted from a PDF) is written as a space:
    openpyxl refused the whole workbook for it."""
    from decimal import Decimal

    from openpyxl.cell import Cell, WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.worksheet._write_only import WriteOnlyWorksheet

    def plain(value: Any) -> Any:
        if isinstance(value, str):
            return ILLEGAL_CHARACTERS_RE.sub(" ", value)
        return float(value) if isinstance(value, Decimal) else value

    def as_text(value: str) -> Any:
        # A cell object of the sheet's kind, marked as text: a write-only sheet takes only a
        # WriteOnlyCell (a plain Cell without a place there fails as the sheet is written).
        cell = WriteOnlyCell(sheet, value=value) if write_only else Cell(sheet, value=value)
        cell.data_type = "s"
        return cell

    write_only = isinstance(sheet, WriteOnlyWorksheet)
    # Each cell marked as it is made: looking up the row once appended (`sheet[sheet.max_row]`)
    # measured the whole sheet for each row, and an export of 4,000 rows took seconds.
    sheet.append(
        [
            as_text(value) if isinstance(value, str) and value.startswith("=") else value
            for value in (plain(v) for v in values)
        ]
    )


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
    request: HttpRequest,
    filterset,
    columns,
    filename: str,
    title: str,
    rows: Any = None,
    widths: list[int] | None = None,
) -> FileResponse:
    """Stream an XLSX of the filtered rows; openpyxl's write-only mode keeps memory flat.

    `widths`: a reader's layout (names, not codes): each column's width, the header row frozen
    and bold, and an autofilter on it."""
    from openpyxl.utils import get_column_letter

    workbook = Workbook(write_only=True)
    cover = workbook.create_sheet("Cover")
    sheet = workbook.create_sheet("Data")
    if widths:
        for index, width in enumerate(widths, start=1):
            sheet.column_dimensions[get_column_letter(index)].width = width
        sheet.freeze_panes = "A2"
        header = Font(bold=True)
        sheet.append([_bold_in(sheet, name, header) for name, _ in columns])
    else:
        add_row(sheet, [name for name, _ in columns])
    highest = 0
    count = 0
    for record in rows if rows is not None else filterset.qs.iterator(chunk_size=2000):
        add_row(sheet, [_xlsx_cell(getter(record)) for _, getter in columns])
        level = record["confidentiality"] if isinstance(record, dict) else record.confidentiality
        highest = max(highest, CONFIDENTIALITY_ORDER.index(level))
        count += 1
    if widths:
        sheet.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{count + 1}"
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
        add_row(cover, [_bold(workbook, label, bold), value])
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


def _bold_in(sheet, text: str, font: Font):
    from openpyxl.cell import WriteOnlyCell

    cell = WriteOnlyCell(sheet, value=text)
    cell.font = font
    return cell


def _bold(workbook, text: str, font: Font):
    from openpyxl.cell import WriteOnlyCell

    cell = WriteOnlyCell(workbook.worksheets[0], value=text)
    cell.font = font
    return cell


def _xlsx_cell(value):
    from decimal import Decimal

    if isinstance(value, Decimal):
        return float(value)
    # Kept as typed: add_row keeps text cells text, so that the export imports back unchanged.
    return value if isinstance(value, int | float) else str(value)
