"""Load (issue 16): gunicorn serving the benchmark database, 32 concurrent clients for 60 s per
address (locust), and a page of 50 activities from the API timed in the process.

Run by `make bench` (after the other workloads, on the same database) or alone with
`BENCH_ONLY=load make bench`. The clients run on the same machine as the server and the
database: on a 2-core machine they take part of the CPU the server would have.
"""

from __future__ import annotations

import csv
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import requests

from .harness import Workload

USERS = int(os.environ.get("LOAD_USERS", "32"))
SECONDS = int(os.environ.get("LOAD_SECONDS", "60"))
#: gunicorn's own advice for two cores: 2 × cores + 1 synchronous workers.
WORKERS = int(os.environ.get("LOAD_WORKERS", "5"))

ADDRESSES = [
    ("API: States, a page of 50", "/api/v1/states?page_size=50", True),
    (
        "API: activities, 2 filters, a page of 50",
        "/api/v1/activities?status=ongoing&modality=workshop&page_size=50",
        True,
    ),
    ("API: contacts, a page of 50", "/api/v1/contacts?page_size=50", True),
    ("Matrix table page (HTML), 2 filters", "/matrix/?status=ongoing&modality=workshop", False),
]
TARGET_RPS, TARGET_P99 = 400, 250


def _port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _serve(port: int, cache_seconds: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "LOG_FORMAT": "text",
        "REQUEST_LOG_LEVEL": "WARNING",
        "DEBUG": "false",
        "PUBLIC_CACHE_SECONDS": cache_seconds,
    }
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "coopmatrix.wsgi",
            "--config",
            "python:coopmatrix.gunicorn",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(WORKERS),
        ],
        env=env,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).ok:
                return server
        except requests.ConnectionError:
            time.sleep(0.5)
    server.kill()
    raise RuntimeError("gunicorn did not start")


def _locust(port: int, label: str, path: str, folder: Path) -> dict[str, float]:
    prefix = folder / "run"
    subprocess.run(
        [
            str(Path(sys.executable).parent / "locust"),
            "-f",
            str(Path(__file__).parent / "locustfile.py"),
            "--headless",
            "-u",
            str(USERS),
            "-r",
            str(USERS),
            "-t",
            f"{SECONDS}s",
            "--host",
            f"http://127.0.0.1:{port}",
            "--csv",
            str(prefix),
            "--only-summary",
            "--loglevel",
            "ERROR",
        ],
        env={**os.environ, "LOAD_PATH": path, "LOAD_NAME": label},
        check=True,
        stdout=subprocess.DEVNULL,
    )
    with open(f"{prefix}_stats.csv", newline="") as handle:
        row = next(r for r in csv.DictReader(handle) if r["Name"] == label)
    return {
        "requests": float(row["Request Count"]),
        "errors": float(row["Failure Count"]),
        "rps": float(row["Requests/s"]),
        "p50": float(row["50%"]),
        "p99": float(row["99%"]),
    }


def workloads() -> list[Workload]:
    """A page of 50 activities from the API, timed in the process (Django's client): made each
    time (the public cache off), and answered from the public cache."""
    from django.conf import settings
    from django.test import Client

    client = Client(HTTP_HOST="127.0.0.1")
    filtered, plain = ADDRESSES[1][1], "/api/v1/activities?page_size=50"
    for url in (filtered, plain):
        if client.get(url).status_code != 200:
            raise RuntimeError(f"{url} does not answer 200")

    def made(url: str) -> Callable[[], object]:
        def ask() -> object:
            # Set directly, not with override_settings: its signal handlers (template engines,
            # storages) would be timed too.
            kept, settings.PUBLIC_CACHE_SECONDS = settings.PUBLIC_CACHE_SECONDS, 0
            try:
                return client.get(url)
            finally:
                settings.PUBLIC_CACHE_SECONDS = kept

        return ask

    return [
        Workload("API: a page of 50 activities, 2 filters, made", "1 page", made(filtered), 10.0, repeat=30),
        Workload("API: a page of 50 activities, no filter, made", "1 page", made(plain), 10.0, repeat=30),
        Workload(
            "API: a page of 50 activities, 2 filters, from the public cache",
            "1 page",
            lambda: client.get(filtered),
            10.0,
            repeat=30,
        ),
    ]


#: The public cache as shipped (answers kept 300 s, until the next write), then off: every request
#: made, as for a signed-in user.
MODES = (("on", "300"), ("off", "0"))


def run() -> str:
    lines = [
        f"Load: gunicorn, {WORKERS} workers; {USERS} clients for {SECONDS} s each (locust, same machine)",
        "",
        "| address | public cache | requests | req/s | p50 ms | p99 ms | errors | target | verdict |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    for mode, cache_seconds in MODES:
        port = _port()
        server = _serve(port, cache_seconds)
        try:
            with tempfile.TemporaryDirectory() as work:
                for label, path, api in ADDRESSES:
                    lines.append(_row(label, mode, api, _locust(port, label, path, Path(work))))
        finally:
            server.terminate()
            server.wait(timeout=30)
    return "\n".join(lines)


def _row(label: str, mode: str, api: bool, found: dict[str, float]) -> str:
    target = f"p99 ≤ {TARGET_P99} ms, 0 errors"
    if api:
        target = f"≥ {TARGET_RPS} req/s, " + target
    ok = found["errors"] == 0 and found["p99"] <= TARGET_P99 and (not api or found["rps"] >= TARGET_RPS)
    return (
        f"| {label} | {mode} | {found['requests']:,.0f} | {found['rps']:.1f} | {found['p50']:.0f} | "
        f"{found['p99']:.0f} | {found['errors']:.0f} | {target} | {'ok' if ok else 'BELOW'} |"
    )
