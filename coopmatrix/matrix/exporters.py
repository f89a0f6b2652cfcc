"""The matrix as CSV and XLSX. An XLSX carries a cover sheet: filters, date, who, highest level."""

from __future__ import annotations

import tempfile

from django.http import FileResponse, HttpRequest
from django.utils import timezone
from openpyxl import Workbook
from openpyxl.styles import Font

from coopmatrix.core.models import CONFIDENTIALITY_ORDER


def _join(items, attribute: str) -> str:
    return "; ".join(str(getattr(item, attribute)) for item in items)


ACTIVITY_COLUMNS = [
    ("external_id", lambda a: a.external_id or ""),
    ("title", lambda a: a.title),
    ("programme", lambda a: a.programme.code if a.programme else ""),
    ("providers", lambda a: "; ".join(f"{p.organization.code}:{p.role}" for p in a.provider_roles.all())),
    ("recipient_states", lambda a: _join(a.recipient_states.all(), "code")),
    ("recipient_regions", lambda a: _join(a.recipient_regions.all(), "m49")),
    ("thematic_areas", lambda a: _join(a.thematic_areas.all(), "code")),
    ("modality", lambda a: a.modality),
    ("status", lambda a: a.status),
    ("planned_start", lambda a: a.date_display("planned_start")),
    ("planned_end", lambda a: a.date_display("planned_end")),
    ("actual_start", lambda a: a.date_display("actual_start")),
    ("actual_end", lambda a: a.date_display("actual_end")),
    ("budget", lambda a: a.budget if a.budget is not None else ""),
    ("currency", lambda a: a.currency),
    ("people_trained", lambda a: a.people_trained if a.people_trained is not None else ""),
    ("confidentiality", lambda a: a.confidentiality),
    ("source", lambda a: a.source),
]

PROGRAMME_COLUMNS = [
    ("code", lambda p: p.code),
    ("title", lambda p: p.title),
    ("organization", lambda p: p.organization.code),
    ("start", lambda p: p.start_display),
    ("end", lambda p: p.end_display),
    ("funding_need", lambda p: p.funding_need if p.funding_need is not None else ""),
    ("currency", lambda p: p.currency),
    ("confidentiality", lambda p: p.confidentiality),
    ("source", lambda p: p.source),
]

REQUEST_COLUMNS = [
    ("id", lambda r: r.pk),
    ("state", lambda r: r.state.code),
    ("title", lambda r: r.title),
    ("received", lambda r: r.received),
    ("channel", lambda r: r.channel),
    ("priority", lambda r: r.priority),
    ("status", lambda r: r.status),
    ("status_changed", lambda r: r.status_changed or ""),
    ("confidentiality", lambda r: r.confidentiality),
    ("source", lambda r: r.source),
]


def describe_filters(filterset) -> list[tuple[str, str]]:
    described = []
    for name, value in filterset.form.cleaned_data.items():
        if value in (None, "", [], ()) or (hasattr(value, "exists") and not value.exists()):
            continue
        if hasattr(value, "__iter__") and not isinstance(value, str):
            value = ", ".join(str(v) for v in value)
        described.append((str(filterset.form.fields[name].label), str(value)))
    return described


def xlsx_response(request: HttpRequest, filterset, columns, filename: str, title: str) -> FileResponse:
    """Stream an XLSX of the filtered rows; openpyxl's write-only mode keeps memory flat."""
    workbook = Workbook(write_only=True)
    cover = workbook.create_sheet("Cover")
    sheet = workbook.create_sheet("Data")
    sheet.append([name for name, _ in columns])
    highest = 0
    count = 0
    for record in filterset.qs.iterator(chunk_size=2000):
        sheet.append([_cell(getter(record)) for _, getter in columns])
        highest = max(highest, CONFIDENTIALITY_ORDER.index(record.confidentiality))
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


def _cell(value):
    from decimal import Decimal

    if isinstance(value, Decimal):
        return float(value)
    text = value if isinstance(value, int | float) else str(value)
    if isinstance(text, str) and text[:1] in ("=", "+", "-", "@"):
        return "'" + text
    return text
