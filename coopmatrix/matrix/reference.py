"""Real records of the seed report: thematic areas, programmes and the activities it describes.

Recipients are written in the data as the report writes them and resolved here, never typed one
by one: `states:` a written list of names, `states-of:` an M49 area, `grouping:` a named group
(groupings.csv), `members:` an organization's members when the activity ended, `region:` a
recipient region itself.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from coopmatrix.core.dates import PartialDate
from coopmatrix.core.importing import RowError, Stats, read_csv, upsert
from coopmatrix.core.registry import ReferenceLoader
from coopmatrix.vocabulary.models import ThematicArea

from . import counts
from .actions import set_providers
from .models import Activity, ActivityProvider, Programme

DATA_DIR = Path(__file__).parent / "data"
THEMES, GROUPINGS, PROGRAMMES, ACTIVITIES = (
    "thematic-areas.csv",
    "groupings.csv",
    "programmes.csv",
    "activities.csv",
)
FILES = (THEMES, GROUPINGS, PROGRAMMES, ACTIVITIES)
ACTIVITY_COLUMNS = (
    "external_id",
    "title",
    "description",
    "programme",
    "providers",
    "recipients",
    "thematic_areas",
    "instruments",
    "modality",
    "status",
    "planned_start",
    "planned_end",
    "actual_start",
    "actual_end",
    "budget",
    "currency",
    "people_trained",
    "outcome_documents",
    "source",
)
DATE_COLUMNS = ("planned_start", "planned_end", "actual_start", "actual_end")


@dataclass
class Plan:
    themes: dict[str, dict] = field(default_factory=dict)
    programmes: dict[str, dict] = field(default_factory=dict)
    activities: dict[str, dict] = field(default_factory=dict)


def read(data_dir: Path | None, errors: list[RowError], plans: dict[str, Any] | None = None) -> Plan:
    """Check every row against the database as written so far (States, organizations, instruments)."""
    from coopmatrix.geo.resolver import StateResolver

    folder = data_dir or DATA_DIR
    plan = Plan()
    resolver = StateResolver()
    for line, row in read_csv(
        folder / THEMES, ("code", "order", "name", "description", "dac_code", "dac_note", "source"), errors
    ):
        if not (row["code"] and row["name"] and row["dac_code"].isdigit() and len(row["dac_code"]) == 5):
            errors.append(
                RowError(
                    THEMES, line, "dac_code", row["dac_code"], "code, name and a 5-digit DAC code needed"
                )
            )
        else:
            plan.themes[row["code"]] = {**row, "order": int(row["order"] or 0)}
    groupings = {}
    for line, row in read_csv(folder / GROUPINGS, ("code", "name", "states", "source"), errors):
        try:
            groupings[row["code"]] = resolver.resolve_many(row["states"])
        except LookupError as exc:
            errors.append(RowError(GROUPINGS, line, "states", row["states"], str(exc)))
    _read_programmes(folder / PROGRAMMES, plan, errors)
    context = _Context(resolver, groupings, plan)
    for line, row in read_csv(folder / ACTIVITIES, ACTIVITY_COLUMNS, errors):
        problems: list[tuple[str, str, str]] = []
        values = context.activity(row, problems)
        errors.extend(RowError(ACTIVITIES, line, c, v, r) for c, v, r in problems)
        if not problems:
            plan.activities[row["external_id"]] = values
    return plan


def _read_programmes(path: Path, plan: Plan, errors: list[RowError]) -> None:
    from coopmatrix.directory.models import Organization

    orgs = dict(Organization.objects.values_list("code", "pk"))
    for line, row in read_csv(
        path,
        (
            "code",
            "parent",
            "title",
            "organization",
            "start",
            "end",
            "funding_need",
            "currency",
            "description",
            "source",
        ),
        errors,
    ):
        problems = []
        if row["organization"] not in orgs:
            problems.append(("organization", row["organization"], "no organization with this code"))
        if row["parent"] and row["parent"] not in plan.programmes:
            problems.append(("parent", row["parent"], "no programme with this code above this row"))
        dates = {}
        for column in ("start", "end"):
            try:
                dates[column] = PartialDate.parse(row[column]) if row[column] else None
            except ValueError as exc:
                problems.append((column, row[column], str(exc)))
        need = _decimal(row["funding_need"], problems, "funding_need")
        errors.extend(RowError(path.name, line, c, v, r) for c, v, r in problems)
        if not problems:
            plan.programmes[row["code"]] = {
                "title": row["title"],
                "description": row["description"],
                "source": row["source"],
                "parent": row["parent"],
                "organization_id": orgs[row["organization"]],
                "start": dates["start"].date if dates["start"] else None,
                "start_precision": dates["start"].precision if dates["start"] else "",
                "end": dates["end"].date if dates["end"] else None,
                "end_precision": dates["end"].precision if dates["end"] else "",
                "funding_need": need,
                "currency": row["currency"],
            }


def _decimal(text: str, problems: list, column: str) -> Decimal | None:
    if not text:
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        problems.append((column, text, "must be a number"))
        return None


class _Context:
    def __init__(self, resolver, groupings, plan: Plan) -> None:
        from coopmatrix.directory.models import Membership, Organization
        from coopmatrix.geo.models import Region, State
        from coopmatrix.treaties.models import Instrument

        self.resolver, self.groupings, self.plan = resolver, groupings, plan
        self.orgs = dict(Organization.objects.values_list("code", "pk"))
        self.regions = dict(Region.objects.values_list("m49", "pk"))
        self.instruments = dict(Instrument.objects.values_list("code", "pk"))
        self.instruments_2004 = list(
            Instrument.objects.filter(table2_order__isnull=False).values_list("pk", flat=True)
        )
        self.State, self.Membership, self.Region = State, Membership, Region

    def activity(self, row: dict[str, str], problems: list) -> dict:
        if not row["external_id"] or not row["title"]:
            problems.append(("external_id", row["external_id"], "external_id and title are required"))
        if row["programme"] and row["programme"] not in self.plan.programmes:
            problems.append(("programme", row["programme"], "no programme with this code"))
        if row["modality"] not in Activity.Modality.values:
            problems.append(
                ("modality", row["modality"], f"must be one of {', '.join(Activity.Modality.values)}")
            )
        if row["status"] not in Activity.Status.values:
            problems.append(("status", row["status"], f"must be one of {', '.join(Activity.Status.values)}"))
        dates = {}
        for column in DATE_COLUMNS:
            try:
                dates[column] = PartialDate.parse(row[column]) if row[column] else None
            except ValueError as exc:
                problems.append((column, row[column], str(exc)))
        providers = self._providers(row["providers"], problems)
        themes = [c for c in row["thematic_areas"].split(";") if c]
        problems.extend(
            ("thematic_areas", c, "unknown thematic area") for c in themes if c not in self.plan.themes
        )
        instruments = self._instruments(row["instruments"], problems)
        # "members of IGAD" are the members on the activity's last known day (its end, else its
        # start): a 2002 activity does not reach South Sudan, which joined in 2011.
        order = ("actual_end", "planned_end", "actual_start", "planned_start")
        when = next((dates[c] for c in order if dates.get(c)), None)
        states, regions = self._recipients(row["recipients"], when.date if when else None, problems)
        values: dict[str, Any] = {
            "title": row["title"],
            "description": row["description"],
            "programme": row["programme"],
            "modality": row["modality"],
            "status": row["status"],
            "source": row["source"],
            "budget": _decimal(row["budget"], problems, "budget"),
            "currency": row["currency"],
            "people_trained": int(row["people_trained"]) if row["people_trained"].isdigit() else None,
            "outcome_documents": row["outcome_documents"],
        }
        for column in DATE_COLUMNS:
            given = dates.get(column)
            values[column] = given.date if given else None
            values[f"{column}_precision"] = given.precision if given else ""
        return {
            "fields": values,
            "providers": providers,
            "themes": themes,
            "instruments": instruments,
            "states": states,
            "regions": regions,
        }

    def _providers(self, text: str, problems: list) -> list[tuple[int, str]]:
        result = []
        for item in filter(None, text.split(";")):
            code, _, role = item.partition(":")
            if code not in self.orgs:
                problems.append(("providers", code, "no organization with this code"))
            elif role not in ActivityProvider.Role.values:
                problems.append(
                    ("providers", item, f"role must be one of {', '.join(ActivityProvider.Role.values)}")
                )
            else:
                result.append((self.orgs[code], role))
        if not result and not problems:
            problems.append(("providers", text, "an activity needs at least one provider"))
        return result

    def _instruments(self, text: str, problems: list) -> list[int]:
        if text == "2004":
            return self.instruments_2004
        codes = [c for c in text.split(";") if c]
        problems.extend(("instruments", c, "unknown instrument") for c in codes if c not in self.instruments)
        return [self.instruments[c] for c in codes if c in self.instruments]

    def _recipients(self, text: str, when: dt.date | None, problems: list) -> tuple[list[int], list[int]]:
        states: list[int] = []
        regions: list[int] = []
        for item in filter(None, (part.strip() for part in text.split("|"))):
            kind, _, value = item.partition(":")
            value = value.strip()
            try:
                if kind == "states":
                    states += [s.pk for s in self.resolver.resolve_many(value)]
                elif kind == "states-of":
                    area = self.Region.objects.get(m49=int(value))
                    states += list(area.states().exclude(status="historic").values_list("pk", flat=True))
                elif kind == "grouping":
                    states += [s.pk for s in self.groupings[value]]
                elif kind == "members":
                    members = self.Membership.objects.filter(organization__code=value, kind="member")
                    members = members.as_at(when) if when else members.filter(left__isnull=True)
                    found = list(members.values_list("state_id", flat=True))
                    if not found:
                        raise LookupError(f"no members of {value!r} recorded")
                    states += found
                elif kind == "region":
                    regions.append(self.regions[int(value)])
                else:
                    raise LookupError(
                        f"{kind!r} is not a kind of recipient (states, states-of, grouping, members, region)"
                    )
            except (LookupError, ValueError, KeyError) as exc:
                problems.append(("recipients", item, str(exc)))
        return list(dict.fromkeys(states)), regions


def write(plan: Plan, stats: Stats) -> None:
    for code, row in plan.themes.items():
        upsert(
            ThematicArea,
            {"code": code},
            {k: row[k] for k in ("order", "name", "description", "dac_code", "dac_note", "source")},
            stats,
        )
    programmes: dict[str, Programme] = {}
    for code, values in plan.programmes.items():
        fields = {k: v for k, v in values.items() if k != "parent"}
        fields["parent_id"] = programmes[values["parent"]].pk if values["parent"] else None
        programmes[code] = upsert(Programme, {"code": code}, fields, stats)
    themes = dict(ThematicArea.objects.values_list("code", "pk"))
    with counts.batch():
        _write_activities(plan, programmes, themes, stats)


def _write_activities(
    plan: Plan, programmes: dict[str, Programme], themes: dict[str, int], stats: Stats
) -> None:
    for external_id, values in plan.activities.items():
        fields = dict(values["fields"])
        programme = fields.pop("programme")
        fields["programme_id"] = programmes[programme].pk if programme else None
        activity = upsert(Activity, {"external_id": external_id}, fields, stats)
        _set(activity.recipient_states, values["states"])
        _set(activity.recipient_regions, values["regions"])
        _set(activity.thematic_areas, [themes[c] for c in values["themes"]])
        _set(activity.instruments, values["instruments"])
        set_providers(activity, list(values["providers"]))


def _set(manager, pks: list[int]) -> None:
    if set(manager.values_list("pk", flat=True)) != set(pks):
        manager.set(pks)


LOADER = ReferenceLoader(
    name="matrix",
    read=read,
    write=write,
    files=FILES,
    after=("geo", "directory", "treaties"),
    needs_written=True,
)
