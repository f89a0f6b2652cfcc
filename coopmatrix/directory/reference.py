"""Reference data: the organizations named in the seed documents and memberships with sources."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from coopmatrix.core.dates import PartialDate
from coopmatrix.core.importing import RowError, Stats, read_csv, upsert

from .models import Membership, Organization

DATA_DIR = Path(__file__).parent / "data"
ORGANIZATIONS = "organizations.csv"
MEMBERSHIPS = "memberships.csv"
FILES = (ORGANIZATIONS, MEMBERSHIPS)


@dataclass
class Plan:
    organizations: dict[str, dict] = field(default_factory=dict)
    memberships: list[dict] = field(default_factory=list)


def read(data_dir: Path | None, errors: list[RowError], state_codes: set[str]) -> Plan:
    plan = Plan()
    _read_organizations((data_dir or DATA_DIR) / ORGANIZATIONS, plan, errors, state_codes)
    _read_memberships((data_dir or DATA_DIR) / MEMBERSHIPS, plan, errors, state_codes)
    return plan


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
