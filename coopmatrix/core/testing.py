"""The roles and the roles × endpoints visibility matrix, for all apps' tests.

The cast of named people, one per role, is made by `coopmatrix.accounts.testing.make_cast`
(accounts knows profiles and organizations; core knows no domain app):
- anonymous: the public; sees public records only.
- reader: signed in, belongs to no organization; sees public and restricted records.
- editor_a: edits for organization A; also sees A's confidential records.
- editor_b: edits for organization B; sees B's confidential records and what A shares with B.
- focal_point: national focal point of State X (works in X's agency); sees what is shared with X.
- secretariat: analyst, reads and edits everything; has two-factor set up.
- administrator: superuser, reads and edits everything; has two-factor set up.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import models

from .models import Share

ROLES = ("anonymous", "reader", "editor_a", "editor_b", "focal_point", "secretariat", "administrator")
PASSWORD = "correct horse battery staple 42"
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def share(record: models.Model, *, organization: Any = None, state: Any = None) -> Share:
    return Share.objects.create(
        content_type=ContentType.objects.get_for_model(record),
        object_id=record.pk,
        organization=organization,
        state=state,
    )


@dataclass
class Endpoints:
    """Where one model's records are listed, shown, exported, counted and searched.

    `records(cast)` builds the records and returns {key: record}; `expected[role]` names the keys
    that role must see, and nothing else. `label(record)` is what identifies a record on a page,
    in an API item (`api_key`) and in an export row (`export_key`).
    """

    name: str
    #: The model whose records the row lists ("app_label.ModelName").
    model: str
    records: Callable[[Any], dict[str, Any]]  # given the cast of accounts.testing
    expected: dict[str, set[str]]
    label: Callable[[Any], str]
    list_url: str
    detail_url: Callable[[Any], str]
    api_list_url: str
    api_detail_url: Callable[[Any], str]
    export_url: str
    api_key: Callable[[dict], str]
    export_key: Callable[[dict], str]
    search_url: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def login(client: Any, user: Any) -> None:
    if user is not None:
        client.force_login(user)


def labels_in_export(response: Any, key: Callable[[dict], str]) -> set[str]:
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    return {key(row) for row in csv.DictReader(io.StringIO(body))}


# --- the pattern every app's rows follow ---------------------------------------------------------

PUBLIC, RESTRICTED, CONFIDENTIAL = "public", "restricted", "confidential"
EVERYTHING = {"public", "restricted", "a_conf", "a_shared_b", "a_shared_x", "b_conf"}
SEEN_BY = {
    "anonymous": {"public"},
    "reader": {"public", "restricted"},
    "editor_a": {"public", "restricted", "a_conf", "a_shared_b", "a_shared_x"},
    "editor_b": {"public", "restricted", "a_shared_b", "b_conf"},
    "focal_point": {"public", "restricted", "a_shared_x"},
    "secretariat": EVERYTHING,
    "administrator": EVERYTHING,
}


def levels(cast: Any, make: Callable[..., Any]) -> dict[str, Any]:
    """The six records of the pattern: public, restricted, A's confidential, shared with B / with X, B's."""
    records = {
        "public": make("public", PUBLIC, cast.org_a),
        "restricted": make("restricted", RESTRICTED, cast.org_a),
        "a_conf": make("a-conf", CONFIDENTIAL, cast.org_a),
        "a_shared_b": make("a-shared-b", CONFIDENTIAL, cast.org_a),
        "a_shared_x": make("a-shared-x", CONFIDENTIAL, cast.org_a),
        "b_conf": make("b-conf", CONFIDENTIAL, cast.org_b),
    }
    share(records["a_shared_b"], organization=cast.org_b)
    share(records["a_shared_x"], state=cast.state_x)
    return records


def seen_with(extra: dict[str, set[str]]) -> dict[str, set[str]]:
    """The pattern's expectations, with the keys of an endpoint's own extra records added."""
    return {role: seen | extra.get(role, set()) for role, seen in SEEN_BY.items()}


def visibility_rows() -> list[Endpoints]:
    """Every installed app's rows of the roles × endpoints matrix (declared in its AppConfig)."""
    from importlib import import_module

    from .registry import registry

    return [row for module in registry.visibility_rows for row in import_module(module).ENDPOINTS]


def pick(page: Any, label: str, *options: str) -> None:
    """Choose `options` in the searchable picker labelled `label`, as a person does in the
    browser: type the start of the name, wait for it to be offered, choose it."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import expect

    box = page.get_by_role("combobox", name=label, exact=True)
    listbox = page.get_by_role("listbox", name=label, exact=True)
    for option in options:
        target = listbox.get_by_role("option", name=option, exact=True)
        for attempt in range(3):
            box.click()
            box.press_sequentially(option[:12])
            try:
                expect(target).to_be_visible(timeout=3000)
                target.click(timeout=5000)
                break
            except (AssertionError, PlaywrightTimeout):
                # The list closed before the click (in CI, under load): start again, as a
                # person would, from an empty search.
                if attempt == 2:
                    raise
                box.fill("")
                box.press("Escape")
    box.press("Escape")
    # A list left open would lie over the fields below it and take their clicks.
    expect(listbox).to_be_hidden()


def run_jobs() -> list[Any]:
    """Run the queued jobs here, one by one, as a worker would (the worker itself, the engine
    and its killing are tested in tests/test_deployment.py, in processes of their own)."""
    from .jobs import execute
    from .models import Job

    queued = Job.objects.filter(status=Job.Status.QUEUED).order_by("pk").values_list("pk", flat=True)
    return [execute(pk) for pk in list(queued)]


def table_definitions(*tables: str) -> list[str]:
    """The indexes and constraints of `tables` as the database gives them, sorted: what a load that
    sets them aside (core.bulk.indexes_set_aside) must leave as it found."""
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT pg_get_indexdef(indexrelid) FROM pg_index WHERE indrelid::regclass::text = ANY(%s)"
                " UNION ALL SELECT conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint"
                " WHERE conrelid::regclass::text = ANY(%s)",
                [list(tables), list(tables)],
            )
        else:
            marks = ", ".join(["%s"] * len(tables))
            cursor.execute(
                f"SELECT coalesce(sql, name) FROM sqlite_master WHERE tbl_name IN ({marks})", tables
            )
        return sorted(definition for (definition,) in cursor.fetchall())


def at_once(first: Callable[[], Any], second: Callable[[], Any], patience: float = 30.0) -> None:
    """Two transactions on the same rows as two users make them at the same moment, each on a
    connection of its own: `first` does its work and holds its locks until `second` waits on one
    of them, then commits, and `second` goes on. Fails if `second` never waits (the scenario did
    not happen). An error in either is raised here. SQLite has no row locks and writes one
    transaction at a time: there, one after the other."""
    import threading
    import time

    from django.db import connection, connections, transaction

    if connection.vendor != "postgresql":
        for work in (first, second):
            with transaction.atomic():
                work()
        return
    errors: list[BaseException] = []
    holding, release, started = threading.Event(), threading.Event(), threading.Event()
    second_pid: list[int] = []

    def run(work: Callable[[], Any], hold: bool) -> None:
        try:
            if not hold:
                connection.ensure_connection()
                second_pid.append(connection.connection.info.backend_pid)
                started.set()
            with transaction.atomic():
                work()
                if hold:
                    holding.set()
                    release.wait(patience)
        except BaseException as exc:  # noqa: BLE001 - raised in the test's thread
            errors.append(exc)
        finally:
            holding.set()
            started.set()
            connections.close_all()

    threads = [threading.Thread(target=run, args=(first, True))]
    threads[0].start()
    holding.wait(patience)
    threads.append(threading.Thread(target=run, args=(second, False)))
    threads[1].start()
    started.wait(patience)
    waited = False
    deadline = time.monotonic() + patience
    while second_pid and threads[1].is_alive() and time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_locks WHERE pid = %s AND NOT granted", second_pid)
            if cursor.fetchone()[0]:
                waited = True
                break
        time.sleep(0.01)
    release.set()
    for thread in threads:
        thread.join(patience)
    if errors:
        raise errors[0]
    assert waited, "the second transaction never waited on the first's locks"
