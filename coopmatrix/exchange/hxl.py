"""HXL-tagged "who does what where" (3W) sheets: the matrix out as CSV with a hashtag row under its
header, and 3W sheets in, found by their hashtags whatever their header text and column order.

Out, one row per activity, streamed: the columns of COLUMNS. In, the hashtag row is looked for in
the first rows (a sheet may have titles or several header rows above it); each tagged column the
matrix knows is read, others are named in the preview as not read; untagged columns are skipped
as HXL says. The rows then go through the matrix's activity importer (the same checks, all or
nothing, matched on the identifier), with organizations, areas and States given by code or name.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from django.db import transaction

from coopmatrix.core import importing, spreadsheets
from coopmatrix.core.importing import NoteTaker, RowError
from coopmatrix.core.spreadsheets import FileRefused
from coopmatrix.directory.models import Organization
from coopmatrix.geo.models import Region
from coopmatrix.matrix import importers as activities
from coopmatrix.matrix.models import Activity
from coopmatrix.vocabulary.models import ThematicArea

#: (header, hashtag, template column it is read into, or "" for a column written only).
COLUMNS = [
    ("Identifier", "#activity+code", "external_id"),
    ("Activity", "#activity+name", "title"),
    ("Description", "#description", "description"),
    ("Implementing organizations", "#org+impl", "implementing"),
    ("Funding organizations", "#org+funder", "funding"),
    ("Partner organizations", "#org+partner", "partner"),
    ("Accountable organizations", "#org+accountable", "accountable"),
    ("Extending organizations", "#org+extending", "extending"),
    ("Thematic areas (codes)", "#sector+code", "thematic_areas"),
    ("Thematic areas", "#sector+name", ""),
    ("Recipient States (ISO codes)", "#country+code", "recipient_states"),
    ("Recipient States", "#country+name", ""),
    ("Recipient regions (M49)", "#region+code", "recipient_regions"),
    ("Recipient regions", "#region+name", ""),
    ("Modality", "#activity+type+code", "modality"),
    ("Status", "#status+code", "status"),
    ("Planned start", "#date+start+planned", "planned_start"),
    ("Planned end", "#date+end+planned", "planned_end"),
    ("Actual start", "#date+start", "actual_start"),
    ("Actual end", "#date+end", "actual_end"),
    ("Budget", "#value+budget", "budget"),
    ("Currency", "#currency", "currency"),
    ("Confidentiality", "#meta+confidentiality", "confidentiality"),
    ("Source", "#meta+source", "source"),
]
ROLES = ("implementing", "funding", "partner", "accountable", "extending")
TAG = re.compile(r"^#[a-z][a-z0-9_]*(\s*\+\s*[a-z][a-z0-9_]*)*$", re.IGNORECASE)
#: How far down a sheet the hashtag row is looked for.
LOOK_DOWN = 25


def _joined(values: Iterable[str]) -> str:
    return "; ".join(values)


#: The activity's own columns, read as values (HXL tag → field).
FIELDS = {
    "#activity+code": "external_id",
    "#activity+name": "title",
    "#description": "description",
    "#activity+type+code": "modality",
    "#status+code": "status",
    "#currency": "currency",
    "#meta+confidentiality": "confidentiality",
    "#meta+source": "source",
}
ROLE_TAGS = {
    role: f"#org+{'impl' if role == 'implementing' else 'funder' if role == 'funding' else role}"
    for role in ROLES
}
#: Activities read at a time, each with its organizations, areas, States and regions.
CHUNK = 2000


def export(activities_qs: Any, organizations: set[int]) -> Iterator[str]:
    """The CSV, a chunk of rows at a time: the header, the hashtag row, one row per activity.
    Providers the reader may not see are not named.

    Read as values, with each chunk's links in one query per kind and the few States, regions,
    areas and organizations they name looked up once: building a model instance for each
    activity and each of its links took most of the time (some 1,400 activities a second)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def flushed() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow([header for header, _tag, _c in COLUMNS])
    writer.writerow([tag for _h, tag, _c in COLUMNS])
    yield "\ufeff" + flushed()
    names = _Names()
    dates = [(tag, name, f"{name}_precision") for _h, tag, name in COLUMNS if name in Activity.DATE_FIELDS]
    fields = ["pk", *FIELDS.values(), "budget", *(d[1] for d in dates), *(d[2] for d in dates)]
    chunk: list[dict[str, Any]] = []
    for values in activities_qs.order_by("pk").values(*fields).iterator(chunk_size=CHUNK):
        chunk.append(values)
        if len(chunk) == CHUNK:
            _write_chunk(writer, chunk, organizations, names, dates)
            chunk = []
            yield flushed()
    if chunk:
        _write_chunk(writer, chunk, organizations, names, dates)
        yield flushed()


class _Names:
    """What a row names of a State, region, area or organization, read once per export."""

    def __init__(self) -> None:
        self.states: dict[int, tuple[str, str]] = {}
        self.regions: dict[int, tuple[str, str]] = {}
        self.areas: dict[int, tuple[str, str]] = {}
        self.read_links({}, {}, {}, everything=True)
        self.organizations: dict[int, str] = {}

    def read_links(
        self,
        states: dict[int, list[int]],
        regions: dict[int, list[int]],
        areas: dict[int, list[int]],
        everything: bool = False,
    ) -> None:
        """The States, regions and areas a chunk links to that were not read yet (one made while a
        long export is written), or `everything` at the start."""
        from coopmatrix.geo.models import State

        for known, linked, model, fields in (
            (self.states, states, State, ("pk", "code", "name_en")),
            (self.regions, regions, Region, ("pk", "m49", "name")),
            (self.areas, areas, ThematicArea, ("pk", "code", "name")),
        ):
            rows = model.objects.all()
            if not everything:
                missing = {pk for keys in linked.values() for pk in keys} - known.keys()
                if not missing:
                    continue
                rows = rows.filter(pk__in=missing)
            known.update((pk, (str(code), name)) for pk, code, name in rows.values_list(*fields))

    def organization(self, pk: int) -> str:
        return self.organizations[pk]

    def read_organizations(self, keys: Iterable[int]) -> None:
        """The codes of the organizations a chunk names that were not read yet, in one query."""
        missing = set(keys) - set(self.organizations)
        if missing:
            self.organizations.update(Organization.objects.filter(pk__in=missing).values_list("pk", "code"))


def _of_chunk(ids: list[int]) -> dict[str, Any]:
    """The condition on `activity_id` for a chunk of keys in order: their range when the chunk
    fills most of it (the whole matrix, a broad filter), else the keys themselves. Thousands of
    keys in a list cost more to send than the rows of the few activities between them."""
    if ids[-1] - ids[0] < 2 * len(ids):
        return {"activity_id__gte": ids[0], "activity_id__lte": ids[-1]}
    return {"activity_id__among": ids}


def _links(through: Any, column: str, ids: list[int], ordering: list[Any]) -> dict[int, list[int]]:
    """Each activity's linked keys, in the order the linked model lists them (the rows of
    activities outside the chunk that its range may bring are never asked for)."""
    found: dict[int, list[int]] = {}
    rows = through.objects.filter(**_of_chunk(ids)).order_by("activity_id", *ordering)
    for activity, linked in rows.values_list("activity_id", column):
        found.setdefault(activity, []).append(linked)
    return found


def recipients_and_areas(ids: list[int]) -> tuple[dict[int, list[int]], ...]:
    """The keys of the States, regions and thematic areas of a chunk of activities (sorted by key),
    each in the order its model lists them: one query each, for the exports that write them."""
    from django.db.models.functions import Lower

    return (
        _links(Activity.recipient_states.through, "state_id", ids, [Lower("state__name_en")]),
        _links(Activity.recipient_regions.through, "region_id", ids, ["region__m49"]),
        _links(
            Activity.thematic_areas.through,
            "thematicarea_id",
            ids,
            ["thematicarea__order", "thematicarea__name"],
        ),
    )


def _write_chunk(
    writer: Any,
    chunk: list[dict[str, Any]],
    organizations: set[int],
    names: _Names,
    dates: list[tuple[str, str, str]],
) -> None:

    from coopmatrix.core.dates import partial_text
    from coopmatrix.matrix.models import ActivityProvider

    ids = [values["pk"] for values in chunk]
    states, regions, areas = recipients_and_areas(ids)
    names.read_links(states, regions, areas)
    providers: dict[int, dict[str, list[str]]] = {}
    roles = ActivityProvider.objects.filter(**_of_chunk(ids))
    named = [
        row
        for row in roles.order_by("pk").values_list("activity_id", "role", "organization_id")
        if row[2] in organizations  # one the reader may not see is not named
    ]
    names.read_organizations(row[2] for row in named)
    for activity, role, organization in named:
        providers.setdefault(activity, {}).setdefault(role, []).append(names.organization(organization))
    for values in chunk:
        pk = values["pk"]
        row = {tag: values[field] or "" for tag, field in FIELDS.items()}
        given = providers.get(pk, {})
        row.update({tag: _joined(given.get(role, ())) for role, tag in ROLE_TAGS.items()})
        linked_areas = [names.areas[a] for a in areas.get(pk, ())]
        linked_states = [names.states[s] for s in states.get(pk, ())]
        linked_regions = [names.regions[r] for r in regions.get(pk, ())]
        row["#sector+code"] = _joined(code for code, _name in linked_areas)
        row["#sector+name"] = _joined(name for _code, name in linked_areas)
        row["#country+code"] = _joined(code for code, _name in linked_states)
        row["#country+name"] = _joined(name for _code, name in linked_states)
        row["#region+code"] = _joined(code for code, _name in linked_regions)
        row["#region+name"] = _joined(name for _code, name in linked_regions)
        for tag, name, precision in dates:
            row[tag] = partial_text(values[name], values[precision])
        row["#value+budget"] = "" if values["budget"] is None else str(values["budget"])
        writer.writerow([row[tag] for _h, tag, _c in COLUMNS])


# --- in ------------------------------------------------------------------------------------------


def _key(tag: str) -> tuple[str, frozenset[str]]:
    """A hashtag as (name, attributes), whatever its spacing and case: "#Org +Impl" is #org+impl."""
    name, *attributes = [part.strip().lower() for part in tag.strip().split("+")]
    return name, frozenset(a for a in attributes if a)


#: What each hashtag (name and the attributes it must carry) is read into; the first that
#: matches a column wins, most attributes first.
READ = sorted(
    [(_key(tag), column) for _h, tag, column in COLUMNS if column]
    + [
        ((("#org", frozenset())), "implementing"),
        ((("#sector", frozenset())), "thematic_areas"),
        ((("#country", frozenset())), "recipient_states"),
        ((("#activity", frozenset())), "title"),
        ((("#status", frozenset())), "status"),
    ],
    key=lambda item: -len(item[0][1]),
)


def _column(tag: str) -> str:
    name, attributes = _key(tag)
    for (wanted, needed), column in READ:
        if name == wanted and needed <= attributes:
            return column
    return ""


def raw_rows(content: bytes, filename: str, notes: NoteTaker) -> list[list[str]]:
    """Every row of a CSV or XLSX file as text cells (an XLSX's first sheet)."""
    if content[:4] == b"PK\x03\x04":
        workbook = spreadsheets.open_workbook(content)
        try:
            sheet = workbook.worksheets[0]
            return [
                ["" if v is None else spreadsheets.cell_text(v) for v in row]
                for row in sheet.iter_rows(values_only=True, max_row=activities.MAX_ROWS + LOOK_DOWN)
            ]
        finally:
            workbook.close()
    text = spreadsheets._text_of(content, filename or "the file", notes)
    first = text.readline(64 * 1024)
    text.seek(0)
    delimiter = max((",", ";", "\t"), key=first.count)
    try:
        return [[cell.strip() for cell in row] for row in csv.reader(text, delimiter=delimiter)]
    except csv.Error as exc:
        raise FileRefused(f"{filename or 'the file'} cannot be read as CSV ({exc})") from exc


def hashtag_row(rows: list[list[str]], name: str) -> int:
    """The index of the hashtag row, or FileRefused saying why none was found."""
    for index, row in enumerate(rows[:LOOK_DOWN]):
        cells = [c for c in row if c]
        if cells and all(TAG.match(c) for c in cells):
            return index
    for index, row in enumerate(rows[:LOOK_DOWN]):
        cells = [c for c in row if c]
        if cells and all(TAG.match("#" + c) for c in cells) and any("+" in c for c in cells):
            raise FileRefused(
                f"{name}, line {index + 1}: its cells read like HXL hashtags without their '#' "
                f"({', '.join(cells[:3])} …): write them as #{cells[0]}"
            )
    raise FileRefused(
        f"{name} has no HXL hashtag row in its first {LOOK_DOWN} lines: add a row of hashtags (#org, "
        "#activity+name, #country+code …) under the header, or use the activity template"
    )


class Names:
    """Organizations, areas, States and regions the user may name, by code or by name."""

    def __init__(self, user: Any) -> None:
        self.organizations: dict[str, str] = {}
        for o in Organization.objects.visible_to(user):
            for text in (o.code, o.name, o.acronym):
                if text:
                    self.organizations.setdefault(text.casefold(), o.code)
        self.areas = {}
        for a in ThematicArea.objects.all():
            self.areas[a.code.casefold()] = a.code
            self.areas.setdefault(a.name.casefold(), a.code)
        self.regions = {}
        for r in Region.objects.all():
            self.regions[str(r.m49)] = str(r.m49)
            self.regions.setdefault(r.name.casefold(), str(r.m49))


def _split(text: str) -> list[str]:
    return [part.strip() for part in re.split(r"[;|]", text) if part.strip()]


def check(
    user: Any,
    content: bytes,
    filename: str = "",
    progress: Callable[[int], None] | None = None,
) -> activities.Preview:
    """Read a 3W sheet by its hashtags and check its rows as the activity importer does."""
    preview = activities.Preview()
    name = filename or "file"
    if not activities.may_import(user):
        preview.errors.append(RowError(name, 0, "", "", activities.REFUSED))
        return preview
    try:
        rows = raw_rows(content, filename, preview.notes)
        tag_index = hashtag_row(rows, name)
    except FileRefused as exc:
        preview.errors.append(RowError(name, 0, "", "", str(exc)))
        return preview
    tags = rows[tag_index]
    columns: dict[int, str] = {}
    for index, tag in enumerate(tags):
        if not tag:
            continue
        column = _column(tag)
        if not column:
            preview.notes.append(
                f"{name}: column {index + 1} ({tag}) is not read: the matrix has no place for it"
            )
        elif column in columns.values():
            preview.notes.append(
                f"{name}: column {index + 1} ({tag}) is not read: an earlier column gives it"
            )
        else:
            columns[index] = column
    preview.notes.append(f"{name}: the hashtags are on line {tag_index + 1}; the rows below it are read")
    for needed, tag in (("title", "#activity+name"), ("external_id", "#activity+code")):
        if needed not in columns.values():
            preview.errors.append(
                RowError(name, tag_index + 1, tag, "", f"no {tag} column: every activity needs one")
            )
    if preview.errors:
        return preview
    names = Names(user)
    read: list[tuple[int, dict[str, str]]] = []
    for number, cells in enumerate(rows[tag_index + 1 :], start=tag_index + 2):
        if not any(cells):
            continue
        row = {column: (cells[i] if i < len(cells) else "") for i, column in columns.items()}
        read.append((number, _template_row(row, number, name, names, preview.errors, tags, columns)))
    _keep_what_the_sheet_does_not_say(user, read, set(columns.values()))
    if preview.errors:
        return preview
    importing.expect(progress, len(read))
    return activities.check_rows(user, read, name, preview, progress, modality_required=False)


def _template_row(
    row: dict[str, str],
    number: int,
    name: str,
    names: Names,
    errors: list[RowError],
    tags: list[str],
    columns: dict[int, str],
) -> dict[str, str]:
    """A 3W row in the template's columns: names read as codes, or an error naming the cell."""
    tag_of = {column: tags[i] for i, column in columns.items()}
    out = {k: v for k, v in row.items() if k not in ROLES}
    providers = []
    for role in ROLES:
        for value in _split(row.get(role, "")):
            code = names.organizations.get(value.casefold())
            if code is None:
                errors.append(
                    RowError(
                        name, number, tag_of[role], value, "no organization of this code, name or acronym"
                    )
                )
            else:
                providers.append(f"{code}:{role}")
    out["providers"] = _joined(providers)
    for column, known, what in (
        ("thematic_areas", names.areas, "no thematic area of this code or name"),
        ("recipient_regions", names.regions, "no M49 region of this code or name"),
    ):
        codes = []
        for value in _split(row.get(column, "")):
            code = known.get(value.casefold())
            if code is None:
                errors.append(RowError(name, number, tag_of[column], value, what))
            else:
                codes.append(code)
        if column in row:
            out[column] = _joined(codes)
    if "recipient_states" in row:
        out["recipient_states"] = _joined(_split(row["recipient_states"]))
    # Statuses and modalities by code or by their label, whatever the case ("Ongoing").
    for column, choices in (("status", Activity.Status.choices), ("modality", Activity.Modality.choices)):
        if column not in row:
            continue
        value = row[column].strip()
        labels = {str(label).casefold(): code for code, label in choices} | {
            code: code for code, _l in choices
        }
        out[column] = labels.get(value.casefold(), value)
    return out


def _keep_what_the_sheet_does_not_say(
    user: Any, rows: list[tuple[int, dict[str, str]]], given: set[str]
) -> None:
    """An activity the sheet updates keeps what the sheet has no column for (its programme, its
    instruments, the providers of a role the sheet does not list): a 3W sheet says less than the
    matrix holds, and its silence is not a deletion."""
    from coopmatrix.core.querysets import visible_ids
    from coopmatrix.matrix.exporters import ACTIVITY_COLUMNS, activity_rows
    from coopmatrix.matrix.models import Programme
    from coopmatrix.treaties.models import Instrument

    keys = [row.get("external_id") for _n, row in rows if row.get("external_id")]
    kept = activity_rows(
        Activity.objects.visible_to(user).filter(external_id__in=keys),
        visible_ids(user, Organization),
        visible_ids(user, Programme),
        visible_ids(user, Instrument),
    )
    existing = {
        a["external_id"]: {name: str(get(a)) for name, get in ACTIVITY_COLUMNS} | {"_": a} for a in kept
    }
    roles_given = {role for role in ROLES if role in given}
    for _number, row in rows:
        before = existing.get(row.get("external_id", ""))
        if before is None:
            continue
        for name, value in before.items():
            if name not in ("_", "providers") and name not in given and name not in row:
                row[name] = value
        if roles_given != set(ROLES):
            others = [f"{code}:{role}" for code, role in before["_"]["providers"] if role not in roles_given]
            row["providers"] = _joined([*_split(row.get("providers", "")), *others])


@transaction.atomic
def import_file(
    user: Any, content: bytes, filename: str = "", progress: Callable[[int], None] | None = None
) -> activities.Preview:
    """Check and, when every row is right, write, in one transaction."""
    preview = check(user, content, filename, progress)
    if preview.ok:
        importing.step(progress, f"Writing {len(preview.planned)} activities")
        activities.write(preview)
    return preview
