"""`coopmatrix backup FILE` and `coopmatrix restore FILE`.

A backup is one tar file: `manifest.json` (what was saved: every table's row count and a digest of
every history table), the database (PostgreSQL: pg_dump's custom format, taken in the snapshot the
counts were made in; SQLite: a copy made with SQLite's online backup API, while the site runs),
and the media files (jobs' result files) from the storage in use, the filesystem or S3.

A restore goes into an empty database (or, with --replace, over one), puts the media files back,
and then counts again: every table's rows and every history table's digest must equal the
manifest's, or the restore says which differ and fails.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection, connections
from django.utils import timezone

FORMAT = 1


class BackupError(Exception):
    pass


# -- what a database holds -----------------------------------------------------------------------


def tables(cursor: Any, vendor: str) -> list[str]:
    if vendor == "sqlite":
        cursor.execute("SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'")
    else:
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
    return sorted(row[0] for row in cursor.fetchall())


def inventory(cursor: Any, vendor: str) -> dict[str, Any]:
    """Every table's row count, and for each history table a digest of its rows (who changed
    what, when, and the values)."""
    quote = '"{}"'.format
    counts, history = {}, {}
    for table in tables(cursor, vendor):
        cursor.execute(f"SELECT COUNT(*) FROM {quote(table)}")
        counts[table] = cursor.fetchone()[0]
        if "_historical" in table:
            # Every column of every change, in key order; backups restore into the same kind of
            # database only, so that the values read back alike.
            order = ", ".join(quote(column) for column in _primary_key(cursor, vendor, table)) or "1"
            cursor.execute(f"SELECT * FROM {quote(table)} ORDER BY {order}")
            digest = hashlib.sha256()
            for rows in iter(lambda: cursor.fetchmany(5000), []):
                for row in rows:
                    digest.update(repr(tuple(row)).encode() + b"\n")
            history[table] = digest.hexdigest()
    return {"tables": counts, "history": history}


def _primary_key(cursor: Any, vendor: str, table: str) -> list[str]:
    if vendor == "sqlite":
        cursor.execute(f'PRAGMA table_info("{table}")')
        return [row[1] for row in sorted(cursor.fetchall(), key=lambda r: r[5]) if row[5]]
    cursor.execute(
        "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
        "AND a.attnum = ANY(i.indkey) WHERE i.indrelid = %s::regclass AND i.indisprimary",
        [f'"{table}"'],
    )
    return [row[0] for row in cursor.fetchall()]


def differences(expected: dict[str, Any], found: dict[str, Any]) -> list[str]:
    problems = []
    for table, count in expected["tables"].items():
        if found["tables"].get(table) != count:
            problems.append(
                f"table {table}: {count} rows in the backup, {found['tables'].get(table)} restored"
            )
    for table, digest in expected["history"].items():
        if found["history"].get(table) != digest:
            problems.append(f"history table {table}: its changes differ from the backup's")
    return problems


# -- media ---------------------------------------------------------------------------------------


def _media_files(directory: str = "") -> list[str]:
    try:
        folders, files = default_storage.listdir(directory)
    except (FileNotFoundError, NotADirectoryError):
        return []
    found = [f"{directory}/{name}".lstrip("/") for name in files]
    for folder in folders:
        found.extend(_media_files(f"{directory}/{folder}".lstrip("/")))
    return found


# -- backup --------------------------------------------------------------------------------------


def backup(target: Path, say: Callable[[str], None] = print) -> dict[str, Any]:
    vendor = connection.vendor
    if vendor not in ("sqlite", "postgresql"):
        raise BackupError(f"backups are made of SQLite and PostgreSQL databases, not {vendor}")
    with tempfile.TemporaryDirectory() as work:
        folder = Path(work)
        if vendor == "sqlite":
            copy = folder / "database.sqlite3"
            _sqlite_copy(copy)
            with sqlite3.connect(copy) as db:
                found = inventory(db.cursor(), vendor)
            database = copy
        else:
            database = folder / "database.dump"
            found = _pg_dump(database)
        media = _media_files()
        manifest = {
            "format": FORMAT,
            "made": timezone.now().isoformat(),
            "database": vendor,
            "media": media,
            **found,
        }
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".partial")
        with tarfile.open(partial, "w") as tar:
            _add_bytes(tar, "manifest.json", json.dumps(manifest, indent=1).encode())
            tar.add(database, arcname=database.name)
            for name in media:
                with default_storage.open(name, "rb") as handle:
                    _add_bytes(tar, f"media/{name}", handle.read())
        # Only a whole backup carries the name asked for.
        os.replace(partial, target)
    rows = sum(manifest["tables"].values())
    say(
        f"Backup written to {target}: {len(manifest['tables'])} tables, {rows} rows, "
        f"{len(media)} media files."
    )
    return manifest


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = int(timezone.now().timestamp())
    tar.addfile(info, io.BytesIO(data))


def _sqlite_copy(copy: Path) -> None:
    connection.ensure_connection()
    with sqlite3.connect(copy) as target:
        connection.connection.backup(target)


def _pg_environment(alias: str = "default") -> dict[str, str]:
    params = connections[alias].get_connection_params()
    env = dict(os.environ)
    for key, name in (("host", "PGHOST"), ("port", "PGPORT"), ("user", "PGUSER"), ("password", "PGPASSWORD")):
        if params.get(key):
            env[name] = str(params[key])
    env["PGDATABASE"] = params.get("dbname") or settings.DATABASES[alias]["NAME"]
    return env


def _pg_tool(name: str) -> str:
    """pg_dump and pg_restore of PG_BINDIR, or the first on PATH (Debian picks the version)."""
    directory = os.environ.get("PG_BINDIR")
    found = str(Path(directory) / name) if directory else shutil.which(name)
    if not found or not Path(found).exists():
        raise BackupError(f"{name} is not installed (install PostgreSQL's client, or set PG_BINDIR)")
    return found


def _pg_dump(target: Path) -> dict[str, Any]:
    """Dump in the snapshot the counts are made in: the manifest describes exactly the dump."""
    connection.ensure_connection()
    with connection.cursor() as cursor:
        cursor.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        try:
            cursor.execute("SELECT pg_export_snapshot()")
            snapshot = cursor.fetchone()[0]
            found = inventory(cursor, "postgresql")
            result = subprocess.run(
                [
                    _pg_tool("pg_dump"),
                    "--format=custom",
                    "--no-owner",
                    "--no-privileges",
                    f"--snapshot={snapshot}",
                    "--file",
                    str(target),
                ],
                env=_pg_environment(),
                capture_output=True,
                text=True,
            )
        finally:
            cursor.execute("COMMIT")
    if result.returncode != 0:
        raise BackupError(f"pg_dump failed: {result.stderr.strip()}")
    return found


# -- restore -------------------------------------------------------------------------------------


def restore(source: Path, replace: bool = False, say: Callable[[str], None] = print) -> dict[str, Any]:
    vendor = connection.vendor
    if not source.exists():
        raise BackupError(f"{source}: no such file")
    with tempfile.TemporaryDirectory() as work, _open_backup(source) as tar:
        folder = Path(work)
        manifest = _manifest(tar, source)
        if manifest["database"] != vendor:
            raise BackupError(
                f"{source} is a backup of a {manifest['database']} database; this site uses {vendor}"
            )
        with connection.cursor() as cursor:
            present = [t for t in tables(cursor, vendor) if t != "coopmatrix_cache"]
        if present and not replace:
            raise BackupError(
                f"the database is not empty ({len(present)} tables): restore into an empty database, "
                "or give --replace to overwrite this one"
            )
        name = "database.sqlite3" if vendor == "sqlite" else "database.dump"
        _extract(tar, name, folder / name)
        if vendor == "sqlite":
            _sqlite_restore(folder / name)
        else:
            _pg_restore(folder / name)
        for media in manifest["media"]:
            data = tar.extractfile(f"media/{media}")
            if data is None:
                raise BackupError(f"{source}: the media file {media} is missing from the backup")
            if default_storage.exists(media):
                default_storage.delete(media)
            default_storage.save(media, ContentFile(data.read()))
    connection.close()
    found = _inventory_now(vendor)
    problems = differences(manifest, found)
    if problems:
        raise BackupError("the restored copy differs from the backup:\n" + "\n".join(problems))
    # Answers cached from the data replaced must not be served from it (core/public_cache.py).
    from django.core.cache import cache

    from .public_cache import bump

    cache.clear()
    bump()
    rows = sum(found["tables"].values())
    say(
        f"Restored from {source}: {len(found['tables'])} tables, {rows} rows and "
        f"{len(found['history'])} history tables as in the backup; {len(manifest['media'])} media files."
    )
    return manifest


def _inventory_now(vendor: str) -> dict[str, Any]:
    if vendor == "sqlite":
        # Read as the backup's copy was read: plain sqlite3, without Django's type converters.
        with sqlite3.connect(settings.DATABASES["default"]["NAME"]) as db:
            return inventory(db.cursor(), vendor)
    with connection.cursor() as cursor:
        return inventory(cursor, vendor)


def _open_backup(source: Path) -> tarfile.TarFile:
    try:
        return tarfile.open(source, "r")
    except tarfile.TarError as exc:
        raise BackupError(f"{source} is not a coopmatrix backup ({exc})") from exc


def _manifest(tar: tarfile.TarFile, source: Path) -> dict[str, Any]:
    try:
        handle = tar.extractfile("manifest.json")
        manifest = json.load(handle) if handle else None
    except (KeyError, ValueError):
        manifest = None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"{source} is not a coopmatrix backup (no manifest of format {FORMAT})")
    return manifest


def _extract(tar: tarfile.TarFile, name: str, target: Path) -> None:
    handle = tar.extractfile(name)
    if handle is None:
        raise BackupError(f"the backup holds no {name}")
    with open(target, "wb") as out:
        shutil.copyfileobj(handle, out)


def _sqlite_restore(copy: Path) -> None:
    connection.ensure_connection()
    with sqlite3.connect(copy) as source:
        source.backup(connection.connection)


def _pg_restore(dump: Path) -> None:
    connection.close()
    result = subprocess.run(
        [
            _pg_tool("pg_restore"),
            "--clean",
            "--if-exists",
            "--no-owner",
            "--no-privileges",
            "--single-transaction",
            "--exit-on-error",
            "--dbname",
            _pg_environment()["PGDATABASE"],
            str(dump),
        ],
        env=_pg_environment(),
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise BackupError(f"pg_restore failed: {result.stderr.strip()}")
