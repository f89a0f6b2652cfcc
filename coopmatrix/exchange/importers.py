"""Import IATI activity files: read and validate every activity (iati.read), map each to a matrix
activity, show the preview, then write the valid ones, all in one transaction, or nothing.

The mapping (also in the README and on the upload page, from MAPPING):
- `iati-identifier` → the activity's external identifier: a re-import updates, never duplicates;
  an activity the file says was last updated before the one kept is left as it is unless the
  user chose to overwrite older ones.
- `participating-org` → the activity's providers in IATI's roles (funding, accountable,
  extending, implementing), matched to organizations by IATI organisation identifier, then by
  name, acronym or former name (exactly, whatever the case); an unknown organization is listed in
  the preview and created only when the import is confirmed. `reporting-org` is kept.
- `recipient-country` → States (through the resolver, as at the activity's start);
  `recipient-region` → the matrix's M49 regions where the DAC region is one
  (data/dac-regions-m49.csv), kept as given otherwise.
- `sector` of vocabulary 1 (DAC 5-digit) → the thematic areas of that DAC code; every sector is
  kept as given.
- `activity-status` → status; `activity-date` 1–4 → planned and actual start and end (days).
- `title` and `description`: every language kept; the activity shows the file's default
  language's (else English, else the first).
- `budget`, `transaction`: kept as rows (value, currency, value date); the activity's budget is
  the sum of its original budgets when they share one currency.
- `related-activity`, `document-link`, `contact-info`: kept as given.
Imported activities are public (IATI is published data), owned by the importing user's
organization, with the file and identifier as their source. IATI has no modality: it is left
"not recorded", never guessed.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any, cast

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.dispatch import Signal
from django.utils import timezone
from django.utils.text import slugify

from coopmatrix.core import aside, deltas, importing
from coopmatrix.core import bulk as written_in_bulk
from coopmatrix.core.collecting import fewer_collections
from coopmatrix.core.errors import Invalid
from coopmatrix.core.importing import RowError
from coopmatrix.core.keysets import FirstSeen
from coopmatrix.core.roles import principal_for
from coopmatrix.directory.models import Organization, OrganizationName
from coopmatrix.matrix import bulk, counts
from coopmatrix.matrix.actions import CleanActivity, Links, Lookups, clean_activity, links_of
from coopmatrix.matrix.models import Activity

from . import iati
from .models import IatiBudget, IatiRecord, IatiTransaction

DATA = Path(__file__).resolve().parent / "data"

ROLES = {"1": "funding", "2": "accountable", "3": "extending", "4": "implementing"}
#: IATI's activity status → the matrix's. Finalisation (3: the work is done, the accounts not yet
#: closed) reads as completed; the code itself is kept on the IATI record for the export.
STATUSES = {
    "1": "pipeline",
    "2": "ongoing",
    "3": "completed",
    "4": "completed",
    "5": "cancelled",
    "6": "suspended",
}
DATES = {"1": "planned_start", "2": "actual_start", "3": "planned_end", "4": "actual_end"}
ORGANISATION_KINDS = {
    "10": "national_agency",
    "11": "national_agency",
    "15": "national_agency",
    "21": "ngo",
    "22": "ngo",
    "23": "ngo",
    "24": "ngo",
    "30": "private",
    "40": "international",
    "60": "foundation",
    "70": "private",
    "71": "private",
    "72": "private",
    "73": "private",
    "80": "institute",
}

MAPPING = [
    ("iati-identifier", "external identifier (a re-import updates the same activity)"),
    ("reporting-org", "kept with the activity"),
    ("participating-org", "providers: funding, accountable, extending, implementing"),
    ("recipient-country", "recipient States"),
    ("recipient-region", "recipient regions where the DAC region is an M49 one, else kept as given"),
    ("sector (DAC 5-digit)", "thematic areas of that DAC code; every sector kept as given"),
    ("activity-status", "status"),
    ("activity-date", "planned and actual start and end"),
    ("title, description", "every language kept; shown in the file's default language"),
    ("budget", "kept; the activity's budget is their sum when in one currency"),
    ("transaction", "kept: commitment, disbursement, expenditure, incoming funds"),
    ("related-activity, document-link, contact-info", "kept as given"),
]


def may_import(user: Any) -> bool:
    """IATI files name every organization taking part; only the secretariat attributes work to
    organizations other than the user's own (matrix.actions), so only it imports them."""
    principal = principal_for(user)
    return principal.sees_everything


REFUSED = "only the secretariat imports IATI files: they attribute work to many organizations"


@lru_cache(maxsize=1)
def dac_regions() -> dict[str, int]:
    """DAC region code → M49 code, where the two are the same region."""
    with (DATA / "dac-regions-m49.csv").open(encoding="utf-8") as handle:
        return {row["dac_code"]: int(row["m49"]) for row in csv.DictReader(handle)}


@dataclass
class NewOrganization:
    """An organization the file names that coopmatrix does not know: created on confirmation."""

    code: str
    name: str
    iati_identifier: str
    kind: str
    #: The file's line where it is first named.
    line: int


@dataclass
class Planned:
    activity: Activity | None
    cleaned: CleanActivity
    #: The activity's iati-identifier and its line in the file.
    identifier: str
    line: int
    record: dict[str, Any]
    budgets: list[dict[str, Any]]
    transactions: list[dict[str, Any]]


@dataclass
class Preview(importing.Preview[Planned]):
    """What an IATI import would do; `refused` activities are left out, the others written."""

    refused: list[iati.Refused] = field(default_factory=list)
    new_organizations: list[NewOrganization] = field(default_factory=list)
    #: Activities the file says were updated before the one kept: left as they are.
    older: list[str] = field(default_factory=list)
    read: int = 0
    #: Activities in the file, read or refused.
    total: int = 0


class Organizations:
    """Finds the organization an IATI organisation element names, or plans a new one."""

    def __init__(self, user: Any) -> None:
        visible = list(Organization.objects.visible_to(user))
        self.by_ref = {o.iati_identifier.lower(): o for o in visible if o.iati_identifier}
        self.by_name: dict[str, Organization] = {}
        for o in visible:
            for name in (o.name, o.acronym):
                if name:
                    self.by_name.setdefault(_key(name), o)
        former = OrganizationName.objects.filter(organization__in=visible).select_related("organization")
        for row in former:
            for name in (row.name, row.acronym):
                if name:
                    self.by_name.setdefault(_key(name), row.organization)
        self.codes = set(Organization.objects.values_list("code", flat=True))
        self.new: dict[str, NewOrganization] = {}

    def find(self, org: iati.Organisation, line: int, language: str) -> Organization | NewOrganization | None:
        ref = org.ref.strip()
        if ref and ref.lower() in self.by_ref:
            return self.by_ref[ref.lower()]
        names = list(dict.fromkeys(n for n in _preferred(org.name, language) if n))
        for name in names:
            if _key(name) in self.by_name:
                return self.by_name[_key(name)]
        key = ref.lower() or (_key(names[0]) if names else "")
        if not key:
            return None
        if key not in self.new:
            name = names[0] if names else ref
            self.new[key] = NewOrganization(
                code=self._code(ref or name),
                name=name[:250],
                iati_identifier=ref[:100],
                kind=ORGANISATION_KINDS.get(org.type, "other"),
                line=line,
            )
        return self.new[key]

    def _code(self, text: str) -> str:
        base = (slugify(text)[:36] or "organization").strip("-")
        code, n = base, 1
        while code in self.codes:
            n += 1
            code = f"{base}-{n}"
        self.codes.add(code)
        return code


def _key(name: str) -> str:
    return " ".join(name.split()).casefold()


def _preferred(narratives: dict[str, str], language: str) -> list[str]:
    """The narratives in the order a reader prefers them: the file's language, English, others."""
    order = [language, "en", ""]
    first = [narratives[lang] for lang in order if lang in narratives]
    return first + [text for lang, text in narratives.items() if lang not in order]


def _text(narratives: dict[str, str], language: str) -> str:
    found = _preferred(narratives, language)
    return found[0] if found else ""


#: The fields of each dataclass `_as_json` met, asked of `dataclasses.fields` once: asked for
#: each of the hundreds of thousands of organisations, codes and money an import brings, they
#: were a quarter of the time its records took to make.
_FIELDS: dict[type, tuple[str, ...]] = {}


def _as_json(value: Any) -> Any:
    """Dataclasses of iati.py as JSON (dates as ISO text, decimals as text: no float rounding)."""
    kind = type(value)
    if kind is str or value is None:
        return value
    # Most values are texts, most dicts narratives of texts: taken as they are, without a call
    # each (the records and transactions of 2,000 activities made some 400,000 such calls).
    if kind is dict:
        return {k: v if type(v) is str else _as_json(v) for k, v in value.items()}
    if kind is list or kind is tuple:
        return [v if type(v) is str else _as_json(v) for v in value]
    names = _FIELDS.get(kind)
    if names is None and dataclasses.is_dataclass(value) and not isinstance(value, type):
        names = _FIELDS.setdefault(kind, tuple(f.name for f in dataclasses.fields(value)))
    if names is not None:
        made = {}
        for name in names:
            field = getattr(value, name)
            made[name] = field if type(field) is str else _as_json(field)
        return made
    if isinstance(value, dict):
        return {k: _as_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_as_json(v) for v in value]
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _data(read: iati.IatiActivity, providers: list[dict[str, str]], filename: str) -> dict[str, Any]:
    general = [text for kind, text in read.descriptions if kind == "1"] or [t for _k, t in read.descriptions]
    data: dict[str, Any] = {
        "external_id": read.identifier,
        "title": _text(read.titles, read.language)[:400] or read.identifier,
        "description": _text(general[0], read.language) if general else "",
        "providers": providers,
        "recipient_states": [c.code for c in read.countries],
        "recipient_regions": [
            str(dac_regions()[r.code])
            for r in read.regions
            if r.vocabulary == "1" and r.code in dac_regions()
        ],
        "modality": "",
        "status": STATUSES.get(read.status, ""),
        "confidentiality": "public",
        "source": _source(filename, read.identifier),
    }
    for code, name in DATES.items():
        if code in read.dates:
            data[name] = read.dates[code].isoformat()
    originals = [b for b in read.budgets if b.type == "1"] or read.budgets
    currencies = {b.money.currency for b in originals}
    if originals and len(currencies) == 1:
        data["budget"] = str(sum((b.money.value for b in originals), Decimal(0)).quantize(Decimal("0.01")))
        data["currency"] = currencies.pop()
    return data


def _source(filename: str, identifier: str) -> str:
    """Where an imported activity came from, as its `source` says."""
    return f"IATI file {filename}, activity {identifier}"


def _same_activity(cleaned: CleanActivity, activity: Activity, links: Links, kept: Kept) -> bool:
    """Whether writing the activity would change nothing. The file's name alone is no change: the
    same activities fetched again under another name (a date in it, a browser's "(1)") were each
    written again, with a history row (100,000 in 560 s, where an unchanged rerun takes some
    100 s). The new name is written with the activity's next real change, as its IATI record's
    is. A source changed by hand since the import is compared as it is."""
    if activity.source != _source(kept.record.file, kept.record.identifier):
        return cleaned.same_as(activity, links)
    wanted = cleaned.fields["source"]
    cleaned.fields["source"] = activity.source
    try:
        return cleaned.same_as(activity, links)
    finally:
        cleaned.fields["source"] = wanted


def _m49(region: iati.Coded) -> str:
    """The M49 code of a recipient region: given as such (vocabulary 2, UN regions), or a DAC
    region that is an M49 one; "" otherwise (it is kept as given)."""
    if region.vocabulary == "2" and region.code.isdigit():
        return str(int(region.code))
    if region.vocabulary == "1" and region.code in dac_regions():
        return str(dac_regions()[region.code])
    return ""


def _reasons(exc: Invalid) -> tuple[str, ...]:
    what = {
        "status": "activity-status",
        "recipient_states": "recipient-country",
        "providers": "participating-org",
        "title": "title",
        "external_id": "iati-identifier",
        **{name: f"activity-date type {code} ({name.replace('_', ' ')})" for code, name in DATES.items()},
    }
    return tuple(f"{what.get(name, name)}: {reason}" for name, reason in exc.errors.items())


def check(
    user: Any,
    content: bytes | Path,
    filename: str = "",
    progress: Callable[[int], None] | None = None,
    older: str = "keep",
    keep: bool = True,
) -> Preview:
    """Read and check every activity; nothing is written. `older`: "keep" leaves an activity the
    file says was last updated before the one kept, "overwrite" replaces it. `keep`: whether the
    checked activities are kept to be written (`write`); without them the preview holds counts,
    refusals and notes only, and its memory no longer grows with the activities read (the page's
    job writes the confirmed file with `import_file`, reading it once more)."""

    def kept(preview: Preview, chunk: list[Planned]) -> None:
        if keep:
            preview.planned.extend(chunk)
            preview.sources.extend((p.line, p.identifier) for p in chunk)

    return _by_chunk(user, content, filename, progress, older, kept, made=False)


def _by_chunk(
    user: Any,
    content: bytes | Path,
    filename: str,
    progress: Callable[[int], None] | None,
    older: str,
    each: Callable[[Preview, list[Planned]], None],
    made: bool,
) -> Preview:
    """The file read and checked a chunk at a time, each chunk handed to `each` before the next
    is read, in one transaction. A file that is not IATI, also found so part-way (cut short),
    gives a preview holding that error alone, and what `each` wrote is undone."""
    preview = Preview()
    name = filename or "file"
    if not may_import(user):
        preview.errors.append(RowError(name, 0, "", "", REFUSED))
        return preview
    importing.expect(progress, activities_in(content))
    try:
        # The kept counts and sums take the differences of all the chunks at once (core.deltas).
        with (
            transaction.atomic(),
            deltas.held(),
            fewer_collections(),
            written_in_bulk.keys_checked_as_written(),
        ):
            for chunk in _checked(user, content, name, older, preview, progress):
                each(preview, chunk)
    except iati.NotIati as exc:
        refused = Preview()
        refused.errors.append(RowError(name, 0, "", "", str(exc)))
        return refused
    _note_new_organizations(preview, name, made)
    return preview


def _note_new_organizations(preview: Preview, name: str, made: bool) -> None:
    for org in preview.new_organizations:
        what = (
            f"it was created as {org.code!r}"
            if made
            else f"it will be created as {org.code!r} when you confirm"
        )
        preview.notes.append(
            f"{name}, line {org.line}: {org.name!r} ({org.iati_identifier or 'no IATI identifier'}) is not "
            f"in the directory: {what}"
        )


#: Activities read and checked at a time: the records and activities they may update are looked
#: up per chunk, and a chunk is written before the next is read (`import_file`).
CHUNK = 500


def _checked(
    user: Any,
    content: bytes | Path,
    name: str,
    older: str,
    preview: Preview,
    progress: Callable[[int], None] | None,
) -> Iterator[list[Planned]]:
    """The file's activities checked, a chunk at a time; counts, refusals and notes go into
    `preview` as they come."""
    lookups = Lookups(user, accept_uncertain=True)
    organizations = Organizations(user)
    areas_by_dac: dict[str, list[str]] = {}
    for code, dac in lookups.themes.items():
        areas_by_dac.setdefault(dac.dac_code, []).append(code)
    # An identifier met before, by its line: in a temporary table, not in memory (core.keysets).
    with FirstSeen() as seen:
        index = 0
        for items in _read(content, name):
            identifiers = [i.identifier for i in items if isinstance(i, iati.IatiActivity)]
            earlier = seen.lines_of(identifiers)
            here: dict[str, int] = {}
            # Read with what a rerun compares (its budgets, transactions and links): a file imported
            # again is mostly unchanged, and each activity asked for them one query at a time.
            records = _kept(identifiers)
            existing = {a.external_id: a for a in Activity.objects.filter(external_id__in=identifiers)}
            links = links_of(a.pk for a in existing.values())
            lookups.external_ids = {identifier: a.pk for identifier, a in existing.items()}
            lookups.editable = set(
                Activity.objects.editable_by(user)
                .filter(pk__among=[a.pk for a in existing.values()])
                .values_list("pk", flat=True)
            )
            planned: list[Planned] = []
            for item in items:
                index += 1
                preview.total += 1
                if progress:
                    progress(index)
                if isinstance(item, iati.Refused):
                    preview.refused.append(item)
                    continue
                preview.read += 1
                first = earlier.get(item.identifier) or here.get(item.identifier)
                if first is not None:
                    preview.refused.append(
                        iati.Refused(
                            item.identifier,
                            item.line,
                            (f"the file holds it twice (also at line {first})",),
                            "content",
                        )
                    )
                    continue
                here[item.identifier] = item.line
                found = _plan(
                    user,
                    item,
                    name,
                    lookups,
                    organizations,
                    areas_by_dac,
                    existing,
                    links,
                    records,
                    preview,
                    older,
                )
                if found is not None:
                    planned.append(found)
            seen.add(here)
            preview.new_organizations = list(organizations.new.values())
            yield planned


def activities_in(source: bytes | Path) -> int:
    """How many activities a file holds, as its closing tags say (for a progress bar); a file on
    disk is read a block at a time."""
    tag = b"</iati-activity>"
    if isinstance(source, bytes):
        return source.count(tag)
    if not source.is_file():
        return 0  # iati.read says what is wrong with it
    found, tail = 0, b""
    with source.open("rb") as stream:
        while block := stream.read(1 << 20):
            data = tail + block
            found += data.count(tag)
            # A tag cut by the block's end is whole in the next one; none fits in what is kept.
            tail = data[-(len(tag) - 1) :]
    return found


#: A file of at least this many bytes (some 300 activities) is read in a second process while
#: the chunks before are written (core.aside): reading and checking 2,000 activities against the
#: schema takes some 2 s of their import's 14. Smaller files are read here: starting the other
#: process costs some 0.15 s.
READ_ASIDE_BYTES = 4 << 20


#: The first chunks read aside, smaller (never larger than CHUNK): the writing begins on 50
#: activities (read in some 0.2 s) where it waited for 500 (0.9 s), and each chunk is read while
#: the one before is written.
FIRST_CHUNKS = (50, 150)


def _read(content: bytes | Path, name: str) -> Iterator[list[iati.IatiActivity | iati.Refused]]:
    """The file's activities a chunk at a time, each valid and read or refused."""
    if _size(content) >= READ_ASIDE_BYTES and aside.possible():
        first = tuple(min(size, CHUNK) for size in FIRST_CHUNKS)
        return aside.chunks_aside(iati.read, (content, name), CHUNK, first)
    return _chunks(iati.read(content, name), CHUNK)


def _size(content: bytes | Path) -> int:
    if isinstance(content, bytes):
        return len(content)
    return content.stat().st_size if content.is_file() else 0


def _chunks(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    chunk: list[Any] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _plan(
    user: Any,
    item: iati.IatiActivity,
    name: str,
    lookups: Lookups,
    organizations: Organizations,
    areas_by_dac: dict[str, list[str]],
    existing: dict[str, Activity],
    links: dict[int, Links],
    records: dict[str, Kept],
    preview: Preview,
    older: str,
) -> Planned | None:
    activity = existing.get(item.identifier)
    kept = records.get(item.identifier)
    record = kept.record if kept is not None else None
    if not item.status:
        reason = "it gives no activity-status, which every matrix activity has: none is guessed"
        preview.refused.append(iati.Refused(item.identifier, item.line, (reason,), "content"))
        return None
    if activity is not None and record is None:
        preview.refused.append(
            iati.Refused(
                item.identifier,
                item.line,
                (
                    "an activity recorded in coopmatrix already has this identifier, not from IATI: "
                    "not overwritten",
                ),
                "content",
            )
        )
        return None
    if (
        record is not None
        and older != "overwrite"
        and item.last_updated is not None
        and record.last_updated is not None
        and item.last_updated < record.last_updated
    ):
        preview.older.append(item.identifier)
        preview.unchanged += 1
        return None
    providers = []
    for org in item.participating:
        found = organizations.find(org, item.line, item.language)
        if found is None:
            item.notes.append(
                f"line {item.line}: a participating-org with neither identifier nor name is left out"
            )
            continue
        if isinstance(found, NewOrganization):
            # Checked as if it existed; created on confirmation.
            lookups.organizations.setdefault(found.code, Organization(code=found.code, name=found.name))
        providers.append({"organization": found.code, "role": ROLES.get(org.role, "")})
    data = _data(item, providers, name)
    data["thematic_areas"] = _areas(item.sectors, areas_by_dac, lookups)
    before = len(lookups.resolver.uncertain)
    try:
        cleaned = clean_activity(user, data, activity, lookups, modality_required=False)
    except Invalid as exc:
        preview.refused.append(iati.Refused(item.identifier, item.line, _reasons(exc), "content"))
        return None
    except PermissionDenied as exc:
        preview.refused.append(iati.Refused(item.identifier, item.line, (str(exc),), "content"))
        return None
    where = f"{name}, line {item.line} ({item.identifier})"
    preview.notes.extend(lookups.resolver.notes_since(before, where))
    preview.notes.extend(f"{where}: {note}" for note in item.notes)
    if len(_text(item.titles, item.language)) > 400:
        preview.notes.append(
            f"{where}: the title is cut to 400 characters on the activity; kept whole with it"
        )
    fields = _record(item, name)
    budgets = [_budget(b) for b in item.budgets]
    transactions = [_transaction(t) for t in item.transactions]
    if activity is None:
        preview.created += 1
    elif (
        kept is not None
        and _same_activity(cleaned, activity, links[activity.pk], kept)
        and _same_record(kept, fields, budgets, transactions)
    ):
        preview.unchanged += 1
        return None
    else:
        preview.updated += 1
    return Planned(activity, cleaned, item.identifier, item.line, fields, budgets, transactions)


#: The vocabulary-uri coopmatrix gives its own thematic areas when it exports them as sectors of
#: vocabulary 99 ("reporting organisation"): the address of the list of areas, on any server.
AREAS_PATH = "/thematic-areas/"


def _areas(sectors: list[iati.Coded], areas_by_dac: dict[str, list[str]], lookups: Lookups) -> list[str]:
    """The thematic areas the sectors name: coopmatrix's own codes where the file gives them (as
    coopmatrix exports them), else every area of each DAC 5-digit code."""
    own = [
        s.code for s in sectors if s.vocabulary == "99" and s.uri.rstrip("/").endswith(AREAS_PATH.rstrip("/"))
    ]
    if own:
        return [code for code in dict.fromkeys(own) if code in lookups.themes]
    found: list[str] = []
    for sector in sectors:
        if sector.vocabulary == "1":
            found.extend(areas_by_dac.get(sector.code, []))
    return list(dict.fromkeys(found))


def _record(item: iati.IatiActivity, filename: str) -> dict[str, Any]:
    return {
        "file": filename[:255],
        "version": item.version[:10],
        "last_updated": item.last_updated,
        "language": item.language[:10],
        "default_currency": item.currency,
        "reporting_org": _as_json(item.reporting_org),
        "titles": item.titles,
        "descriptions": _as_json(item.descriptions),
        "participating": _as_json(item.participating),
        "status": item.status,
        "countries": _as_json(item.countries),
        "regions": _as_json(item.regions),
        "sectors": _as_json(item.sectors),
        "related": _as_json(item.related),
        "documents": _as_json(item.documents),
        "contacts": _as_json(item.contacts),
        "notes": item.notes,
    }


def _budget(budget: iati.Budget) -> dict[str, Any]:
    return {
        "type": budget.type,
        "status": budget.status,
        "period_start": budget.start,
        "period_end": budget.end,
        "value": budget.money.value,
        "currency": budget.money.currency,
        "value_date": budget.money.value_date,
    }


def _transaction(transaction: iati.Transaction) -> dict[str, Any]:
    return {
        "ref": transaction.ref[:200],
        "type": transaction.type,
        "date": transaction.date,
        "value": transaction.money.value,
        "currency": transaction.money.currency,
        "value_date": transaction.money.value_date,
        "description": transaction.description,
        "provider": _as_json(transaction.provider) if transaction.provider else {},
        "receiver": _as_json(transaction.receiver) if transaction.receiver else {},
    }


def _rows_of(records: Iterable[Any], names: Iterable[str]) -> list[str]:
    """Rows as comparable text, in no particular order (a file may list them in any order)."""
    names = list(names)
    return sorted(repr(tuple(_comparable(_value(r, n)) for n in names)) for r in records)


def _comparable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return value.normalize()
    if isinstance(value, dict | list):
        # PostgreSQL's jsonb gives keys back in its own order.
        return json.dumps(value, sort_keys=True, default=str)
    return value


def _same_rows(kept: list[Any], wanted: list[dict[str, Any]]) -> bool:
    if len(kept) != len(wanted):
        return False
    names = list(wanted[0]) if wanted else []
    # Kept as the file listed them, they mostly compare equal row by row (a decimal, a date and
    # a JSON value by their value), without making each row's text: a rerun of 2,000 activities
    # compared some 20,000 rows so.
    if all(_value(k, n) == w[n] for k, w in zip(kept, wanted, strict=True) for n in names):
        return True
    return _rows_of(kept, names) == _rows_of(wanted, names)


def _value(row: Any, name: str) -> Any:
    return row[name] if isinstance(row, dict) else getattr(row, name)


@dataclass
class Kept:
    """An IATI record as kept, with its budgets' and transactions' values (by field, in their
    order): what a rerun compares."""

    record: IatiRecord
    budgets: list[dict[str, Any]] = field(default_factory=list)
    transactions: list[dict[str, Any]] = field(default_factory=list)


def _kept(identifiers: list[str]) -> dict[str, Kept]:
    """The kept records of these identifiers. Their budgets and transactions are read as values,
    one query each for them all: made as objects (prefetch_related), those of 2,000 activities
    took some 1.3 s to read, as values some 0.6 s."""
    # Without their activities (select_related): an activity read with its record points back at
    # it, a cycle that only a full pass of the cycle collector frees, rare during an import
    # (core.collecting): a rerun of 100,000 unchanged activities grew by some 130 MB.
    kept = {r.pk: Kept(r) for r in IatiRecord.objects.filter(identifier__in=identifiers)}
    for model, name in ((IatiBudget, "budgets"), (IatiTransaction, "transactions")):
        for row in model.objects.filter(record_id__among=list(kept)).order_by("record_id", "pk").values():
            getattr(kept[row["record_id"]], name).append(row)
    return {each.record.identifier: each for each in kept.values()}


def _same_record(
    kept: Kept,
    fields: dict[str, Any],
    budgets: list[dict[str, Any]],
    transactions: list[dict[str, Any]],
) -> bool:
    if any(getattr(kept.record, name) != value for name, value in fields.items() if name != "file"):
        return False
    return _same_rows(kept.budgets, budgets) and _same_rows(kept.transactions, transactions)


def import_file(
    user: Any,
    content: bytes | Path,
    filename: str = "",
    progress: Callable[[int], None] | None = None,
    older: str = "keep",
) -> Preview:
    """Check and write the valid activities, in one transaction (the refused ones are left out),
    reading the file once: each chunk is written as soon as it is checked, so that memory does
    not grow with the file's size. A file found not to be IATI part-way (cut short) undoes what
    its first chunks wrote: the preview names the error and nothing is kept."""
    created: dict[str, Organization] = {}

    def written(preview: Preview, chunk: list[Planned]) -> None:
        # An organization is created before the first chunk that names it is written.
        created.update(_create_organizations(preview, created))
        _write_planned(chunk, created, user)

    return _by_chunk(user, content, filename, progress, older, written, made=True)


def _create_organizations(
    preview: Preview, done: Mapping[str, Organization] | None = None
) -> dict[str, Organization]:
    """The preview's new organizations, made (those in `done` were already)."""
    created = {}
    for new in preview.new_organizations:
        if done and new.code in done:
            continue
        organization = Organization(
            code=new.code,
            name=new.name,
            kind=new.kind,
            iati_identifier=new.iati_identifier,
            confidentiality="public",
            source=f"named in an IATI file (line {new.line})",
        )
        organization._change_reason = "created by an IATI import"  # type: ignore[attr-defined]
        organization.save()
        created[new.code] = organization
    return created


@transaction.atomic
def write(preview: Preview, user: Any = None) -> None:
    """Write a preview without errors, checked with its activities kept: new organizations first,
    then the new activities by the thousand (matrix.bulk), then each changed one through the
    matrix's write path."""
    if preview.errors:
        raise ValueError("a preview with errors is never written")
    created = _create_organizations(preview)
    with deltas.held(), fewer_collections(), written_in_bulk.keys_checked_as_written():
        for chunk in bulk.chunks(preview.planned):
            _write_planned(chunk, created, user)


def _write_planned(planned: Sequence[Planned], created: dict[str, Organization], user: Any) -> None:
    for each in planned:
        cleaned = each.cleaned
        cleaned.providers = [(created.get(o.code, o), role) for o, role in cleaned.providers]
    new = [p for p in planned if p.activity is None]
    with counts.batch():
        for chunk in bulk.chunks(new):
            activities = bulk.create_activities([p.cleaned for p in chunk], user, IMPORTED)
            _create_records(activities, chunk, user)
        changed = [p for p in planned if p.activity is not None]
        for chunk in bulk.chunks(changed):
            pairs = [(cast(Activity, p.activity), p.cleaned) for p in chunk]
            _write_records(bulk.update_activities(pairs, user, IMPORTED), chunk, user)
    records = list(
        IatiRecord.objects.filter(identifier__in=[p.identifier for p in planned]).values_list("pk", flat=True)
    )
    records_written.send(sender=IatiRecord, records=records, user=user)


IMPORTED = "imported from IATI"

#: Sent inside an import's transaction once its IATI records are written, with their keys
#: (`records`): the apps above read what they keep from them (funding: contributions).
records_written = Signal()


def _create_records(activities: list[Activity], chunk: Sequence[Planned], user: Any) -> None:
    """The IATI records of new activities, with their budgets and transactions, in bulk."""
    when = timezone.now()
    # By key, not object: setting the object also sets the activity's reverse cache to the record,
    # a cycle that outlives the chunk until a full pass of the cycle collector (`_kept`).
    records = [
        IatiRecord(activity_id=activity.pk, identifier=planned.identifier, **planned.record)
        for activity, planned in zip(activities, chunk, strict=True)
    ]
    written_in_bulk.with_history(IatiRecord, records, user, IMPORTED, when)
    # Rows of values, not objects: a record has some ten budgets and transactions.
    for model, listed in (
        (IatiBudget, [p.budgets for p in chunk]),
        (IatiTransaction, [p.transactions for p in chunk]),
    ):
        pairs = [(record.pk, values) for record, each in zip(records, listed, strict=True) for values in each]
        if pairs:
            # Each made by `_budget` or `_transaction`: the same fields, in the same order.
            names = ["record_id", *pairs[0][1]]
            rows = [(pk, *values.values()) for pk, values in pairs]
            written_in_bulk.values_with_history(model, names, rows, user, IMPORTED, when)


def _write_records(activities: Sequence[Activity], chunk: Sequence[Planned], user: Any) -> None:
    """The IATI records of changed activities brought in line with the file, together: a record
    that changed is written with a history row, and so is each budget and transaction that
    changed, came or went (`_row_changes`). One by one, each record, budget and transaction was a
    save of its own: for a re-import of 2,000 changed activities, some 20,000 round trips."""
    when = timezone.now()
    records = {
        r.activity_id: r for r in IatiRecord.objects.filter(activity_id__among=[a.pk for a in activities])
    }
    kept: dict[Any, dict[int, list[Any]]] = {IatiBudget: {}, IatiTransaction: {}}
    for model, rows in kept.items():
        for row in model.objects.filter(record_id__among=[r.pk for r in records.values()]).order_by(
            "record_id", "pk"
        ):
            rows.setdefault(row.record_id, []).append(row)
    made: list[IatiRecord] = []
    changed: list[IatiRecord] = []
    for activity, planned in zip(activities, chunk, strict=True):
        record = records.get(activity.pk)
        if record is None:
            record = IatiRecord(activity_id=activity.pk, identifier=planned.identifier, **planned.record)
            records[activity.pk] = record
            made.append(record)
        elif any(getattr(record, name) != value for name, value in planned.record.items()):
            for name, value in planned.record.items():
                setattr(record, name, value)
            record.imported = when  # as a save sets it
            changed.append(record)
    written_in_bulk.with_history(IatiRecord, made, user, IMPORTED, when)
    if changed:
        written_in_bulk.update(IatiRecord, changed, [*chunk[0].record, "imported"])
        written_in_bulk.history_rows(IatiRecord, changed, user, IMPORTED, when, kind="~")
    for model, name in ((IatiBudget, "budgets"), (IatiTransaction, "transactions")):
        rows_changed: list[Any] = []
        added: list[tuple[Any, ...]] = []
        names: list[str] = []
        for activity, planned in zip(activities, chunk, strict=True):
            record = records[activity.pk]
            wanted = getattr(planned, name)
            altered, gone, new = _row_changes(kept[model].get(record.pk, []), wanted)
            rows_changed += altered
            added += [(record.pk, *values.values()) for values in new]
            if wanted and not names:
                names = list(wanted[0])
            for row in gone:
                # One at a time, as Django deletes: a transaction's contribution keeps its record
                # and loses the link (SET_NULL), with its history row.
                row._change_reason = IMPORTED
                row.delete()
        if rows_changed:
            written_in_bulk.update(model, rows_changed, names)
            written_in_bulk.history_rows(model, rows_changed, user, IMPORTED, when, kind="~")
        # Each made by `_budget` or `_transaction`: the same fields, in the same order.
        written_in_bulk.values_with_history(model, ["record_id", *names], added, user, IMPORTED, when)


def _row_changes(
    kept: list[Any], wanted: list[dict[str, Any]]
) -> tuple[list[Any], list[Any], list[dict[str, Any]]]:
    """What brings the kept rows in line with the file's: the rows changed (their new values set),
    those to remove and the values of those to add; nothing when they are the same, also listed
    in another order. The n-th row kept takes the file's n-th, as the contributions made from
    transactions are keyed by their place (`iati:<identifier>#<n>`): a changed transaction keeps
    its row and its contribution, each with one change in its history (replaced, the row was
    removed and another made, and its contribution changed to point at it)."""
    if _same_rows(kept, wanted):
        return [], [], []
    changed = []
    for row, values in zip(kept, wanted, strict=False):
        if any(_comparable(getattr(row, name)) != _comparable(value) for name, value in values.items()):
            for name, value in values.items():
                setattr(row, name, value)
            changed.append(row)
    return changed, kept[len(wanted) :], wanted[len(kept) :]
