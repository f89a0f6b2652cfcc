"""Treaty actions in the import template's format, and Table 2 as CSV, XLSX and PDF.

Table 2's exports say what they count: the date "as at", the date after which consents are
counted, the basis (deposit or effect), the instruments, the area, who exported, and the sources
of the records counted; the published figures stand beside the computed ones.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from django.template.loader import render_to_string
from django.utils import timezone

from coopmatrix.core.exports import Column, add_row, csv_cell

from .participation import Table2

#: The export writes the import template's columns: an exported file imports back unchanged.
ACTION_COLUMNS: list[Column] = [
    ("state", lambda a: a.state.code),
    ("instrument", lambda a: a.instrument.code),
    ("action", lambda a: a.action),
    ("date", lambda a: a.deposited.isoformat()),
    ("effective", lambda a: a.effective.isoformat() if a.effective and a.effective_source else ""),
    ("effective_source", lambda a: a.effective_source),
    ("text", lambda a: a.text),
    ("source", lambda a: a.source),
    ("confidentiality", lambda a: a.confidentiality),
]

TABLE2_HEADER = [
    "row",
    "instrument",
    "code",
    "parties",
    "published parties",
    "difference",
    "consented after",
    "published after",
    "difference after",
]


def describe(table: Table2) -> list[tuple[str, str]]:
    return [
        ("Parties as at", table.as_at.isoformat()),
        ("Consented strictly after", table.after.isoformat()),
        ("Counted by", "date of deposit" if table.basis == "deposit" else "date of effect for the State"),
        ("Instruments", "the 12 of Table 2 (2004)" if table.instruments == "2004" else "all 19"),
        ("Area", str(table.area) if table.area else "the world"),
    ]


def table2_lines(table: Table2) -> list[list[Any]]:
    return [
        [
            index,
            row.instrument.short_title,
            row.instrument.code,
            row.parties,
            row.published.parties if row.published else "",
            "" if row.parties_difference is None else row.parties_difference,
            row.parties_after,
            "" if row.published_after is None else row.published_after,
            "" if row.after_difference is None else row.after_difference,
        ]
        for index, row in enumerate(table.rows, start=1)
    ]


def table2_csv(table: Table2) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(TABLE2_HEADER)
    writer.writerows([csv_cell(value) for value in line] for line in table2_lines(table))
    return out.getvalue()


def table2_xlsx(table: Table2, exported_by: str) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook()
    cover = workbook.active
    cover.title = "Cover"
    add_row(cover, ["Number of parties to the universal instruments against terrorism"])
    cover["A1"].font = Font(bold=True, size=14)
    for label, value in describe(table):
        add_row(cover, [label, value])
    add_row(cover, ["Exported by", exported_by])
    add_row(cover, ["Exported on", timezone.localdate().isoformat()])
    add_row(cover, [])
    add_row(cover, ["Published figures: E/CN.15/2004, Table 2 (report of 17 March 2004); world only."])
    sheet = workbook.create_sheet("Table 2")
    add_row(sheet, TABLE2_HEADER)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for line in table2_lines(table):
        add_row(sheet, line)
    sources = workbook.create_sheet("Sources")
    add_row(sources, ["source of the records counted", "consents counted"])
    for source, n in table.sources:
        add_row(sources, [source, n])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def table2_pdf(table: Table2, exported_by: str) -> bytes:
    from weasyprint import HTML

    html = render_to_string(
        "treaties/table2_pdf.html",
        {"table": table, "cover": describe(table), "exported_by": exported_by, "today": timezone.localdate()},
    )
    return HTML(string=html).write_pdf()
