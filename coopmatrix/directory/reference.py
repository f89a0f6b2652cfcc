"""Reference data: the organizations named in the seed documents and memberships with sources."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from coopmatrix.core.dates import PartialDate
from coopmatrix.core.importing import RowError, Stats, read_csv, upsert
from coopmatrix.core.registry import ReferenceLoader

from .models import Contact, ContactRole, MeetingParticipation, Membership, Organization, OrganizationName

DATA_DIR = Path(__file__).parent / "data"
ORGANIZATIONS = "organizations.csv"
MEMBERSHIPS = "memberships.csv"
FORMER_NAMES = "organization_names.csv"
MEETINGS = "meetings.csv"
ROLES = "contact_roles.csv"
CONTACTS = "contacts.csv"
FILES = (ORGANIZATIONS, MEMBERSHIPS, FORMER_NAMES, MEETINGS, ROLES, CONTACTS)


@dataclass
class Plan:
    organizations: dict[str, dict] = field(default_factory=dict)
    memberships: list[dict] = field(default_factory=list)
    former_names: list[dict] = field(default_factory=list)
    meetings: list[dict] = field(default_factory=list)
    roles: list[dict] = field(default_factory=list)
    contacts: list[dict] = field(default_factory=list)


def read(data_dir: Path | None, errors: list[RowError], plans: dict[str, Any]) -> Plan:
    state_codes = plans["geo"].codes()
    plan = Plan()
    folder = data_dir or DATA_DIR
    _read_organizations(folder / ORGANIZATIONS, plan, errors, state_codes)
    _read_memberships(folder / MEMBERSHIPS, plan, errors, state_codes)
    _read_former_names(folder / FORMER_NAMES, plan, errors)
    _read_meetings(folder / MEETINGS, plan, errors)
    _read_roles(folder / ROLES, plan, errors)
    _read_contacts(folder / CONTACTS, plan, errors)
    return plan


def _known_organization(row: dict, plan: Plan, problems: list) -> None:
    if row["organization"] not in plan.organizations:
        problems.append(("organization", row["organization"], "no organization with this code"))
    if not row["source"]:
        problems.append(("source", "", "every row needs its source"))


def _read_former_names(path: Path, plan: Plan, errors: list[RowError]) -> None:
    for line, row in read_csv(
        path, ("organization", "name", "acronym", "used_from", "used_until", "source"), errors
    ):
        problems: list = []
        _known_organization(row, plan, problems)
        dates = {}
        for column in ("used_from", "used_until"):
            try:
                dates[column] = PartialDate.parse(row[column]) if row[column] else None
            except ValueError as exc:
                problems.append((column, row[column], str(exc)))
        if not row["used_until"]:
            problems.append(("used_until", "", "a former name has the date it stopped being used"))
        errors.extend(RowError(path.name, line, c, v, r) for c, v, r in problems)
        if not problems:
            plan.former_names.append({**row, "_from": dates["used_from"], "_until": dates["used_until"]})


def _read_meetings(path: Path, plan: Plan, errors: list[RowError]) -> None:
    meetings, roles = set(MeetingParticipation.Meeting.values), set(MeetingParticipation.Role.values)
    for line, row in read_csv(path, ("organization", "meeting", "role", "source"), errors):
        problems: list = []
        _known_organization(row, plan, problems)
        if row["meeting"] not in meetings:
            problems.append(("meeting", row["meeting"], f"must be one of {', '.join(sorted(meetings))}"))
        if row["role"] not in roles:
            problems.append(("role", row["role"], f"must be one of {', '.join(sorted(roles))}"))
        errors.extend(RowError(path.name, line, c, v, r) for c, v, r in problems)
        if not problems:
            plan.meetings.append(row)


def _read_roles(path: Path, plan: Plan, errors: list[RowError]) -> None:
    for line, row in read_csv(path, ("code", "name", "national", "order", "description", "source"), errors):
        problems = []
        if not row["code"] or not row["name"]:
            problems.append(("code", row["code"], "a role needs a code and a name"))
        if row["national"] not in ("yes", "no"):
            problems.append(("national", row["national"], "must be yes or no"))
        if not row["order"].isdigit():
            problems.append(("order", row["order"], "must be a whole number"))
        errors.extend(RowError(path.name, line, c, v, r) for c, v, r in problems)
        if not problems:
            plan.roles.append(row)


def _read_contacts(path: Path, plan: Plan, errors: list[RowError]) -> None:
    """Functions of organizations the sources name; never a person a public source does not name."""
    for line, row in read_csv(path, ("organization", "function", "source"), errors):
        problems: list = []
        _known_organization(row, plan, problems)
        if not row["function"]:
            problems.append(("function", "", "a loaded contact is a function of its organization"))
        errors.extend(RowError(path.name, line, c, v, r) for c, v, r in problems)
        if not problems:
            plan.contacts.append(row)


def _read_organizations(path: Path, plan: Plan, errors: list[RowError], state_codes: set[str]) -> None:
    kinds = set(Organization.Kind.values)
    rows = list(
        read_csv(
            path,
            (
                "code",
                "acronym",
                "name",
                "kind",
                "parent",
                "state",
                "headquarters",
                "headquarters_city",
                "source",
            ),
            errors,
        )
    )
    codes = {row["code"] for _, row in rows}
    for line, row in rows:
        problems = []
        if not row["code"] or row["code"] in plan.organizations:
            problems.append(("code", row["code"], "must be present and unique"))
        if not row["name"]:
            problems.append(("name", "", "an organization needs a name"))
        if row["kind"] not in kinds:
            problems.append(("kind", row["kind"], f"must be one of {', '.join(sorted(kinds))}"))
        if row["parent"] and row["parent"] not in codes:
            problems.append(("parent", row["parent"], "no organization with this code in the file"))
        for column in ("state", "headquarters"):
            if row[column] and row[column] not in state_codes:
                problems.append((column, row[column], "no State with this code"))
        if not row["source"]:
            problems.append(("source", "", "every organization needs its source"))
        errors.extend(RowError(path.name, line, c, v, r) for c, v, r in problems)
        if not problems:
            plan.organizations[row["code"]] = row


def _read_memberships(path: Path, plan: Plan, errors: list[RowError], state_codes: set[str]) -> None:
    kinds = set(Membership.Kind.values)
    for line, row in read_csv(
        path, ("organization", "state", "kind", "joined", "left", "note", "source"), errors
    ):
        problems = []
        if row["organization"] not in plan.organizations:
            problems.append(("organization", row["organization"], "no organization with this code"))
        if row["state"] not in state_codes:
            problems.append(("state", row["state"], "no State with this code"))
        if row["kind"] not in kinds:
            problems.append(("kind", row["kind"], f"must be one of {', '.join(sorted(kinds))}"))
        dates = {}
        for column in ("joined", "left"):
            if row[column]:
                try:
                    dates[column] = PartialDate.parse(row[column])
                except ValueError as exc:
                    problems.append((column, row[column], str(exc)))
        if "joined" in dates and "left" in dates and dates["left"].date <= dates["joined"].date:
            problems.append(("left", row["left"], "must be after the date joined"))
        if not row["source"]:
            problems.append(("source", "", "every membership needs its source"))
        errors.extend(RowError(path.name, line, c, v, r) for c, v, r in problems)
        if not problems:
            plan.memberships.append({**row, **{f"_{k}": v for k, v in dates.items()}})


def write(plan: Plan, stats: Stats) -> None:
    from coopmatrix.geo.models import State

    state_pk = dict(State.objects.values_list("code", "pk"))
    orgs: dict[str, Organization] = {}
    # Parents first, so that a unit's parent exists when the unit is written.
    pending = dict(plan.organizations)
    while pending:
        for code, row in list(pending.items()):
            if row["parent"] and row["parent"] not in orgs:
                continue
            orgs[code] = upsert(
                Organization,
                {"code": code},
                {
                    "acronym": row["acronym"],
                    "name": row["name"],
                    "kind": row["kind"],
                    "parent_id": orgs[row["parent"]].pk if row["parent"] else None,
                    "state_id": state_pk.get(row["state"]) if row["state"] else None,
                    "headquarters_id": state_pk.get(row["headquarters"]) if row["headquarters"] else None,
                    "headquarters_city": row["headquarters_city"],
                    "source": row["source"],
                },
                stats,
            )
            del pending[code]
    for row in plan.memberships:
        joined, left = row.get("_joined"), row.get("_left")
        upsert(
            Membership,
            {
                "organization_id": orgs[row["organization"]].pk,
                "state_id": state_pk[row["state"]],
                "kind": row["kind"],
                "joined": joined.date if joined else None,
            },
            {
                "joined_precision": joined.precision if joined else "",
                "left": left.date if left else None,
                "left_precision": left.precision if left else "",
                "note": row["note"],
                "source": row["source"],
            },
            stats,
        )
    _write_directory(plan, orgs, stats)


def _write_directory(plan: Plan, orgs: dict[str, Organization], stats: Stats) -> None:
    for row in plan.former_names:
        start, until = row["_from"], row["_until"]
        upsert(
            OrganizationName,
            {"organization_id": orgs[row["organization"]].pk, "name": row["name"]},
            {
                "acronym": row["acronym"],
                "used_from": start.date if start else None,
                "used_from_precision": start.precision if start else "",
                "used_until": until.date,
                "used_until_precision": until.precision,
                "source": row["source"],
            },
            stats,
        )
    for row in plan.meetings:
        upsert(
            MeetingParticipation,
            {"organization_id": orgs[row["organization"]].pk, "meeting": row["meeting"]},
            {"role": row["role"], "source": row["source"]},
            stats,
        )
    for row in plan.roles:
        upsert(
            ContactRole,
            {"code": row["code"]},
            {
                "name": row["name"],
                "national": row["national"] == "yes",
                "order": int(row["order"]),
                "description": row["description"],
                "source": row["source"],
            },
            stats,
        )
    for row in plan.contacts:
        # Public: a function named in a public document, with no personal detail.
        upsert(
            Contact,
            {"organization_id": orgs[row["organization"]].pk, "function": row["function"], "person_name": ""},
            {"source": row["source"], "confidentiality": "public"},
            stats,
        )


LOADER = ReferenceLoader(name="directory", read=read, write=write, files=FILES, after=("geo",))
