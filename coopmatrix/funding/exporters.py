"""Contributions in the import template's columns, and Table 1 as CSV, XLSX and PDF.

Table 1's exports say what they count (recipient, date "as at", kind, reporting currency), who
exported, and the sources of the records counted; the published figures stand beside the
computed ones, with the difference.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from django.template.loader import render_to_string
from django.utils import timezone

from coopmatrix.core.dates import partial_text
from coopmatrix.core.exports import Column, add_row, csv_cell

from .table1 import Table1


def _donor(c: Any) -> str:
    return f"state:{c.donor_state.code}" if c.donor_state_id else f"organization:{c.donor_organization.code}"


#: The export writes the import template's columns: an exported file imports back unchanged.
CONTRIBUTION_COLUMNS: list[Column] = [
    ("external_id", lambda c: c.external_id or ""),
    ("donor", _donor),
    ("fund", lambda c: c.fund.code if c.fund_id else ""),
    ("programme", lambda c: c.programme.code if c.programme_id else ""),
    ("activity", lambda c: (c.activity.external_id or c.activity_id) if c.activity_id else ""),
    ("kind", lambda c: c.kind),
    ("earmarking", lambda c: c.earmarking),
    ("amount", lambda c: c.amount),
    ("currency", lambda c: c.currency),
    ("date", lambda c: partial_text(c.date, c.date_precision)),
    ("fiscal_year", lambda c: c.fiscal_year or ""),
    ("note", lambda c: c.note),
    ("source", lambda c: c.source),
    ("confidentiality", lambda c: c.confidentiality),
]

FUND_COLUMNS: list[Column] = [
    ("code", lambda f: f.code),
    ("name", lambda f: f.name),
    ("managed_by", lambda f: f.managed_by.code),
    ("description", lambda f: f.description),
    ("source", lambda f: f.source),
    ("confidentiality", lambda f: f.confidentiality),
]

NEED_COLUMNS: list[Column] = [
    ("programme", lambda n: n.programme.code),
    ("amount", lambda n: n.amount),
    ("currency", lambda n: n.currency),
    ("start", lambda n: partial_text(n.start, n.start_precision)),
    ("end", lambda n: partial_text(n.end, n.end_precision)),
    ("description", lambda n: n.description),
    ("source", lambda n: n.source),
    ("confidentiality", lambda n: n.confidentiality),
]

RATE_COLUMNS: list[Column] = [
    ("currency", lambda r: r.currency),
    ("base", lambda r: r.base),
    ("date", lambda r: r.date.isoformat()),
    ("rate", lambda r: r.rate),
    ("source", lambda r: r.source),
]

TABLE1_HEADER = ["rank", "donor", "value (records)", "published", "difference", "contributions", "currencies"]


def describe(table: Table1) -> list[tuple[str, str]]:
    return [
        ("Given to", f"{table.recipient} ({table.recipient.key})"),
        ("As at", table.as_at.isoformat()),
        ("Kind", "payments (contributions made)" if table.kind == "payment" else "pledges"),
        ("Currency", f"{table.currency}, each amount converted at the rate of its date"),
    ]


def table1_lines(table: Table1) -> list[list[Any]]:
    lines: list[list[Any]] = [
        [
            rank,
            row.label,
            row.amount,
            row.published.amount if row.published else "",
            "" if row.difference is None else row.difference,
            row.contributions,
            " ".join(sorted(row.currencies)),
        ]
        for rank, row in enumerate(table.rows, start=1)
    ]
    for published in table.published_only:
        lines.append(["", published.label, 0, published.amount, -published.amount, 0, ""])
    total = table.published_total
    lines.append(
        [
            "",
            "Total",
            "" if table.total is None else table.total,
            total.amount if total else "",
            "" if table.total_difference is None else table.total_difference,
            sum(row.contributions for row in table.rows),
            "",
        ]
    )
    return lines


def table1_csv(table: Table1) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(TABLE1_HEADER)
    writer.writerows([csv_cell(value) for value in line] for line in table1_lines(table))
    return "\ufeff" + out.getvalue()


def table1_xlsx(table: Table1, exported_by: str) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook()
    cover = workbook.active
    cover.title = "Cover"
    add_row(cover, ["Contributions by donor"])
    cover["A1"].font = Font(bold=True, size=14)
    for label, value in describe(table):
        add_row(cover, [label, value])
    add_row(cover, ["Exported by", exported_by])
    add_row(cover, ["Exported on", timezone.localdate().isoformat()])
    if table.published_total:
        add_row(cover, [])
        add_row(
            cover, [f"Published figures: {table.published_total.document}, {table.published_total.source}"]
        )
    for missing in table.missing:
        add_row(cover, ["Missing rate", str(missing)])
    sheet = workbook.create_sheet("Table 1")
    add_row(sheet, TABLE1_HEADER)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for line in table1_lines(table):
        add_row(sheet, line)
    sources = workbook.create_sheet("Sources")
    add_row(sources, ["source of the records counted", "contributions counted"])
    for source, n in table.sources:
        add_row(sources, [source, n])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def table1_pdf(table: Table1, exported_by: str) -> bytes:
    from weasyprint import HTML

    html = render_to_string(
        "funding/table1_pdf.html",
        {
            "table": table,
            "lines": table1_lines(table),
            "cover": describe(table),
            "exported_by": exported_by,
            "today": timezone.localdate(),
        },
    )
    return HTML(string=html).write_pdf()


# --- the funding gap ----------------------------------------------------------------------------

GAP_VIEWS = ("programmes", "donors", "states")


def gap_header(view: str, currency: str) -> list[str]:
    if view == "programmes":
        return ["programme", "code", "part of", "need", "pledged", "paid", "pledged not yet paid", "missing"]
    if view == "donors":
        return ["donor", "year", "pledged", "paid"]
    return ["recipient State", "code", "pledged", "paid", "contributions"]


def _figure(value: Any) -> Any:
    return "" if value is None else value


def gap_lines(view: str, gap: Any) -> list[list[Any]]:
    if view == "programmes":
        lines = [
            [
                row.programme.title,
                row.programme.code,
                row.programme.parent.code if row.depth else "",
                _figure(row.need),
                _figure(row.pledged),
                _figure(row.paid),
                _figure(row.unpaid),
                _figure(row.missing) if row.need else "",
            ]
            for row in gap.rows
        ]
        for fund, kind, amount in gap.unattributed:
            where = fund.name if fund else "activities of no programme"
            label = f"{where}: {kind}s not given to a programme"
            pledged, paid = (amount, "") if kind == "pledge" else ("", amount)
            lines.append([label, fund.code if fund else "", "", "", _figure(pledged), _figure(paid), "", ""])
        return lines
    if view == "donors":
        return [[str(row.donor), row.year, _figure(row.pledged), _figure(row.paid)] for row in gap.rows]
    lines = [
        [row.state.name_en, row.state.code, _figure(row.pledged), _figure(row.paid), row.contributions]
        for row in gap.rows
    ]
    lines.append(["paid to programmes and funds, no State named", "", "", _figure(gap.not_attributable), ""])
    return lines


def gap_csv(view: str, gap: Any) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(gap_header(view, gap.currency))
    writer.writerows([csv_cell(value) for value in line] for line in gap_lines(view, gap))
    return "\ufeff" + out.getvalue()


def gap_describe(view: str, gap: Any) -> list[tuple[str, str]]:
    what = {
        "programmes": "need, pledged, paid and missing per programme and project "
        "(projects added to their programme)",
        "donors": "pledged and paid per donor and fiscal year",
        "states": "pledged and paid per recipient State, through the activities given to (an activity "
        "for several States counts in full for each: do not add the rows up)",
    }[view]
    return [
        ("Funding gap", what),
        ("As at", gap.as_at.isoformat()),
        (
            "Currency",
            f"{gap.currency}; a contribution at the rate of its date, a need and an unpaid pledge "
            "at the rate of the date 'as at'",
        ),
    ]


def gap_xlsx(view: str, gap: Any, exported_by: str) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook()
    cover = workbook.active
    cover.title = "Cover"
    add_row(cover, ["Funding gap"])
    cover["A1"].font = Font(bold=True, size=14)
    for label, value in gap_describe(view, gap):
        add_row(cover, [label, value])
    add_row(cover, ["Exported by", exported_by])
    add_row(cover, ["Exported on", timezone.localdate().isoformat()])
    sheet = workbook.create_sheet(view.capitalize())
    add_row(sheet, gap_header(view, gap.currency))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for line in gap_lines(view, gap):
        add_row(sheet, line)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def gap_pdf(view: str, gap: Any, exported_by: str) -> bytes:
    from weasyprint import HTML

    html = render_to_string(
        "funding/gap_pdf.html",
        {
            "header": gap_header(view, gap.currency),
            "lines": gap_lines(view, gap),
            "cover": gap_describe(view, gap),
            "exported_by": exported_by,
            "today": timezone.localdate(),
        },
    )
    return HTML(string=html).write_pdf()
