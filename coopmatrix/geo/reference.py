"""Reference data for States, territories, historic States and M49 regions (see data/SOURCES.md)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from coopmatrix.core.dates import PartialDate
from coopmatrix.core.importing import RowError, Stats, read_csv, upsert
from coopmatrix.core.registry import ReferenceLoader

from .models import Region, State, StateAlias
from .resolver import normalize

DATA_DIR = Path(__file__).parent / "data"
TAXONOMY = "countries-territories-taxonomy.csv"
HISTORIC = "historic-states.csv"
UN_STATUS = "un-status.csv"
ALIASES = "state-aliases.csv"
FILES = (TAXONOMY, HISTORIC, UN_STATUS, ALIASES)

TAXONOMY_SOURCE = "OCHA Countries & Territories Taxonomy (hdx-python-country 4.2.5), row ID {id}"
M49_SOURCE = (
    "UN Statistics Division, Standard country or area codes for statistical use (M49), via the OCHA taxonomy"
)
ISO3166_3_SOURCE = "ISO 3166-3 (formerly used codes), as shipped by pycountry 26.2.16"
ISO_CODES_SOURCE = (
    "Debian iso-codes project, French and Spanish translations of ISO 3166-1 names, as shipped by "
    "pycountry 26.2.16"
)

_LANG_COLUMNS = {
    "en": "English Short",
    "fr": "French Short",
    "es": "Spanish Short",
    "ru": "Russian Short",
    "zh": "Chinese Short",
    "ar": "Arabic Short",
}
_ALIAS_COLUMNS = (
    "Preferred Term",
    "ISO Alt Term",
    "DGACM Alt Term",
    "HPC Tools Alt Term",
    "RW Short Name",
    "RW API Alt Term",
    "English Formal",
    "M49 English",
    "M49 French",
    "M49 Spanish",
    "M49 Russian",
    "M49 Chinese",
    "M49 Arabic",
    *_LANG_COLUMNS.values(),
)
#: Rows of the taxonomy without ISO 3166-1 codes that are loaded under their user-assigned codes,
#: with the note UN documents put beside them.
USER_ASSIGNED = {
    "XKX": "All references to Kosovo are to be understood in the context of Security Council "
    "resolution 1244 (1999). Not in ISO 3166-1: XK and XKX are user-assigned codes.",
}

_TAXONOMY_REQUIRED = (
    "ID",
    "m49 numerical code",
    "Appears in DGACM list",
    "ISO 3166-1 Alpha 2-Codes",
    "ISO 3166-1 Alpha 3-Codes",
    "x Alpha2 codes",
    "x Alpha3 codes",
    "Preferred Term",
    "English Formal",
    "Latitude",
    "Longitude",
    "Region Code",
    "Region Name",
    "Sub-region Code",
    "Sub-region Name",
    "Intermediate Region Code",
    "Intermediate Region Name",
    "Regex",
    *_ALIAS_COLUMNS,
)


@dataclass
class Plan:
    regions: dict[int, dict] = field(default_factory=dict)
    states: dict[str, dict] = field(default_factory=dict)
    successors: dict[str, list[str]] = field(default_factory=dict)
    aliases: dict[str, dict[str, tuple[str, str, str]]] = field(default_factory=dict)

    def codes(self) -> set[str]:
        return set(self.states)


def _iso_codes_aliases(plan: Plan) -> None:
    """The French and Spanish names of the Debian iso-codes project ("Royaume-Uni", "Reino Unido",
    "Pays-Bas", "Estados Unidos"), and the short name before the comma of an inverted one
    ("Russie, Fédération de" → "Russie"; "Corée, République de" → "Corée", which then names both
    Koreas and is refused as ambiguous rather than guessed)."""
    import gettext

    import pycountry

    shorts: set[str] = set()  # keys taken from inverted names: shared ones stay ambiguous
    for language in ("fr", "es"):
        catalogue = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=[language])
        for country in pycountry.countries:
            code = country.alpha_3
            if code not in plan.states or plan.states[code]["status"] == State.Status.HISTORIC:
                continue
            for attribute in ("name", "common_name", "official_name"):
                english = getattr(country, attribute, "")
                if not english:
                    continue
                translated = catalogue.gettext(english)
                if translated == english and language != "en":
                    continue  # not translated: the English name is already known
                _add_alias(plan, code, translated, f"iso-codes:{language}", ISO_CODES_SOURCE)
                short = translated.split(",")[0].strip()
                # The short name of an inverted one, unless another State already answers to it
                # (the Spanish "Congo, República Democrática del" must not take "Congo").
                key = normalize(short)
                taken = any(key in aliases for other, aliases in plan.aliases.items() if other != code)
                if short != translated and (key in shorts or not taken):
                    shorts.add(key)
                    _add_alias(plan, code, short, f"iso-codes:{language}", ISO_CODES_SOURCE)


def read(data_dir: Path | None, errors: list[RowError], plans: dict[str, Any] | None = None) -> Plan:
    """Check every file and row; return what to write (only used when `errors` stays empty)."""
    plan = Plan()
    plan.regions[1] = {"name": "World", "level": Region.Level.WORLD, "parent": None, "source": M49_SOURCE}
    _read_taxonomy(_path(data_dir, TAXONOMY), plan, errors)
    _read_un_status(_path(data_dir, UN_STATUS), plan, errors)
    _read_historic(_path(data_dir, HISTORIC), plan, errors)
    _read_aliases(_path(data_dir, ALIASES), plan, errors)
    _iso_codes_aliases(plan)
    return plan


def _path(data_dir: Path | None, name: str) -> Path:
    return (data_dir or DATA_DIR) / name


def _int(value: str, file: str, line: int, column: str, errors: list[RowError]) -> int | None:
    if not value:
        return None
    if not value.isdigit():
        errors.append(RowError(file, line, column, value, "must be a whole number"))
        return None
    return int(value)


def _float(value: str, file: str, line: int, column: str, errors: list[RowError]) -> float | None:
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        errors.append(RowError(file, line, column, value, "must be a number"))
        return None


def _read_taxonomy(path: Path, plan: Plan, errors: list[RowError]) -> None:
    name = path.name
    for line, row in read_csv(path, _TAXONOMY_REQUIRED, errors):
        iso3, iso2 = row["ISO 3166-1 Alpha 3-Codes"], row["ISO 3166-1 Alpha 2-Codes"]
        note = ""
        if not iso3 and not iso2 and row["x Alpha3 codes"] in USER_ASSIGNED:
            # Kosovo has no ISO 3166-1 code; the user-assigned XK/XKX are what IATI, the EU and
            # the World Bank write, and what files will carry.
            iso2, iso3 = row["x Alpha2 codes"], row["x Alpha3 codes"]
            note = USER_ASSIGNED[iso3]
        if not iso3 and not iso2:
            continue  # Other rows outside ISO 3166-1 (Sark, Azores …) are parts of States.
        if not re.fullmatch(r"[A-Z]{3}", iso3):
            errors.append(
                RowError(name, line, "ISO 3166-1 Alpha 3-Codes", iso3, "must be three capital letters")
            )
            continue
        if not re.fullmatch(r"[A-Z]{2}", iso2):
            errors.append(
                RowError(name, line, "ISO 3166-1 Alpha 2-Codes", iso2, "must be two capital letters")
            )
            continue
        if iso3 in plan.states:
            errors.append(RowError(name, line, "ISO 3166-1 Alpha 3-Codes", iso3, "appears twice"))
            continue
        english = row["English Short"] or row["Preferred Term"]
        if not english:
            errors.append(RowError(name, line, "English Short", "", "a State needs an English name"))
            continue
        levels = _read_regions(row, name, line, plan, errors)
        names = {
            f"name_{lang}": row[col] or row[f"M49 {col.split()[0]}"] for lang, col in _LANG_COLUMNS.items()
        }
        names["name_en"] = english
        pattern = row["Regex"]
        try:
            re.compile(pattern)
        except re.error as exc:
            errors.append(RowError(name, line, "Regex", pattern, f"not a valid regular expression ({exc})"))
        plan.states[iso3] = {
            "iso2": iso2,
            "iso3": iso3,
            "m49": _int(row["m49 numerical code"], name, line, "m49 numerical code", errors),
            **names,
            "formal_name_en": _formal(row["English Formal"]),
            "status": State.Status.MEMBER if row["Appears in DGACM list"] == "Y" else State.Status.TERRITORY,
            "region_id": levels[0],
            "subregion_id": levels[1],
            "intermediate_region_id": levels[2],
            "latitude": _float(row["Latitude"], name, line, "Latitude", errors),
            "longitude": _float(row["Longitude"], name, line, "Longitude", errors),
            "name_pattern": pattern,
            "ended": None,
            "ended_precision": "",
            "note": note,
            "source": TAXONOMY_SOURCE.format(id=row["ID"]),
        }
        plan.aliases[iso3] = {}
        for column in _ALIAS_COLUMNS:
            _add_alias(plan, iso3, row[column], "taxonomy:" + column, TAXONOMY_SOURCE.format(id=row["ID"]))


def _formal(text: str) -> str:
    # The taxonomy writes formal names as they stand in a sentence ("the Kyrgyz Republic").
    return text[4:] if text.startswith("the ") else text


def _read_regions(
    row: dict[str, str], name: str, line: int, plan: Plan, errors: list[RowError]
) -> list[int | None]:
    levels: list[int | None] = []
    parent = 1
    for prefix, level in (
        ("Region", Region.Level.REGION),
        ("Sub-region", Region.Level.SUBREGION),
        ("Intermediate Region", Region.Level.INTERMEDIATE),
    ):
        code = _int(row[f"{prefix} Code"], name, line, f"{prefix} Code", errors)
        label = row[f"{prefix} Name"]
        if code is None:
            levels.append(None)
            continue
        if not label:
            errors.append(RowError(name, line, f"{prefix} Name", "", f"M49 code {code} has no name"))
        known = plan.regions.get(code)
        if known and (known["name"] != label or known["level"] != level):
            errors.append(
                RowError(
                    name,
                    line,
                    f"{prefix} Name",
                    label,
                    f"M49 code {code} is already {known['name']!r} ({known['level']})",
                )
            )
        plan.regions.setdefault(code, {"name": label, "level": level, "parent": parent, "source": M49_SOURCE})
        levels.append(code)
        parent = code
    return levels


def _read_un_status(path: Path, plan: Plan, errors: list[RowError]) -> None:
    allowed = {State.Status.OBSERVER, State.Status.OTHER_STATE}
    for line, row in read_csv(path, ("iso3", "status", "source"), errors):
        state = plan.states.get(row["iso3"])
        if state is None:
            errors.append(
                RowError(path.name, line, "iso3", row["iso3"], "no State with this ISO 3166-1 alpha-3 code")
            )
        elif row["status"] not in allowed:
            errors.append(
                RowError(path.name, line, "status", row["status"], f"must be one of {sorted(allowed)}")
            )
        elif state["status"] == State.Status.MEMBER:
            errors.append(RowError(path.name, line, "iso3", row["iso3"], "is a UN Member State"))
        else:
            state["status"] = row["status"]
            state["source"] += "; status: " + row["source"]


def _read_historic(path: Path, plan: Plan, errors: list[RowError]) -> None:
    rows = list(
        read_csv(
            path,
            (
                "alpha_4",
                "alpha_3",
                "alpha_2",
                "numeric",
                "name",
                "iso_name",
                "withdrawn",
                "successors",
                "comment",
            ),
            errors,
        )
    )
    for line, row in rows:
        code = row["alpha_4"]
        if not re.fullmatch(r"[A-Z]{4}", code):
            errors.append(RowError(path.name, line, "alpha_4", code, "must be four capital letters"))
            continue
        try:
            ended = PartialDate.parse(row["withdrawn"])
        except ValueError as exc:
            errors.append(RowError(path.name, line, "withdrawn", row["withdrawn"], str(exc)))
            continue
        plan.states[code] = {
            "iso2": row["alpha_2"],
            "iso3": row["alpha_3"],
            "m49": _int(row["numeric"], path.name, line, "numeric", errors),
            "name_en": row["name"],
            "name_fr": "",
            "name_es": "",
            "name_ru": "",
            "name_zh": "",
            "name_ar": "",
            "formal_name_en": row["iso_name"] if row["iso_name"] != row["name"] else "",
            "status": State.Status.HISTORIC,
            "region_id": None,
            "subregion_id": None,
            "intermediate_region_id": None,
            "latitude": None,
            "longitude": None,
            "name_pattern": "",
            "ended": ended.date,
            "ended_precision": ended.precision,
            "note": row["comment"],
            "source": ISO3166_3_SOURCE,
        }
        plan.aliases[code] = {}
        for column in ("name", "iso_name"):
            _add_alias(plan, code, row[column], "historic", ISO3166_3_SOURCE)
            # ISO writes names inverted, short name first: "USSR, Union of Soviet Socialist Republics".
            if "," in row[column]:
                _add_alias(plan, code, row[column].split(",")[0], "historic", ISO3166_3_SOURCE)
    for line, row in rows:
        successors = row["successors"].split()
        unknown = [s for s in successors if s not in plan.states]
        if unknown:
            errors.append(RowError(path.name, line, "successors", " ".join(unknown), "unknown State code(s)"))
        elif row["alpha_4"] in plan.states:
            plan.successors[row["alpha_4"]] = successors


def _read_aliases(path: Path, plan: Plan, errors: list[RowError]) -> None:
    for line, row in read_csv(path, ("name", "state", "kind", "source"), errors):
        if row["state"] not in plan.states:
            errors.append(RowError(path.name, line, "state", row["state"], "no State with this code"))
        elif not row["name"]:
            errors.append(RowError(path.name, line, "name", "", "an alias needs a name"))
        elif not row["source"]:
            errors.append(RowError(path.name, line, "source", "", "every alias needs its source"))
        else:
            _add_alias(plan, row["state"], row["name"], row["kind"], row["source"])


def _add_alias(plan: Plan, code: str, name: str, kind: str, source: str) -> None:
    key = normalize(name) if name else ""
    if key and key not in plan.aliases[code]:
        plan.aliases[code][key] = (name, kind, source)


def write(plan: Plan, stats: Stats) -> None:
    """Write regions, States, successors and aliases (inside the caller's transaction)."""
    for m49, values in sorted(plan.regions.items(), key=lambda kv: list(Region.Level).index(kv[1]["level"])):
        parent = values["parent"]
        upsert(
            Region,
            {"m49": m49},
            {
                "name": values["name"],
                "level": values["level"],
                "parent_id": Region.objects.get(m49=parent).pk if parent else None,
                "source": values["source"],
            },
            stats,
        )
    region_pk = dict(Region.objects.values_list("m49", "pk"))
    states = {}
    for code, values in plan.states.items():
        values = dict(values)
        for key in ("region_id", "subregion_id", "intermediate_region_id"):
            values[key] = region_pk[values[key]] if values[key] else None
        states[code] = upsert(State, {"code": code}, values, stats)
    for code, successors in plan.successors.items():
        wanted = {states[s].pk for s in successors}
        if set(states[code].successors.values_list("pk", flat=True)) != wanted:
            states[code].successors.set(wanted)
    _write_aliases(plan, states, stats)


def _write_aliases(plan: Plan, states: dict[str, State], stats: Stats) -> None:
    existing: dict[tuple[int, str], StateAlias] = {
        (a.state_id, a.normalized): a for a in StateAlias.objects.all()
    }
    wanted: set[tuple[int, str]] = set()
    new = []
    for code, aliases in plan.aliases.items():
        pk = states[code].pk
        for key, (name, kind, source) in aliases.items():
            wanted.add((pk, key))
            alias = existing.get((pk, key))
            if alias is None:
                new.append(StateAlias(state_id=pk, name=name, normalized=key, kind=kind, source=source))
                stats.count("State aliases", "created")
            elif (alias.name, alias.kind, alias.source) != (name, kind, source):
                alias.name, alias.kind, alias.source = name, kind, source
                alias.save()
                stats.count("State aliases", "updated")
    StateAlias.objects.bulk_create(new)
    stale = [alias.pk for key, alias in existing.items() if key not in wanted]
    StateAlias.objects.filter(pk__in=stale).delete()


LOADER = ReferenceLoader(name="geo", read=read, write=write, files=FILES, after=())
