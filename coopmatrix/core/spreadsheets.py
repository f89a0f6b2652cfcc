"""Rows of an uploaded XLSX workbook or UTF-8 CSV file, for every importer.

Row numbers are the ones a spreadsheet shows (the header is row 1), so that an error message
points at the cell a user has to fix.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from collections.abc import Iterable, Iterator
from typing import Any


class FileRefused(ValueError):
    """The file as a whole cannot be read (not a spreadsheet, wrong columns)."""


def read_rows(
    content: bytes,
    filename: str,
    columns: Iterable[str],
    required: Iterable[str],
    sheet: str | None = None,
) -> Iterator[tuple[int, dict[str, str]]]:
    """Rows as {column: text}; XLSX from `sheet` (or the first sheet), CSV as UTF-8."""
    known, needed = list(columns), list(required)
    if content[:4] == b"PK\x03\x04":
        yield from _xlsx_rows(content, known, needed, sheet)
        return
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FileRefused(f"{filename or 'the file'} is neither an XLSX workbook nor UTF-8 CSV text") from exc
    if "\x00" in text:
        raise FileRefused(f"{filename or 'the file'} is not a spreadsheet (CSV or XLSX)")
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    _check_header(header, known, needed)
    assert header is not None
    for number, cells in enumerate(reader, start=2):
        if not any(c.strip() for c in cells):
            continue
        if len(cells) > len(header):
            raise FileRefused(f"row {number} has {len(cells)} cells but the header has {len(header)} columns")
        yield (
            number,
            dict(zip(header, [c.strip() for c in cells] + [""] * (len(header) - len(cells)), strict=True)),
        )


def _xlsx_rows(
    content: bytes, known: list[str], needed: list[str], sheet: str | None
) -> Iterator[tuple[int, dict[str, str]]]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError) as exc:
        raise FileRefused("the file is a damaged or unknown workbook") from exc
    data = workbook[sheet] if sheet in workbook.sheetnames else workbook.worksheets[0]
    rows = data.iter_rows(values_only=True)
    header = [str(c).strip() if c is not None else "" for c in next(rows, ())]
    _check_header(header, known, needed)
    for number, cells in enumerate(rows, start=2):
        values = ["" if c is None else cell_text(c) for c in cells]
        if not any(values):
            continue
        yield number, dict(zip(header, values + [""] * (len(header) - len(values)), strict=False))
    workbook.close()


def cell_text(value: Any) -> str:
    """A cell as the text a user typed: dates as ISO dates, whole numbers without '.0'."""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _check_header(header: list[str] | None, known: list[str], needed: list[str]) -> None:
    if not header:
        raise FileRefused("the file is empty: the first row must name the columns")
    missing = [c for c in needed if c not in header]
    unknown = [c for c in header if c and c not in known]
    if missing or unknown:
        parts = []
        if missing:
            parts.append(f"missing column(s): {', '.join(missing)}")
        if unknown:
            parts.append(f"unknown column(s): {', '.join(unknown)}")
        raise FileRefused("; ".join(parts) + " (download the template for the columns)")


def template_xlsx(sheet: str, columns: list[tuple[str, str]], notes: Iterable[str]) -> bytes:
    """An import template: a data sheet with the columns and an instructions sheet."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook()
    data = workbook.active
    data.title = sheet
    data.append([name for name, _ in columns])
    for cell in data[1]:
        cell.font = Font(bold=True)
    help_sheet = workbook.create_sheet("Instructions")
    help_sheet.append(["column", "what to write"])
    for name, text in columns:
        help_sheet.append([name, text])
    help_sheet.append([])
    for note in notes:
        help_sheet.append(["", note])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
