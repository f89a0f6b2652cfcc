"""Insert many new rows, with their history rows, the fast way each database offers.

An import of 100,000 activities writes millions of rows (the activities, their links, their
IATI records, budgets and transactions, and a history row for each). On PostgreSQL they go by
COPY, keys drawn from the table's sequence first so that the rows that hang on them can be
written next (COPY returns nothing); on SQLite by multi-row INSERTs that return the keys.
Either way each object gets its key, as `save()` would give it.

History rows are made as simple-history makes them for one save ("+", the user, the reason, the
time), so that a record written here reads, in its history and "as at" a date, exactly as one
saved alone. On PostgreSQL the database makes them from the rows just written (`_history_copied`).
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from decimal import Decimal
from functools import partial
from typing import Any, cast

import orjson
from django.db import DEFAULT_DB_ALIAS, connection, connections, models, transaction
from django.db.models.fields import AutoFieldMixin
from django.utils import timezone

from coopmatrix.core import planner
from coopmatrix.core.fields import JSONField

#: Rows per statement where COPY is not used (and fewer when SQLite's limit of parameters says so).
BATCH = 1000


def insert(model: type[models.Model], objects: Sequence[models.Model]) -> None:
    """Insert new `objects` of `model`; each gets its primary key."""
    if not objects:
        return
    db = connections[DEFAULT_DB_ALIAS]
    if db.vendor not in ("postgresql", "sqlite"):
        model._default_manager.bulk_create(objects, batch_size=BATCH)
        return
    _inserted(model, objects)


def _inserted(model: type[models.Model], objects: Sequence[models.Model]) -> None:
    """`insert`'s work."""
    db = connections[DEFAULT_DB_ALIAS]
    fields = _fields(model)
    plan = _plan(fields, created=True, vendor=db.vendor)
    rows = [_values(obj, plan, db) for obj in objects]
    if db.vendor == "postgresql":
        keys = insert_values(model, [f.attname for f in fields], rows)
    else:
        keys = _insert_returning(model, [f.column for f in fields], rows)
    pk = model._meta.pk
    assert pk is not None
    for n, obj in enumerate(objects):
        if keys:
            setattr(obj, pk.attname, keys[n])
        obj._state.adding = False
        obj._state.db = db.alias


def insert_rows(model: type[models.Model], names: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[int]:
    """Insert new rows given as Python values of the fields `names`, as `values_with_history` does,
    without history rows: their keys, in order. For the many rows of a model without history that
    a model object each would cost more to make than to write (the sums' record of each
    contribution of an import)."""
    if not rows:
        return []
    db = connections[DEFAULT_DB_ALIAS]
    if db.vendor not in ("postgresql", "sqlite"):
        objects = [model(**dict(zip(names, row, strict=True))) for row in rows]
        insert(model, objects)
        return [cast(int, obj.pk) for obj in objects]
    fields, full = _filled(model, names, rows, timezone.now())
    keys = insert_values(model, [f.attname for f in fields], _ready(fields, full, db))
    return _keys(model, fields, full, keys)


def replace_rows(
    model: type[models.Model], names: Sequence[str], rows: Sequence[Sequence[Any]], kept: Collection[Any]
) -> None:
    """Write rows given as values of the fields `names`, the primary key first: a row whose key
    is in `kept` (rows this transaction read FOR UPDATE) is updated in place (`update`), the
    others are inserted (`insert_rows`, by COPY). In place, not deleted and inserted again: a
    transaction waiting on such a row's lock then reads its new version, where a row deleted and
    made again was gone for it, and its own insert of the row collided with the new one."""
    insert_rows(model, names, [row for row in rows if row[0] not in kept])
    changed = [model(**dict(zip(names, row, strict=True))) for row in rows if row[0] in kept]
    update(model, changed, names[1:])


def insert_values(model: type[models.Model], names: list[str], rows: Sequence[Sequence[Any]]) -> list[int]:
    """Insert rows given as values of the fields `names` (the primary key left out): their keys,
    in order. On PostgreSQL the values are those a field gives the database (get_db_prep_save)."""
    if not rows:
        return []
    if connection.vendor not in ("postgresql", "sqlite"):
        made = [model(**dict(zip(names, row, strict=True))) for row in rows]
        model._default_manager.bulk_create(made, batch_size=BATCH)
        return [m.pk for m in made]
    if connection.vendor == "sqlite":
        fields = [model._meta.get_field(name) for name in names]
        db = connections[DEFAULT_DB_ALIAS]
        plan = _plan(fields, created=False, vendor=db.vendor)
        prepared = [_prepared(row, plan, db) for row in rows]
        return _insert_returning(model, [cast(str, f.column) for f in fields], prepared)  # type: ignore[union-attr]
    from coopmatrix.core import public_cache

    meta = model._meta
    pk = meta.pk
    assert pk is not None
    db = connections[DEFAULT_DB_ALIAS]
    columns = [cast(str, meta.get_field(name).column) for name in names]  # type: ignore[union-attr]
    keys: list[int] = []
    with db.cursor() as cursor:
        if pk.attname not in names:
            keys = _drawn(cursor, meta.db_table, pk.column, len(rows))
            columns.insert(0, pk.column)
        quoted = ", ".join(db.ops.quote_name(c) for c in columns)
        with cursor.cursor.copy(f"COPY {db.ops.quote_name(meta.db_table)} ({quoted}) FROM STDIN") as copy:
            if keys:
                for key, row in zip(keys, rows, strict=True):
                    copy.write_row((key, *row))
            else:
                for row in rows:
                    copy.write_row(row)
    # COPY goes past the execute wrapper that sees writes: cached public answers must not outlive it.
    public_cache.changed(db)
    # A large import into a database that held little: the planner learns of the new rows.
    planner.written(len(rows))
    return keys


def _drawn(cursor: Any, table: str, column: str, count: int) -> list[int]:
    """`count` keys drawn from the sequence of `table`'s `column`, one by one as a default draws
    them (others may draw meanwhile)."""
    # The sequence named once: asked in each row, its name took 8 times as long as the keys
    # (0.37 s for 100,000, against 0.045 s; some 115,000 keys a 2,000 IATI activities).
    cursor.execute(
        "WITH named AS MATERIALIZED (SELECT pg_get_serial_sequence(%s, %s)::regclass AS sequence)"
        " SELECT nextval(sequence) FROM named, generate_series(1, %s)",
        [table, column, count],
    )
    return [key for (key,) in cursor.fetchall()]


def update(model: type[models.Model], objects: Sequence[models.Model], names: Sequence[str]) -> None:
    """Write the fields `names` (attribute names) of existing `objects` (each given once), each to
    its own row, as `save()` writes them (an automatic date is not set here: the caller sets it).
    On PostgreSQL the new values go by COPY into a table of this transaction, then one UPDATE
    takes them from it: an UPDATE a row cost a re-import of 2,000 changed activities a round trip
    each, for the activities, their records, budgets, transactions and contributions. On SQLite,
    which writes in the process, an UPDATE a row."""
    if not objects:
        return
    db = connections[DEFAULT_DB_ALIAS]
    meta = model._meta
    pk = meta.pk
    assert pk is not None
    fields = [meta.get_field(name) for name in names]
    if db.vendor != "postgresql":
        manager = model._base_manager
        for obj in objects:
            manager.filter(pk=obj.pk).update(**{f.attname: getattr(obj, f.attname) for f in fields})  # type: ignore[union-attr]
        return
    from coopmatrix.core import public_cache

    plan = _plan(fields, created=False)
    quote = db.ops.quote_name
    key, columns = quote(pk.column), [quote(cast(str, f.column)) for f in fields]  # type: ignore[union-attr]
    listed = ", ".join([key, *columns])
    # In a transaction of its own if none is open: the table of values lives until it ends.
    with transaction.atomic(using=db.alias), db.cursor() as cursor:
        # Its columns are the table's own, with their types; dropped once the UPDATE has taken its
        # values (or with the transaction, should it fail).
        cursor.execute(
            f"CREATE TEMP TABLE coopmatrix_update ON COMMIT DROP AS SELECT {listed}"
            f" FROM {quote(meta.db_table)} WITH NO DATA"
        )
        with cursor.cursor.copy(f"COPY coopmatrix_update ({listed}) FROM STDIN") as copy:
            for obj in objects:
                copy.write_row((obj.pk, *_values(obj, plan, db)))
        # Keyed and counted, so that the planner looks each row up by its key whatever it believes
        # of the table: a table it last saw empty, grown in this transaction, was read whole for
        # each row given (584 transactions of a re-import took 1.4 s).
        cursor.execute(f"ALTER TABLE coopmatrix_update ADD PRIMARY KEY ({key})")
        cursor.execute("ANALYZE coopmatrix_update")
        assignments = ", ".join(f"{column} = given.{column}" for column in columns)
        cursor.execute(
            f"UPDATE {quote(meta.db_table)} AS kept SET {assignments} FROM coopmatrix_update AS given"
            f" WHERE kept.{key} = given.{key}"
        )
        cursor.execute("DROP TABLE coopmatrix_update")
    public_cache.changed(db)
    planner.written(len(objects))


def _insert_returning(
    model: type[models.Model], columns: list[str], rows: Sequence[Sequence[Any]]
) -> list[int]:
    """Rows of values SQLite takes as they are, inserted by multi-row statements that give back
    their keys in order (RETURNING, as Django's bulk_create reads them): the statements
    bulk_create sends, without its compiling each value of each row (some 0.8 s of the 4.5 s an
    import of 2,000 activity rows took)."""
    meta = model._meta
    pk = meta.pk
    assert pk is not None
    db = connections[DEFAULT_DB_ALIAS]
    quote = db.ops.quote_name
    size = max(1, min(BATCH, _parameters_allowed(db) // max(1, len(columns))))
    head = f"INSERT INTO {quote(meta.db_table)} ({', '.join(map(quote, columns))}) VALUES "
    one = "(" + ", ".join(["%s"] * len(columns)) + ")"
    tail = f" RETURNING {quote(pk.column)}"
    keys: list[int] = []
    with db.cursor() as cursor:
        for start in range(0, len(rows), size):
            part = rows[start : start + size]
            cursor.execute(head + ", ".join([one] * len(part)) + tail, [v for row in part for v in row])
            keys.extend(key for (key,) in cursor.fetchall())
    return keys


def _parameters_allowed(db: Any) -> int:
    """How many parameters one SQLite statement may take (999 before SQLite 3.32, 32,766 since)."""
    import sqlite3

    db.ensure_connection()
    return int(db.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER))


def with_history(
    model: type[models.Model], objects: Sequence[models.Model], user: Any, reason: str | None, when: Any
) -> list[int]:
    """Insert new `objects` and a creation history row for each; the history rows' keys."""
    if not objects:
        return []
    insert(model, objects)
    return history_rows(model, objects, user, reason, when)


def values_with_history(
    model: type[models.Model],
    names: Sequence[str],
    rows: Sequence[Sequence[Any]],
    user: Any,
    reason: str | None,
    when: Any,
) -> list[int]:
    """Insert new rows given as Python values of the fields `names` (attribute names: `record_id`),
    each with its creation history row, as `with_history` writes objects, without an object for
    each: the rows' keys, in order. A field not named takes its default; an automatic date, `when`.
    For the many small rows of an import: the 22,000 budgets and transactions of 2,000 IATI
    activities cost some 0.8 s as model objects, before a value of them was written."""
    if not rows:
        return []
    db = connections[DEFAULT_DB_ALIAS]
    if db.vendor not in ("postgresql", "sqlite"):
        objects = [model(**dict(zip(names, row, strict=True))) for row in rows]
        with_history(model, objects, user, reason, when)
        return [cast(int, obj.pk) for obj in objects]
    fields, full = _filled(model, names, rows, when)
    attnames = [f.attname for f in fields]
    written = _ready(fields, full, db)
    keys = _keys(model, fields, full, insert_values(model, attnames, written))
    if _copied_in_place(model, keys):
        _history_copied(model, keys, user, reason, when)
        return keys
    place = {name: n for n, name in enumerate(attnames)}
    pk = cast(Any, model._meta.pk).attname
    place[pk] = len(attnames)  # the key, after the row's values
    tracked = [f.attname for f in model.history.model.tracked_fields]  # type: ignore[attr-defined]
    with_keys = ([*row, key] for row, key in zip(written, keys, strict=True))
    _write_history(model, ([row[place[name]] for name in tracked] for row in with_keys), user, reason, when)
    return keys


def _filled(
    model: type[models.Model], names: Sequence[str], rows: Sequence[Sequence[Any]], when: Any
) -> tuple[list[Any], list[list[Any]]]:
    """The fields an insert writes and each row's value of each: the one given, else the field's
    default (an automatic date: `when`)."""
    fields = _fields(model)
    given = {name: n for n, name in enumerate(names)}
    unknown = set(given) - {f.attname for f in fields}
    if unknown:
        raise ValueError(f"{model.__name__} has no field {', '.join(sorted(unknown))} an insert writes")
    filled = [_filler(field, given.get(field.attname), when) for field in fields]
    return fields, [[row[n] if n is not None else value for n, value in filled] for row in rows]


def _ready(fields: list[Any], rows: list[list[Any]], db: Any) -> list[list[Any]]:
    """Rows of Python values as insert_values takes them: on PostgreSQL, as the database takes
    them (SQLite's are made so there)."""
    if db.vendor != "postgresql":
        return rows
    plan = _plan(fields, created=False)
    return [_prepared(row, plan, db) for row in rows]


def _keys(model: type[models.Model], fields: list[Any], rows: list[list[Any]], drawn: list[int]) -> list[int]:
    """The rows' keys: those drawn, or those given where the key is a relation written as given."""
    pk = cast(Any, model._meta.pk).attname
    names = [f.attname for f in fields]
    if pk not in names:
        return drawn
    place = names.index(pk)
    return [row[place] for row in rows]


def _filler(field: Any, given: int | None, when: Any) -> tuple[int | None, Any]:
    """Where a field's value is found in a row (its place among the names), or the value it
    takes when it is not named there."""
    if given is not None:
        return given, None
    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        return None, when if isinstance(field, models.DateTimeField) else when.date()
    return None, field.get_default()


def history_rows(
    model: type[models.Model],
    objects: Sequence[models.Model],
    user: Any,
    reason: str | None,
    when: Any,
    kind: str = "+",
) -> list[int]:
    """A history row for each of `objects` as its row stands in the database, which is as the
    object is once written (`kind` "+" a creation, "~" a change, "-" a deletion, written before
    the rows go), as simple-history writes one on a save or a delete; their keys, in order."""
    if not objects:
        return []
    keys = [obj.pk for obj in objects]
    if _copied_in_place(model, keys):
        return _history_copied(model, keys, user, reason, when, kind)
    tracked = list(model.history.model.tracked_fields)  # type: ignore[attr-defined]
    names = [f.attname for f in tracked]
    if connection.vendor != "postgresql":
        values: Iterable[Sequence[Any]] = ([getattr(obj, n) for n in names] for obj in objects)
    else:
        plan = _plan(tracked, created=False)
        db = connections[DEFAULT_DB_ALIAS]
        values = (_values(obj, plan, db) for obj in objects)
    return _write_history(model, values, user, reason, when, kind)


#: The fields simple-history adds to a history row, as `_write_history` and `_history_copied` fill them.
_HISTORY_FIELDS = ("history_date", "history_type", "history_user_id", "history_change_reason")

#: The tables of this thread whose indexes are set aside (`indexes_set_aside`).
_aside = threading.local()


def _copied_in_place(model: type[models.Model], keys: Sequence[Any]) -> bool:
    """Whether the history rows of these rows are made by the database from the rows themselves
    (`_history_copied`): on PostgreSQL, rows with whole-number keys in a table whose key is
    indexed (a table whose indexes are set aside would be read whole for each batch)."""
    return (
        connection.vendor == "postgresql"
        and model._meta.db_table not in getattr(_aside, "tables", ())
        and all(type(key) is int for key in keys)
    )


def _history_copied(
    model: type[models.Model], keys: Sequence[int], user: Any, reason: str | None, when: Any, kind: str = "+"
) -> list[int]:
    """PostgreSQL: the history rows of `model`'s rows with these keys, made by the database from
    the rows as they stand, by one statement (simple-history's fields, as `_write_history` writes
    them); their keys, in the order of `keys`. Each value is the database's own: no Python value
    made again, sent again, nor JSON read again (an IATI import's records hold their titles,
    descriptions and organisations as JSON: the history rows of 5,000 activities, their records,
    budgets, transactions, providers and contributions are some 117,000 rows that Python made,
    formatted and sent a second time)."""
    history_model = model.history.model  # type: ignore[attr-defined]
    db = connections[DEFAULT_DB_ALIAS]
    quote = db.ops.quote_name
    meta, past = model._meta, history_model._meta
    column_of = {f.attname: f.column for f in past.concrete_fields}
    tracked = history_model.tracked_fields
    into = [column_of[f.attname] for f in tracked]
    into += [column_of[name] for name in _HISTORY_FIELDS]
    acting = acting_user(user)
    stamp = past.get_field("history_date").get_db_prep_save(when, db)
    with db.cursor() as cursor:
        drawn = _drawn(cursor, past.db_table, cast(Any, past.pk).column, len(keys))
        cursor.execute(
            f"INSERT INTO {quote(past.db_table)} ({quote(cast(Any, past.pk).column)}, "
            f"{', '.join(map(quote, into))}) SELECT given.drawn, "
            f"{', '.join('kept.' + quote(f.column) for f in tracked)}, %s, %s, %s, %s"
            " FROM unnest(%s::bigint[], %s::bigint[]) AS given (key, drawn)"
            f" JOIN {quote(meta.db_table)} AS kept ON kept.{quote(cast(Any, meta.pk).column)} = given.key",
            [stamp, kind, acting.pk if acting is not None else None, reason, _array(keys), _array(drawn)],
        )
        if cursor.rowcount != len(keys):
            raise ValueError(
                f"{len(keys) - cursor.rowcount} of the {model.__name__} rows given a history row are not in"
                " the database"
            )
    planner.written(len(keys))
    return drawn


def _array(keys: Sequence[int]) -> str:
    """Whole numbers as one array literal (psycopg adapts a list value by value)."""
    return "{" + ",".join(map(str, keys)) + "}"


def _write_history(
    model: type[models.Model],
    values: Iterable[Sequence[Any]],
    user: Any,
    reason: str | None,
    when: Any,
    kind: str = "+",
) -> list[int]:
    """History rows of `model` from the values of its tracked fields, in their order (as the
    database takes them on PostgreSQL), as simple-history writes one on a save; their keys."""
    history_model = model.history.model  # type: ignore[attr-defined]
    acting = acting_user(user)
    who = acting.pk if acting is not None else None
    if connection.vendor == "postgresql":
        db = connections[DEFAULT_DB_ALIAS]
        when = history_model._meta.get_field("history_date").get_db_prep_save(when, db)
    names = [f.attname for f in history_model.tracked_fields]
    rows = [[*row, when, kind, who, reason] for row in values]
    return insert_values(history_model, [*names, *_HISTORY_FIELDS], rows)


def acting_user(user: Any) -> Any:
    """Whose change a history row records: `user`, else the one simple-history would name (the
    request's, or the console's `acting_as`)."""
    if user is None:
        from simple_history.models import HistoricalRecords

        user = getattr(getattr(HistoricalRecords.context, "request", None), "user", None)
    return user if getattr(user, "is_authenticated", False) else None


def holds_fewer(model: type[models.Model], count: int) -> bool:
    """Whether `model`'s table holds fewer than `count` rows (reads at most `count` of them)."""
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM (SELECT 1 FROM {table} LIMIT %s) AS kept", [count])
        return cursor.fetchone()[0] < count


@contextmanager
def keys_checked_as_written() -> Iterator[None]:
    """Within it (PostgreSQL, in the caller's transaction), each statement's rows have their
    foreign keys checked as the statement ends, not at the commit. Django makes foreign keys
    deferred: until the commit the server keeps, in the backend's own memory, a check waiting for
    every key of every row written, some 85 an IATI activity: 25 MB a minute into an import of
    the benchmark's file, over a gigabyte for a million. Checked as written, it stays some 300 KB.
    The rows must then be written after those they name (as the bulk writes do). After the block
    the keys are deferred again; a block that fails leaves that to its rollback."""
    if connection.vendor != "postgresql" or not connection.in_atomic_block:
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    yield
    with connection.cursor() as cursor:
        # Every constraint that can be deferred is deferred at first here (Django's keys).
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")


#: A foreign key made again to a table of at least this many rows (the planner's figure) is checked
#: by merging, not hashing (`indexes_set_aside`).
MERGED_CHECK_ROWS = 100_000


@contextmanager
def indexes_set_aside(*tables: type[models.Model]) -> Iterator[None]:
    """Load many rows into `tables` (PostgreSQL, within the caller's transaction) as a restore does
    (PostgreSQL's "Populating a Database"): their indexes, and their primary-key, unique and
    foreign-key constraints, are dropped, then made again from the definitions the database gave
    (a primary key that a foreign key names stays). The rows must bring their keys. One sort per
    index and one query per foreign key cost a fraction of keeping each up to date row by row: the
    5.8 million pairs of a first full computation of overlaps over a million activities are
    written with their history in 31-38 s, where they took 277 s. Meant for a load that at least
    doubles a table (`holds_fewer`): the tables are closed to others until the transaction ends,
    and a table's indexes are made again over all its rows."""
    if not tables or connection.vendor != "postgresql":
        yield
        return
    names = [m._meta.db_table for m in tables]
    with connection.cursor() as cursor:
        # A table cannot be altered while checks of foreign keys wait for the commit: they are
        # made now (and those to come wait again).
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        # Sorting a few million keys in memory rather than in files; for this transaction only.
        cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
        # Foreign keys before the unique constraints they might rest on; added back the other way.
        # The primary key too: kept up to date row by row, it cost the 5.8 million history rows of
        # a first computation of overlaps some 8 s of their INSERT's 16; made again, 1.4-1.8 s a table.
        # A foreign key's check is one query: whether it merges rather than hashes (below) follows
        # the size of the table it names.
        cursor.execute(
            "SELECT format('ALTER TABLE %%I DROP CONSTRAINT %%I', rel.relname, con.conname),"
            " format('ALTER TABLE %%I ADD CONSTRAINT %%I ', rel.relname, con.conname)"
            " || pg_get_constraintdef(con.oid), con.contype = 'f' AND named.reltuples >= %s"
            " FROM pg_constraint con JOIN pg_class rel ON rel.oid = con.conrelid"
            " LEFT JOIN pg_class named ON named.oid = con.confrelid"
            " WHERE rel.relname = ANY(%s) AND (con.contype IN ('f', 'u') OR con.contype = 'p' AND NOT EXISTS"
            "  (SELECT 1 FROM pg_constraint other WHERE other.contype = 'f' AND other.confrelid = rel.oid))"
            " ORDER BY con.contype, rel.relname, con.conname",
            [MERGED_CHECK_ROWS, names],
        )
        constraints = cursor.fetchall()
        cursor.execute("SELECT current_setting('enable_hashjoin')")
        hashing = cursor.fetchone()[0]
        cursor.execute(
            "SELECT format('DROP INDEX %%I', cls.relname), pg_get_indexdef(ind.indexrelid), false"
            " FROM pg_index ind JOIN pg_class rel ON rel.oid = ind.indrelid"
            " JOIN pg_class cls ON cls.oid = ind.indexrelid"
            " WHERE rel.relname = ANY(%s) AND NOT ind.indisprimary"
            " AND NOT EXISTS (SELECT 1 FROM pg_constraint con WHERE con.conindid = ind.indexrelid)"
            " ORDER BY cls.relname",
            [names],
        )
        indexes = cursor.fetchall()
        for drop, _, _ in [*constraints, *indexes]:
            cursor.execute(drop)
    before: set[str] = getattr(_aside, "tables", set())
    _aside.tables = before | set(names)
    try:
        yield
    finally:
        _aside.tables = before
    with connection.cursor() as cursor:
        # The constraints first, then the other indexes: for the 5.8 million pairs of a first
        # computation of overlaps, all of it took 20.8 s so and 23-24 s the other way round
        # (likely: the checks then read rows the index builds had pushed out of the database's
        # memory).
        for _, create, merged in [*reversed(constraints), *indexes]:
            if merged:
                # Checked by a hash of the named table's keys, the rows are looked up in it in their
                # own order: for a million activities, a hash larger than the processor's caches,
                # probed at random by the 5.8 million pairs' second activity, 3.2-3.9 s. Sorted
                # and merged with the named table's key, 1.6 s (the first activity: 1.2-1.5 s, 1.0-1.1).
                cursor.execute("SELECT set_config('enable_hashjoin', 'off', true)")
            cursor.execute(create)
            if merged:
                cursor.execute("SELECT set_config('enable_hashjoin', %s, true)", [hashing])
        # The planner's figures of the tables, as a restore is told to make them: until autovacuum
        # comes round, it would plan the next reads for the tables as they were.
        for name in names:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(name)}")


#: Field types whose value, when already of this Python type (or None), is what the database
#: takes as it is: their get_db_prep_save would return it unchanged (PostgreSQL's adapters), and
#: asking each field of each of a million rows cost more than writing them.
_PLAIN: dict[str, type] = {
    **dict.fromkeys(
        (
            "AutoField",
            "BigAutoField",
            "SmallAutoField",
            "IntegerField",
            "BigIntegerField",
            "SmallIntegerField",
            "PositiveIntegerField",
            "PositiveBigIntegerField",
            "PositiveSmallIntegerField",
        ),
        int,
    ),
    "CharField": str,
    "TextField": str,
    "SlugField": str,
    "DateField": dt.date,
    "DecimalField": Decimal,
    "BooleanField": bool,
    "FloatField": float,
}

#: Per field: its attribute, the plain type it takes as it is (else None), the field, and whether
#: its value is read through pre_save (an automatic date).
_Plan = list[tuple[str, "type | None", Any, bool]]


#: SQLite's driver takes these as they are; dates and decimals are written as Django writes them.
_PLAIN_SQLITE = {kind: plain for kind, plain in _PLAIN.items() if plain in (int, str, float, bool)}


def _plan(fields: Sequence[Any], created: bool, vendor: str = "postgresql") -> _Plan:
    plain_types = _PLAIN if vendor == "postgresql" else _PLAIN_SQLITE
    plan = []
    for field in fields:
        kind = (field.target_field if field.is_relation else field).get_internal_type()
        automatic = created and (getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False))
        if vendor == "postgresql" and type(field) in (models.JSONField, JSONField):
            field = _JsonAsText(field)
        plan.append((field.attname, plain_types.get(kind), field, automatic))
    return plan


#: Python values a JSON field keeps as they are (get_prep_value returns them unchanged).
_JSON_PLAIN = (dict, list, str, int, float, bool)


#: What orjson would write though json.dumps refuses it: such a value goes to json.dumps.
_AS_JSON_DUMPS = orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_DATETIME


def _dumps(value: Any) -> str:
    """json.dumps's JSON of a value, for PostgreSQL's jsonb, which keeps neither its spacing nor
    its escapes: made by orjson's compiled encoder, some ten times as fast (the standard library's
    was a tenth of an IATI import's writing: 90,000 values a 2,000 activities). What orjson
    refuses (a key that is not text, an integer beyond 64 bits, a date) goes to json.dumps, which
    writes it or refuses it as before. Two values differ: a UUID, which json.dumps refuses, orjson
    writes as text; a float that is not a number, which json.dumps writes as NaN for PostgreSQL to
    refuse, orjson writes as null. No value written here is either, taken from input."""
    try:
        return orjson.dumps(value, option=_AS_JSON_DUMPS).decode()
    except TypeError:
        return json.dumps(value)


class _JsonAsText:
    """A JSON field's values for COPY, as the JSON text the field's encoder makes: the text that
    psycopg's Jsonb adapter (get_db_prep_save's) sends, without the adapter, made once a value
    and reusable for its history row."""

    def __init__(self, field: models.JSONField) -> None:
        self.field = field
        self.attname = field.attname
        # As Django's PostgreSQL backend dumps a JSON field's values (adapt_json_value).
        self.dumps = _dumps if field.encoder is None else partial(json.dumps, cls=field.encoder)

    def get_db_prep_save(self, value: Any, db: Any) -> Any:
        if type(value) in _JSON_PLAIN:
            return self.dumps(value)
        return self.field.get_db_prep_save(value, db)  # None, an expression, a lazy text


def _prepared(row: Sequence[Any], plan: _Plan, db: Any) -> list[Any]:
    """Values of the plan's fields as the database takes them (get_db_prep_save's)."""
    return [
        value
        if plain is not None and (value is None or type(value) is plain)
        else field.get_db_prep_save(value, db)
        for value, (_name, plain, field, _automatic) in zip(row, plan, strict=True)
    ]


def _values(obj: models.Model, plan: _Plan, db: Any) -> list[Any]:
    """The row of `obj` as the database takes it (what get_db_prep_save gives, field by field)."""
    row = []
    for name, plain, field, automatic in plan:
        value = field.pre_save(obj, True) if automatic else getattr(obj, name)
        if plain is None or not (value is None or type(value) is plain):
            value = field.get_db_prep_save(value, db)
        row.append(value)
    return row


def _fields(model: type[models.Model]) -> list[Any]:
    """The fields an insert writes: all but a key the database draws (a key that is a relation,
    as a signature's activity, is written as given)."""
    pk = model._meta.pk
    drawn = isinstance(pk, AutoFieldMixin)
    return [
        f
        for f in model._meta.concrete_fields
        if not (f is pk and drawn) and not f.generated  # type: ignore[attr-defined]
    ]
