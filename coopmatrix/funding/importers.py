"""Import contributions from the template (CSV or XLSX): every row checked (row, column, value,
reason), a preview, then all rows or none. A row with an external identifier already imported
updates that contribution, so importing a file again changes nothing. The export writes the
template's columns: an export imported again changes nothing either."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction

from coopmatrix.core import importing, spreadsheets
from coopmatrix.core.collecting import fewer_collections
from coopmatrix.core.errors import Invalid
from coopmatrix.core.importing import RowError
from coopmatrix.core.spreadsheets import FileRefused

from . import actions, sums
from .models import Contribution

COLUMNS = [
    (
        "external_id",
        "Your identifier for the contribution: importing the file again updates it, never duplicates it.",
    ),
    ("donor", "Required. state:<name or ISO code> (state:Austria, state:AUT) or organization:<code>."),
    ("fund", "Fund code (see /funding/funds/), when given through a fund."),
    ("programme", "Programme or project code (see /programmes/)."),
    ("activity", "Activity identifier or number. Give at least one of fund, programme, activity."),
    ("kind", "Required. pledge or payment."),
    ("earmarking", "earmarked (to the programme, project or activity given) or general (default)."),
    ("amount", "Required. A number more than zero, without currency: 1025674 or 1025674.50."),
    ("currency", "Required. ISO 4217 code: USD, EUR, …"),
    ("date", "Required. YYYY-MM-DD, YYYY-MM or YYYY, as precise as the source."),
    ("fiscal_year", "The donor's fiscal year, when the source gives it."),
    ("settles", "For a payment: the external identifier or number of the pledge it settles."),
    ("note", "Anything a reader should know."),
    ("source", "Document and paragraph, or the donor's notification."),
    ("confidentiality", "public (default), restricted or confidential."),
]
COLUMN_NAMES = [name for name, _ in COLUMNS]
REQUIRED = ("donor", "kind", "amount", "currency", "date")
MAX_ROWS = 20_000

Preview = importing.Preview[actions.CleanContribution]


def may_import(user: Any) -> bool:
    return actions.may_record(user)


def template_xlsx() -> bytes:
    return spreadsheets.template_xlsx(
        "Contributions",
        COLUMNS,
        [
            "One row per pledge or payment. The whole file is checked first; if any row has an "
            "error nothing is imported."
        ],
    )


def template_csv() -> str:
    return ",".join(COLUMN_NAMES) + "\n"


@fewer_collections()
def check(
    user: Any,
    content: bytes,
    filename: str = "",
    progress: Callable[[int], None] | None = None,
    decimal_mark: str = "auto",
) -> Preview:
    """Check every row; the preview says what would be created, updated or left unchanged, and
    what the user confirms by importing (a payment above its pledge)."""
    preview = Preview()
    if not may_import(user):
        preview.errors.append(
            RowError(filename or "file", 0, "", "", "your role may not import contributions")
        )
        return preview
    try:
        rows = list(
            spreadsheets.read_rows(
                content,
                filename,
                COLUMN_NAMES,
                REQUIRED,
                sheet="Contributions",
                numbers=("amount",),
                decimal_mark=decimal_mark,
                notes=preview.notes,
                max_rows=MAX_ROWS,
            )
        )
    except FileRefused as exc:
        preview.errors.append(RowError(filename or "file", 0, "", "", str(exc)))
        return preview
    lookups = actions.Lookups(user, accept_uncertain=True)
    editable = Contribution.objects.editable_by(user)
    keys: dict[str, int] = {}
    planned_pledges: dict[str, actions.CleanContribution] = {}
    for index, (number, row) in enumerate(rows, start=1):
        if progress:
            progress(index)
        before = len(lookups.resolver.uncertain)
        # A payment may settle a pledge on an earlier row of the same file: it is linked on writing.
        pledged_here = row.get("settles", "").strip() in planned_pledges
        try:
            cleaned = actions.clean(user, {**row, "settles": ""} if pledged_here else row, lookups)
        except Invalid as exc:
            preview.errors.extend(
                RowError(filename, number, column, str(row.get(column, "")), reason)
                for column, reason in exc.errors.items()
            )
            continue
        except PermissionDenied as exc:
            preview.errors.append(RowError(filename, number, "", "", str(exc)))
            continue
        preview.notes.extend(lookups.resolver.notes_since(before, f"{filename or 'file'}, row {number}"))
        preview.notes.extend(f"{filename or 'file'}, row {number}: {w}" for w in cleaned.warnings)
        key = cleaned.fields.get("external_id")
        if key and key in keys:
            preview.errors.append(
                RowError(
                    filename,
                    number,
                    "external_id",
                    key,
                    f"already on row {keys[key]}: one row per contribution",
                )
            )
            continue
        if key:
            keys[key] = number
        if pledged_here:
            pledge = planned_pledges[row["settles"].strip()]
            problem = _settles_in_file(cleaned, pledge)
            if problem:
                preview.errors.append(RowError(filename, number, "settles", row["settles"], problem))
                continue
            cleaned.fields["settles"] = pledge
        record = actions.existing(cleaned)
        if record is None:
            preview.created += 1
            if key and cleaned.fields["kind"] == "pledge":
                planned_pledges[key] = cleaned
        elif not editable.filter(pk=record.pk).exists():
            # A hidden holder reads like any other: the identifier is simply taken.
            preview.errors.append(
                RowError(filename, number, "external_id", key or "", actions.taken(key or ""))
            )
            continue
        elif cleaned.same_as(record):
            preview.unchanged += 1
            continue
        else:
            preview.updated += 1
        preview.planned.append(cleaned)
        preview.sources.append((number, key or ""))
    return preview


def _settles_in_file(payment: actions.CleanContribution, pledge: actions.CleanContribution) -> str:
    fields, promised = payment.fields, pledge.fields
    if fields["kind"] != "payment":
        return "only a payment settles a pledge"
    if (fields["donor_state"], fields["donor_organization"]) != (
        promised["donor_state"],
        promised["donor_organization"],
    ):
        return "the pledge is another donor's"
    if fields["currency"] != promised["currency"]:
        return f"the pledge is in {promised['currency']}: record its payment in the same currency"
    return ""


@transaction.atomic
def write(user: Any, preview: Preview) -> None:
    if preview.errors:
        raise ValueError("a preview with errors is never written")
    written: dict[int, Contribution] = {}
    # The sums refreshed once at the end, their differences added once.
    with sums.added_at_end(), sums.batch():
        for cleaned in preview.planned:
            pledge = cleaned.fields.get("settles")
            if isinstance(pledge, actions.CleanContribution):
                # Planned on an earlier row of this file: written by now.
                cleaned = actions.CleanContribution({**cleaned.fields, "settles": written[id(pledge)]}, [])
            written[id(cleaned)] = actions.write(user, cleaned)


@fewer_collections()
@transaction.atomic
def import_file(user: Any, content: bytes, filename: str = "", **options: Any) -> Preview:
    """Check and, when every row is right, write, in one transaction."""
    preview = check(user, content, filename, **options)
    if preview.ok:
        write(user, preview)
    return preview
