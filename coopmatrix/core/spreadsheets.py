"""Rows of an uploaded XLSX workbook or CSV file, for every importer.

Row numbers are the ones a spreadsheet shows (the header is row 1), so that an error message
points at the cell a user has to fix.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import re
import zipfile
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from coopmatrix.core.importing import NoteTaker


class FileRefused(ValueError):
    """The file as a whole cannot be read (not a spreadsheet, wrong columns, too large)."""


DECIMAL_MARKS = ("auto", "point", "comma")

#: Rows with data a file may hold, unless the importer says otherwise; what is longer is refused
#: as soon as the row after the last one allowed is read, before the rest is.
MAX_ROWS = 20_000
#: Columns read from a row: a header wider than this is refused. Without the bound a workbook
#: whose dimension says "A1:XFD100000" makes every row 16,384 cells long.
MAX_COLUMNS = 200
#: What an XLSX workbook may expand to. A workbook is a zip: 656 KB of shared strings can expand
#: to 300 MB, and openpyxl holds all shared strings in memory even in read-only mode. The sizes a
#: zip declares bound what Python's zipfile will expand (it stops at the declared size).
XLSX_SHARED_STRINGS_BYTES = 16 * 1024 * 1024
XLSX_PART_BYTES = 128 * 1024 * 1024
XLSX_TOTAL_BYTES = 256 * 1024 * 1024


def read_rows(
    content: bytes,
    filename: str,
    columns: Iterable[str],
    required: Iterable[str],
    sheet: str | None = None,
    *,
    numbers: Iterable[str] = (),
    decimal_mark: str = "auto",
    notes: NoteTaker | None = None,
    max_rows: int = MAX_ROWS,
) -> Iterator[tuple[int, dict[str, str]]]:
    """Rows as {column: text}; XLSX from `sheet` (or the first sheet), or CSV text.

    A CSV file may be UTF-8 or Windows-1252 (what Excel saves in Western Europe), separated by
    commas, semicolons or tabs; amounts in the `numbers` columns may use a decimal point or a
    decimal comma (`decimal_mark`, or "auto" to tell from the file). What was read how is added
    to `notes`, for the preview; what cannot be read for sure is refused, naming the fix.
    Amounts come out written with a decimal point and no grouping ("1234.56"). A file with more
    than `max_rows` rows of data is refused without reading further.
    """
    known, needed = list(columns), list(required)
    said = notes if notes is not None else []
    if decimal_mark not in DECIMAL_MARKS:
        raise FileRefused(f"the decimal mark must be one of {', '.join(DECIMAL_MARKS)}, not {decimal_mark!r}")
    if content[:4] == b"PK\x03\x04":
        source = _xlsx_rows(content, known, needed, sheet)
    else:
        source = _csv_rows(content, filename, known, needed, said)
    rows: list[tuple[int, dict[str, str]]] = []
    for row in source:
        if len(rows) >= max_rows:
            raise FileRefused(
                f"{filename or 'the file'} has more than {max_rows:,} rows of data (row {row[0]} is one "
                "too many): split the file"
            )
        rows.append(row)
    yield from _amounts(rows, list(numbers), decimal_mark, said, filename)


def open_workbook(content: bytes, data_only: bool = True) -> Any:
    """A read-only openpyxl workbook, once its parts are known to expand within the bounds."""
    from openpyxl import load_workbook

    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            parts = archive.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise FileRefused("the file is a damaged or unknown workbook") from exc
    limits = {p.filename: XLSX_PART_BYTES for p in parts}
    for part in parts:
        if part.filename.endswith("sharedStrings.xml"):
            limits[part.filename] = XLSX_SHARED_STRINGS_BYTES
        if part.file_size > limits[part.filename]:
            raise FileRefused(
                f"the workbook's part {part.filename} expands to {_size(part.file_size)}, more than the "
                f"{_size(limits[part.filename])} allowed: save the data as CSV, or split it"
            )
    total = sum(p.file_size for p in parts)
    if total > XLSX_TOTAL_BYTES:
        raise FileRefused(
            f"the workbook expands to {_size(total)}, more than the {_size(XLSX_TOTAL_BYTES)} allowed: "
            "save the data as CSV, or split it"
        )
    try:
        return load_workbook(io.BytesIO(content), read_only=True, data_only=data_only)
    except Exception as exc:  # openpyxl raises many kinds for a damaged workbook
        raise FileRefused("the file is a damaged or unknown workbook") from exc


def _size(count: int) -> str:
    from django.template.defaultfilters import filesizeformat

    return str(filesizeformat(count)).replace("\xa0", " ")


def _text_of(content: bytes, name: str, notes: NoteTaker) -> io.TextIOBase:
    """The file as a stream of text, UTF-8 or else Windows-1252, without a second copy of it in
    memory (a 50 MB file as one str is 50-200 MB more)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        for start in range(0, len(content), 1 << 20):
            decoder.decode(content[start : start + (1 << 20)])
        decoder.decode(b"", final=True)
        encoding = "utf-8-sig"
    except UnicodeDecodeError:
        if any(b in content for b in (b"\x81", b"\x8d", b"\x8f", b"\x90", b"\x9d")):
            raise FileRefused(
                f"{name} is neither an XLSX workbook nor CSV text in UTF-8 or Windows-1252: save it "
                "from the spreadsheet as 'CSV UTF-8' or as an XLSX workbook"
            ) from None
        encoding = "cp1252"
        notes.append(
            f"{name} is not UTF-8: it was read as Windows-1252 (Western European), as Excel saves "
            "it; check the accented names below"
        )
    if b"\x00" in content:
        raise FileRefused(f"{name} is not a spreadsheet (CSV or XLSX)")
    return io.TextIOWrapper(io.BytesIO(content), encoding=encoding, newline="")


def _csv_rows(
    content: bytes, filename: str, known: list[str], needed: list[str], notes: NoteTaker
) -> Iterator[tuple[int, dict[str, str]]]:
    name = filename or "the file"
    text = _text_of(content, name, notes)
    first = text.readline(64 * 1024)
    text.seek(0)
    delimiter = max((",", ";", "\t"), key=first.count)
    if delimiter != ",":
        notes.append(f"{name} is separated by {'semicolons' if delimiter == ';' else 'tabs'}")
    reader = csv.reader(text, delimiter=delimiter)
    try:
        header = next(reader, None)
        if header is not None and len(header) > MAX_COLUMNS:
            raise FileRefused(f"the header has {len(header):,} columns, more than {MAX_COLUMNS}")
        _check_header(header, known, needed)
        assert header is not None
        for number, cells in enumerate(reader, start=2):
            if not any(c.strip() for c in cells):
                continue
            if len(cells) > len(header):
                raise FileRefused(
                    f"row {number} has {len(cells)} cells but the header has {len(header)} columns"
                )
            values = [_unescaped(c.strip()) for c in cells]
            yield number, dict(zip(header, values + [""] * (len(header) - len(cells)), strict=True))
    except csv.Error as exc:
        # A cell longer than the csv module's limit (128 KB), or an unclosed quote at the end.
        raise FileRefused(f"{name}, line {reader.line_num}: cannot be read as CSV ({exc})") from exc


def _unescaped(text: str) -> str:
    """A cell as typed: coopmatrix's CSV exports put an apostrophe before text a spreadsheet
    would run as a formula ("'=HYPERLINK(…)"); reading it back takes it off."""
    if text[:1] != "'":
        return text  # most cells: no import statement run for each (a tenth of a file's reading)
    from .exports import FORMULA_START

    return text[1:] if text[1:2] in FORMULA_START else text


# An amount with a decimal point ("1,234.56", "1234.5") or a decimal comma ("1.234,56", "12,5");
# "1,234" and "1.234" alone could be either (a thousands separator, or three decimals).
_POINT = re.compile(r"^-?(\d{1,3}(,\d{3})+|\d+)(\.\d+)?$")
_COMMA = re.compile(r"^-?(\d{1,3}(\.\d{3})+|\d+)(,\d+)?$")
_AMBIGUOUS = re.compile(r"^-?\d{1,3}([.,])\d{3}$")


def amount_text(text: str, mark: str) -> str | None:
    """`text` as an amount with a decimal point ("1234.56"), read with the decimal `mark`
    ("point" or "comma"); None if it is not an amount written that way."""
    compact = re.sub(r"[\s\u00a0\u202f']", "", text)  # spaces, no-break spaces, Swiss apostrophes
    if mark == "point" and _POINT.match(compact):
        return compact.replace(",", "")
    if mark == "comma" and _COMMA.match(compact):
        return compact.replace(".", "").replace(",", ".")
    return None


def _amounts(
    rows: list[tuple[int, dict[str, str]]], numbers: list[str], mark: str, notes: NoteTaker, filename: str
) -> list[tuple[int, dict[str, str]]]:
    cells = [(n, c, row[c]) for n, row in rows for c in numbers if row.get(c)]
    if not cells:
        return rows
    if mark == "auto":
        mark = _detect_mark(cells, filename)
        notes.append(f"amounts read with a decimal {mark} ({', '.join(numbers)})")
    for _number, row in rows:
        for column in numbers:
            value = row.get(column, "")
            if value:
                # What does not read as an amount stays as typed: the importer refuses it,
                # naming the row, the column and the value.
                row[column] = amount_text(value, mark) or value
    return rows


def _detect_mark(cells: list[tuple[int, str, str]], filename: str) -> str:
    """The decimal mark the file's amounts use: the one they can all be read with, preferring
    the one that some amount needs (a decimal comma in "12,5")."""
    fits = {m: [c for c in cells if amount_text(c[2], m) is not None] for m in ("point", "comma")}
    needs = {
        m: [
            c
            for c in fits[m]
            if amount_text(c[2], "comma" if m == "point" else "point") is None
            and not _AMBIGUOUS.match(c[2].strip())
        ]
        for m in fits
    }
    if needs["point"] and needs["comma"]:
        (row_p, column_p, value_p), (row_c, column_c, value_c) = needs["point"][0], needs["comma"][0]
        raise FileRefused(
            f"{filename or 'the file'} mixes decimal marks: row {row_p}, column {column_p!r} has "
            f"{value_p!r} (a decimal point), row {row_c}, column {column_c!r} has {value_c!r} (a decimal "
            "comma); write every amount the same way, or choose the decimal mark"
        )
    if needs["comma"]:
        return "comma"
    return "point"


def _xlsx_rows(
    content: bytes, known: list[str], needed: list[str], sheet: str | None
) -> Iterator[tuple[int, dict[str, str]]]:
    workbook = open_workbook(content)
    try:
        # The sheet named for the records, else "Data", the sheet coopmatrix's own XLSX exports
        # put them in (after their cover sheet), so that an export imports back as it is.
        if sheet in workbook.sheetnames:
            data = workbook[sheet]
        elif "Data" in workbook.sheetnames:
            data = workbook["Data"]
        else:
            data = workbook.worksheets[0]
        first = next(data.iter_rows(min_row=1, max_row=1, max_col=MAX_COLUMNS + 1), ())
        header = [str(c.value).strip() if c.value is not None else "" for c in first]
        while header and not header[-1]:
            header.pop()
        if len(header) > MAX_COLUMNS:
            raise FileRefused(f"the header has more than {MAX_COLUMNS} columns")
        _check_header(header, known, needed)
        for number, cells in enumerate(data.iter_rows(min_row=2, max_col=len(header)), start=2):
            values = [
                "" if c.value is None else cell_text(c.value, getattr(c, "number_format", "")) for c in cells
            ]
            if not any(values):
                continue
            yield number, dict(zip(header, values + [""] * (len(header) - len(values)), strict=False))
    finally:
        workbook.close()


def cell_text(value: Any, number_format: str = "") -> str:
    """A cell as the text a user typed: dates as ISO dates at the precision the cell shows (a
    month Excel turned into a date cell formatted "mmm-yy" stays a month, "2004-03"), whole
    numbers without '.0'."""
    if isinstance(value, dt.datetime | dt.date):
        day = value.date() if isinstance(value, dt.datetime) else value
        shown = re.sub(r'"[^"]*"|\[[^]]*\]|\\.', "", number_format or "").lower()
        if shown and "d" not in shown and "y" in shown:
            return f"{day.year:04d}-{day.month:02d}" if "m" in shown else f"{day.year:04d}"
        return day.isoformat()
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
