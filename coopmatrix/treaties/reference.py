"""Reference data: the 19 universal counter-terrorism instruments."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from coopmatrix.core.dates import PartialDate
from coopmatrix.core.importing import RowError, Stats, read_csv, upsert
from coopmatrix.core.registry import ReferenceLoader

from .models import Instrument, PublishedCount

DATA_DIR = Path(__file__).parent / "data"
INSTRUMENTS = "instruments.csv"
PUBLISHED = "published_counts.csv"
FILES = (INSTRUMENTS, PUBLISHED)
_PUBLISHED_COLUMNS = ("instrument", "parties", "after", "parties_after", "as_at", "document", "source")
_COLUMNS = (
    "code",
    "table2_order",
    "short_title",
    "title",
    "adopted",
    "adopted_place",
    "opened_for_signature",
    "entry_into_force",
    "depositary",
    "related_to",
    "relation",
    "treaty_series",
    "in_force_rule",
    "in_force_days",
    "in_force_article",
    "source",
)


def read(
    data_dir: Path | None, errors: list[RowError], plans: dict[str, Any] | None = None
) -> dict[str, Any]:
    instruments = _read_instruments(data_dir, errors)
    return {"instruments": instruments, "published": _read_published(data_dir, errors, set(instruments))}


def _read_published(data_dir: Path | None, errors: list[RowError], codes: set[str]) -> list[dict]:
    """Participation figures as a document published them (Table 2 of 2004)."""
    path = (data_dir or DATA_DIR) / PUBLISHED
    plan = []
    for line, row in read_csv(path, _PUBLISHED_COLUMNS, errors):
        problems: list[tuple[str, str, str]] = []
        if row["instrument"] not in codes:
            problems.append(("instrument", row["instrument"], "no instrument with this code"))
        for column in ("parties", "parties_after"):
            if not row[column].isdigit():
                problems.append((column, row[column], "must be a whole number"))
        dates = {}
        for column in ("after", "as_at"):
            try:
                dates[column] = PartialDate.parse(row[column])
            except ValueError as exc:
                problems.append((column, row[column], str(exc)))
        for column in ("document", "source"):
            if not row[column]:
                problems.append((column, "", "is required"))
        errors.extend(RowError(path.name, line, c, v, r) for c, v, r in problems)
        if not problems:
            plan.append(
                {
                    "instrument": row["instrument"],
                    "document": row["document"],
                    "parties": int(row["parties"]),
                    "after": dates["after"].date,
                    "parties_after": int(row["parties_after"]),
                    "as_at": dates["as_at"].date,
                    "as_at_precision": dates["as_at"].precision,
                    "source": row["source"],
                }
            )
    return plan


def _read_instruments(data_dir: Path | None, errors: list[RowError]) -> dict[str, dict]:
    path = (data_dir or DATA_DIR) / INSTRUMENTS
    rows = list(read_csv(path, _COLUMNS, errors))
    codes = {row["code"] for _, row in rows}
    plan: dict[str, dict] = {}
    for line, row in rows:
        problems: list[tuple[str, str, str]] = []
        values = _values(row, codes, problems)
        errors.extend(RowError(path.name, line, c, v, r) for c, v, r in problems)
        if not problems:
            plan[row["code"]] = values
    return plan


def _values(row: dict[str, str], codes: set[str], problems: list[tuple[str, str, str]]) -> dict:
    for column in ("code", "short_title", "title", "adopted", "adopted_place", "depositary", "source"):
        if not row[column]:
            problems.append((column, "", "is required"))
    dates: dict[str, PartialDate | None] = {}
    for column in ("adopted", "opened_for_signature", "entry_into_force"):
        try:
            dates[column] = PartialDate.parse(row[column]) if row[column] else None
        except ValueError as exc:
            problems.append((column, row[column], str(exc)))
    if row["in_force_rule"] not in Instrument.EntryIntoForceRule.values:
        problems.append(
            (
                "in_force_rule",
                row["in_force_rule"],
                f"must be one of {', '.join(Instrument.EntryIntoForceRule.values)}",
            )
        )
    days = None
    if row["in_force_rule"] == Instrument.EntryIntoForceRule.DAYS_AFTER_DEPOSIT:
        if not row["in_force_days"].isdigit():
            problems.append(("in_force_days", row["in_force_days"], "a whole number of days is required"))
        else:
            days = int(row["in_force_days"])
    if row["related_to"] and row["related_to"] not in codes:
        problems.append(("related_to", row["related_to"], "no instrument with this code"))
    if bool(row["related_to"]) != bool(row["relation"]) or (
        row["relation"] and row["relation"] not in Instrument.Relation.values
    ):
        problems.append(("relation", row["relation"], "give amends or supplements together with related_to"))
    if row["table2_order"] and not row["table2_order"].isdigit():
        problems.append(("table2_order", row["table2_order"], "must be a whole number"))
    if problems:
        return {}
    adopted = dates["adopted"]
    assert adopted is not None
    return {
        "table2_order": int(row["table2_order"]) if row["table2_order"] else None,
        "short_title": row["short_title"],
        "title": row["title"],
        "adopted": adopted.date,
        "adopted_precision": adopted.precision,
        "adopted_place": row["adopted_place"],
        "opened_for_signature": _day(dates["opened_for_signature"]),
        "entry_into_force": _day(dates["entry_into_force"]),
        "depositary": row["depositary"],
        "related_to": row["related_to"],
        "relation": row["relation"],
        "treaty_series": row["treaty_series"],
        "in_force_rule": row["in_force_rule"],
        "in_force_days": days,
        "in_force_article": row["in_force_article"],
        "source": row["source"],
    }


def _day(value: PartialDate | None) -> dt.date | None:
    return value.date if value else None


def write(plan: dict[str, Any], stats: Stats) -> None:
    written = _write_instruments(plan["instruments"], stats)
    for values in plan["published"]:
        fields = {k: v for k, v in values.items() if k not in ("instrument", "document")}
        key = {"instrument_id": written[values["instrument"]].pk, "document": values["document"]}
        upsert(PublishedCount, key, fields, stats)


def _write_instruments(plan: dict[str, dict], stats: Stats) -> dict[str, Instrument]:
    written: dict[str, Instrument] = {}
    pending = dict(plan)
    # An instrument that amends or supplements another is written after it.
    while pending:
        for code, values in list(pending.items()):
            related = values["related_to"]
            if related and related not in written:
                continue
            fields = {k: v for k, v in values.items() if k != "related_to"}
            fields["related_to_id"] = written[related].pk if related else None
            written[code] = upsert(Instrument, {"code": code}, fields, stats)
            del pending[code]
    return written


LOADER = ReferenceLoader(name="treaties", read=read, write=write, files=FILES, after=("geo",))
