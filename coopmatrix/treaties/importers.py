"""Import treaty actions: from the template (CSV/XLSX), or from a depositary's status table.

Both read rows, check every one (row, column, value, reason), preview, and write all or nothing;
the same action imported twice is one record. The export writes the template's format, so an
export imported again changes nothing.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from coopmatrix.core import bulk, importing, spreadsheets
from coopmatrix.core.collecting import fewer_collections
from coopmatrix.core.importing import NoteTaker, RowError
from coopmatrix.core.roles import principal_for
from coopmatrix.core.spreadsheets import FileRefused

from . import actions
from .models import Instrument, TreatyAction

COLUMNS = [
    ("state", "Required. State name or ISO code, e.g. Benin or BEN."),
    ("instrument", "Required. Instrument code (see /instruments/), e.g. terrorist-financing-1999."),
    ("action", "Required. One of: " + ", ".join(TreatyAction.Action.values)),
    ("date", "Required. Date of the action (deposit), YYYY-MM-DD."),
    (
        "effective",
        "Only when it differs from the instrument's rule (e.g. the 30th day after deposit): YYYY-MM-DD.",
    ),
    ("effective_source", "Required with effective: the document that gives that date."),
    ("text", "Text of a declaration, reservation or objection."),
    ("source", "Document and paragraph, or depositary notification (e.g. C.N.123.2003.TREATIES-1)."),
    ("confidentiality", "public (default), restricted or confidential."),
]
COLUMN_NAMES = [name for name, _ in COLUMNS]
REQUIRED = ("state", "instrument", "action", "date")
FORMATS = ("template", "depositary")
MAX_ROWS = 20_000


Preview = importing.Preview[actions.CleanAction]


def template_xlsx() -> bytes:
    return spreadsheets.template_xlsx(
        "Treaty actions",
        COLUMNS,
        [
            "One row per action: a State's signature, its ratification (or acceptance, approval, "
            "accession, succession), a denunciation, a declaration or reservation. The whole file "
            "is checked first; if any row has an error nothing is imported."
        ],
    )


def may_import(user: Any) -> bool:
    """Who may import treaty actions: the secretariat, and a State's own editors and focal point
    (asked before a file is read)."""
    principal = principal_for(user)
    return principal.sees_everything or (principal.may_edit_own and principal.state_id is not None)


def template_csv() -> str:
    return ",".join(COLUMN_NAMES) + "\n"


def template_rows(
    content: bytes, filename: str, notes: NoteTaker | None = None
) -> Iterator[tuple[int, dict[str, str]]]:
    return spreadsheets.read_rows(
        content, filename, COLUMN_NAMES, REQUIRED, sheet="Treaty actions", notes=notes, max_rows=MAX_ROWS
    )


# --- A depositary's status table ------------------------------------------------------------

#: The marks after a date in the consent column, as the UN Treaty Collection writes them.
#: Some depositaries write "Rt" for a ratification, and footnote marks after the date ("a 3").
MARKS = {
    "": "ratification",
    "Rt": "ratification",
    "A": "acceptance",
    "AA": "approval",
    "a": "accession",
    "d": "succession",
}
_DATE = re.compile(
    r"^\s*(\d{1,2})\s+([A-Za-z]{3,9})\.?\s+(\d{4})\s*(AA|A|Rt|a|d)?[\s\d,*\u00b9\u00b2\u00b3\u2070-\u2079]*$"
)
#: A date with its mark, found anywhere in a line of text pasted from a PDF (columns lost).
_DATE_IN_LINE = re.compile(r"(?<![\d])(\d{1,2}\s+[A-Za-z]{3,9}\.?\s+\d{4})(?:\s*(AA|A|Rt|a|d)(?![A-Za-z]))?")
#: What a line holds when its one date could be a signature or a consent.
UNSURE = "\x00unsure\x00"
_MONTHS = {
    month: number
    for number, month in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), start=1
    )
}


def depositary_date(text: str) -> tuple[dt.date, str]:
    """'24 Sep 2003 a' → (2003-09-24, 'accession'); ValueError with the reason otherwise."""
    match = _DATE.match(text)
    if not match:
        raise ValueError("not a depositary date like '24 Sep 2003' followed by A, AA, a or d")
    day, month, year, mark = match.groups()
    number = _MONTHS.get(month[:3].lower())
    if number is None:
        raise ValueError(f"{month!r} is not a month")
    return dt.date(int(year), number, int(day)), MARKS[mark or ""]


def participant_name(text: str) -> str:
    """The name without footnote marks: 'China 4,5' or 'Denmark¹' → 'China', 'Denmark'."""
    text = re.sub(r"[\u00b9\u00b2\u00b3\u2070-\u2079]+", "", text)
    return re.sub(r"[\s\d,*]+$", "", text).strip()


def _table(content: bytes) -> list[list[str]]:
    """The rows of the status table, from saved HTML or from text pasted from the page."""
    text = content.decode("utf-8-sig", errors="strict")
    if re.search(r"<\s*table", text, re.IGNORECASE):
        from lxml import html

        document = html.fromstring(text)
        for table in document.iter("table"):
            rows = [
                [" ".join(cell.text_content().split()) for cell in row.iter("td", "th")]
                for row in table.iter("tr")
            ]
            if any(cells and cells[0].lower().startswith("participant") for cells in rows):
                return rows
        raise FileRefused("no table with a 'Participant' column in this HTML page")
    return _text_table(text)


def _text_table(text: str) -> list[list[str]]:
    """Rows of a status table pasted as text. Copied from the web page, cells are separated by
    tabs; pasted from a PDF, by single spaces, and the columns are lost. Each line is then read
    from its dates: two dates are a signature and a consent; one date with a mark (a, d, A, AA,
    Rt) is a consent; one date alone could be either, and is refused unless tabs say which."""
    rows: list[list[str]] = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.lower().startswith("participant"):
            rows.append(
                ["Participant", "Signature", "Ratification, Acceptance(A), Approval(AA), Accession(a)"]
            )
            continue
        if "\t" in line:
            cells = line.rstrip("\n").split("\t")
            rows.append([cells[0], *cells[1:3]])
            continue
        dates = list(_DATE_IN_LINE.finditer(stripped))
        if not dates:
            rows.append([stripped])
            continue
        name = stripped[: dates[0].start()]
        tokens = [m.group(0).strip() for m in dates]
        if len(tokens) > 2:
            rows.append([name, UNSURE + " ".join(tokens), ""])
        elif len(tokens) == 2:
            rows.append([name, tokens[0], tokens[1]])
        elif dates[0].group(2):
            rows.append([name, "", tokens[0]])
        else:
            rows.append([name, UNSURE + tokens[0], ""])
    return rows


def depositary_rows(
    content: bytes, instrument: str, source: str = "depositary status table"
) -> Iterator[tuple[int, dict[str, str]]]:
    """Template rows (signature and consent of each participant) from a depositary's table;
    `source` says which table (depositary, file, status date) on every action."""
    try:
        rows = _table(content)
    except UnicodeDecodeError as exc:
        raise FileRefused("the file is neither an HTML page nor text (UTF-8)") from exc
    header_at = next(
        (i for i, cells in enumerate(rows) if cells and cells[0].strip().lower().startswith("participant")),
        None,
    )
    if header_at is None:
        raise FileRefused("no header row beginning with 'Participant' (paste the whole status table)")
    header = [h.strip().lower() for h in rows[header_at]]
    signature = next((i for i, h in enumerate(header) if h.startswith("signature")), None)
    consent = next((i for i, h in enumerate(header) if h.startswith(("ratification", "accession"))), None)
    if consent is None:
        raise FileRefused(
            "no column 'Ratification, Acceptance(A), Approval(AA), Accession(a), Succession(d)'"
        )
    for number, cells in enumerate(rows[header_at + 1 :], start=header_at + 2):
        if not cells or not cells[0].strip():
            continue
        name = participant_name(cells[0])
        for column, index in (("Signature", signature), ("Consent", consent)):
            value = cells[index].strip() if index is not None and index < len(cells) else ""
            if not value:
                continue
            unsure = value.startswith(UNSURE)
            value = value.removeprefix(UNSURE)
            row = {"state": name, "instrument": instrument, "_column": column, "_value": value}
            if unsure:
                row["_column"] = "Participant"
                row["_error"] = (
                    "the columns were lost (text pasted from a PDF?): a date without a mark could be "
                    "a signature or a ratification; paste the table copied from the web page (with "
                    "tabs), or use the template"
                )
                yield number, row
                continue
            try:
                day, action = depositary_date(value)
            except ValueError as exc:
                row["_error"] = str(exc)
            else:
                row.update(
                    {"date": day.isoformat(), "action": "signature" if column == "Signature" else action}
                )
                row["source"] = source
            yield number, row


# --- Check, preview, write -------------------------------------------------------------------


def _table_source(user: Any, code: str, filename: str, status_date: str) -> str:
    record = Instrument.objects.visible_to(user).filter(code=code).first()
    depositary = record.depositary if record and record.depositary else "depositary"
    title = record.short_title if record else code
    parts = [f"{depositary}, status table of {title}", f"file {filename or 'pasted text'}"]
    parts.append(f"status as at {status_date}" if status_date else "status date not given")
    return "; ".join(parts)


@fewer_collections()
def check(
    user: Any,
    content: bytes,
    filename: str = "",
    fmt: str = "template",
    instrument: str = "",
    progress: Callable[[int], None] | None = None,
    status_date: str = "",
) -> Preview:
    """Check every row; the preview says what would be created, updated or left unchanged.
    A depositary's table records, as the source of each action, the depositary, the file and
    the date the table gives its status as at (`status_date`, as the page writes it)."""
    preview = Preview()
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}")
    if not may_import(user):
        refused = "your role may not import treaty actions"
        preview.errors.append(RowError(filename or "file", 0, "", "", refused))
        return preview
    try:
        if fmt == "depositary":
            if not instrument:
                raise FileRefused("a depositary's table is for one treaty: give its instrument code")
            rows = list(
                depositary_rows(content, instrument, _table_source(user, instrument, filename, status_date))
            )
        else:
            rows = list(template_rows(content, filename, preview.notes))
    except FileRefused as exc:
        preview.errors.append(RowError(filename or "file", 0, "", "", str(exc)))
        return preview
    if len(rows) > MAX_ROWS:
        preview.errors.append(RowError(filename, 0, "", "", f"more than {MAX_ROWS} rows: split the file"))
        return preview
    lookups = actions.Lookups(user, accept_uncertain=True)
    seen: dict[tuple, int] = {}
    found: list[tuple[int, dict[str, Any], dict[str, str], actions.CleanAction]] = []
    #: (State, instrument) → (row, date) of its consent: a State consents to a treaty once.
    consents: dict[tuple, tuple[int, Any]] = {}
    for index, (number, row) in enumerate(rows, start=1):
        if progress:
            progress(index)
        # A depositary's row names its own columns; the template's are the fields themselves.
        where = {k: row.get("_column", k) for k in ("state", "date", "action")}
        where["state"] = "Participant" if "_column" in row else "state"
        if "_error" in row:
            preview.errors.append(RowError(filename, number, row["_column"], row["_value"], row["_error"]))
            continue
        before = len(lookups.resolver.uncertain)
        try:
            cleaned = actions.clean(user, row, lookups)
        except actions.Invalid as exc:
            preview.errors.extend(
                RowError(filename, number, where.get(column, column), str(row.get(column, "")), reason)
                for column, reason in exc.errors.items()
            )
            continue
        except PermissionDenied as exc:
            preview.errors.append(RowError(filename, number, where["state"], row.get("state", ""), str(exc)))
            continue
        preview.notes.extend(lookups.resolver.notes_since(before, f"{filename or 'file'}, row {number}"))
        key = tuple(getattr(v, "pk", v) for v in cleaned.key.values())
        if cleaned.key["action"] in TreatyAction.CONSENT:
            pair = (cleaned.key["state"].pk, cleaned.key["instrument"].pk)
            first = consents.setdefault(pair, (number, cleaned.key["deposited"]))
            if first[1] != cleaned.key["deposited"]:
                preview.errors.append(
                    RowError(
                        filename,
                        number,
                        where["state"],
                        str(row.get("state", "")),
                        f"{cleaned.key['state'].name_en} consents on row {first[0]} "
                        f"({first[1].isoformat()}) and here ({cleaned.key['deposited'].isoformat()}): "
                        "a State consents to a treaty once; keep the right row",
                    )
                )
                continue
        if key in seen:
            continue  # the same action twice in one file is one record
        seen[key] = number
        found.append((number, row, where, cleaned))
    kept = _kept(cleaned for _number, _row, _where, cleaned in found)
    editable: set[int] | None = None
    for number, row, where, cleaned in found:
        record = kept.get(_key(cleaned))
        cleaned.record = record
        if record is None:
            preview.created += 1
        elif cleaned.same_as(record):
            preview.unchanged += 1
            continue
        else:
            if editable is None:
                changing = [r.pk for r in kept.values()]
                editable = set(
                    TreatyAction.objects.editable_by(user)
                    .filter(pk__in=changing)
                    .values_list("pk", flat=True)
                )
            if record.pk not in editable:
                preview.errors.append(
                    RowError(
                        filename,
                        number,
                        where["state"],
                        row.get("state", ""),
                        "you may not change this record",
                    )
                )
                continue
            preview.updated += 1
        preview.planned.append(cleaned)
    return preview


def _key(cleaned: actions.CleanAction) -> tuple:
    key = cleaned.key
    return (key["state"].pk, key["instrument"].pk, key["action"], key["deposited"])


def _kept(cleaned: Iterable[actions.CleanAction]) -> dict[tuple, TreatyAction]:
    """The actions already recorded with the keys of these rows, read together (one query per
    thousand States, not two per row)."""
    wanted = {_key(c) for c in cleaned}
    states = sorted({state for state, _instrument, _action, _day in wanted})
    found: dict[tuple, TreatyAction] = {}
    for start in range(0, len(states), 1000):
        for record in TreatyAction.objects.filter(state_id__in=states[start : start + 1000]).order_by():
            key = (record.state_id, record.instrument_id, record.action, record.deposited)
            if key in wanted:
                found[key] = record
    return found


@transaction.atomic
def write(user: Any, preview: Preview) -> None:
    """New actions are written together with their history rows (core.bulk), as each would be
    saved alone; a changed one through the one write path, which keeps its history."""
    if preview.errors:
        raise ValueError("a preview with errors is never written")
    owner = principal_for(user).organization_id
    new = []
    for cleaned in preview.planned:
        if cleaned.record is not None:
            actions.write(user, cleaned, cleaned.record)
            continue
        record = TreatyAction(**cleaned.key, **cleaned.fields, owner_id=owner)
        record.settle_effective()
        new.append(record)
    bulk.with_history(TreatyAction, new, user, None, timezone.now())


@fewer_collections()
@transaction.atomic
def import_file(user: Any, content: bytes, filename: str = "", **options: Any) -> Preview:
    """Check and, when every row is right, write, in one transaction."""
    preview = check(user, content, filename, **options)
    if preview.ok:
        write(user, preview)
    return preview
