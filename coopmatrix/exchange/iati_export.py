"""Write matrix activities as one IATI 2.03 `iati-activities` file, streamed activity by activity.

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
from collections import defaultdict
from collections.abc import Iterator
from decimal import Decimal
from typing import Any, NamedTuple

from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponseBadRequest, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.utils import timezone
from django.utils.translation import gettext as _
from lxml import etree

from coopmatrix.core.dates import PartialDate
from coopmatrix.core.querysets import visible_ids
from coopmatrix.directory.models import Organization
from coopmatrix.matrix.models import Activity, ActivityProvider

from .hxl import recipients_and_areas
from .importers import AREAS_PATH, DATES, ROLES, STATUSES, dac_regions
from .models import IatiBudget, IatiRecord, IatiTransaction

XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
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
CHUNK = 500


def export(
    activities: QuerySet[Activity], areas_uri: str, organizations: set[int], note: str = ""
) -> Iterator[bytes]:
    """The file, in pieces: the root's opening, each activity, the root's end. `organizations`:
    the keys of those the reader may see (a provider or owner they may not see is not named).
    `note`, if any, goes into a comment at the top (a file not for publication says so)."""
    now = timezone.now().replace(microsecond=0).isoformat()
    yield b'<?xml version="1.0" encoding="UTF-8"?>\n'
    if note:
        yield f"<!-- {note.replace('--', '- -')} -->\n".encode()
    yield f'<iati-activities version="2.03" generated-datetime="{now}">\n'.encode()
    keys = list(activities.order_by("pk").values_list("pk", flat=True))
    named = _Named()
    for start in range(0, len(keys), CHUNK):
        chunk = list(
            Activity.objects.filter(pk__in=keys[start : start + CHUNK])
            .order_by("pk")
            .select_related("owner", "iati")
        )
        links = _Links(chunk, named)
        for activity in chunk:
            providers = [p for p in links.providers[activity.pk] if p.organization_id in organizations]
            if not providers:
                # IATI requires a participating organization; none is made up.
                yield f"<!-- {_identifier(activity)} is left out: it names no provider -->\n".encode()
                continue
            if activity.owner_id not in organizations:
                activity.owner = None
            element = _activity(activity, _record(activity), areas_uri, providers, links)
            yield etree.tostring(element, encoding="utf-8", pretty_print=True)
    yield b"</iati-activities>\n"


class _Budget(NamedTuple):
    type: str
    status: str
    period_start: dt.date
    period_end: dt.date
    value: Decimal
    currency: str
    value_date: dt.date | None


class _Transaction(NamedTuple):
    ref: str
    type: str
    date: dt.date
    value: Decimal
    currency: str
    value_date: dt.date | None
    description: dict[str, str]
    provider: dict[str, Any]
    receiver: dict[str, Any]


class _Provider(NamedTuple):
    organization_id: int
    role: str
    organization: Organization


class _Named:
    """The States, regions and thematic areas, read once an export; the organizations as the
    activities name them."""

    def __init__(self) -> None:
        from coopmatrix.geo.models import Region, State
        from coopmatrix.vocabulary.models import ThematicArea

        self.states = {s.pk: s for s in State.objects.all()}
        self.regions = {r.pk: r for r in Region.objects.all()}
        self.areas = {a.pk: a for a in ThematicArea.objects.all()}
        self.organizations: dict[int, Organization] = {}

    def read_organizations(self, keys: set[int]) -> None:
        if missing := keys - self.organizations.keys():
            self.organizations.update(Organization.objects.in_bulk(missing))


class _Links:
    """What a chunk of activities hangs on, each kind read in one query and grouped by activity
    (or IATI record): Django's prefetching made a query set for each activity and each link, most
    of an export's time."""

    def __init__(self, chunk: list[Activity], named: _Named) -> None:
        ids = [a.pk for a in chunk]
        records = [r.pk for a in chunk if (r := _record(a)) is not None]
        # As tuples, each organization read once an export: a model instance for each provider
        # and its organization cost more than the rest of the reading.
        rows = list(
            ActivityProvider.objects.filter(activity_id__in=ids)
            .order_by("pk")
            .values_list("activity_id", "organization_id", "role")
        )
        named.read_organizations({organization for _a, organization, _r in rows})
        self.providers: dict[int, list[_Provider]] = defaultdict(list)
        for activity, organization, role in rows:
            self.providers[activity].append(_Provider(organization, role, named.organizations[organization]))
        states, regions, areas = recipients_and_areas(ids)
        self.states = self._named(Activity.recipient_states, states, named.states)
        self.regions = self._named(Activity.recipient_regions, regions, named.regions)
        self.areas = self._named(Activity.thematic_areas, areas, named.areas)
        # Read as tuples: some ten transactions an activity, each a model instance was a third of
        # the reading.
        self.budgets = self._rows(IatiBudget, _Budget, records)
        self.transactions = self._rows(IatiTransaction, _Transaction, records)

    @staticmethod
    def _rows(model: Any, row: Any, records: list[int]) -> dict[int, list[Any]]:
        grouped: dict[int, list[Any]] = defaultdict(list)
        values = (
            model.objects.filter(record_id__in=records).order_by("pk").values_list("record_id", *row._fields)
        )
        for record, *fields in values:
            grouped[record].append(row(*fields))
        return grouped

    @staticmethod
    def _named(relation: Any, linked: dict[int, list[int]], named: dict[int, Any]) -> dict[int, list[Any]]:
        """Each activity's linked records, from their keys."""
        # One made while the file is written (a long export) is read then.
        missing = {pk for others in linked.values() for pk in others} - named.keys()
        named.update(relation.field.related_model.objects.in_bulk(missing) if missing else {})
        return {activity: [named[pk] for pk in others] for activity, others in linked.items()}


def _record(activity: Activity) -> IatiRecord | None:
    try:
        return activity.iati  # type: ignore[attr-defined]
    except IatiRecord.DoesNotExist:
        return None


def _sub(parent: etree._Element, tag: str, text: str | None = None, **attributes: Any) -> etree._Element:
    """A child element; attributes without a value are left out, but a code is written even when
    empty (the schema requires it, and a file may give it so)."""
    kept = {
        k.replace("_", "-"): str(v) for k, v in attributes.items() if v or (k == "code" and v is not None)
    }
    element = etree.SubElement(parent, tag, kept)
    if text is not None:
        element.text = text
    return element


def _narratives(parent: etree._Element, tag: str, texts: dict[str, str], language: str) -> etree._Element:
    element = etree.SubElement(parent, tag)
    for lang, text in texts.items():
        narrative = _sub(element, "narrative", text)
        if lang and lang != language:
            narrative.set(XML_LANG, lang)
    if not texts:
        _sub(element, "narrative", "")
    return element


def _identifier(activity: Activity) -> str:
    # An activity recorded without an identifier of its own goes out under coopmatrix's key.
    return activity.external_id or f"coopmatrix-activity-{activity.pk}"


def _activity(
    activity: Activity,
    record: IatiRecord | None,
    areas_uri: str,
    providers: list[_Provider],
    links: _Links,
) -> etree._Element:
    # The language the publisher gave; coopmatrix does not know which its own records are in.
    language = record.language if record else ""
    element = etree.Element("iati-activity")
    element.set("last-updated-datetime", activity.updated.replace(microsecond=0).isoformat())
    if language:
        element.set(XML_LANG, language)
    currency = activity.currency or (record.default_currency if record else "")
    if currency:
        element.set("default-currency", currency)
    _sub(element, "iati-identifier", _identifier(activity))
    _reporting_org(element, activity, record, language)
    titles = dict(record.titles) if record else {}
    titles[_first_language(titles, language)] = activity.title
    _narratives(element, "title", titles, language)
    _descriptions(element, activity, record, language)
    _participating(element, providers, record, language)
    _status(element, activity, record)
    _dates(element, activity)
    for contact in record.contacts if record else []:
        _contact(element, contact, language)
    _countries(element, links.states.get(activity.pk, []), record)
    _regions(element, links.regions.get(activity.pk, []), record)
    _sectors(element, links.areas.get(activity.pk, []), record, areas_uri)
    _budgets(element, activity, record, links.budgets.get(record.pk, []) if record else [])
    for transaction in links.transactions.get(record.pk, []) if record else []:
        _transaction(element, transaction, language)
    for document in record.documents if record else []:
        _document(element, document, language)
    for kind, ref in record.related if record else []:
        _sub(element, "related-activity", ref=ref, type=kind)
    return element


def _first_language(texts: dict[str, str], language: str) -> str:
    """The language the activity's own title is in: the file's default, else the first given."""
    for lang in (language, "en", ""):
        if lang in texts:
            return lang
    return next(iter(texts), language)


def _reporting_org(
    element: etree._Element, activity: Activity, record: IatiRecord | None, language: str
) -> None:
    if record and record.reporting_org:
        given = record.reporting_org
        _org(
            element,
            "reporting-org",
            given.get("ref", ""),
            given.get("type", ""),
            given.get("name", {}),
            language,
        )
        return
    owner = activity.owner
    name = {language: owner.name} if owner else {language: "coopmatrix"}
    ref = (owner.iati_identifier if owner else "") or (f"coopmatrix-{owner.code}" if owner else "coopmatrix")
    _org(element, "reporting-org", ref, KIND_CODES.get(owner.kind, "90") if owner else "90", name, language)


def _org(
    parent: etree._Element, tag: str, ref: str, kind: str, name: dict[str, str], language: str, **more: str
) -> etree._Element:
    element = _sub(parent, tag, ref=ref, type=kind, **more)
    for lang, text in name.items():
        narrative = _sub(element, "narrative", text)
        if lang and lang != language:
            narrative.set(XML_LANG, lang)
    return element


def _descriptions(
    element: etree._Element, activity: Activity, record: IatiRecord | None, language: str
) -> None:
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
            description = _narratives(element, "description", {k: v for k, v in texts.items() if v}, language)
            if kind != "1":
                description.set("type", kind)
            written = True
    if not written:
        # The schema asks for one; an activity recorded without a description has an empty one.
        _narratives(element, "description", {}, language)


def _participating(
    element: etree._Element, providers: list[_Provider], record: IatiRecord | None, language: str
) -> None:
    given = list(record.participating) if record else []
    for provider in providers:
        organization = provider.organization
        role = ROLE_CODES[provider.role]
        match = _given_org(given, organization, role)
        if match is not None:
            given.remove(match)
            _org(
                element,
                "participating-org",
                match.get("ref", ""),
                match.get("type", ""),
                match.get("name", {}),
                language,
                role=role,
                activity_id=match.get("activity_id", ""),
            )
        else:
            _org(
                element,
                "participating-org",
                organization.iati_identifier,
                KIND_CODES.get(organization.kind, "90"),
                {language: organization.name},
                language,
                role=role,
            )


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


def _status(element: etree._Element, activity: Activity, record: IatiRecord | None) -> None:
    code = STATUS_CODES[activity.status]
    if record and record.status and STATUSES.get(record.status) == activity.status:
        code = record.status  # finalisation (3) and closed (4) both read as completed
    _sub(element, "activity-status", code=code)


def _dates(element: etree._Element, activity: Activity) -> None:
    written = False
    for code, name in DATES.items():
        value = getattr(activity, name)
        if value is None:
            continue
        precision = getattr(activity, f"{name}_precision")
        day = PartialDate(value, precision).last_day if name.endswith("_end") and precision else value
        _sub(element, "activity-date", type=code, iso_date=day.isoformat())
        written = True
    if not written:
        # The schema asks for at least one date: the day the record was made stands in, as a
        # planned start would mislead.
        _sub(element, "activity-date", type="1", iso_date=activity.created.date().isoformat())


def _contact(element: etree._Element, contact: dict[str, Any], language: str) -> None:
    info = _sub(element, "contact-info", type=contact.get("type", ""))
    for tag, key in (
        ("organisation", "organisation"),
        ("department", "department"),
        ("person-name", "person"),
    ):
        if contact.get(key):
            _narratives(info, tag, contact[key], language)
    if contact.get("job_title"):
        _narratives(info, "job-title", contact["job_title"], language)
    for tag in ("telephone", "email", "website"):
        if contact.get(tag):
            _sub(info, tag, contact[tag])
    if contact.get("address"):
        _narratives(info, "mailing-address", contact["address"], language)


def _countries(element: etree._Element, recipients: list[Any], record: IatiRecord | None) -> None:
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
        item = _sub(element, "recipient-country", code=code, percentage=country.get("percentage") or "")
        _names(item, country)


def _regions(element: etree._Element, recipients: list[Any], record: IatiRecord | None) -> None:
    given = list(record.regions) if record else []
    for region in recipients:
        match = next(
            (
                r
                for r in given
                if (r["vocabulary"] == "1" and dac_regions().get(r["code"]) == region.m49)
                or (r["vocabulary"] == "2" and r["code"].isdigit() and int(r["code"]) == region.m49)
            ),
            None,
        )
        if match is not None:
            given.remove(match)
            _coded(element, "recipient-region", match)
        else:
            # UN M49 is IATI's region vocabulary 2.
            _sub(element, "recipient-region", code=str(region.m49), vocabulary="2")
    for rest in given:
        if not (rest["vocabulary"] == "1" and rest["code"] in dac_regions()) and rest["vocabulary"] != "2":
            _coded(element, "recipient-region", rest)


def _coded(element: etree._Element, tag: str, given: dict[str, Any]) -> None:
    """A code kept as the file gave it (iati.Coded as JSON): a region's or a sector's."""
    item = _sub(
        element,
        tag,
        code=given["code"],
        vocabulary=given["vocabulary"],
        percentage=given.get("percentage") or "",
        vocabulary_uri=given.get("uri") or "",
    )
    _names(item, given)


def _names(item: etree._Element, given: dict[str, Any]) -> None:
    """The narratives a code was given with in the file (a region's, a sector's name)."""
    for lang, text in (given.get("name") or {}).items():
        narrative = _sub(item, "narrative", text)
        if lang:
            narrative.set(XML_LANG, lang)


def _sectors(element: etree._Element, areas: list[Any], record: IatiRecord | None, areas_uri: str) -> None:
    if record:
        for sector in record.sectors:
            _coded(element, "sector", sector)
        return
    for code in dict.fromkeys(area.dac_code for area in areas if area.dac_code):
        _sub(element, "sector", code=code, vocabulary="1")
    for area in areas:
        # The matrix's own areas, so that the file reads back into the same ones.
        _sub(element, "sector", code=area.code, vocabulary="99", vocabulary_uri=areas_uri)


def _budgets(
    element: etree._Element, activity: Activity, record: IatiRecord | None, budgets: list[Any]
) -> None:
    for budget in budgets:
        item = _sub(element, "budget", type=budget.type, status=budget.status)
        _sub(item, "period-start", iso_date=budget.period_start.isoformat())
        _sub(item, "period-end", iso_date=budget.period_end.isoformat())
        _value(item, budget.value, budget.currency, budget.value_date or budget.period_start)
    if budgets or activity.budget is None or not (activity.period_start and activity.period_end):
        return
    item = _sub(element, "budget", type="1", status="1")
    _sub(item, "period-start", iso_date=activity.period_start.isoformat())
    _sub(item, "period-end", iso_date=activity.period_end.isoformat())
    _value(item, activity.budget, activity.currency, activity.period_start)


def _value(parent: etree._Element, value: Decimal, currency: str, on: dt.date) -> None:
    _sub(parent, "value", _decimal(value), currency=currency, value_date=on.isoformat())


def _decimal(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text


def _transaction(element: etree._Element, transaction: Any, language: str) -> None:
    item = _sub(element, "transaction", ref=transaction.ref)
    _sub(item, "transaction-type", code=transaction.type)
    _sub(item, "transaction-date", iso_date=transaction.date.isoformat())
    _value(item, transaction.value, transaction.currency, transaction.value_date or transaction.date)
    if transaction.description:
        _narratives(item, "description", transaction.description, language)
    for tag, given in (("provider-org", transaction.provider), ("receiver-org", transaction.receiver)):
        if given:
            more = {
                "provider_activity_id" if tag == "provider-org" else "receiver_activity_id": given.get(
                    "activity_id", ""
                )
            }
            _org(
                item,
                tag,
                given.get("ref", ""),
                given.get("type", ""),
                given.get("name", {}),
                language,
                **more,
            )


def _document(element: etree._Element, document: dict[str, Any], language: str) -> None:
    item = _sub(element, "document-link", url=document.get("url", ""), format=document.get("format", ""))
    _narratives(item, "title", document.get("title") or {}, language)
    for category in document.get("categories", []):
        _sub(item, "category", code=category)
    for lang in document.get("languages", []):
        _sub(item, "language", code=lang)
    if document.get("date"):
        _sub(item, "document-date", iso_date=document["date"])


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
