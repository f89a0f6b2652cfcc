"""The matrix as CSV and XLSX. An XLSX carries a cover sheet: filters, date, who, highest level."""

from __future__ import annotations

import tempfile
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from django.http import FileResponse, HttpRequest
from django.utils import timezone
from openpyxl import Workbook
from openpyxl.styles import Font

from coopmatrix.core.dates import partial_text
from coopmatrix.core.models import CONFIDENTIALITY_ORDER

from .models import Activity


def _joined(values: list[Any]) -> str:
    return "; ".join(str(v) for v in values)


def _date(row: dict[str, Any], name: str) -> str:
    return partial_text(row[name], row[f"{name}_precision"])


# Each export row is a dict from `activity_rows`, not a model instance: a 100,000-row export must
# not build 500,000 model objects.
ACTIVITY_COLUMNS = [
    ("external_id", lambda a: a["external_id"] or ""),
    ("title", lambda a: a["title"]),
    ("programme", lambda a: a["programme__code"] or ""),
    ("providers", lambda a: _joined(f"{code}:{role}" for code, role in a["providers"])),
    ("recipient_states", lambda a: _joined(a["states"])),
    ("recipient_regions", lambda a: _joined(a["regions"])),
    ("thematic_areas", lambda a: _joined(a["themes"])),
    ("modality", lambda a: a["modality"]),
    ("status", lambda a: a["status"]),
    ("planned_start", lambda a: _date(a, "planned_start")),
    ("planned_end", lambda a: _date(a, "planned_end")),
    ("actual_start", lambda a: _date(a, "actual_start")),
    ("actual_end", lambda a: _date(a, "actual_end")),
    ("budget", lambda a: a["budget"] if a["budget"] is not None else ""),
    ("currency", lambda a: a["currency"]),
    ("people_trained", lambda a: a["people_trained"] if a["people_trained"] is not None else ""),
    ("confidentiality", lambda a: a["confidentiality"]),
    ("source", lambda a: a["source"]),
]
ACTIVITY_FIELDS = (
    "pk",
    "external_id",
    "title",
    "programme__code",
    "modality",
    "status",
    *Activity.DATE_COLUMNS,
    "budget",
    "currency",
    "people_trained",
    "confidentiality",
    "source",
)
CHUNK = 2000


def activity_rows(queryset: Any, visible_organizations: set[int]) -> Iterator[dict[str, Any]]:
    """Activities as plain dicts with their recipients, areas and (visible) providers, chunk by chunk."""
    from .models import Activity, ActivityProvider

    chunk: list[dict[str, Any]] = []
    for values in queryset.values(*ACTIVITY_FIELDS).iterator(chunk_size=CHUNK):
        chunk.append(values)
        if len(chunk) == CHUNK:
            yield from _with_relations(chunk, visible_organizations, Activity, ActivityProvider)
            chunk = []
    if chunk:
        yield from _with_relations(chunk, visible_organizations, Activity, ActivityProvider)


def _with_relations(chunk, visible_organizations, Activity, ActivityProvider) -> list[dict[str, Any]]:
    pks = [row["pk"] for row in chunk]
    related: dict[str, dict[int, list[Any]]] = {}
    for key, through, path in (
        ("states", Activity.recipient_states.through, "state__code"),
        ("regions", Activity.recipient_regions.through, "region__m49"),
        ("themes", Activity.thematic_areas.through, "thematicarea__code"),
    ):
        found: dict[int, list[Any]] = defaultdict(list)
        for activity_id, value in through.objects.filter(activity_id__in=pks).values_list(
            "activity_id", path
        ):
            found[activity_id].append(value)
        related[key] = found
    providers: dict[int, list[tuple[str, str]]] = defaultdict(list)
    rows = ActivityProvider.objects.filter(activity_id__in=pks, organization_id__in=visible_organizations)
    for activity_id, code, role in rows.values_list("activity_id", "organization__code", "role"):
        providers[activity_id].append((code, role))
    for row in chunk:
        row.update({key: related[key][row["pk"]] for key in related})
        row["providers"] = providers[row["pk"]]
    return chunk


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
    ("unanswered", lambda r: "yes" if r.unanswered else "no"),
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
        sheet.append([_cell(getter(record)) for _, getter in columns])
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


def _cell(value):
    from decimal import Decimal

    if isinstance(value, Decimal):
        return float(value)
    text = value if isinstance(value, int | float) else str(value)
    if isinstance(text, str) and text[:1] in ("=", "+", "-", "@"):
        return "'" + text
    return text
