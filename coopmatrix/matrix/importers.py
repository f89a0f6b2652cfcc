"""Import activities from the CSV/XLSX template: parse → check every row → preview → write all.

Rows are matched on `external_id`, so a file imported twice changes nothing the second time.
Every error names its row, column, value and reason; if there is one, nothing is written.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction

from coopmatrix.core import importing, spreadsheets
from coopmatrix.core.collecting import fewer_collections
from coopmatrix.core.importing import NoteTaker, RowError
from coopmatrix.core.roles import principal_for
from coopmatrix.core.spreadsheets import FileRefused

from . import bulk, counts
from .actions import CleanActivity, Invalid, Lookups, clean_activity, links_of, write_activity
from .models import Activity

COLUMNS = [
    (
        "external_id",
        "Required. Your stable identifier (IATI style, e.g. XM-DAC-41114-PROJECT-1); a row with an "
        "identifier already imported updates that activity.",
    ),
    ("title", "Required."),
    ("description", "Optional."),
    ("programme", "Code of a programme or project (see /programmes/)."),
    (
        "providers",
        "Organization code and role, separated by ';' — e.g. unodc-tpb:implementing; osce:partner. "
        "Roles: funding, implementing, partner.",
    ),
    ("recipient_states", "State names or ISO codes separated by ';' — e.g. Benin; TGO; Cape Verde."),
    ("recipient_regions", "M49 codes of regions as a whole, separated by ';' — e.g. 13 for Central America."),
    ("thematic_areas", "Codes separated by ';' (see /thematic-areas/)."),
    ("instruments", "Codes separated by ';' (see /instruments/)."),
    ("modality", "One of: " + ", ".join(Activity.Modality.values)),
    ("status", "One of: " + ", ".join(Activity.Status.values)),
    ("planned_start", "YYYY-MM-DD, YYYY-MM or YYYY: write only as much as you know."),
    ("planned_end", "As planned_start; not before it."),
    ("actual_start", "As planned_start."),
    ("actual_end", "As planned_start; not before actual_start."),
    ("budget", "A number, without currency."),
    ("currency", "ISO 4217 code, e.g. USD, EUR."),
    ("people_trained", "A whole number."),
    ("outcome_documents", "Optional."),
    ("confidentiality", "public, restricted or confidential (default public)."),
    ("source", "Document and paragraph the facts come from."),
]
COLUMN_NAMES = [name for name, _ in COLUMNS]
REQUIRED = ("external_id", "title", "providers", "modality", "status")
MAX_ROWS = 20_000


Preview = importing.Preview[tuple[Activity | None, CleanActivity]]


def may_import(user: Any) -> bool:
    """Who may import activities: those who may record them (asked before a file is read)."""
    principal = principal_for(user)
    return principal.sees_everything or principal.may_edit_own


REFUSED = "your role may not import activities"


def template_xlsx() -> bytes:
    """The import template: a data sheet with the columns and an instructions sheet."""
    return spreadsheets.template_xlsx(
        "Activities",
        COLUMNS,
        [
            "One row per activity. The whole file is checked first; if any row has an error "
            "nothing is imported and every error is listed with its row and column."
        ],
    )


def template_csv() -> str:
    return ",".join(COLUMN_NAMES) + "\n"


def read_rows(
    content: bytes, filename: str = "", decimal_mark: str = "auto", notes: NoteTaker | None = None
) -> Iterator[tuple[int, dict[str, str]]]:
    """Rows of an XLSX or CSV file with their row numbers as a spreadsheet shows them; budgets
    read with the file's decimal mark (see core.spreadsheets)."""
    return spreadsheets.read_rows(
        content,
        filename,
        COLUMN_NAMES,
        REQUIRED,
        sheet="Activities",
        numbers=("budget",),
        decimal_mark=decimal_mark,
        notes=notes,
        max_rows=MAX_ROWS,
    )


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(";") if part.strip()]


def _data(row: dict[str, str]) -> dict[str, Any]:
    providers = []
    for item in _split(row.get("providers", "")):
        organization, _, role = item.partition(":")
        providers.append({"organization": organization.strip(), "role": role.strip()})
    return {
        **{k: v for k, v in row.items() if k in COLUMN_NAMES},
        "providers": providers,
        "recipient_states": _split(row.get("recipient_states", "")),
        "recipient_regions": _split(row.get("recipient_regions", "")),
        "thematic_areas": _split(row.get("thematic_areas", "")),
        "instruments": _split(row.get("instruments", "")),
    }


@fewer_collections()
def check(
    user: Any,
    content: bytes,
    filename: str = "",
    progress: Callable[[int], None] | None = None,
    decimal_mark: str = "auto",
) -> Preview:
    """Check every row; the preview says what would be created, updated or left unchanged, and
    how the file was read (encoding, separator, decimal mark, names read by spelling)."""
    preview = Preview()
    if not may_import(user):
        preview.errors.append(RowError(filename or "file", 0, "", "", REFUSED))
        return preview
    try:
        rows = list(read_rows(content, filename, decimal_mark, preview.notes))
    except FileRefused as exc:
        preview.errors.append(RowError(filename or "file", 0, "", "", str(exc)))
        return preview
    return check_rows(user, rows, filename, preview, progress)


def check_rows(
    user: Any,
    rows: list[tuple[int, dict[str, str]]],
    filename: str,
    preview: Preview,
    progress: Callable[[int], None] | None = None,
    modality_required: bool = True,
) -> Preview:
    """Check rows given in the template's columns, with their row numbers (another importer
    reading another layout, HXL's, hands its rows here). `modality_required` off: a row may
    leave the modality "not recorded" (a 3W sheet has none)."""
    lookups = Lookups(user, accept_uncertain=True)
    seen: dict[str, int] = {}
    importing.expect(progress, len(rows))
    # Read with what a rerun compares (their links) and whether the user may change them: a file
    # imported again is mostly unchanged, and each row asked for these one query at a time.
    existing = {
        a.external_id: a
        for a in Activity.objects.filter(external_id__in=[r.get("external_id") for _, r in rows])
    }
    # Whether a row's identifier is another activity's, from the same reading: asked row by row,
    # it was a query each, some 45 % of checking 20,000 new rows.
    lookups.external_ids = {identifier: a.pk for identifier, a in existing.items()}
    links = links_of(a.pk for a in existing.values())
    lookups.editable = set(
        Activity.objects.editable_by(user)
        .filter(pk__among=[a.pk for a in existing.values()])
        .values_list("pk", flat=True)
    )
    for index, (number, row) in enumerate(rows, start=1):
        external_id = row.get("external_id", "")
        if not external_id:
            preview.errors.append(RowError(filename, number, "external_id", "", "is required"))
            continue
        if external_id in seen:
            preview.errors.append(
                RowError(filename, number, "external_id", external_id, f"also on row {seen[external_id]}")
            )
            continue
        seen[external_id] = number
        activity = existing.get(external_id)
        before = len(lookups.resolver.uncertain)
        try:
            cleaned = clean_activity(user, _data(row), activity, lookups, modality_required=modality_required)
        except Invalid as exc:
            preview.errors.extend(
                RowError(filename, number, column, row.get(column, ""), reason)
                for column, reason in exc.errors.items()
            )
            continue
        except PermissionDenied as exc:
            preview.errors.append(RowError(filename, number, "external_id", external_id, str(exc)))
            continue
        preview.notes.extend(lookups.resolver.notes_since(before, f"{filename or 'file'}, row {number}"))
        if activity is None:
            preview.created += 1
        elif cleaned.same_as(activity, links[activity.pk]):
            preview.unchanged += 1
            continue
        else:
            preview.updated += 1
        preview.planned.append((activity, cleaned))
        preview.sources.append((number, external_id))
        if progress:
            progress(index)
    return preview


def preview(
    user: Any,
    content: bytes,
    filename: str = "",
    progress: Callable[[int], None] | None = None,
    decimal_mark: str = "auto",
) -> Preview:
    """`check`, and what another app has to say of the rows before they are written (possible
    overlaps: registry.hooks["before_saving_activities"]), as notes of the preview."""
    from coopmatrix.core.registry import registry

    result = check(user, content, filename, progress, decimal_mark)
    hook = registry.hooks.get("before_saving_activities")
    if not (result.ok and result.planned and hook):
        return result

    def save_all() -> list[Activity]:
        with counts.batch():
            return [write_activity(cleaned, activity) for activity, cleaned in result.planned]

    for (number, external_id), warning in zip(result.sources, hook(user, save_all), strict=True):
        where = f"{filename or 'file'}, row {number} ({external_id})"
        for candidate in warning.shown:
            result.notes.append(
                f"{where}: possible overlap with “{candidate['title']}” (score {candidate['score']:.2f}; "
                f"{candidate['reasons'][0]})"
            )
        if warning.hidden:
            result.notes.append(
                f"{where}: may also overlap an activity you cannot see; the secretariat will be told once "
                "it is imported"
            )
    return result


@fewer_collections()
@transaction.atomic
def import_file(
    user: Any,
    content: bytes,
    filename: str = "",
    progress: Callable[[int], None] | None = None,
    decimal_mark: str = "auto",
) -> Preview:
    """Check and, when every row is right, write, in one transaction."""
    preview = check(user, content, filename, progress, decimal_mark)
    if preview.ok:
        importing.step(progress, f"Writing {len(preview.planned)} activities")
        write(preview)
    return preview


@transaction.atomic
def write(preview: Preview) -> None:
    """Write a preview without errors, all rows in one transaction."""
    if preview.errors:
        raise ValueError("a preview with errors is never written")
    # New activities and changed ones by the thousand (matrix.bulk).
    new = [cleaned for activity, cleaned in preview.planned if activity is None]
    changed = [(activity, cleaned) for activity, cleaned in preview.planned if activity is not None]
    # The counts refreshed once at the end, their differences added to the grid once.
    with counts.added_at_end(), counts.batch():
        for chunk in bulk.chunks(new):
            bulk.create_activities(chunk, None, IMPORTED)
        for pairs in bulk.chunks(changed):
            bulk.update_activities(pairs, None, IMPORTED)


IMPORTED = "imported from a file"
