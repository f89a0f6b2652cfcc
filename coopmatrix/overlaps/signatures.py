"""Each activity's signature (models.Signature): what the score reads of it, packed small and kept
beside it, so that checking one activity against thousands reads one row each.

Built from the activity as it is in the database now (also inside a transaction that will be undone:
the warning before saving reads it so), stored on every change (engine.refresh), read back as
scoring.Packed. The masks are by key (State, area, instrument); the DAC purpose codes are found
from the areas when read, so a code given to an area later counts at once.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from coopmatrix.core import bulk
from coopmatrix.core.dates import PartialDate, Precision
from coopmatrix.matrix.models import Activity, ActivityProvider, ActivityReach
from coopmatrix.vocabulary.models import ThematicArea

from .models import Block, Signature
from .scoring import Described, Packed, fingerprint

#: Raise when the packing changes: signatures of an older method are packed again.
METHOD = 2

FIELDS = ("activity_id", "states", "areas", "instruments", "text", "providers", "programme", "modality")
PERIOD = ("start", "end")


def _mask(keys: Iterable[int]) -> int:
    mask = 0
    for key in keys:
        mask |= 1 << key
    return mask


def _bytes(mask: int) -> bytes:
    return mask.to_bytes((mask.bit_length() + 7) // 8, "little")


def _int(value: bytes | memoryview) -> int:
    return int.from_bytes(value, "little")


def build(activity_ids: Iterable[int]) -> list[Signature]:
    """The signatures of these activities as they are in the database now (unsaved)."""
    ids = list(activity_ids)
    if not ids:
        return []
    rows = activity_rows(_build_sql, ids) if connection.vendor in SQL_WRITTEN else _build_rows_orm(ids)
    return [_signature(*row) for row in rows]


#: The databases the queries here are written for (others go through the ORM).
SQL_WRITTEN = ("postgresql", "sqlite")


def _signature(
    pk: int,
    title: str,
    description: str | None,
    programme: str | None,
    modality: str | None,
    start: dt.date | None,
    end: dt.date | None,
    states: Iterable[int],
    areas: Iterable[int],
    instruments: Iterable[int],
    providers: Iterable[str],
) -> Signature:
    return Signature(
        activity_id=pk,
        method=METHOD,
        states=_bytes(_mask(states)),
        areas=_bytes(_mask(areas)),
        instruments=_bytes(_mask(instruments)),
        text=_bytes(fingerprint(f"{title} {description or ''}")),
        providers=" ".join(sorted(set(providers))),
        programme=programme,
        modality=modality or "",
        start=start,
        end=end,
    )


@lru_cache(maxsize=2)
def _build_sql(vendor: str) -> str:
    """_build_rows_orm's rows in one query written once: the check on save builds the signature
    of the activity saved each time (five queries were a tenth of its time)."""
    from coopmatrix.directory.models import Organization

    return activity_rows_sql(
        [
            (ActivityReach, "state", None),
            (Activity.thematic_areas.through, "thematicarea", None),
            (Activity.instruments.through, "instrument", None),
            (ActivityProvider, "organization", (Organization, "code")),
        ],
        vendor,
    )


#: An ARRAY of activity_rows_sql: the link table, its column naming the linked record, and the
#: linked record's model and field to read (None: the link's key itself).
Linked = tuple[Any, str, tuple[Any, str] | None]


def activity_rows_sql(arrays: Iterable[Linked], vendor: str = "postgresql") -> str:
    """SQL reading each activity of %(ids)s as (pk, title, description, programme code, modality,
    start, end) and then one array per link asked for, in one query: the check on save reads the
    activity saved and explains its strongest candidates on every save, where the ORM made five
    queries each time. On SQLite the ids are a JSON list and each array a JSON text
    (`activity_rows`)."""
    from coopmatrix.matrix.models import Programme

    quote = connection.ops.quote_name
    a = Activity

    def table(model: Any) -> str:
        return quote(model._meta.db_table)

    def column(model: Any, name: str) -> str:
        return quote(model._meta.get_field(name).column)

    def array(through: Any, key: str, read: tuple[Any, str] | None) -> str:
        where = f"WHERE x.{column(through, 'activity')} = a.{quote(a._meta.pk.column)}"
        if read is None:
            wanted, source = f"x.{column(through, key)}", f"{table(through)} x"
        else:
            target, value = read
            wanted = f"t.{column(target, value)}"
            source = (
                f"{table(through)} x JOIN {table(target)} t "
                f"ON t.{quote(target._meta.pk.column)} = x.{column(through, key)}"
            )
        if vendor == "postgresql":
            return f"ARRAY(SELECT {wanted} FROM {source} {where})"
        return f"(SELECT json_group_array({wanted}) FROM {source} {where})"

    columns = ", ".join(
        [
            f"a.{quote(a._meta.pk.column)}",
            f"a.{column(a, 'title')}",
            f"a.{column(a, 'description')}",
            f"p.{column(Programme, 'code')}",
            *(f"a.{column(a, name)}" for name in ("modality", "period_start", "period_end")),
            *(array(*linked) for linked in arrays),
        ]
    )
    return (
        f"SELECT {columns} FROM {table(a)} a LEFT JOIN {table(Programme)} p "
        f"ON p.{quote(Programme._meta.pk.column)} = a.{column(a, 'programme')} "
        f"WHERE a.{quote(a._meta.pk.column)} "
        + ("= ANY(%(ids)s)" if vendor == "postgresql" else "IN (SELECT value FROM json_each(%(ids)s))")
    )


#: The columns of activity_rows_sql before its arrays.
ACTIVITY_COLUMNS = 7


def activity_rows(sql: Callable[[str], str], ids: list[int]) -> list[tuple]:
    """The rows of an activity_rows_sql query (`sql(vendor)`, kept once made) for these ids, on
    PostgreSQL or SQLite; each array a list."""
    if connection.vendor == "postgresql":
        return fetch_binary(sql("postgresql"), {"ids": ids})
    with connection.cursor() as cursor:
        # Django's connection reads the date columns back as dates (its converters).
        cursor.execute(sql("sqlite"), {"ids": json.dumps(ids)})
        return [
            (*row[:ACTIVITY_COLUMNS], *(json.loads(codes) for codes in row[ACTIVITY_COLUMNS:]))
            for row in cursor.fetchall()
        ]


def fetch_binary(sql: str, params: dict[str, Any]) -> list[tuple]:
    """All rows of a query on PostgreSQL, fetched in binary form, on Django's connection and in its
    transaction (the text form sends masks as hexadecimal and arrays as text for Python to parse)."""
    import psycopg

    connection.ensure_connection()
    with psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(sql, params, binary=True, prepare=False)
        return cursor.fetchall()


def stream_binary(sql: str, params: Iterable[Any], size: int = 20_000) -> Iterator[tuple]:
    """The rows of a query on PostgreSQL, fetched in binary form `size` at a time through a cursor
    of the server (a million rows never held at once), on Django's connection."""
    for rows in batches_binary(sql, tuple(params), size):
        yield from rows


def batches_binary(sql: str, params: Sequence[Any] | Mapping[str, Any], size: int) -> Iterator[list[tuple]]:
    """The rows of a query on PostgreSQL in binary form, as `stream_binary` fetches them, by the
    batch of `size` rows."""
    import psycopg

    connection.ensure_connection()
    # Outside a transaction, the cursor must outlive the statement that opens it.
    with psycopg.ServerCursor(
        connection.connection, "coopmatrix_stream", withhold=connection.get_autocommit()
    ) as cursor:
        cursor.execute(sql, params, binary=True)
        # By the batch: iterating the cursor itself costs some two microseconds a row.
        while rows := cursor.fetchmany(size):
            yield rows


def _build_rows_orm(ids: list[int]) -> list[tuple]:
    """Each activity's row and its keys: (pk, title, description, programme, modality, start,
    end, States, areas, instruments, provider codes)."""
    states: dict[int, list[int]] = defaultdict(list)
    for pk, state in ActivityReach.objects.filter(activity_id__in=ids).values_list("activity_id", "state_id"):
        states[pk].append(state)
    areas: dict[int, list[int]] = defaultdict(list)
    through = Activity.thematic_areas.through.objects.filter(activity_id__in=ids)
    for pk, area in through.values_list("activity_id", "thematicarea_id"):
        areas[pk].append(area)
    instruments: dict[int, list[int]] = defaultdict(list)
    through = Activity.instruments.through.objects.filter(activity_id__in=ids)
    for pk, instrument in through.values_list("activity_id", "instrument_id"):
        instruments[pk].append(instrument)
    providers: dict[int, set[str]] = defaultdict(set)
    for pk, code in ActivityProvider.objects.filter(activity_id__in=ids).values_list(
        "activity_id", "organization__code"
    ):
        providers[pk].add(code)
    rows = Activity.objects.filter(pk__in=ids).values_list(
        "pk", "title", "description", "programme__code", "modality", "period_start", "period_end"
    )
    return [(*row, states[row[0]], areas[row[0]], instruments[row[0]], providers[row[0]]) for row in rows]


def area_keys(areas: Iterable[tuple[int, str]] | None = None) -> dict[int, int]:
    """Each area's key: its DAC purpose code (areas of one code share it), or minus its own key."""
    if areas is None:
        areas = ThematicArea.objects.values_list("pk", "dac_code")
    return {pk: int(code) if code and code.isdigit() else -pk for pk, code in areas}


def span(start: dt.date, end: dt.date | None) -> int:
    """The length class of a period: below 32 × 2**span days; -1 while under way (no end)."""
    return -1 if end is None else max(0, (end - start).days // 32).bit_length()


#: The length class of a hundred years: the classes up to it are looked up one range each.
CENTURY = span(dt.date(2000, 1, 1), dt.date(2100, 1, 1))


def span_days(value: int) -> int:
    return 32 * 2**value


#: The fields of a block as `blocks` gives them, in its order.
BLOCK_FIELDS = ("activity_id", "state", "area", "span", "start", "end")


def blocks(signature: Signature) -> list[tuple[Any, ...]]:
    """The signature's blocks as values (`BLOCK_FIELDS`): an import's hundred thousand as model
    objects took longer to make than to write."""
    if signature.start is None:
        return []
    areas = _keys(_int(signature.areas))
    length = span(signature.start, signature.end)
    pk, start, end = signature.activity_id, signature.start, signature.end
    return [
        (pk, state, area, length, start, end) for state in _keys(_int(signature.states)) for area in areas
    ]


#: Activities whose signatures and blocks are built and written at once: the blocks of twenty
#: thousand (an import's, checked on its commit) took some 170 MB, more than the import itself.
SAVE_CHUNK = 1000


@transaction.atomic
def save(activity_ids: Iterable[int]) -> list[Signature]:
    """Build and keep the signatures of these activities, and their blocks (those deleted lose
    theirs with them)."""
    ids = list(activity_ids)
    built: list[Signature] = []
    for start in range(0, len(ids), SAVE_CHUNK):
        part = ids[start : start + SAVE_CHUNK]
        made = build(part)
        Block.objects.filter(activity_id__in=part).delete()
        Signature.objects.filter(activity_id__in=part).delete()
        bulk.insert(Signature, made)
        bulk.insert_rows(Block, BLOCK_FIELDS, [block for signature in made for block in blocks(signature)])
        built += made
    return built


def missing() -> QuerySet[Activity]:
    """Activities with no signature, or one packed by an older method (written in bulk, without
    the signals: a fixture, the synthetic generator before it packed them, an older version)."""
    current = Signature.objects.filter(activity_id=OuterRef("pk"), method=METHOD)
    return Activity.objects.filter(~Exists(current))


def pack_missing(progress: Callable[[int, int], object] | None = None, chunk: int = 5000) -> int:
    """Build the signatures that are missing or out of date; how many were built."""
    if _all_packed():
        return 0
    ids = list(missing().order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(ids), chunk):
        save(ids[start : start + chunk])
        if progress:
            progress(min(start + chunk, len(ids)), len(ids))
    return len(ids)


def _all_packed() -> bool:
    """Whether every activity has a signature of this method, told by counting: a signature is of
    one activity and an activity has one at most, so as many as there are activities means one
    each. Over a million, the two counts take a fraction of the search for the missing ones (some
    2 s, and up to 8 s with the tables out of the database's memory), which `find_overlaps` made
    on every run. One statement: both counts from the same moment."""
    quote = connection.ops.quote_name
    method = Signature._meta.get_field("method").column
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT (SELECT count(*) FROM {quote(Activity._meta.db_table)}) = (SELECT count(*) FROM"
            f" {quote(Signature._meta.db_table)} WHERE {quote(method)} = %s)",
            [METHOD],
        )
        return bool(cursor.fetchone()[0])


@dataclass
class Reader:
    """Reads signature rows back as scoring.Packed; knows each area's DAC purpose code."""

    dac_bit: dict[int, int]
    open_end: dt.date
    #: Each area's key (area_keys).
    area_key: dict[int, int]
    _dac: dict[int, int] = field(default_factory=dict)

    @classmethod
    def now(cls) -> Reader:
        # One query: a check makes a reader each time.
        areas = list(ThematicArea.objects.values_list("pk", "dac_code"))
        bit = {code: i for i, code in enumerate(sorted({code for _pk, code in areas if code}))}
        return cls(
            dac_bit={pk: bit[code] for pk, code in areas if code},
            open_end=open_end(),
            area_key=area_keys(areas),
        )

    def dac(self, areas: int) -> int:
        # A check reads thousands of rows with a handful of different area masks.
        found = self._dac.get(areas)
        if found is None:
            found = 0
            for key in _keys(areas):
                if key in self.dac_bit:
                    found |= 1 << self.dac_bit[key]
            self._dac[areas] = found
        return found

    def packed(self, row: tuple) -> Packed:
        """A kept row as scoring.Packed (what scoring.pack gives for the same activity)."""
        pk, states, areas, instruments, text, providers, programme, modality, start, end = row
        areas_mask = _int(areas)
        if start is not None and end is None:
            end = max(start, self.open_end)
        return Packed(
            pk,
            _int(states),
            areas_mask,
            self.dac(areas_mask),
            _int(instruments),
            providers,  # kept sorted and space-separated, as pack() makes it
            programme,
            modality or "",
            start.toordinal() if start else None,
            end.toordinal() if end else None,
            start.year * 12 + start.month - 1 if start else 0,
            end.year * 12 + end.month - 1 if end else 0,
            _int(text),
        )

    def of(self, signature: Signature) -> Packed:
        return self.packed(tuple(getattr(signature, name) for name in FIELDS + PERIOD))


def open_end() -> dt.date:
    """Where an activity under way with no end yet ends: the end of this month (describe.py)."""
    return PartialDate(timezone.localdate(), Precision.MONTH).last_day


def _keys(mask: int) -> list[int]:
    """The keys whose bits the mask sets, ascending: its lowest bit taken off at a time, not every
    bit up to its highest looked at (a State's key is its bit: some 280 looks for two States)."""
    keys = []
    while mask:
        lowest = mask & -mask
        keys.append(lowest.bit_length() - 1)
        mask ^= lowest
    return keys


def pool_rows(packed: Packed, reader: Reader) -> list[tuple]:
    """The activities that may overlap this one, narrowed in the database: a State reached in
    common, an area key in common, periods that meet (models.Block: per length class, one range
    of starts)."""
    if not (packed.states and packed.areas and packed.start and packed.end):
        return []
    # Its areas, and those of its DAC purpose codes.
    areas = set(_keys(packed.areas)) | {pk for pk, bit in reader.dac_bit.items() if packed.dac >> bit & 1}
    start, end = dt.date.fromordinal(packed.start), dt.date.fromordinal(packed.end)
    pool = {"postgresql": _pool_rows_postgresql, "sqlite": _pool_rows_sqlite}.get(
        connection.vendor, _pool_rows_orm
    )
    return pool(packed.pk, _keys(packed.states), sorted(areas), start, end)


def pools(own: Sequence[Packed], reader: Reader) -> dict[int, np.ndarray]:
    """pool_rows' activities for many activities at once, by activity, their keys only (ascending):
    an import's activities share many of their candidates, whose signatures are then read once
    for all (rows_of) rather than once for each activity they meet."""
    return {pk: others for found in pools_by_batch(own, reader) for pk, others in found.items()}


def pools_by_batch(own: Sequence[Packed], reader: Reader) -> Iterator[dict[int, np.ndarray]]:
    """`pools`, up to POOLS_AT_ONCE activities at a time: a caller holds only the pools it has not
    yet scored (an activity of a dense matrix has hundreds of candidates; in a file of near copies
    a share of the whole import, 1,632 on average at 100,000 imported, and more as it grows). On
    PostgreSQL a query reads as many activities' pools as those before it say make some
    KEYS_AT_ONCE keys."""
    wanted = [packed for packed in own if packed.states and packed.areas and packed.start and packed.end]
    if connection.vendor != "postgresql":
        # SQLite reads a check's pool in a fraction of a millisecond: one after the other.
        for start in range(0, len(wanted), POOLS_AT_ONCE):
            yield {
                packed.pk: np.array(sorted(row[0] for row in pool_rows(packed, reader)), dtype=np.int64)
                for packed in wanted[start : start + POOLS_AT_ONCE]
            }
        return
    mine = [
        {
            "pk": packed.pk,
            "states": _keys(packed.states),
            "areas": sorted(
                set(_keys(packed.areas)) | {pk for pk, bit in reader.dac_bit.items() if packed.dac >> bit & 1}
            ),
            "start": dt.date.fromordinal(packed.start).isoformat(),
            "end": dt.date.fromordinal(packed.end).isoformat(),
        }
        for packed in wanted
    ]
    empty = np.empty(0, dtype=np.int64)
    start, size = 0, POOLS_FIRST
    while start < len(mine):
        batch = mine[start : start + size]
        start += len(batch)
        with _without_jit():
            rows = fetch_binary(_pools_sql(), {"mine": json.dumps(batch)})
        # Each pool comes as its keys' eight bytes each, read into an array as they are: as a list,
        # each key was a Python number (some 36 bytes, against 8).
        found = {packed["pk"]: empty for packed in batch}
        found.update((pk, np.frombuffer(keys, dtype=">i8").astype(np.int64)) for pk, keys in rows if keys)
        del rows
        size = _next_size(size, sum(len(pool) for pool in found.values()))
        yield found


def _next_size(size: int, keys: int) -> int:
    """How many activities' pools the next query reads, after `size` of them read `keys` keys:
    as many as make some KEYS_AT_ONCE at that rate, at most twice as many as before (a few large
    pools after many small ones) and at most POOLS_AT_ONCE."""
    fit = KEYS_AT_ONCE * size // max(keys, 1)
    return max(1, min(POOLS_AT_ONCE, 2 * size, fit))


@contextmanager
def _without_jit() -> Iterator[None]:
    """PostgreSQL's JIT compiler off for the queries inside (then as it was). The planner takes a
    JSON list for a hundred rows, each with fourteen index scans: the pools' query is estimated
    far above the JIT's threshold and compiled first, some 0.5 s, though it runs in milliseconds."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('jit')")
        (before,) = cursor.fetchone()
        cursor.execute("SELECT set_config('jit', 'off', true)")
        yield
        cursor.execute("SELECT set_config('jit', %s, true)", [before])


#: Activities whose pools one query reads at most, and at first (PostgreSQL).
POOLS_AT_ONCE = 500
POOLS_FIRST = 20
#: The keys one query's pools hold, about (memory: 8 bytes each, twice while they are read).
KEYS_AT_ONCE = 1_000_000


def rows_of(activity_ids: Sequence[int], size: int = 20_000) -> Iterator[tuple]:
    """The signature rows (FIELDS and PERIOD) of these activities, by key, read `size` at a time."""
    ids = sorted(activity_ids)
    if connection.vendor == "postgresql":
        quote = connection.ops.quote_name
        sql = (
            f"SELECT {_columns()} FROM {quote(Signature._meta.db_table)} s"
            f" WHERE s.activity_id = ANY(%(ids)s::bigint[]) ORDER BY s.activity_id"
        )
        # The keys as an array's text: psycopg dumps a list of a few hundred thousand numbers one
        # by one in Python (a second for an import's thousand activities); joined here, 0.08 s.
        listed = "{" + ",".join(map(str, ids)) + "}"
        for rows in batches_binary(sql, {"ids": listed}, size):
            yield from rows
        return
    for start in range(0, len(ids), 500):
        yield from (
            Signature.objects.filter(activity_id__in=ids[start : start + 500])
            .order_by("activity_id")
            .values_list(*FIELDS, *PERIOD)
        )


def _pool_rows_orm(
    activity_id: int, states: list[int], areas: list[int], start: dt.date, end: dt.date
) -> list[tuple]:
    # Under way, or longer than a century: any start up to its end.
    periods = Q(span=-1, start__lte=end) | Q(span__gt=CENTURY, start__lte=end)
    for length in range(CENTURY + 1):
        periods |= Q(span=length, start__gte=start - dt.timedelta(days=span_days(length)), start__lte=end)
    found = (
        Block.objects.filter(state__in=states, area__in=areas)
        .filter(periods)
        .filter(Q(end__gte=start) | Q(end__isnull=True))
        .values("activity_id")
    )
    rows = (
        Signature.objects.filter(activity_id__in=found)
        .exclude(activity_id=activity_id)
        .values_list(*FIELDS, *PERIOD)
    )
    # Fetched whole (thousands of rows at most): a server-side cursor would plan for the first few.
    return list(rows)


def _pool_rows_postgresql(
    activity_id: int, states: list[int], areas: list[int], start: dt.date, end: dt.date
) -> list[tuple]:
    """pool_rows' query on PostgreSQL, written once (Django built its fourteen ranges for each
    check: a fifth of its time) and its rows fetched in binary form."""
    params: dict[str, Any] = {"pk": activity_id, "states": states, "areas": areas, "start": start, "end": end}
    for length in range(CENTURY + 1):
        params[f"from{length}"] = start - dt.timedelta(days=span_days(length))
    return fetch_binary(_pool_sql("postgresql"), params)


def _pool_rows_sqlite(
    activity_id: int, states: list[int], areas: list[int], start: dt.date, end: dt.date
) -> list[tuple]:
    """pool_rows' query on SQLite, written once: Django built its fourteen ranges in some 3 ms a
    check, where SQLite answers in a tenth of that (an import of thousands of rows checks each)."""
    params: dict[str, Any] = {
        "pk": activity_id,
        "states": json.dumps(states),
        "areas": json.dumps(areas),
        "start": start.isoformat(),
        "end": end.isoformat(),
    }
    for length in range(CENTURY + 1):
        params[f"from{length}"] = (start - dt.timedelta(days=span_days(length))).isoformat()
    # Django's connection reads the date columns back as dates (its converters), masks as bytes.
    with connection.cursor() as cursor:
        cursor.execute(_pool_sql("sqlite"), params)
        return cursor.fetchall()


def _columns() -> str:
    quote = connection.ops.quote_name
    return ", ".join(f"s.{quote(Signature._meta.get_field(name).column)}" for name in FIELDS + PERIOD)


def _ranges(end: str, since: Callable[[int], str]) -> list[str]:
    """As pool_rows' query: under way or longer than a century, any start up to its end; else, per
    length class, the starts that leave it time to reach this one's start (`since`: the first of
    them for a class)."""
    return [
        f"b.span = -1 AND b.start <= {end}",
        f"b.span > {CENTURY} AND b.start <= {end}",
        *(
            f"b.span = {length} AND b.start >= {since(length)} AND b.start <= {end}"
            for length in range(CENTURY + 1)
        ),
    ]


def vacuum_blocks() -> None:
    """Have PostgreSQL vacuum the blocks' table, so that blocks written since its last vacuum are
    marked visible to all and read from the lookup index alone (models.Block). Only outside a
    transaction, where VACUUM runs; elsewhere, and on other databases, nothing. (An autovacuum
    already on the table gives way to it within a second: PostgreSQL cancels it.)"""
    if connection.vendor != "postgresql" or connection.in_atomic_block or not connection.get_autocommit():
        return
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM {connection.ops.quote_name(Block._meta.db_table)}")


@lru_cache(maxsize=1)
def _pools_sql() -> str:
    """pools' query on PostgreSQL: each activity's pool, as _pool_sql finds one, as its keys in
    ascending order, eight bytes each (NULL for none); the activities given as JSON rows (pk,
    states, areas, start, end)."""
    quote = connection.ops.quote_name
    met = '(b."end" >= n.start OR b."end" IS NULL)'
    common = (
        f"SELECT b.activity_id FROM {quote(Block._meta.db_table)} b"
        " WHERE b.state = ANY(n.states) AND b.area = ANY(n.areas)"
    )
    ranges = _ranges('n."end"', lambda length: f"n.start - {span_days(length)}")
    found = " UNION ALL ".join(f"{common} AND {bounds} AND {met}" for bounds in ranges)
    return (
        "SELECT n.pk, (SELECT string_agg(int8send(d.activity_id), ''::bytea ORDER BY d.activity_id)"
        f" FROM (SELECT DISTINCT f.activity_id FROM ({found}) f WHERE f.activity_id <> n.pk) d)"
        " FROM jsonb_to_recordset(%(mine)s::jsonb)"
        ' AS n(pk bigint, states integer[], areas integer[], start date, "end" date)'
    )


@lru_cache(maxsize=2)
def _pool_sql(vendor: str) -> str:
    quote = connection.ops.quote_name

    def among(name: str) -> str:
        if vendor == "postgresql":
            return f"= ANY(%({name})s)"
        return f"IN (SELECT value FROM json_each(%({name})s))"

    met = '(b."end" >= %(start)s OR b."end" IS NULL)'
    ranges = _ranges("%(end)s", lambda length: f"%(from{length})s")
    common = (
        f"SELECT b.activity_id FROM {quote(Block._meta.db_table)} b "
        f"WHERE b.state {among('states')} AND b.area {among('areas')}"
    )
    signature = f"SELECT {_columns()} FROM {quote(Signature._meta.db_table)} s WHERE s.activity_id <> %(pk)s"
    if vendor == "postgresql":
        # One range scan of the lookup index per class: joined by OR, the classes' bounds stayed
        # filters, and the scan read every start of the State and area up to the end (twice the
        # pages, a third more time), since nothing bounds the span column between area and start.
        found = " UNION ALL ".join(f"{common} AND {bounds} AND {met}" for bounds in ranges)
        # The candidates' keys as one array: the primary key's index sorts it and reads the
        # signatures in its order, which is the table's (they are written by key), page after
        # page. Joined to the blocks, they were read in the order a hash gave them, each page
        # from wherever it lay. The benchmark's fifty checks with no page in memory (server
        # restarted, the machine's file cache emptied): p50 46-56 ms that way, 40-44 ms this way.
        return f"{signature} AND s.activity_id = ANY(ARRAY({found}))"
    # SQLite plans the OR as well already, and the union's branches six times slower.
    found = f"{common} AND ({' OR '.join(f'({bounds})' for bounds in ranges)}) AND {met}"
    return f"{signature} AND s.activity_id IN ({found})"


@dataclass
class Codes:
    """The codes behind the masks' keys (States, areas and their DAC codes, instruments), read
    once for many signatures."""

    state: dict[int, str]
    area: dict[int, str]
    dac: dict[int, str]
    instrument: dict[int, str]
    _sets: dict[tuple[str, bytes], frozenset[str]] = field(default_factory=dict)

    @classmethod
    def now(cls) -> Codes:
        from coopmatrix.geo.models import State
        from coopmatrix.treaties.models import Instrument

        areas = list(ThematicArea.objects.values_list("pk", "code", "dac_code"))
        return cls(
            state=dict(State.objects.values_list("pk", "code")),
            area={pk: code for pk, code, _dac in areas},
            dac={pk: dac for pk, _code, dac in areas if dac},
            instrument=dict(Instrument.objects.values_list("pk", "code")),
        )

    def of(self, kind: str, mask: bytes) -> frozenset[str]:
        # A million signatures hold a few thousand different masks.
        found = self._sets.get((kind, mask))
        if found is None:
            codes = getattr(self, kind)
            found = frozenset(codes[key] for key in _keys(_int(mask)) if key in codes)
            self._sets[(kind, mask)] = found
        return found


def described(activity_ids: Iterable[int], codes: Codes, open_end: dt.date) -> dict[int, Described]:
    """These activities as describe.describe gives them, read from their signatures and their
    text alone (two queries without a join, where describe makes five): the full computation
    explains millions of pairs. The fingerprint is the signature's, the one the sweep compared."""
    ids = list(activity_ids)
    text = {
        pk: (title, description or "")
        for pk, title, description in Activity.objects.filter(pk__in=ids).values_list(
            "pk", "title", "description"
        )
    }
    found = {}
    for (
        pk,
        states,
        areas,
        instruments,
        bits,
        providers,
        programme,
        modality,
        start,
        end,
    ) in Signature.objects.filter(activity_id__in=ids).values_list(*FIELDS, *PERIOD):
        if pk not in text:
            continue
        states, areas, instruments = bytes(states), bytes(areas), bytes(instruments)
        found[pk] = Described(
            pk=pk,
            title=text[pk][0],
            description=text[pk][1],
            states=codes.of("state", states),
            areas=codes.of("area", areas),
            dac=codes.of("dac", areas),
            instruments=codes.of("instrument", instruments),
            providers=frozenset(providers.split()),
            programme=programme,
            modality=modality or "",
            start=start,
            end=end if end or not start else max(start, open_end),
            text_bits=_int(bits),
        )
    return found
