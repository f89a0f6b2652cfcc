"""The matrix as CSV and XLSX. An XLSX carries a cover sheet: filters, date, who, highest level."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from coopmatrix.core.dates import partial_text
from coopmatrix.core.exports import describe_filters, xlsx_response  # noqa: F401 - the matrix's names for them

from .importers import COLUMN_NAMES as IMPORT_COLUMNS
from .models import Activity


def _joined(values: list[Any]) -> str:
    return "; ".join(str(v) for v in values)


def _date(row: dict[str, Any], name: str) -> str:
    return partial_text(row[name], row[f"{name}_precision"])


# Each export row is a dict from `activity_rows`, not a model instance: a 100,000-row export must
# not build 500,000 model objects. The columns are the importer's, in its order, so that an export
# imports back unchanged: a column the importer gains without a getter here fails at start-up.
_GETTERS = {
    "external_id": lambda a: a["external_id"] or "",
    "title": lambda a: a["title"],
    "description": lambda a: a["description"],
    "programme": lambda a: a["programme__code"] or "",
    "providers": lambda a: _joined(f"{code}:{role}" for code, role in a["providers"]),
    "recipient_states": lambda a: _joined(a["states"]),
    "recipient_regions": lambda a: _joined(a["regions"]),
    "thematic_areas": lambda a: _joined(a["themes"]),
    "instruments": lambda a: _joined(a["instruments"]),
    "modality": lambda a: a["modality"],
    "status": lambda a: a["status"],
    "planned_start": lambda a: _date(a, "planned_start"),
    "planned_end": lambda a: _date(a, "planned_end"),
    "actual_start": lambda a: _date(a, "actual_start"),
    "actual_end": lambda a: _date(a, "actual_end"),
    "budget": lambda a: a["budget"] if a["budget"] is not None else "",
    "currency": lambda a: a["currency"],
    "people_trained": lambda a: a["people_trained"] if a["people_trained"] is not None else "",
    "outcome_documents": lambda a: a["outcome_documents"],
    "confidentiality": lambda a: a["confidentiality"],
    "source": lambda a: a["source"],
}
ACTIVITY_COLUMNS = [(name, _GETTERS[name]) for name in IMPORT_COLUMNS]
ACTIVITY_FIELDS = (
    "pk",
    "external_id",
    "title",
    "description",
    "outcome_documents",
    "programme_id",
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


def activity_rows(
    queryset: Any,
    visible_organizations: set[int],
    visible_programmes: set[int],
    visible_instruments: set[int] | None = None,
) -> Iterator[dict[str, Any]]:
    """Activities as plain dicts with their recipients, areas, and the providers and programme
    the reader may see (a hidden programme is left blank, as if none), chunk by chunk."""

    chunk: list[dict[str, Any]] = []
    for values in queryset.values(*ACTIVITY_FIELDS).iterator(chunk_size=CHUNK):
        if values["programme_id"] not in visible_programmes:
            values["programme__code"] = None
        chunk.append(values)
        if len(chunk) == CHUNK:
            yield from _with_relations(chunk, visible_organizations, visible_instruments)
            chunk = []
    if chunk:
        yield from _with_relations(chunk, visible_organizations, visible_instruments)


def _with_relations(
    chunk: list[dict[str, Any]], visible_organizations: set[int], visible_instruments: set[int] | None
) -> list[dict[str, Any]]:
    from .models import Activity, ActivityProvider

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
    instruments: dict[int, list[str]] = defaultdict(list)
    links = Activity.instruments.through.objects.filter(activity_id__in=pks)
    if visible_instruments is not None:
        links = links.filter(instrument_id__in=visible_instruments)
    for activity_id, code in links.values_list("activity_id", "instrument__code"):
        instruments[activity_id].append(code)
    related["instruments"] = instruments
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


def reader_columns() -> list[tuple[str, Any, int]]:
    """The matrix for a person to read (not to import back): names instead of codes, in the
    order a reader looks for them, each with its column width."""
    from coopmatrix.core.models import Confidentiality
    from coopmatrix.directory.models import Organization
    from coopmatrix.geo.models import Region, State
    from coopmatrix.treaties.models import Instrument
    from coopmatrix.vocabulary.models import ThematicArea

    from .models import ActivityProvider, Programme

    states = dict(State.objects.values_list("code", "name_en"))
    regions = dict(Region.objects.values_list("m49", "name"))
    areas = dict(ThematicArea.objects.values_list("code", "name"))
    organizations = {o.code: str(o) for o in Organization.objects.only("code", "name", "acronym")}
    instruments = dict(Instrument.objects.values_list("code", "short_title"))
    programmes = dict(Programme.objects.values_list("code", "title"))
    roles = dict(ActivityProvider.Role.choices)
    modalities = dict(Activity.Modality.choices)
    statuses = dict(Activity.Status.choices)
    levels = dict(Confidentiality.choices)

    def names(table: dict[Any, str], values: list[Any]) -> str:
        return _joined(table.get(v, v) for v in values)

    return [
        ("Activity", lambda a: a["title"], 50),
        (
            "Providers",
            lambda a: _joined(f"{organizations.get(c, c)} ({roles.get(r, r)})" for c, r in a["providers"]),
            40,
        ),
        ("Recipient States", lambda a: names(states, a["states"]), 40),
        ("Recipient regions", lambda a: names(regions, a["regions"]), 24),
        ("Thematic areas", lambda a: names(areas, a["themes"]), 40),
        ("Modality", lambda a: str(modalities.get(a["modality"], a["modality"])), 20),
        ("Status", lambda a: str(statuses.get(a["status"], a["status"])), 12),
        ("Planned start", lambda a: _date(a, "planned_start"), 12),
        ("Planned end", lambda a: _date(a, "planned_end"), 12),
        ("Actual start", lambda a: _date(a, "actual_start"), 12),
        ("Actual end", lambda a: _date(a, "actual_end"), 12),
        ("Programme", lambda a: programmes.get(a["programme__code"], "") if a["programme__code"] else "", 30),
        ("Instruments", lambda a: names(instruments, a["instruments"]), 30),
        ("Budget", lambda a: a["budget"] if a["budget"] is not None else "", 14),
        ("Currency", lambda a: a["currency"], 9),
        ("People trained", lambda a: a["people_trained"] if a["people_trained"] is not None else "", 10),
        ("Confidentiality", lambda a: str(levels.get(a["confidentiality"], a["confidentiality"])), 14),
        ("Source", lambda a: a["source"], 40),
    ]
