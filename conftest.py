"""Shared pytest set-up: fast password hashing, the named cast, and Debian's Chromium for Playwright."""

import os
import shutil

import pytest

# Playwright's sync API runs an event loop in the test thread; the ORM calls in browser tests are
# still made synchronously from that thread, which Django allows only with this flag.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def _database_fixture(request):
    """The database fixture a test asks for, if any (autouse fixtures must not open one)."""
    names = set(request.fixturenames)
    return next((n for n in ("transactional_db", "live_server", "db") if n in names), None)


@pytest.fixture(autouse=True)
def _fresh_rate_limits(request):
    """allauth counts failed sign-ins in the cache (a table of the database, shared by every web
    server): each test that reaches the database starts with none counted."""
    database = _database_fixture(request)
    if database is None:
        return
    request.getfixturevalue(database)
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _kept_figures_follow_records(request):
    """After every test that wrote to the database, the grid's kept counts and the funding sums
    still equal what the records give: whichever door a test changed a record through, they followed."""
    database = _database_fixture(request)
    if database is None:
        yield
        return
    request.getfixturevalue(database)
    yield
    from coopmatrix.funding import sums
    from coopmatrix.matrix import counts

    drift = counts.drift()
    assert not drift, (
        f"grid counts differ from the records ({len(drift)} cells), e.g. {sorted(drift.items())[:3]}"
    )
    drift = sums.drift()
    assert not drift, (
        f"funding sums differ from the records ({len(drift)} sums), e.g. {sorted(drift.items(), key=str)[:3]}"
    )


@pytest.fixture
def cast(db):
    from coopmatrix.accounts.testing import make_cast

    return make_cast()


@pytest.fixture(scope="session", autouse=True)
def _patient_expectations():
    # The browser tests run beside the two other suites on two cores: a page may answer in
    # seconds where it takes a fraction of one alone. A wait still fails, later.
    from playwright.sync_api import expect

    expect.set_options(timeout=15_000)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    chromium = shutil.which("chromium")
    if chromium is None:
        raise RuntimeError("Debian's chromium is not installed: run `make test`, which installs it")
    return {
        **browser_type_launch_args,
        "executable_path": chromium,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    # The real reference data, as `make run` loads it, once per test database. Tests that use the
    # `db` fixture run inside a transaction that is rolled back, so they all start from it.
    from django.db import connection

    from coopmatrix.core.reference import load_reference

    with django_db_blocker.unblock():
        load_reference()
        _REFERENCE_ROWS.update(_rows_of(connection))


#: Every row the reference data wrote, by table, as the database's own copy format gives it back.
_REFERENCE_ROWS: dict[str, object] = {}


def _rows_of(connection) -> dict[str, object]:
    tables = connection.introspection.django_table_names(only_existing=True, include_views=False)
    rows: dict[str, object] = {}
    with connection.cursor() as cursor:
        for table in tables:
            name = connection.ops.quote_name(table)
            if connection.vendor == "postgresql":
                with cursor.cursor.copy(f"COPY {name} TO STDOUT (FORMAT binary)") as copy:
                    data = b"".join(bytes(block) for block in copy)
                cursor.execute(f"SELECT count(*) FROM {name}")
                if cursor.fetchone()[0]:
                    rows[table] = data
            else:
                cursor.execute(f"SELECT * FROM {name}")
                found = cursor.fetchall()
                if found:
                    rows[table] = ([column[0] for column in cursor.description], found)
    return rows


def _put_back(connection, rows: dict[str, object]) -> None:
    """The reference data written again as it was first loaded, keys and all: what
    load_reference gives an empty database, in a fraction of a second where loading takes six
    (a test with a live server empties the database when it ends)."""
    from django.apps import apps
    from django.core.management.color import no_style
    from django.db import transaction

    from coopmatrix.core import public_cache

    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        for table in rows:
            cursor.execute(f"DELETE FROM {connection.ops.quote_name(table)}")
        for table, data in rows.items():
            name = connection.ops.quote_name(table)
            if connection.vendor == "postgresql":
                with cursor.cursor.copy(f"COPY {name} FROM STDIN (FORMAT binary)") as copy:
                    copy.write(data)
            else:
                columns, found = data
                marks = ", ".join(["%s"] * len(columns))
                quoted = ", ".join(connection.ops.quote_name(c) for c in columns)
                cursor.executemany(f"INSERT INTO {name} ({quoted}) VALUES ({marks})", found)
        for statement in connection.ops.sequence_reset_sql(
            no_style(), apps.get_models(include_auto_created=True)
        ):
            cursor.execute(statement)
    public_cache.changed(connection)


@pytest.fixture
def reference(db):
    """Ask for the reference data explicitly (browser tests flush the database between tests)."""
    from django.db import connection

    from coopmatrix.core.reference import load_reference
    from coopmatrix.geo.models import State

    if State.objects.exists():
        return
    if _REFERENCE_ROWS:
        _put_back(connection, _REFERENCE_ROWS)
    else:
        load_reference()


@pytest.fixture
def walked_world(cast):
    """The reference data (States, organizations, instruments, the seed report's records) and a
    record of each kind at each confidentiality level, so that every kind of page has links."""
    from coopmatrix.core.testing import visibility_rows

    for endpoints in visibility_rows():
        endpoints.records(cast)
    return cast
