"""coopmatrix as an operator runs it: a database of its own (SQLite, or a new PostgreSQL database on
the test cluster), `coopmatrix migrate` and `load_reference`, workers and gunicorn servers in
processes of their own, a worker killed in the middle of an import, a backup restored elsewhere.

Nothing here shares the tests' database or process: what passes here passes for an operator.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import dj_database_url
import pytest
import requests

from coopmatrix.accounts.testing import PASSWORD

ROWS = 600
HEADER = "external_id,title,providers,recipient_states,modality,status,planned_start,planned_end,source"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Site:
    """One coopmatrix installation: its database, its var directory, its processes."""

    def __init__(self, root: Path, name: str) -> None:
        self.root = root
        self.var = root / name
        self.var.mkdir(parents=True)
        self.processes: list[subprocess.Popen[bytes]] = []
        base = os.environ.get("DATABASE_URL", "")
        self.vendor = "postgresql" if base.startswith("postgres") else "sqlite"
        if self.vendor == "postgresql":
            self.database = f"coopmatrix_site_{name}_{os.getpid()}"
            self._admin(f'CREATE DATABASE "{self.database}"')
            self.url = base.rsplit("/", 1)[0] + "/" + self.database
        else:
            self.database = str(self.var / "coopmatrix.sqlite3")
            self.url = f"sqlite:///{self.database}"
        self.env = {
            **os.environ,
            "DATABASE_URL": self.url,
            "COOPMATRIX_VAR_DIR": str(self.var),
            "SECRET_KEY": "a-key-made-for-the-deployment-tests-" + "x" * 40,
            "JOB_HEARTBEAT_SECONDS": "0.3",
            "JOB_STALE_SECONDS": "3",
            "JOB_EMAIL_AFTER_SECONDS": "0",
            "COOPMATRIX_SCHEDULE_OFF": "true",
            "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "EMAIL_FILE_PATH": str(self.var / "mail"),
            "LOG_FORMAT": "json",
            "DJANGO_SETTINGS_MODULE": "coopmatrix.settings",
        }
        self.env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)

    # -- the database, read directly as an operator's psql or sqlite3 would ----------------------

    def _admin(self, sql: str) -> None:
        import psycopg

        params = dj_database_url.parse(os.environ["DATABASE_URL"])
        with psycopg.connect(
            host=params["HOST"],
            port=params["PORT"] or None,
            user=params["USER"],
            dbname="postgres",
            autocommit=True,
        ) as db:
            db.execute(sql)

    def query(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        if self.vendor == "sqlite":
            with sqlite3.connect(self.database, timeout=30) as db:
                return db.execute(sql.replace("%s", "?"), args).fetchall()
        import psycopg

        params = dj_database_url.parse(self.url)
        with psycopg.connect(
            host=params["HOST"], port=params["PORT"] or None, user=params["USER"], dbname=params["NAME"]
        ) as db:
            return db.execute(sql, args).fetchall()

    def tables(self) -> dict[str, tuple[int, str]]:
        """Every table's rows and a digest of them (history tables in full)."""
        if self.vendor == "sqlite":
            names = [r[0] for r in self.query("SELECT name FROM sqlite_master WHERE type='table'")]
        else:
            names = [r[0] for r in self.query("SELECT tablename FROM pg_tables WHERE schemaname='public'")]
        found = {}
        for name in names:
            rows = sorted(map(repr, self.query(f'SELECT * FROM "{name}"'))) if "_historical" in name else []
            count = self.query(f'SELECT COUNT(*) FROM "{name}"')[0][0]
            found[name] = (count, hashlib.sha256(repr(rows).encode()).hexdigest())
        return found

    # -- processes -------------------------------------------------------------------------------

    def run(self, *args: str, env: dict[str, str] | None = None, check: bool = True) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "coopmatrix.cli", *args],
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=300,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"coopmatrix {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result.stdout + result.stderr

    def python(self, code: str) -> str:
        return self.run("shell", "--no-imports", "-c", code).strip()

    def worker(self, **env: str) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(
            [sys.executable, "-m", "coopmatrix.cli", "worker", "--interval", "0.2", "--no-startup-delay"],
            env={**self.env, **env},
            stdout=subprocess.DEVNULL,
            stderr=open(self.var / "worker.log", "ab"),  # noqa: SIM115 - closed with the process
        )
        self.processes.append(process)
        return process

    def gunicorn(self) -> str:
        port = _free_port()
        process = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "gunicorn"),
                "coopmatrix.wsgi",
                "--config",
                "python:coopmatrix.gunicorn",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "2",
            ],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=open(self.var / f"gunicorn-{port}.log", "ab"),  # noqa: SIM115
        )
        self.processes.append(process)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(url + "/healthz", timeout=2).status_code == 200:
                    return url
            except requests.ConnectionError:
                time.sleep(0.3)
        raise AssertionError(
            f"gunicorn on {port} did not answer: {(self.var / f'gunicorn-{port}.log').read_text()}"
        )

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
        self.processes.clear()

    def drop(self) -> None:
        self.stop()
        if self.vendor == "postgresql":
            self._admin(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')

    def job(self, pk: int) -> dict[str, Any]:
        (row,) = self.query("SELECT status, phase, done, attempts, message FROM core_job WHERE id = %s", pk)
        return dict(zip(("status", "phase", "done", "attempts", "message"), row, strict=True))

    def wait(self, pk: int, until: Any, seconds: float = 120) -> dict[str, Any]:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            job = self.job(pk)
            if until(job):
                return job
            if job["status"] in ("succeeded", "failed"):
                break
            time.sleep(0.1)
        raise AssertionError(f"job {pk} is {self.job(pk)}, not what was awaited")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    site = Site(tmp_path_factory.mktemp("deployment"), "main")
    try:
        said = site.run("migrate", "--noinput")
        # The migrations write before the data generation's table exists: nothing to say of it.
        assert "Traceback" not in said and "could not be moved" not in said, said[-2000:]
        site.run("load_reference")
        site.python("from coopmatrix.accounts.testing import make_cast; make_cast()")
        yield site
    finally:
        site.drop()


def _activities(prefix: str, count: int) -> bytes:
    rows = [
        f"{prefix}-{n},Workshop {n} (made for tests),test-org-a:implementing,Benin; Togo,workshop,planned,"
        f"2005-03,2005-03-20,made for tests"
        for n in range(count)
    ]
    return ("\n".join([HEADER, *rows]) + "\n").encode()


def _queue_import(site: Site, content: bytes, tmp: Path) -> int:
    """What the import page does on "confirm": the file kept for its user, a job queued."""
    path = tmp / "activities.csv"
    path.write_bytes(content)
    return int(
        site.python(
            "from pathlib import Path; from django.contrib.auth.models import User; "
            "from coopmatrix.core import jobs; from coopmatrix.core.models import PendingImport; "
            "user = User.objects.get(username='editor_a'); "
            f"content = Path({str(path)!r}).read_bytes(); "
            "kept = PendingImport.keep(user, 'activities.csv', content, 'activities', '{}'); "
            "payload = {'kind': 'activities', 'pending': kept.pk}; "
            "print(jobs.start(user, 'import', 'Import of activities.csv', payload).pk)"
        ).splitlines()[-1]
    )


def _kill_in_the_middle_of_writing(site: Site, pk: int, worker: subprocess.Popen[bytes]) -> None:
    """Kill the worker while the import's transaction is open, wherever the machine's speed puts it.

    PostgreSQL: the job's row is locked while the rows are still being checked, so that the import
    waits in `still_mine()`, just before its commit, with every row written but none committed.
    (Locked once "Writing" showed, a faster machine had written 600 rows and committed them before
    the lock was taken.) Meanwhile the heartbeat's progress waits for the row too: harmless, as the
    import waits at most a few seconds for a phase to be written.
    SQLite has one write lock, held by the import's transaction from "Checking every row" (shown
    before it starts) to its commit: the worker is killed once that lock is seen held.

    The worker is killed whatever happens here: left running after a failed wait, it went on to
    commit its import under the next test. Each wait is a bound against a hang, not a measure of
    speed: 600 rows take some 14 s, and several times that on two cores shared with other suites."""
    try:
        if site.vendor == "postgresql":
            _hold_at_the_commit(site, pk, worker)
        else:
            _see_the_write_lock_held(site, pk)
    finally:
        if worker.poll() is None:
            worker.send_signal(signal.SIGKILL)
        worker.wait()


#: How long the import may take to reach its commit (or SQLite's write lock) before the test fails.
HANG = 300


def _hold_at_the_commit(site: Site, pk: int, worker: subprocess.Popen[bytes]) -> None:
    import psycopg

    params = dj_database_url.parse(site.url)
    site.wait(pk, lambda job: job["phase"] == "Checking every row", seconds=HANG)
    with psycopg.connect(
        host=params["HOST"], port=params["PORT"] or None, user=params["USER"], dbname=params["NAME"]
    ) as holder:
        held = holder.execute("SELECT status FROM core_job WHERE id = %s FOR UPDATE", (pk,)).fetchone()
        deadline = time.monotonic() + HANG
        # still_mine() alone updates the job's heartbeat on its attempt, with no progress.
        waiting = (
            "SELECT COUNT(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            'AND query LIKE \'UPDATE "core_job" SET "heartbeat"%%\' '
            "AND query LIKE '%%\"attempts\" =%%' "
            "AND query NOT LIKE '%%\"done\"%%'"
        )
        # Only the end of a job changes its status: waiting for the row, the import had ended
        # (committed, or failed) before the row was held.
        ended = (
            "SELECT COUNT(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            'AND query LIKE \'UPDATE "core_job" SET "status"%%\''
        )
        try:
            assert held == ("running",), f"the import ended before its job was held: {site.job(pk)}"
            while site.query(waiting)[0][0] == 0:
                ahead = site.query(ended)[0][0]
                assert ahead == 0, f"the import was ending before its job was held: {site.job(pk)}"
                if time.monotonic() > deadline:
                    sessions = site.query(
                        "SELECT state, wait_event_type, wait_event, left(query, 200) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    )
                    raise AssertionError(
                        f"the import never reached its commit within {HANG} s: {site.job(pk)}; "
                        f"the database's sessions: {sessions}"
                    )
                time.sleep(0.05)
        finally:
            # Killed while the row is still held, so that it never commits, also when the wait failed.
            worker.send_signal(signal.SIGKILL)
            worker.wait()
            holder.rollback()


def _see_the_write_lock_held(site: Site, pk: int) -> None:
    site.wait(pk, lambda job: job["phase"] == "Checking every row", seconds=HANG)
    deadline = time.monotonic() + HANG
    held = 0
    while held < 2:  # twice in a row: not a heartbeat's write of a few milliseconds
        assert time.monotonic() < deadline, f"the import never took the write lock: {site.job(pk)}"
        probe = sqlite3.connect(site.database, timeout=0, isolation_level=None)
        try:
            probe.execute("BEGIN IMMEDIATE")
            probe.execute("ROLLBACK")
            held = 0
        except sqlite3.OperationalError:
            held += 1
        finally:
            probe.close()
        time.sleep(0.05)


def _imported(site: Site, prefix: str) -> int:
    return site.query("SELECT COUNT(*) FROM matrix_activity WHERE external_id LIKE %s", f"{prefix}-%")[0][0]


def test_a_worker_killed_in_the_middle_of_an_import_leaves_nothing_and_the_job_is_retried(site, tmp_path):
    pk = _queue_import(site, _activities("KILL", ROWS), tmp_path)
    _kill_in_the_middle_of_writing(site, pk, site.worker())
    assert site.job(pk)["status"] == "running", "the import ended before the worker was killed"
    assert _imported(site, "KILL") == 0, "a killed import left rows behind"

    site.worker()  # its sweeper sees the heartbeat stopped, queues the job again, and runs it
    job = site.wait(pk, lambda job: job["status"] in ("succeeded", "failed"))
    assert job["status"] == "succeeded", job
    assert job["attempts"] == 2
    assert f"{ROWS} created" in job["message"]
    assert _imported(site, "KILL") == ROWS
    # The engine's own records do not stay "running" either: the killed run's is failed by the
    # sweeper, the second run's is closed by the engine a moment after the job's own end.
    running = "SELECT COUNT(*) FROM django_tasks_database_dbtaskresult WHERE status = 'RUNNING'"
    deadline = time.monotonic() + 20
    while site.query(running) != [(0,)] and time.monotonic() < deadline:
        time.sleep(0.1)
    assert site.query(running) == [(0,)]
    site.stop()


def test_a_job_out_of_attempts_is_failed_in_words_and_changes_nothing(site, tmp_path):
    pk = _queue_import(site, _activities("LAST", ROWS), tmp_path)
    _kill_in_the_middle_of_writing(site, pk, site.worker(JOB_ATTEMPTS="1"))
    assert site.job(pk)["status"] == "running", "the import ended before the worker was killed"
    site.worker(JOB_ATTEMPTS="1")
    job = site.wait(pk, lambda job: job["status"] in ("succeeded", "failed"))
    assert job["status"] == "failed"
    assert "Its worker stopped" in job["message"] and "Nothing it was writing was kept" in job["message"]
    assert _imported(site, "LAST") == 0
    # Its user is told by e-mail (the file back end writes each message to a file), just after.
    deadline = time.monotonic() + 20
    mail = ""
    while "Import of activities.csv failed" not in mail and time.monotonic() < deadline:
        time.sleep(0.2)
        mail = "\n".join(p.read_text() for p in (site.var / "mail").glob("*"))
    assert "Import of activities.csv failed" in mail
    site.stop()


def _sign_in(session: requests.Session, server: str, username: str, password: str) -> requests.Response:
    page = session.get(server + "/accounts/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    return session.post(
        server + "/accounts/login/",
        data={"login": username, "password": password, "csrfmiddlewaretoken": token},
        headers={"Referer": server + "/accounts/login/"},
    )


def test_two_servers_and_a_worker_share_everything_through_the_database(site, tmp_path):
    first, second = site.gunicorn(), site.gunicorn()
    site.worker()
    for server in (first, second):
        health = requests.get(server + "/healthz")
        assert health.json() == {"status": "ok", "database": "ok", "queue": "ok"}

    # A session opened on one server is known to the other.
    editor = requests.Session()
    assert "Sign out" in _sign_in(editor, first, "editor_a", PASSWORD).text
    assert "editor_a" in editor.get(second + "/me/jobs/").text

    # An import uploaded on one server, confirmed on the other, run by the worker, seen on both.
    page = editor.get(second + "/matrix/import/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    preview = editor.post(
        second + "/matrix/import/",
        data={"csrfmiddlewaretoken": token, "decimal_mark": "auto"},
        files={"file": ("two.csv", _activities("TWO", 3))},
        headers={"Referer": second + "/matrix/import/"},
    )
    assert "3 to create" in preview.text
    pending = re.search(r'name="confirm" value="(\d+)"', preview.text).group(1)
    confirmed = editor.post(
        first + "/matrix/import/",
        data={"csrfmiddlewaretoken": token, "confirm": pending},
        headers={"Referer": first + "/matrix/import/"},
        allow_redirects=False,
    )
    assert confirmed.status_code == 302
    job_url = confirmed.headers["Location"]
    pk = int(job_url.rstrip("/").rsplit("/", 1)[1])
    site.wait(pk, lambda job: job["status"] == "succeeded", seconds=60)
    for server in (first, second):
        page = editor.get(server + job_url).text
        assert "Done" in page and "3 created" in page
    # Another user is not shown the job: it reads as missing.
    other = requests.Session()
    _sign_in(other, second, "editor_b", PASSWORD)
    assert other.get(first + job_url).status_code == 404

    # Failed sign-ins count for the account on every server: five, spread over both, lock it.
    attacker = requests.Session()
    for attempt in range(5):
        _sign_in(attacker, (first, second)[attempt % 2], "focal_point", "not the password")
    refused = _sign_in(requests.Session(), first, "focal_point", PASSWORD)
    assert "locked" in refused.text.lower()

    # One JSON line per request, with the user's id and never a name or a query string.
    logged = [
        json.loads(line)
        for log in site.var.glob("gunicorn-*.log")
        for line in log.read_text().splitlines()
        if line.startswith("{")
    ]
    lines = [line for line in logged if line["logger"] == "coopmatrix.requests"]
    assert len(lines) > 20 and all(
        {"method", "route", "status", "duration_ms", "user_id"} <= set(line) for line in lines
    )
    text = json.dumps(lines)
    assert "editor_a" not in text and "focal_point" not in text and "example.org" not in text
    site.stop()


def test_a_backup_restores_elsewhere_with_every_row_and_every_change(site, tmp_path):
    # A media file to carry: an export prepared by a job.
    site.python(
        "from django.contrib.auth.models import User; from coopmatrix.core import jobs; "
        "job = jobs.start(User.objects.get(username='secretariat'), 'export', 'Export', "
        "{'path': '/matrix/export.csv', 'query': ''}); jobs.execute(job.pk)"
    )
    (result,) = site.query("SELECT result FROM core_job WHERE kind = 'export' AND status = 'succeeded'")[0:1]
    assert result[0], "the export job kept no file"
    backup = tmp_path / "coopmatrix.backup"
    said = site.run("backup", str(backup))
    assert "Backup written" in said

    copy = Site(site.root, "copy")
    try:
        said = copy.run("restore", str(backup))
        assert "as in the backup" in said
        original, restored = site.tables(), copy.tables()
        # The shared cache is emptied by a restore: nothing kept from the data replaced is served.
        assert restored.pop("coopmatrix_cache")[0] == 0
        original.pop("coopmatrix_cache")
        assert restored == original
        for app in ("geo", "directory", "treaties", "matrix", "core", "auth"):
            assert any(n.startswith(app + "_") and rows for n, (rows, _) in original.items())
        for app in ("geo", "directory", "treaties", "matrix"):
            assert any(n.startswith(app + "_historical") and rows for n, (rows, _) in original.items())
        assert (copy.var / "media" / result[0]).read_bytes() == (site.var / "media" / result[0]).read_bytes()
        # A second restore over it is refused unless asked for.
        refused = copy.run("restore", str(backup), check=False)
        assert "not empty" in refused
    finally:
        copy.drop()


@pytest.fixture
def s3_store(tmp_path):
    """An S3-compatible store on this machine (moto's server), with an empty bucket."""
    import boto3

    port = _free_port()
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    env = {
        "MEDIA_STORAGE": "s3",
        "AWS_S3_ENDPOINT_URL": endpoint,
        "AWS_STORAGE_BUCKET_NAME": "coopmatrix-media",
        "AWS_S3_REGION_NAME": "us-east-1",
        "AWS_ACCESS_KEY_ID": "made-for-tests",
        "AWS_SECRET_ACCESS_KEY": "made-for-tests",
    }
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="made-for-tests",
        aws_secret_access_key="made-for-tests",
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            client.create_bucket(Bucket="coopmatrix-media")
            break
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)
    yield env, client
    server.terminate()
    server.wait(timeout=10)


def test_result_files_go_to_an_s3_compatible_store_and_into_backups(site, s3_store, tmp_path):
    env, client = s3_store
    said = site.run(
        "shell",
        "-c",
        "from django.contrib.auth.models import User; from coopmatrix.core import jobs; "
        "job = jobs.start(User.objects.get(username='editor_a'), 'export', 'Export', "
        "{'path': '/matrix/export.csv', 'query': 'q=Workshop'}); job = jobs.execute(job.pk); "
        "from django.core.files.storage import default_storage; "
        "from django.core.files.storage import storages; "
        "print(type(storages['default']).__name__, job.status, job.result.name); "
        "print(default_storage.open(job.result.name).read()[:20])",
        env=env,
    )
    kind, status, name = next(line for line in said.splitlines() if "Storage " in line).split(maxsplit=2)
    assert (kind, status) == ("S3Storage", "succeeded")
    stored = client.get_object(Bucket="coopmatrix-media", Key=name)["Body"].read()
    assert stored.decode("utf-8-sig").startswith("external_id,")
    assert not (site.var / "media" / name).exists()
    backup = tmp_path / "with-s3.backup"
    site.run("backup", str(backup), env=env)
    import tarfile

    with tarfile.open(backup) as tar:
        assert tar.extractfile(f"media/{name}").read() == stored
