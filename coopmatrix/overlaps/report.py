"""A computed table (a gap view) as CSV, XLSX or PDF, each with the cover every export carries:
what it is, as at when, who exported it, the filters, and the highest confidentiality inside."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.utils import timezone

from coopmatrix.core.exports import add_row, csv_cell
from coopmatrix.core.models import CONFIDENTIALITY_ORDER, Confidentiality

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMATS = ("csv", "xlsx", "pdf")


@dataclass
class Report:
    title: str
    filename: str
    header: list[str]
    lines: list[list[Any]]
    #: (label, value) of the filters and what the figures read.
    about: list[tuple[str, str]] = field(default_factory=list)
    #: Confidentiality levels of the records the table is made from.
    levels: set[str] = field(default_factory=set)
    #: The PDF's own table, where one line per record would run to a hundred pages that nobody
    #: reads (and WeasyPrint lays out at some 8 ms a row): (header, lines). CSV and XLSX keep
    #: one line per record, for the machines that read them.
    printed: tuple[list[str], list[list[Any]]] | None = None
    #: The PDF table's column widths, in percent, where one column holds long text: WeasyPrint
    #: then lays the table out from them (`table-layout: fixed`) rather than measuring every
    #: word of every cell first (more than half of the treaty gaps' PDF time).
    widths: list[int] | None = None

    def cover(self, request: HttpRequest) -> list[tuple[str, str]]:
        highest = max((CONFIDENTIALITY_ORDER.index(level) for level in self.levels), default=None)
        who = request.user.get_username() if request.user.is_authenticated else "public (not signed in)"
        return [
            ("As at", timezone.localtime().strftime("%Y-%m-%d %H:%M %Z")),
            ("Exported by", who),
            ("Rows", str(len(self.lines))),
            (
                "Highest confidentiality inside",
                str(Confidentiality(CONFIDENTIALITY_ORDER[highest]).label) if highest is not None else "—",
            ),
            *(self.about or [("Filters", "none")]),
        ]

    def response(self, request: HttpRequest, fmt: str) -> HttpResponse:
        stamp = timezone.localdate().isoformat()
        if fmt == "csv":
            out = io.StringIO()
            writer = csv.writer(out)
            writer.writerow(self.header)
            writer.writerows([csv_cell(v) for v in line] for line in self.lines)
            response = HttpResponse("\ufeff" + out.getvalue(), content_type="text/csv; charset=utf-8")
        elif fmt == "xlsx":
            response = HttpResponse(self._xlsx(request), content_type=XLSX_TYPE)
        else:
            from weasyprint import HTML

            header, lines = self.printed or (self.header, self.lines)
            html = render_to_string(
                "overlaps/report_pdf.html",
                {
                    "report": self,
                    "cover": self.cover(request),
                    "header": header,
                    "lines": lines,
                    "widths": self.widths if self.widths and len(self.widths) == len(header) else None,
                },
            )
            response = HttpResponse(HTML(string=html).write_pdf(), content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="{self.filename}-{stamp}.{fmt}"'
        return response

    def _xlsx(self, request: HttpRequest) -> bytes:
        from openpyxl import Workbook
        from openpyxl.styles import Font

        workbook = Workbook()
        cover = workbook.active
        cover.title = "Cover"
        add_row(cover, [self.title])
        cover["A1"].font = Font(bold=True, size=14)
        for label, value in self.cover(request):
            add_row(cover, [label, value])
        sheet = workbook.create_sheet("Data")
        add_row(sheet, self.header)
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for line in self.lines:
            add_row(sheet, line)
        buffer = io.BytesIO()
        workbook.save(buffer)
        return buffer.getvalue()
