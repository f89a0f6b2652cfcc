"""Write matrix activities as one IATI 2.03 `iati-activities` file, streamed a chunk at a time.

What the matrix holds goes out as IATI says it (the mapping of importers.py, read backwards); what
an activity's IATI record kept as its publisher gave it (every language of the title, budgets,
transactions, documents, contacts, regions and sectors as given) goes out unchanged, so that a
file exported and imported again gives back the same activities. Elements are written in the
order the 2.03 schema requires. Lossy where IATI has no place for coopmatrix's words: a "partner"
provider goes out as implementing (IATI has no partner role), a date known to the month or year
goes out as its first day (a start) or last day (an end).
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
from collections import defaultdict
from collections.abc import Generator, Iterator
from decimal import Decimal
from typing import Any, NamedTuple

import orjson
from django.db import connection, models
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponseBadRequest, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.utils import timezone
from django.utils.translation import gettext as _

from coopmatrix.core.collecting import fewer_collections
from coopmatrix.core.dates import PartialDate
from coopmatrix.core.querysets import visible_ids
from coopmatrix.core.readahead import rows_ahead
from coopmatrix.directory.models import Organization
from coopmatrix.matrix.models import Activity, ActivityProvider

from .hxl import recipients_and_areas
from .importers import AREAS_PATH, DATES, ROLES, STATUSES, dac_regions
from .models import IatiBudget, IatiRecord, IatiTransaction

ROLE_CODES = {role: code for code, role in ROLES.items()} | {"partner": "4"}
STATUS_CODES = {
    "pipeline": "1",
    "planned": "1",
    "ongoing": "2",
    "completed": "4",
    "cancelled": "5",
    "suspended": "6",
}
#: The organization kinds as IATI's OrganisationType: governments, multilaterals, NGOs …
KIND_CODES = {
    "national_agency": "10",
    "un_entity": "40",
    "international": "40",
    "regional": "40",
    "subregional": "40",
    "financial": "40",
    "ngo": "21",
    "foundation": "60",
    "private": "70",
    "institute": "80",
    "professional": "90",
    "other": "90",
}
#: Activities written out as one piece (and on SQLite read at a time, eight queries a chunk). Read
#: so on PostgreSQL too, the benchmark's 702,516 activities took 128 s by 500 (peak 209 MB), 117 s
#: by 1,000 (230 MB) and 101 s by 2,000 (260 MB).
CHUNK = 2000
#: ... or fewer, where this many of them carry a publisher's full record (every language of the
#: title and description, some ten budgets and transactions): 2,000 of those held at once raised
#: the export's peak from 259 MB to 367 MB; by 250, it stayed at 259 MB, in the same time.
RECORDS_CHUNK = 250


def export(
    activities: QuerySet[Activity], areas_uri: str, organizations: set[int], note: str = ""
) -> Iterator[bytes]:
    """The file, in pieces: the root's opening, each activity, the root's end. `organizations`:
    the keys of those the reader may see (a provider or owner they may not see is not named).
    `note`, if any, goes into a comment at the top (a file not for publication says so)."""
    now = timezone.now().replace(microsecond=0).isoformat()
    yield b'<?xml version="1.0" encoding="UTF-8"?>\n'
    if note:
        yield _comment(note)
    yield f'<iati-activities version="2.03" generated-datetime="{now}">\n'.encode()
    rows = _streamed(activities) if connection.vendor == "postgresql" else _read(activities)
    try:
        while True:
            # The collector paced for the many short-lived objects a piece makes (core.collecting):
            # at Python's pace it was some 14 s of an export of 120,054 activities taking 46.
            with fewer_collections():
                piece = _piece(rows, organizations, areas_uri)
            if not piece:
                break
            # A piece at a time: each piece handed on costs a pass through the response's machinery.
            yield piece
    finally:
        rows.close()  # a download stopped early stops the reading (and its query) at once
    yield b"</iati-activities>\n"


def _piece(rows: Generator[dict[str, Any]], organizations: set[int], areas_uri: str) -> bytes:
    """The next CHUNK activities written, or fewer where RECORDS_CHUNK of them have an IATI record;
    nothing at the end."""
    written = []
    records = 0
    for row in rows:
        activity = _Row(row)
        providers = [p for p in activity.providers if p.organization_id in organizations]
        if not providers:
            # IATI requires a participating organization; none is made up.
            written.append(_comment(f"{_identifier(activity)} is left out: it names no provider"))
        else:
            if activity.owner_id not in organizations:
                activity.owner = None
            written.append(_activity(activity, activity.iati, areas_uri, providers).encode())
        records += activity.iati is not None
        if len(written) == CHUNK or records == RECORDS_CHUNK:
            break
    return b"".join(written)


#: What the file says of an activity itself. A day goes as its ISO text (`created`: the day it was
#: made), `updated` to the second, `budget` as its shortest decimal text: as written.
_FIELDS = (
    "pk",
    "external_id",
    "title",
    "description",
    "status",
    "currency",
    "budget",
    "period_start",
    "period_end",
    "created",
    "updated",
    "owner_id",
    *(name for date in DATES.values() for name in (date, f"{date}_precision")),
)


class _Organization(NamedTuple):
    name: str
    acronym: str
    iati_identifier: str
    kind: str
    code: str


class _Provider(NamedTuple):
    organization_id: int
    role: str
    organization: _Organization


class _State(NamedTuple):
    iso2: str
    code: str


class _Area(NamedTuple):
    code: str
    dac_code: str


class _Row:
    """An activity as the file needs it: its fields by name (those of `_FIELDS`), its owner, its
    providers, its recipient States (as the matrix lists them: by name), regions (their M49 codes)
    and thematic areas, and its IATI record. An organization is given by its key and the fields
    of `_Organization`, a State by those of `_State`, an area by those of `_Area`."""

    __slots__ = (*_FIELDS, "owner", "providers", "states", "regions", "areas", "iati")
    pk: int
    external_id: str
    title: str
    description: str
    status: str
    currency: str
    budget: str | None
    period_start: str | None
    period_end: str | None
    created: str
    updated: str
    owner_id: int | None
    owner: _Organization | None
    providers: list[_Provider]
    states: list[_State]
    regions: list[int]
    areas: list[_Area]
    iati: _Record | None

    def __init__(self, values: dict[str, Any]) -> None:
        for name in _FIELDS:
            setattr(self, name, values[name])
        self.owner = _Organization(*values["owner"]) if values["owner"] else None
        self.providers = [_Provider(p[0], p[1], _Organization(*p[2:])) for p in values["providers"]]
        self.states = [_State(*state) for state in values["states"]]
        self.regions = values["regions"]
        self.areas = [_Area(*area) for area in values["areas"]]
        self.iati = _Record(values["iati"]) if values["iati"] else None


_ORGANIZATION_FIELDS = _Organization._fields


def _read(activities: QuerySet[Activity]) -> Generator[dict[str, Any]]:
    """The activities, in order, as `_Row` takes them: read through the ORM, CHUNK at a time, or
    fewer where RECORDS_CHUNK of them have an IATI record. Their keys are read first: the file is
    written from what was there when it began."""
    named = _Named()
    chunk: list[int] = []
    records = 0
    for pk, record in list(activities.order_by("pk").values_list("pk", "iati")):
        chunk.append(pk)
        records += record is not None
        if len(chunk) == CHUNK or records == RECORDS_CHUNK:
            yield from _values(chunk, named)
            chunk, records = [], 0
    if chunk:
        yield from _values(chunk, named)


def _values(keys: list[int], named: _Named) -> list[dict[str, Any]]:
    """Some activities, as `_Row` takes them, read through the ORM: each kind of what they hang on
    in one query (Django's prefetching made a query set for each activity and each link, most of
    an export's time)."""
    rows = [
        dict(zip(_FIELDS, (_written(value) for value in values), strict=True))
        for values in Activity.objects.filter(pk__among=keys).order_by("pk").values_list(*_FIELDS)
    ]
    ids = [row["pk"] for row in rows]
    records = _records(ids)
    providers = list(
        ActivityProvider.objects.filter(activity_id__among=ids)
        .order_by("pk")
        .values_list("activity_id", "organization_id", "role")
    )
    named.read_organizations(({row["owner_id"] for row in rows} | {p[1] for p in providers}) - {None})
    organizations = named.organizations
    listed: dict[int, list[list[Any]]] = defaultdict(list)
    for activity, key, role in providers:
        listed[activity].append([key, role, *organizations[key]])
    states, regions, areas = (
        named.linked(relation, linked)
        for relation, linked in zip(
            (Activity.recipient_states, Activity.recipient_regions, Activity.thematic_areas),
            recipients_and_areas(ids),
            strict=True,
        )
    )
    for row in rows:
        pk = row["pk"]
        row["created"] = row["created"][:10]
        row["owner"] = organizations[row["owner_id"]] if row["owner_id"] else None
        row["providers"] = listed[pk]
        row["states"] = [[state.iso2, state.code] for state in states.get(pk, [])]
        row["regions"] = [region.m49 for region in regions.get(pk, [])]
        row["areas"] = [[area.code, area.dac_code] for area in areas.get(pk, [])]
        row["iati"] = records.get(pk)
    return rows


class _Named:
    """The States, regions and thematic areas, read once an export; the organizations as the
    activities name them (the fields of `_Organization`, by key)."""

    def __init__(self) -> None:
        from coopmatrix.geo.models import Region, State
        from coopmatrix.vocabulary.models import ThematicArea

        self.linked_models: dict[Any, dict[int, Any]] = {
            State: {s.pk: s for s in State.objects.all()},
            Region: {r.pk: r for r in Region.objects.all()},
            ThematicArea: {a.pk: a for a in ThematicArea.objects.all()},
        }
        self.organizations: dict[int, list[Any]] = {}

    def read_organizations(self, keys: set[int]) -> None:
        if missing := keys - self.organizations.keys():
            for values in Organization.objects.filter(pk__among=list(missing)).values_list(
                "pk", *_ORGANIZATION_FIELDS
            ):
                self.organizations[values[0]] = list(values[1:])

    def linked(self, relation: Any, linked: dict[int, list[int]]) -> dict[int, list[Any]]:
        """Each activity's linked records, from their keys."""
        model = relation.field.related_model
        named = self.linked_models[model]
        # One made while the file is written (a long export) is read then.
        if missing := {pk for others in linked.values() for pk in others} - named.keys():
            named.update(model.objects.in_bulk(missing))
        return {activity: [named[pk] for pk in others] for activity, others in linked.items()}


#: What the file says of a publisher's record, its budgets and its transactions. A budget and a
#: transaction are each a list of their fields' values in this order, a day as its ISO text and
#: an amount as its shortest decimal text (as written).
_RECORD_FIELDS = (
    "pk",
    "language",
    "default_currency",
    "reporting_org",
    "titles",
    "descriptions",
    "participating",
    "status",
    "countries",
    "regions",
    "sectors",
    "related",
    "documents",
    "contacts",
)
_BUDGET_FIELDS = ("type", "status", "period_start", "period_end", "value", "currency", "value_date")
_TRANSACTION_FIELDS = (
    "ref",
    "type",
    "date",
    "value",
    "currency",
    "value_date",
    "description",
    "provider",
    "receiver",
)


class _Record:
    """An activity's IATI record as the file needs it (the fields of `_RECORD_FIELDS`), with its
    budgets and transactions."""

    __slots__ = (*_RECORD_FIELDS, "budgets", "transactions")
    pk: int
    language: str
    default_currency: str
    reporting_org: dict[str, Any]
    titles: dict[str, str]
    descriptions: list[Any]
    participating: list[dict[str, Any]]
    status: str
    countries: list[dict[str, Any]]
    regions: list[dict[str, Any]]
    sectors: list[dict[str, Any]]
    related: list[Any]
    documents: list[dict[str, Any]]
    contacts: list[dict[str, Any]]
    budgets: list[list[Any]]
    transactions: list[list[Any]]

    def __init__(self, values: dict[str, Any]) -> None:
        for name in self.__slots__:
            setattr(self, name, values[name])


def _records(activities: list[int]) -> dict[int, dict[str, Any]]:
    """The IATI records of these activities, by activity, read through the ORM."""
    records = {
        values[0]: dict(zip(_RECORD_FIELDS, values[1:], strict=True))
        for values in IatiRecord.objects.filter(activity_id__among=activities).values_list(
            "activity_id", *_RECORD_FIELDS
        )
    }
    keys = [values["pk"] for values in records.values()]
    budgets = _listed(IatiBudget, _BUDGET_FIELDS, keys)
    transactions = _listed(IatiTransaction, _TRANSACTION_FIELDS, keys)
    for values in records.values():
        values["budgets"] = budgets[values["pk"]]
        values["transactions"] = transactions[values["pk"]]
    return records


def _listed(model: Any, fields: tuple[str, ...], records: list[int]) -> dict[int, list[list[Any]]]:
    grouped: dict[int, list[list[Any]]] = defaultdict(list)
    rows = model.objects.filter(record_id__among=records).order_by("pk").values_list("record_id", *fields)
    for record, *values in rows:
        grouped[record].append([_written(value) for value in values])
    return grouped


def _written(value: Any) -> Any:
    """A value as `_gathered` has PostgreSQL write it: a moment in UTC to the second, a day as its
    ISO text, an amount as its shortest decimal text; all else as read."""
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).replace(microsecond=0).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return _decimal(value)
    return value


def _streamed(activities: QuerySet[Activity]) -> Generator[dict[str, Any]]:
    """What `_read` reads, each activity and all it holds (its IATI record, budgets, transactions,
    owner, providers, recipients, areas) made one JSON text by PostgreSQL, all in one query whose
    rows are read ahead while the file is written (core.readahead): PostgreSQL gathers the next
    activities on one core while this process writes on the other. Read through the ORM a chunk
    at a time, each side waiting for the other, 120,054 activities took 28 s, 20 of them this
    process's work. The keys are read first, and the one query reads what was there when it
    began."""
    keys = list(activities.order_by("pk").values_list("pk", flat=True))
    if not keys:
        return
    rows = rows_ahead(_gathering_sql(), [keys])
    try:
        for (text,) in rows:
            yield _loads(text)
    finally:
        rows.close()  # stopped early: the reading thread stops, the query is cancelled


@functools.cache
def _gathering_sql() -> str:
    """`_streamed`'s query: an activity a row, as one JSON text holding what `_values` reads."""
    quote = connection.ops.quote_name

    def column(model: Any, name: str, alias: str) -> str:
        field = model._meta.pk if name == "pk" else model._meta.get_field(name)
        written = f"{alias}.{quote(field.column)}"
        if isinstance(field, models.DecimalField):
            # An amount's shortest text, as Python's Decimal.normalize() gives it: 1000.0000000000
            # becomes 1000, never 1E+3.
            return f"trim_scale({written})::text"
        if isinstance(field, models.DateTimeField):
            # As _written gives it, whatever the connection's time zone.
            moment = f"{written} AT TIME ZONE 'UTC'"
            if name == "created":
                return f"({moment})::date"
            return f"""to_char({moment}, 'YYYY-MM-DD"T"HH24:MI:SS"+00:00"')"""
        return written

    def pairs(model: Any, fields: tuple[str, ...], alias: str) -> str:
        return ", ".join(f"'{name}', {column(model, name, alias)}" for name in fields)

    def rows(model: Any, fields: tuple[str, ...]) -> str:
        values = ", ".join(column(model, name, "x") for name in fields)
        return (
            f"COALESCE((SELECT json_agg(json_build_array({values}) ORDER BY x.{quote('id')}) "
            f"FROM {quote(model._meta.db_table)} x "
            f"WHERE x.{quote('record_id')} = r.{quote('id')}), '[]'::json)"
        )

    record = (
        f"SELECT json_build_object({pairs(IatiRecord, _RECORD_FIELDS, 'r')}, "
        f"'budgets', {rows(IatiBudget, _BUDGET_FIELDS)}, "
        f"'transactions', {rows(IatiTransaction, _TRANSACTION_FIELDS)}) "
        f"FROM {quote(IatiRecord._meta.db_table)} r WHERE r.{quote('activity_id')} = a.{quote('id')}"
    )
    organization = ", ".join(column(Organization, name, "o") for name in _ORGANIZATION_FIELDS)
    organizations = quote(Organization._meta.db_table)
    owner = f"SELECT json_build_array({organization}) FROM {organizations} o WHERE o.id = a.owner_id"
    providers = (
        f"COALESCE((SELECT json_agg(json_build_array(p.organization_id, p.role, {organization}) "
        f"ORDER BY p.id) FROM {quote(ActivityProvider._meta.db_table)} p "
        f"JOIN {organizations} o ON o.id = p.organization_id WHERE p.activity_id = a.id), '[]'::json)"
    )

    def linked(name: str, values: str, ordering: str) -> str:
        """An activity's States, regions or areas, ordered as `recipients_and_areas` orders them."""
        field = Activity._meta.get_field(name)
        through = quote(field.remote_field.through._meta.db_table)  # type: ignore[union-attr]
        return (
            f"COALESCE((SELECT json_agg({values} ORDER BY {ordering}) FROM {through} l "
            f"JOIN {quote(field.related_model._meta.db_table)} t "  # type: ignore[union-attr]
            f"ON t.id = l.{quote(field.m2m_reverse_name())} "  # type: ignore[union-attr]
            f"WHERE l.{quote(field.m2m_column_name())} = a.id), '[]'::json)"  # type: ignore[union-attr]
        )

    areas_order = 't."order", t.name'
    fields = [
        pairs(Activity, _FIELDS, "a"),
        f"'owner', ({owner})",
        f"'providers', {providers}",
        f"'states', {linked('recipient_states', 'json_build_array(t.iso2, t.code)', 'lower(t.name_en)')}",
        f"'regions', {linked('recipient_regions', 't.m49', 't.m49')}",
        f"'areas', {linked('thematic_areas', 'json_build_array(t.code, t.dac_code)', areas_order)}",
        f"'iati', ({record})",
    ]
    return (
        f"SELECT json_build_object({', '.join(fields)})::text "
        f"FROM {quote(Activity._meta.db_table)} a WHERE a.id = ANY(%s) ORDER BY a.id"
    )


def _loads(text: str) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        # An integer beyond 64 bits, which orjson refuses and the standard library reads.
        return json.loads(text)


def _comment(text: str) -> bytes:
    """An XML comment saying `text`: a comment may hold neither "--" nor a character XML cannot
    hold, and an identifier may have both (a closing "-" is kept off "-->" by the space)."""
    text = _NOT_XML.sub(" ", text)
    while "--" in text:
        text = text.replace("--", "- -")
    return f"<!-- {text} -->\n".encode()


#: Characters XML 1.0 has no place for, as a paste from a PDF brings them (a form feed between
#: pages, a vertical tab): each goes out as a space, where lxml refused the whole file.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")
#: Two spaces a level, as lxml's pretty printer indents.
_PAD = ["  " * depth for depth in range(8)]

#: An activity's elements, each a line of text at its depth: what lxml's pretty printer writes
#: for the same tree, byte for byte, without the tree. Made as lxml elements, then serialized,
#: an activity took 196 µs of Python time; written so, 112-115 µs.
_Lines = list[str]


#: What a text or an attribute's value holds that is written otherwise (escaped, or a control
#: character as a space): most hold none, and are written as they are after one search.
_SPECIAL_IN_TEXT = re.compile("[\x00-\x08\x0b-\x1f&<>]")
_SPECIAL_IN_ATTRIBUTE = re.compile('[\x00-\x1f&<>"]')


def _text(value: str) -> str:
    if _SPECIAL_IN_TEXT.search(value) is None:
        return value
    value = _NOT_XML.sub(" ", value)
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")


def _quoted(value: str) -> str:
    if _SPECIAL_IN_ATTRIBUTE.search(value) is None:
        return value
    return _text(value).replace('"', "&quot;").replace("\n", "&#10;").replace("\t", "&#9;")


def _attribute(name: str, value: Any) -> str:
    """One attribute as text, left out when it has no value."""
    if not value:
        return ""
    return f' {name}="{_quoted(value if type(value) is str else str(value))}"'


def _code(value: Any) -> str:
    """A code attribute: written even when empty (the schema requires it, and a file may give it
    so), left out only where there is none."""
    if value is None:
        return ""
    return f' code="{_quoted(value if type(value) is str else str(value))}"'


def _lang(lang: str, language: str) -> str:
    """xml:lang for a text in `lang`, left out where that is the file's language."""
    return f' xml:lang="{_quoted(lang)}"' if lang and lang != language else ""


def _leaf(out: _Lines, depth: int, tag: str, text: str | None = None, attributes: str = "") -> None:
    if text is None:
        out.append(f"{_PAD[depth]}<{tag}{attributes}/>\n")
    else:
        out.append(f"{_PAD[depth]}<{tag}{attributes}>{_text(text)}</{tag}>\n")


def _parent(out: _Lines, depth: int, tag: str, attributes: str, children: _Lines) -> None:
    if children:
        out.append(f"{_PAD[depth]}<{tag}{attributes}>\n")
        out.extend(children)
        out.append(f"{_PAD[depth]}</{tag}>\n")
    else:
        out.append(f"{_PAD[depth]}<{tag}{attributes}/>\n")


def _narratives(
    out: _Lines, depth: int, tag: str, texts: dict[str, str], language: str, attributes: str = ""
) -> None:
    """An element of narratives, one a language; an empty one where there is no text."""
    pad = _PAD[depth]
    out.append(f"{pad}<{tag}{attributes}>\n")
    for lang, text in texts.items():
        out.append(f"{pad}  <narrative{_lang(lang, language)}>{_text(text)}</narrative>\n")
    if not texts:
        out.append(f"{pad}  <narrative></narrative>\n")
    out.append(f"{pad}</{tag}>\n")


def _identifier(activity: _Row) -> str:
    # An activity recorded without an identifier of its own goes out under coopmatrix's key.
    return activity.external_id or f"coopmatrix-activity-{activity.pk}"


def _activity(
    activity: _Row,
    record: _Record | None,
    areas_uri: str,
    providers: list[_Provider],
) -> str:
    # The language the publisher gave; coopmatrix does not know which its own records are in.
    language = record.language if record else ""
    currency = activity.currency or (record.default_currency if record else "")
    attributes = f' last-updated-datetime="{activity.updated}"'
    if language:
        attributes += f' xml:lang="{_quoted(language)}"'
    if currency:
        attributes += f' default-currency="{_quoted(currency)}"'
    out: _Lines = []
    _leaf(out, 1, "iati-identifier", _identifier(activity))
    _reporting_org(out, activity, record, language)
    titles = dict(record.titles) if record else {}
    titles[_first_language(titles, language)] = activity.title
    _narratives(out, 1, "title", titles, language)
    _descriptions(out, activity, record, language)
    _participating(out, providers, record, language)
    _status(out, activity, record)
    _dates(out, activity)
    for contact in record.contacts if record else []:
        _contact(out, contact, language)
    _countries(out, activity.states, record)
    _regions(out, activity.regions, record)
    _sectors(out, activity.areas, record, areas_uri)
    _budgets(out, activity, record.budgets if record else [])
    for transaction in record.transactions if record else []:
        _transaction(out, transaction, language)
    for document in record.documents if record else []:
        _document(out, document, language)
    for kind, ref in record.related if record else []:
        _leaf(out, 1, "related-activity", None, _attribute("ref", ref) + _attribute("type", kind))
    whole: _Lines = []
    _parent(whole, 0, "iati-activity", attributes, out)
    return "".join(whole)


def _first_language(texts: dict[str, str], language: str) -> str:
    """The language the activity's own title is in: the file's default, else the first given."""
    for lang in (language, "en", ""):
        if lang in texts:
            return lang
    return next(iter(texts), language)


def _reporting_org(out: _Lines, activity: _Row, record: _Record | None, language: str) -> None:
    if record and record.reporting_org:
        given = record.reporting_org
        attributes = _attribute("ref", given.get("ref", "")) + _attribute("type", given.get("type", ""))
        _org(out, 1, "reporting-org", attributes, given.get("name", {}), language)
        return
    owner = activity.owner
    name = {language: owner.name} if owner else {language: "coopmatrix"}
    ref = (owner.iati_identifier if owner else "") or (f"coopmatrix-{owner.code}" if owner else "coopmatrix")
    kind = KIND_CODES.get(owner.kind, "90") if owner else "90"
    _org(out, 1, "reporting-org", _attribute("ref", ref) + _attribute("type", kind), name, language)


def _org(out: _Lines, depth: int, tag: str, attributes: str, name: dict[str, str], language: str) -> None:
    """An organisation and its name in each language given (none: an empty element)."""
    if name:
        _narratives(out, depth, tag, name, language, attributes)
    else:
        out.append(f"{_PAD[depth]}<{tag}{attributes}/>\n")


def _descriptions(out: _Lines, activity: _Row, record: _Record | None, language: str) -> None:
    given = [(kind, dict(texts)) for kind, texts in record.descriptions] if record else []
    general = next((texts for kind, texts in given if kind == "1"), None)
    if general is not None:
        general[_first_language(general, language)] = activity.description
    elif activity.description and not any(activity.description in texts.values() for _k, texts in given):
        # The import showed another type's text when the file had no general one (importers._data).
        given.insert(0, ("1", {language: activity.description}))
    written = False
    for kind, texts in given:
        if any(texts.values()):
            shown = {k: v for k, v in texts.items() if v}
            kept = "" if kind == "1" else f' type="{_quoted(kind)}"'
            _narratives(out, 1, "description", shown, language, kept)
            written = True
    if not written:
        # The schema asks for one; an activity recorded without a description has an empty one.
        _narratives(out, 1, "description", {}, language)


def _participating(out: _Lines, providers: list[_Provider], record: _Record | None, language: str) -> None:
    given = list(record.participating) if record else []
    for provider in providers:
        organization = provider.organization
        role = ROLE_CODES[provider.role]
        match = _given_org(given, organization, role)
        if match is not None:
            given.remove(match)
            attributes = (
                _attribute("ref", match.get("ref", ""))
                + _attribute("type", match.get("type", ""))
                + _attribute("role", role)
                + _attribute("activity-id", match.get("activity_id", ""))
            )
            _org(out, 1, "participating-org", attributes, match.get("name", {}), language)
        else:
            attributes = (
                _attribute("ref", organization.iati_identifier)
                + _attribute("type", KIND_CODES.get(organization.kind, "90"))
                + _attribute("role", role)
            )
            _org(out, 1, "participating-org", attributes, {language: organization.name}, language)


def _given_org(given: list[dict[str, Any]], organization: Any, role: str) -> dict[str, Any] | None:
    """The file's participating-org that became this provider, if it is still there."""
    names = {organization.name.casefold(), (organization.acronym or "").casefold()} - {""}
    for item in given:
        if item.get("role") != role:
            continue
        ref = (item.get("ref") or "").lower()
        if ref and ref == organization.iati_identifier.lower():
            return item
        if any(text.casefold() in names for text in item.get("name", {}).values()):
            return item
    return None


def _status(out: _Lines, activity: _Row, record: _Record | None) -> None:
    code = STATUS_CODES[activity.status]
    if record and record.status and STATUSES.get(record.status) == activity.status:
        code = record.status  # finalisation (3) and closed (4) both read as completed
    _leaf(out, 1, "activity-status", None, f' code="{_quoted(code)}"')


def _dates(out: _Lines, activity: _Row) -> None:
    written = False
    for code, name in DATES.items():
        value = getattr(activity, name)
        if value is None:
            continue
        precision = getattr(activity, f"{name}_precision")
        if name.endswith("_end") and precision:
            value = PartialDate(dt.date.fromisoformat(value), precision).last_day.isoformat()
        # Written directly: a code of DATES and a day's ISO text need no escaping.
        _leaf(out, 1, "activity-date", None, f' type="{code}" iso-date="{value}"')
        written = True
    if not written:
        # The schema asks for at least one date: the day the record was made stands in, as a
        # planned start would mislead.
        _leaf(out, 1, "activity-date", None, f' type="1" iso-date="{activity.created}"')


def _contact(out: _Lines, contact: dict[str, Any], language: str) -> None:
    children: _Lines = []
    for tag, key in (
        ("organisation", "organisation"),
        ("department", "department"),
        ("person-name", "person"),
    ):
        if contact.get(key):
            _narratives(children, 2, tag, contact[key], language)
    if contact.get("job_title"):
        _narratives(children, 2, "job-title", contact["job_title"], language)
    for tag in ("telephone", "email", "website"):
        if contact.get(tag):
            _leaf(children, 2, tag, contact[tag])
    if contact.get("address"):
        _narratives(children, 2, "mailing-address", contact["address"], language)
    _parent(out, 1, "contact-info", _attribute("type", contact.get("type", "")), children)


def _countries(out: _Lines, recipients: list[_State], record: _Record | None) -> None:
    given = {c["code"]: c for c in (record.countries if record else [])}
    order = list(given)
    states = sorted(
        recipients,
        # In the file's order where it gave them.
        key=lambda s: order.index(s.iso2) if s.iso2 in given else len(order),
    )
    for state in states:
        code = state.iso2 or state.code
        country = given.get(code, {})
        attributes = _code(code) + _attribute("percentage", country.get("percentage"))
        _parent(out, 1, "recipient-country", attributes, _names(country))


def _regions(out: _Lines, recipients: list[int], record: _Record | None) -> None:
    """The recipient regions (by their M49 codes), as the file gave them where it did."""
    given = list(record.regions) if record else []
    for m49 in recipients:
        match = next(
            (
                r
                for r in given
                if (r["vocabulary"] == "1" and dac_regions().get(r["code"]) == m49)
                or (r["vocabulary"] == "2" and r["code"].isdigit() and int(r["code"]) == m49)
            ),
            None,
        )
        if match is not None:
            given.remove(match)
            _coded(out, "recipient-region", match)
        else:
            # UN M49 is IATI's region vocabulary 2.
            _leaf(out, 1, "recipient-region", None, f' code="{m49}" vocabulary="2"')
    for rest in given:
        if not (rest["vocabulary"] == "1" and rest["code"] in dac_regions()) and rest["vocabulary"] != "2":
            _coded(out, "recipient-region", rest)


def _coded(out: _Lines, tag: str, given: dict[str, Any]) -> None:
    """A code kept as the file gave it (iati.Coded as JSON): a region's or a sector's."""
    attributes = (
        _code(given["code"])
        + _attribute("vocabulary", given["vocabulary"])
        + _attribute("percentage", given.get("percentage"))
        + _attribute("vocabulary-uri", given.get("uri"))
    )
    _parent(out, 1, tag, attributes, _names(given))


def _names(given: dict[str, Any]) -> _Lines:
    """The narratives a code was given with in the file (a region's, a sector's name)."""
    lines: _Lines = []
    for lang, text in (given.get("name") or {}).items():
        _leaf(lines, 2, "narrative", text, _lang(lang, ""))
    return lines


def _sectors(out: _Lines, areas: list[_Area], record: _Record | None, areas_uri: str) -> None:
    if record:
        for sector in record.sectors:
            _coded(out, "sector", sector)
        return
    for code in dict.fromkeys(area.dac_code for area in areas if area.dac_code):
        _leaf(out, 1, "sector", None, f' code="{_quoted(code)}" vocabulary="1"')
    for area in areas:
        # The matrix's own areas, so that the file reads back into the same ones.
        attributes = _code(area.code) + ' vocabulary="99"' + _attribute("vocabulary-uri", areas_uri)
        _leaf(out, 1, "sector", None, attributes)


def _budgets(out: _Lines, activity: _Row, budgets: list[list[Any]]) -> None:
    for kind, status, start, end, value, currency, value_date in budgets:
        _budget(out, kind, status, start, end, value, currency, value_date or start)
    if budgets or activity.budget is None or not (activity.period_start and activity.period_end):
        return
    start = activity.period_start
    _budget(out, "1", "1", start, activity.period_end, activity.budget, activity.currency, start)


# A budget and a transaction are written each as one text: as lines of `_leaf` and `_parent`, the
# publishers' some ten an activity were a sixth of an export's time. A day (ISO text) and an
# amount (digits) need no escaping.


def _budget(
    out: _Lines, kind: str, status: str, start: str, end: str, value: str, currency: str, on: str
) -> None:
    out.append(
        f"  <budget{_attribute('type', kind)}{_attribute('status', status)}>\n"
        f'    <period-start iso-date="{start}"/>\n'
        f'    <period-end iso-date="{end}"/>\n'
        f"{_value(value, currency, on)}"
        "  </budget>\n"
    )


def _value(value: str, currency: str, on: str) -> str:
    return f'    <value{_attribute("currency", currency)} value-date="{on}">{value}</value>\n'


def _decimal(value: Decimal) -> str:
    return format(value.normalize(), "f")


def _transaction(out: _Lines, transaction: list[Any], language: str) -> None:
    ref, kind, date, value, currency, value_date, description, provider, receiver = transaction
    out.append(
        f"  <transaction{_attribute('ref', ref)}>\n"
        f'    <transaction-type code="{_quoted(kind)}"/>\n'
        f'    <transaction-date iso-date="{date}"/>\n'
        f"{_value(value, currency, value_date or date)}"
    )
    if description:
        _narratives(out, 2, "description", description, language)
    for tag, given, attribute in (
        ("provider-org", provider, "provider-activity-id"),
        ("receiver-org", receiver, "receiver-activity-id"),
    ):
        if given:
            attributes = (
                _attribute("ref", given.get("ref", ""))
                + _attribute("type", given.get("type", ""))
                + _attribute(attribute, given.get("activity_id", ""))
            )
            _org(out, 2, tag, attributes, given.get("name", {}), language)
    out.append("  </transaction>\n")


def _document(out: _Lines, document: dict[str, Any], language: str) -> None:
    children: _Lines = []
    _narratives(children, 2, "title", document.get("title") or {}, language)
    for category in document.get("categories", []):
        children.append(f"    <category{_code(category)}/>\n")
    for lang in document.get("languages", []):
        children.append(f"    <language{_code(lang)}/>\n")
    if document.get("date"):
        children.append(f"    <document-date{_attribute('iso-date', document['date'])}/>\n")
    attributes = _attribute("url", document.get("url", "")) + _attribute("format", document.get("format", ""))
    _parent(out, 1, "document-link", attributes, children)


#: Who the file is for: "public" (the default; IATI is for publication) or "all" the user may see,
#: which marks the file as not for publication.
LEVELS = ("public", "all")
NOT_FOR_PUBLICATION = (
    "NOT FOR PUBLICATION: this file holds restricted or confidential activities as well as public "
    "ones (exported from coopmatrix by {user} on {day})."
)


def iati_response(request: HttpRequest, activities: Any) -> HttpResponseBase:
    """The IATI file of these (visible, filtered) activities, public ones only unless asked."""
    levels = request.GET.get("levels") or "public"
    if levels not in LEVELS:
        return HttpResponseBadRequest(_("levels must be one of: public, all."))
    note = ""
    if levels == "public":
        activities = activities.filter(confidentiality="public")
    else:
        note = NOT_FOR_PUBLICATION.format(user=request.user, day=timezone.localdate().isoformat())
    areas_uri = request.build_absolute_uri(AREAS_PATH)
    organizations = visible_ids(request, Organization)
    response = StreamingHttpResponse(
        export(activities, areas_uri, organizations, note), content_type="application/xml"
    )
    stamp = timezone.localdate().isoformat()
    suffix = "" if levels == "public" else "-not-for-publication"
    response["Content-Disposition"] = f'attachment; filename="matrix-iati-{stamp}{suffix}.xml"'
    return response
