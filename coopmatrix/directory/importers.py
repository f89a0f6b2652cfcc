"""Import organizations, memberships and contacts from the directory template (XLSX or CSV).

An XLSX workbook has up to three sheets, "Organizations", "Memberships" and "Contacts", read in
that order so that a membership or a contact may name an organization the same file creates. A
CSV file holds one of them, told apart by its columns. Every row is checked (row, column, value,
reason) inside a transaction that is rolled back unless the whole file is right and the user
confirms; importing the same file again changes nothing. A contact that matches an entry already
kept (the same e-mail, or the same name in the same organization) merges into it.
"""

from __future__ import annotations

import io
import re
from collections import Counter
from collections.abc import Callable
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q
from django.db.models.functions import Upper

from coopmatrix.core import importing, spreadsheets
from coopmatrix.core.collecting import fewer_collections
from coopmatrix.core.dates import PartialDate
from coopmatrix.core.errors import Invalid
from coopmatrix.core.importing import NoteTaker, RowError
from coopmatrix.core.models import Confidentiality
from coopmatrix.core.roles import principal_for
from coopmatrix.core.spreadsheets import FileRefused
from coopmatrix.geo.resolver import StateResolver

from . import contacts
from .exporters import CONTACT_COLUMNS, EXTRA_COLUMNS
from .models import Contact, Membership, Organization

ORGANIZATION_COLUMNS = [
    ("code", "Required. A short stable key, e.g. osce (letters, digits, hyphens)."),
    ("name", "Required. Today's name."),
    ("acronym", "e.g. OSCE"),
    ("kind", "Required. One of: " + ", ".join(Organization.Kind.values)),
    ("parent", "Code of the organization it is part of."),
    ("state", "For a national agency: its State (name or ISO code)."),
    ("headquarters", "State of its headquarters (name or ISO code)."),
    ("headquarters_city", ""),
    ("website", "https://…"),
    ("mandate", "In a few sentences."),
    ("thematic_areas", "Codes of the matrix's thematic areas it works on, separated by ';'."),
    ("confidentiality", "public (default), restricted or confidential."),
    ("source", "Required. Where these facts come from."),
]
MEMBERSHIP_COLUMNS = [
    ("organization", "Required. Organization code."),
    ("state", "Required. State name or ISO code."),
    ("kind", "member (default), observer, partner or dialogue_partner."),
    ("joined", "YYYY, YYYY-MM or YYYY-MM-DD, as precise as the source."),
    ("left", "First day no longer a member, as precise as the source."),
    ("note", ""),
    ("confidentiality", "public (default), restricted or confidential."),
    ("source", "Required."),
]
CONTACT_HELP = {
    "id": "Empty for a new entry; an export keeps it, so that importing it again updates the same entries.",
    "person_name": "The person's name, or leave empty for a function.",
    "function": 'e.g. "Head, Terrorism Prevention Branch". A name or a function is required.',
    "organization": "Organization or State agency code (or its name).",
    "state": "State name or ISO code (for a State's own contacts).",
    "roles": "Role codes separated by ';' (see the Roles sheet).",
    "email": "",
    "telephone": "With the country code, e.g. +43 1 26060.",
    "fax": "With the country code.",
    "postal_address": "",
    "secure_channel_notes": "",
    "languages": "ISO 639 codes, e.g. en fr ar.",
    "valid_from": "YYYY-MM-DD",
    "valid_to": "YYYY-MM-DD",
    "verified_on": "YYYY-MM-DD: the day the entry was last confirmed.",
    "confidentiality": "restricted (default), confidential or public.",
    "source": "",
}
CONTACT_NAMES = [name for name, _ in CONTACT_COLUMNS]
SHEETS = {
    "Organizations": ORGANIZATION_COLUMNS,
    "Memberships": MEMBERSHIP_COLUMNS,
    "Contacts": [(name, CONTACT_HELP[name]) for name in CONTACT_NAMES],
}
REQUIRED = {
    "Organizations": ("code", "name", "kind", "source"),
    "Memberships": ("organization", "state", "source"),
    "Contacts": (),
}
#: Columns an export adds that an import reads past.
IGNORED = {"Contacts": [name for name, _ in EXTRA_COLUMNS]}
MAX_ROWS = 20_000

Preview = importing.Preview[str]


def template_xlsx() -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    from .models import ContactRole

    workbook = Workbook()
    workbook.remove(workbook.active)
    for sheet, columns in SHEETS.items():
        data = workbook.create_sheet(sheet)
        data.append([name for name, _ in columns])
        for cell in data[1]:
            cell.font = Font(bold=True)
    roles = workbook.create_sheet("Roles")
    roles.append(["code", "role"])
    for code, name in ContactRole.objects.values_list("code", "name"):
        roles.append([code, name])
    help_sheet = workbook.create_sheet("Instructions")
    help_sheet.append(["sheet", "column", "what to write"])
    for sheet, columns in SHEETS.items():
        for name, text in columns:
            help_sheet.append([sheet, name, text])
    help_sheet.append([])
    help_sheet.append(
        [
            "",
            "",
            "Fill the sheets you need and delete none. The whole file is checked first; if any row has an "
            "error nothing is imported. A contact with the same e-mail as an entry already kept, or the same "
            "name in the same organization, is merged into that entry.",
        ]
    )
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _sheets(
    content: bytes, filename: str, notes: NoteTaker | None = None
) -> list[tuple[str, list[tuple[int, dict[str, str]]]]]:
    """(sheet, rows) of every sheet the file has, in the order they must be written."""
    if content[:4] == b"PK\x03\x04":
        book = spreadsheets.open_workbook(content, data_only=False)
        try:
            names = book.sheetnames
            header = ""
            if not any(s in names for s in SHEETS) and "Data" in names:
                # coopmatrix's own XLSX export: a cover sheet, then the records in "Data".
                first = next(
                    book["Data"].iter_rows(values_only=True, max_row=1, max_col=spreadsheets.MAX_COLUMNS), ()
                )
                header = ",".join(str(c) for c in first if c is not None)
        finally:
            book.close()
        found = [s for s in SHEETS if s in names]
        if not found and "Data" in names:
            return [(kind, _rows(content, filename, kind, notes)) for kind in [_kind_of(header)]]
        if not found:
            raise FileRefused("no sheet named Organizations, Memberships or Contacts (download the template)")
        return [(s, _rows(content, filename, s, notes)) for s in found]
    if b"\x00" in content:
        raise FileRefused(f"{filename or 'the file'} is not a spreadsheet (CSV or XLSX)")
    # Only the header is needed to tell the sheet; read_rows reads (or refuses) the encoding.
    first = content[: 64 * 1024].split(b"\n", 1)[0].removeprefix(b"\xef\xbb\xbf")
    try:
        header = first.decode("utf-8").strip()
    except UnicodeDecodeError:
        header = first.decode("cp1252", errors="replace").strip()
    delimiter = max((",", ";", "\t"), key=header.count)
    sheet = _kind_of(header, delimiter)
    return [(sheet, _rows(content, filename, sheet, notes))]


def _kind_of(header: str, delimiter: str = ",") -> str:
    """Which sheet a single table is, from its header."""
    columns = {c.strip() for c in header.split(delimiter)}
    if columns & {"person_name", "function", "email"}:
        return "Contacts"
    if "joined" in columns or columns == {name for name, _ in MEMBERSHIP_COLUMNS}:
        return "Memberships"
    if {"code", "kind"} <= columns:
        return "Organizations"
    raise FileRefused(
        "the columns are not those of organizations, memberships or contacts (download the template)"
    )


def _rows(
    content: bytes, filename: str, sheet: str, notes: NoteTaker | None = None
) -> list[tuple[int, dict[str, str]]]:
    names = [name for name, _ in SHEETS[sheet]] + IGNORED.get(sheet, [])
    return list(
        spreadsheets.read_rows(
            content, filename, names, REQUIRED[sheet], sheet=sheet, notes=notes, max_rows=MAX_ROWS
        )
    )


class _Rollback(Exception):
    pass


@fewer_collections()
def check(
    user: Any, content: bytes, filename: str = "", progress: Callable[[int], None] | None = None
) -> Preview:
    """What the file would do, found by doing it in a transaction that is then undone."""
    return _run(user, content, filename, progress, commit=False)


@fewer_collections()
def import_file(
    user: Any, content: bytes, filename: str = "", progress: Callable[[int], None] | None = None
) -> Preview:
    """Check and, when every row is right, write, in one transaction."""
    return _run(user, content, filename, progress, commit=True)


def may_import(user: Any) -> bool:
    """Who may import the directory: the secretariat, and editors and focal points for their own
    organization's or State's entries (asked before a file is read)."""
    principal = principal_for(user)
    return principal.sees_everything or principal.may_edit_own


def _run(
    user: Any, content: bytes, filename: str, progress: Callable[[int], None] | None, commit: bool
) -> Preview:
    preview = Preview()
    if not may_import(user):
        refused = (
            "your role may not import the directory: only the secretariat, organizations' editors "
            "and focal points may record contacts"
        )
        preview.errors.append(RowError(filename or "file", 0, "", "", refused))
        return preview
    try:
        sheets = _sheets(content, filename, preview.notes)
    except FileRefused as exc:
        preview.errors.append(RowError(filename or "file", 0, "", "", str(exc)))
        return preview
    try:
        with transaction.atomic():
            writer = _Writer(user, filename, preview, progress)
            for sheet, rows in sheets:
                writer.sheet(sheet, rows)
            if preview.errors or not commit:
                raise _Rollback
    except _Rollback:
        pass
    return preview


class _Writer:
    def __init__(
        self, user: Any, filename: str, preview: Preview, progress: Callable[[int], None] | None
    ) -> None:
        self.user, self.filename, self.preview, self.progress = user, filename, preview, progress
        # Names read by pattern or close spelling are taken and shown in the preview.
        self.states = StateResolver(accept_uncertain=True)
        self.count = 0
        self.secretariat = principal_for(user).sees_everything
        self.lookups: contacts.Lookups | None = None
        self._areas: dict[str, Any] | None = None
        self.held: list[contacts.CleanContact] = []
        self.taken: set[tuple] = set()

    def error(self, sheet: str, line: int, column: str, value: Any, reason: str) -> None:
        self.preview.errors.append(
            RowError(f"{self.filename} [{sheet}]", line, column, str(value or ""), reason)
        )

    def outcome(self, created: bool, changed: bool) -> None:
        if created:
            self.preview.created += 1
        elif changed:
            self.preview.updated += 1
        else:
            self.preview.unchanged += 1

    def sheet(self, sheet: str, rows: list[tuple[int, dict[str, str]]]) -> None:
        if sheet == "Contacts":
            emails = Counter(
                row.get("email", "").strip().lower() for _, row in rows if row.get("email", "").strip()
            )
            # A functional address several entries share (a committee's office): on such rows the
            # e-mail alone does not make two entries one, or each row would overwrite the other.
            self.shared_emails = {e for e, n in emails.items() if n > 1}
            self.taken = self._kept_keys(rows)
        for line, row in rows:
            self.count += 1
            if self.progress:
                self.progress(self.count)
            before = len(self.states.uncertain)
            try:
                if sheet == "Contacts":
                    self.contact(line, row)  # its own savepoint, when it writes
                else:
                    with transaction.atomic():
                        (self.organization if sheet == "Organizations" else self.membership)(line, row)
            except Invalid as invalid:
                for column, reason in invalid.errors.items():
                    self.error(sheet, line, column, row.get(column, ""), reason)
            except PermissionDenied as exc:
                self.error(sheet, line, "", "", str(exc))
            self.preview.notes.extend(
                self.states.notes_since(before, f"{self.filename} [{sheet}], row {line}")
            )
        if sheet == "Contacts":
            self.write_held()

    # --- one row of each sheet ------------------------------------------------------------

    def thematic_areas(self) -> dict[str, Any]:
        """The matrix's thematic areas by code, read once per file."""
        if self._areas is None:
            model = Organization._meta.get_field("thematic_areas").related_model
            self._areas = {a.code: a for a in model._default_manager.all()}  # type: ignore[union-attr]
        return self._areas

    def _state(self, text: str, column: str, errors: dict[str, str]) -> Any:
        if not text:
            return None
        try:
            return self.states.resolve(text)
        except LookupError as exc:
            errors[column] = str(exc)
            return None

    def _level(self, row: dict[str, str], errors: dict[str, str], default: str = "public") -> str:
        level = row.get("confidentiality") or default
        if level not in Confidentiality.values:
            errors["confidentiality"] = f"must be one of {', '.join(Confidentiality.values)}"
        return level

    def organization(self, line: int, row: dict[str, str]) -> None:
        if not self.secretariat:
            raise PermissionDenied("only the secretariat imports organizations")
        errors: dict[str, str] = {}
        code = row["code"].strip().lower()
        if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,39}", code):
            errors["code"] = "letters, digits and hyphens, at most 40"
        if row["kind"] not in Organization.Kind.values:
            errors["kind"] = f"must be one of {', '.join(Organization.Kind.values)}"
        parent = None
        if row.get("parent"):
            parent = Organization.objects.filter(code=row["parent"].strip().lower()).first()
            if parent is None:
                errors["parent"] = f"no organization with code {row['parent']!r} (in the file above, or kept)"
        state = self._state(row.get("state", ""), "state", errors)
        headquarters = self._state(row.get("headquarters", ""), "headquarters", errors)
        website = row.get("website", "")
        if website and not re.match(r"^https?://[^\s/]+\.[^\s]+$", website):
            errors["website"] = "not a web address (https://…)"
        areas = []
        for area_code in [a.strip() for a in row.get("thematic_areas", "").split(";") if a.strip()]:
            area = self.thematic_areas().get(area_code)
            if area is None:
                errors["thematic_areas"] = f"no thematic area with code {area_code!r} (see /thematic-areas/)"
            areas.append(area)
        level = self._level(row, errors)
        if errors:
            raise Invalid(errors)
        values = {
            "name": row["name"],
            "acronym": row.get("acronym", ""),
            "kind": row["kind"],
            "parent": parent,
            "state": state,
            "headquarters": headquarters,
            "headquarters_city": row.get("headquarters_city", ""),
            "website": website,
            "mandate": row.get("mandate", ""),
            "confidentiality": level,
            "source": row["source"],
        }
        record = Organization.objects.filter(code=code).first()
        created = record is None
        record = record or Organization(code=code)
        changed = [k for k, v in values.items() if getattr(record, k) != v]
        for name in changed:
            setattr(record, name, values[name])
        if created or changed:
            record.save()
        if {a.pk for a in areas} != set(record.thematic_areas.values_list("pk", flat=True)):
            record.thematic_areas.set(areas)
            changed.append("thematic_areas")
        self.outcome(created, bool(changed))

    def membership(self, line: int, row: dict[str, str]) -> None:
        if not self.secretariat:
            raise PermissionDenied("only the secretariat imports memberships")
        errors: dict[str, str] = {}
        organization = Organization.objects.filter(code=row["organization"].strip().lower()).first()
        if organization is None:
            errors["organization"] = f"no organization with code {row['organization']!r}"
        state = self._state(row["state"], "state", errors)
        if not row["state"]:
            errors["state"] = "required"
        kind = row.get("kind") or Membership.Kind.MEMBER
        if kind not in Membership.Kind.values:
            errors["kind"] = f"must be one of {', '.join(Membership.Kind.values)}"
        dates: dict[str, PartialDate | None] = {}
        for column in ("joined", "left"):
            try:
                dates[column] = PartialDate.parse(row[column]) if row.get(column) else None
            except ValueError as exc:
                errors[column] = str(exc)
        joined, left = dates.get("joined"), dates.get("left")
        if joined and left and left.date <= joined.date:
            errors["left"] = "must be after the date joined"
        level = self._level(row, errors)
        if errors:
            raise Invalid(errors)
        key = {
            "organization": organization,
            "state": state,
            "kind": kind,
            "joined": joined.date if joined else None,
        }
        values = {
            "joined_precision": joined.precision if joined else "",
            "left": left.date if left else None,
            "left_precision": left.precision if left else "",
            "note": row.get("note", ""),
            "confidentiality": level,
            "source": row["source"],
        }
        record = Membership.objects.filter(**key).first()
        created = record is None
        record = record or Membership(**key)
        changed = [k for k, v in values.items() if getattr(record, k) != v]
        for name in changed:
            setattr(record, name, values[name])
        if created or changed:
            record.save()
        self.outcome(created, bool(changed))

    # New contacts are held and written together (contacts.write_new): a row that matches no
    # entry, kept or held, is new whatever the rows before it did, since those could only make it
    # match. A row that may match one (its e-mail or its name in its organization seen before,
    # in the directory or in the file) or names an entry by id goes the one way, after the held
    # rows are written, so that it merges into what the rows before it made, as row by row.

    def _kept_keys(self, rows: list[tuple[int, dict[str, str]]]) -> set[tuple]:
        """The match keys (`_keys`) of the entries the user sees that the file's rows may match,
        read at once (two index lookups, not two per row)."""
        emails = sorted(filter(None, {_any_case(row.get("email", "").strip()) for _, row in rows}))
        names = sorted({contacts.normalize_name(row.get("person_name", "")) for _, row in rows} - {""})
        found = (
            Contact.objects.visible_to(self.user)
            .filter(erased_on__isnull=True)
            .annotate(any_case=Upper("email"))
            .filter(Q(any_case__among=emails) | Q(normalized_name__among=names))
            .values_list("any_case", "normalized_name", "organization_id")
        )
        # Each entry's address as the database puts it in capitals, as `email__iexact` compares it.
        return {key for email, name, organization in found for key in _keys(email, name, organization)}

    def contact(self, line: int, row: dict[str, str]) -> None:
        if self.lookups is None:  # after the Organizations sheet, so that its codes resolve
            self.lookups = contacts.Lookups(self.user, self.states)
        cleaned = contacts.clean(self.user, row, self.lookups)  # checks, writes nothing
        fields = cleaned.fields
        organization = fields["organization"].pk if fields["organization"] is not None else None
        email = _any_case(fields["email"])
        keys = _keys(email, contacts.normalize_name(fields["person_name"]), organization)
        if not row.get("id") and email is not None and not keys & self.taken:
            self.held.append(cleaned)
            self.taken |= keys
            self.outcome(True, False)
            return
        self.write_held()
        with transaction.atomic():
            record = self._merge(line, row, cleaned)
        self.taken |= keys | _keys(_any_case(record.email), record.normalized_name, record.organization_id)

    def write_held(self) -> None:
        if self.held:
            contacts.write_new(self.user, self.held, reason="imported")
            self.held = []

    def _merge(self, line: int, row: dict[str, str], cleaned: contacts.CleanContact) -> Contact:
        record = None
        if row.get("id"):
            record = (
                Contact.objects.visible_to(self.user)
                .filter(pk=row["id"] if row["id"].isdigit() else 0)
                .first()
            )
            if record is None:
                raise Invalid({"id": "no entry with this id that you may see"})
        else:
            matches = contacts.duplicates(self.user, cleaned)
            if cleaned.fields["email"] in getattr(self, "shared_emails", set()):
                matches = [m for m in matches if contacts.same_entry(m, cleaned)]
            if len(matches) > 1:
                raise Invalid(
                    {
                        "email": "matches several entries ("
                        + ", ".join(f"#{c.pk}" for c in matches)
                        + "): give the id of the one to update"
                    }
                )
            if matches:
                record = matches[0]
                merged = cleaned.changes(record, merge=True)
                if merged:
                    self.preview.notes.append(
                        f"Contacts row {line} matches entry #{record.pk} ({record}): merged into it "
                        f"({', '.join(merged)})."
                    )
        if record is not None and not Contact.objects.editable_by(self.user).filter(pk=record.pk).exists():
            raise Invalid(
                {"id" if row.get("id") else "email": f"matches entry #{record.pk}, which you may not change"}
            )
        if record is None:
            record = contacts.write(self.user, cleaned, reason="imported")
            self.outcome(True, False)
            return record
        # A row with its id replaces the entry; a row matched by e-mail or name merges into it.
        merge = not row.get("id")
        changed = cleaned.changes(record, merge=merge)
        if changed:
            contacts.write(self.user, cleaned, record, merge=merge, reason="imported")
        self.outcome(False, bool(changed))
        return record


def _any_case(email: str) -> str | None:
    """An address in capitals, as both databases compare them whatever the case; None when it is
    not all ASCII (how the database folds other letters depends on its locale: such a row is
    matched by the database, row by row)."""
    return email.upper() if email.isascii() else None


def _keys(email: str | None, name: str, organization: int | None) -> set[tuple]:
    """What an entry is matched by (contacts.duplicates): its e-mail whatever the case (as
    `_any_case` gives it), and its person's name in its organization."""
    keys: set[tuple] = {("email", email)} if email else set()
    if name and organization is not None:
        keys.add(("name", name, organization))
    return keys
