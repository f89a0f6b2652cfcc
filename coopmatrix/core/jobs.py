"""Background jobs: imports, large exports, mailings, every long piece of work.

The engine is django-tasks with its database backend (django-tasks-db): the queue is a table of
the database coopmatrix already uses, so a local run needs nothing more, and `coopmatrix worker`
runs on any number of machines against one PostgreSQL (a worker takes a task with SELECT … FOR
UPDATE SKIP LOCKED). What the engine does not do, this module does, in the same database:

- a Job row per piece of work, which its user follows on "My jobs": progress, result file,
  the error report in words;
- a heartbeat: each worker writes its running job's progress and time from a thread with a
  connection of its own, so that progress shows while the job's transaction is still open;
- a sweeper in every worker: a running job whose heartbeat has stopped (its worker was killed)
  is queued again while it has attempts left, then marked failed; an import is one transaction,
  so a killed worker leaves nothing half-written and the retry starts from the same file;
- a scheduler in every worker: COOPMATRIX_SCHEDULE's jobs start once per period, whichever
  worker sees them fall due first (a unique row per period decides).

Apps add kinds of job through the registry (`DomainApp.jobs`); core brings "import" and
"export".
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.mail import send_mail
from django.db import IntegrityError, close_old_connections, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django_tasks import task

from .collecting import fewer_collections
from .console import acting_as
from .models import Job, ScheduledRun
from .registry import load, registry

log = logging.getLogger("coopmatrix.jobs")

#: The id of this process as a worker ("" outside a worker: a test running a job in-process).
WORKER_ID = ""
_current: Tracker | None = None
_beat: Heartbeat | None = None


class JobFailed(Exception):
    """A job that cannot be done, and why in words; `errors` is the report (one line each)."""

    def __init__(self, message: str, errors: list[str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors or []


@dataclass
class Outcome:
    """What a job gives back: a sentence, and a file to download if it made one."""

    message: str
    content: bytes | None = None
    filename: str = ""


Handler = Callable[[Job, "Tracker"], Outcome]


def handler(kind: str) -> Handler:
    target = {**CORE_JOBS, **registry.jobs}.get(kind)
    if target is None:
        raise JobFailed(f"No kind of job is called {kind!r}.")
    return load(target)


def kinds() -> set[str]:
    return set(CORE_JOBS) | set(registry.jobs)


class Tracker:
    """The running job's progress, kept in memory by the job and written by the heartbeat.

    Importers call it with the number of rows done (the console's progress bar has the same
    shape); `expect(total)` gives the total, `step(phase)` names a new phase and waits until the
    phase is written, so that it shows before a long transaction takes the database's write lock
    (SQLite has one)."""

    def __init__(self, job: Job) -> None:
        self.job_id = job.pk
        self.attempt = job.attempts
        self.done = 0
        self.total: int | None = None
        self.phase = ""
        self._written = threading.Event()

    def __call__(self, done: int) -> None:
        self.done = done

    def expect(self, total: int) -> None:
        self.total = total

    def step(self, phase: str, total: int | None = None) -> None:
        self.phase, self.done, self.total = phase, 0, total
        self.flush()

    def flush(self) -> None:
        if _beat is not None and _beat.is_alive():
            self._written.clear()
            _beat.wake.set()
            self._written.wait(timeout=3)
        else:
            self.write()

    def still_mine(self) -> None:
        """Called in the job's transaction just before it commits: if a sweeper has given the job
        to another worker meanwhile (this one seemed dead), this run's changes are undone, so that
        only one run's are ever kept. The row stays locked to this run until the commit."""
        taken = Job.objects.filter(pk=self.job_id, status=Job.Status.RUNNING, attempts=self.attempt)
        if not taken.update(heartbeat=timezone.now()):
            raise JobFailed("Another worker took this job over; the changes of this run were not kept.")

    def write(self) -> None:
        Job.objects.filter(pk=self.job_id, status=Job.Status.RUNNING).update(
            heartbeat=timezone.now(), done=self.done, total=self.total, phase=self.phase[:100]
        )
        self._written.set()


class Heartbeat(threading.Thread):
    """The worker's second thread: heartbeat and progress of its job, the sweeper, the scheduler.

    It stops the process when the process that started it is gone (`coopmatrix serve` starts a
    worker beside the web server; the worker must not outlive it)."""

    def __init__(self, parent_pid: int | None = None) -> None:
        super().__init__(name="coopmatrix-heartbeat", daemon=True)
        self.wake = threading.Event()
        self.parent_pid = parent_pid

    def run(self) -> None:
        while True:
            self.wake.wait(settings.JOB_HEARTBEAT_SECONDS)
            self.wake.clear()
            if self.parent_pid and os.getppid() != self.parent_pid:
                log.warning("worker stopping: the process that started it has ended")
                os._exit(0)
            close_old_connections()
            try:
                if _current is not None:
                    _current.write()
                sweep()
                start_scheduled()
            except Exception:
                # A database restarting or a write lock held too long: try again at the next beat.
                log.exception("heartbeat failed")


def start_worker_thread(worker_id: str, parent_pid: int | None = None) -> Heartbeat:
    global WORKER_ID, _beat
    WORKER_ID = worker_id
    _beat = Heartbeat(parent_pid)
    _beat.start()
    return _beat


# -- starting and running ------------------------------------------------------------------------


def start(user: Any, kind: str, label: str, payload: dict[str, Any] | None = None) -> Job:
    """Queue a job; a worker runs it. `user` follows it (None: a scheduled job)."""
    if kind not in kinds():
        raise ValueError(f"unknown kind of job {kind!r}")
    job = Job.objects.create(
        user=user if user is not None and user.is_authenticated else None,
        kind=kind,
        label=label[:200],
        payload=payload or {},
    )
    _enqueue(job)
    return job


def _enqueue(job: Job) -> None:
    result = run_job.enqueue(job.pk)
    job.task_id = str(result.id)
    Job.objects.filter(pk=job.pk).update(task_id=job.task_id)


@task()
def run_job(job_id: int) -> None:
    execute(job_id)


def execute(job_id: int) -> Job | None:
    """Run one queued job to its end. Returns None when it was not queued (already taken)."""
    global _current
    now = timezone.now()
    taken = Job.objects.filter(pk=job_id, status=Job.Status.QUEUED).update(
        status=Job.Status.RUNNING,
        started=now,
        heartbeat=now,
        worker=WORKER_ID,
        attempts=F("attempts") + 1,
        phase="",
        done=0,
        total=None,
    )
    if not taken:
        return None
    job = Job.objects.get(pk=job_id)
    tracker = Tracker(job)
    _current = tracker
    log.info("job started", extra=_fields(job))
    try:
        # What a job writes is kept in history as written by the user who asked for it, as a
        # page's writes are (a worker has no request for simple-history to read the user from).
        with acting_as(job.user):
            outcome = handler(job.kind)(job, tracker)
    except JobFailed as exc:
        _finish(job, Job.Status.FAILED, exc.message, exc.errors)
    except Exception:
        log.exception("job failed unexpectedly", extra=_fields(job))
        _finish(
            job,
            Job.Status.FAILED,
            f"An unexpected error stopped this job (job {job.pk}); nothing it was writing was kept. "
            "The administrators can read why in the worker's log.",
            [],
        )
    else:
        _finish(job, Job.Status.SUCCEEDED, outcome.message, [], outcome)
    finally:
        _current = None
    job.refresh_from_db()
    return job


def _finish(job: Job, status: str, message: str, errors: list[str], outcome: Outcome | None = None) -> None:
    result = ""
    if outcome is not None and outcome.content is not None:
        from django.core.files.storage import default_storage

        result = default_storage.save(f"jobs/{job.pk}/{outcome.filename}", ContentFile(outcome.content))
    now = timezone.now()
    Job.objects.filter(pk=job.pk, status=Job.Status.RUNNING, attempts=job.attempts).update(
        status=status,
        message=message,
        errors="\n".join(errors),
        result=result,
        result_name=outcome.filename if outcome is not None else "",
        finished=now,
        heartbeat=now,
        phase="",
    )
    job.refresh_from_db()
    log.info("job ended", extra=_fields(job))
    _tell_the_user(job)


def _fields(job: Job) -> dict[str, Any]:
    seconds = (job.finished - job.started).total_seconds() if job.finished and job.started else None
    return {
        "job_id": job.pk,
        "kind": job.kind,
        "status": job.status,
        "attempt": job.attempts,
        "user_id": job.user_id,
        "worker": job.worker,
        "duration_s": round(seconds, 1) if seconds is not None else None,
    }


def _tell_the_user(job: Job, always: bool = False) -> None:
    """An e-mail when a long job ends (the user may have left the page long ago), and always
    when its worker died."""
    if job.user is None or not job.user.email:
        return
    took = (job.finished - job.started).total_seconds() if job.finished and job.started else None
    if not always and (took is None or took < settings.JOB_EMAIL_AFTER_SECONDS):
        return
    outcome = "is done" if job.status == Job.Status.SUCCEEDED else "failed"
    link = settings.SITE_URL + reverse("job", args=[job.pk])
    try:
        send_mail(
            f"coopmatrix: {job.label} {outcome}",
            f"{job.label} {outcome}.\n\n{job.message}\n\nSee it, and its file or its errors: {link}\n",
            None,
            [job.user.email],
        )
    except Exception:
        log.exception("the e-mail telling the end of a job was not sent", extra=_fields(job))


# -- the sweeper ---------------------------------------------------------------------------------


def sweep(now: dt.datetime | None = None) -> list[Job]:
    """Retry, or fail once its attempts are spent, every running job whose heartbeat stopped."""
    from django_tasks_db.models import DBTaskResult

    now = now or timezone.now()
    cutoff = now - dt.timedelta(seconds=settings.JOB_STALE_SECONDS)
    swept = []
    stale = Job.objects.filter(status=Job.Status.RUNNING, heartbeat__lt=cutoff)
    if WORKER_ID:
        # This worker's own job is alive: this thread runs in its process. (On SQLite its
        # heartbeat cannot be written while the job's transaction holds the write lock.)
        stale = stale.exclude(worker=WORKER_ID)
    for job in stale:
        retry = job.attempts < settings.JOB_ATTEMPTS
        when = timezone.localtime(job.heartbeat).strftime("%Y-%m-%d %H:%M") if job.heartbeat else "?"
        if retry:
            message = f"Its worker stopped at {when} (attempt {job.attempts}); it was started again."
            changes: dict[str, Any] = {"status": Job.Status.QUEUED, "message": message}
        else:
            message = (
                f"Its worker stopped at {when}, on attempt {job.attempts} of {settings.JOB_ATTEMPTS}. "
                "Nothing it was writing was kept: start it again."
            )
            changes = {"status": Job.Status.FAILED, "message": message, "finished": now}
        # Conditional on what was read: of two sweepers, one acts.
        acted = Job.objects.filter(pk=job.pk, status=Job.Status.RUNNING, heartbeat=job.heartbeat).update(
            **changes, phase=""
        )
        if not acted:
            continue
        if job.task_id:
            DBTaskResult.objects.filter(id=job.task_id, status="RUNNING").update(
                status="FAILED", finished_at=now
            )
        job.refresh_from_db()
        log.warning("job swept", extra={**_fields(job), "retried": retry})
        if retry:
            _enqueue(job)
        else:
            _tell_the_user(job, always=True)
        swept.append(job)
    return swept


# -- the scheduler -------------------------------------------------------------------------------

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def period(when: str, now: dt.datetime) -> str | None:
    """The period a schedule is due in at `now` ("2026-11" for a monthly one), or None when this
    period's time has not come yet. `when`: "monthly D HH:MM", "weekly DAY HH:MM", "daily HH:MM"."""
    local = timezone.localtime(now)
    parts = when.split()
    hour, minute = (int(x) for x in parts[-1].split(":"))
    if parts[0] == "daily":
        due = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
        key = f"{local:%Y-%m-%d}"
    elif parts[0] == "weekly":
        start = local - dt.timedelta(days=local.weekday())
        due = (start + dt.timedelta(days=WEEKDAYS.index(parts[1]))).replace(
            hour=hour, minute=minute, second=0, microsecond=0
        )
        key = f"{local:%G-W%V}"
    elif parts[0] == "monthly":
        due = local.replace(day=int(parts[1]), hour=hour, minute=minute, second=0, microsecond=0)
        key = f"{local:%Y-%m}"
    else:
        raise ValueError(f"unknown schedule {when!r}")
    return key if local >= due else None


def start_scheduled(now: dt.datetime | None = None) -> list[Job]:
    """Start each scheduled job due and not yet started in its period, exactly once."""
    now = now or timezone.now()
    started = []
    for kind, when in settings.COOPMATRIX_SCHEDULE:
        key = period(when, now)
        if key is None or ScheduledRun.objects.filter(name=kind, period=key).exists():
            continue
        try:
            with transaction.atomic():
                run = ScheduledRun.objects.create(name=kind, period=key)
                job = start(None, kind, f"{LABELS.get(kind, kind)} ({key})", {"period": key})
                run.job = job
                run.save(update_fields=["job"])
        except IntegrityError:
            continue  # another worker started it first
        started.append(job)
    return started


#: Names of the scheduled jobs, as "My jobs" and the log show them.
LABELS = {
    "monthly_matrix_mailing": "Monthly matrix mailing",
    "saved_view_digests": "Saved views' e-mails",
    "stale_contacts_report": "Stale directory entries report",
    "prune_task_results": "Removal of finished tasks' engine rows",
}


def visible_jobs(user: Any) -> Any:
    """A user's jobs; nobody else's, whatever their role (an import's file is its user's)."""
    if user is None or not user.is_authenticated:
        return Job.objects.none()
    return Job.objects.filter(user=user)


# -- core's own kinds of job ---------------------------------------------------------------------


def import_job(job: Job, tracker: Tracker) -> Outcome:
    """An uploaded file, previewed and confirmed on an import page, written all or nothing."""
    from .models import PendingImport

    kind = job.payload.get("kind", "")
    kept = PendingImport.objects.filter(pk=job.payload.get("pending"), user=job.user, kind=kind).first()
    if kept is None:
        raise JobFailed(
            "The uploaded file is no longer kept (imported already, or removed): upload it again."
        )
    target = registry.importers.get(kind)
    if target is None:
        raise JobFailed(f"No importer reads {kind!r} files.")
    import_file = load(target)
    options = json.loads(kept.options or "{}")
    tracker.step("Checking every row")
    with transaction.atomic(), fewer_collections():
        preview = import_file(job.user, kept.file(), kept.filename, progress=tracker, **options)
        if not preview.ok:
            # The records changed since the preview: nothing is written (the transaction is left).
            errors = [str(error) for error in preview.errors]
            raise JobFailed(
                f"Nothing was imported: {len(errors)} error(s) were found when the file was checked again.",
                errors,
            )
        kept.delete()
        tracker.still_mine()
    return Outcome(
        f"Imported {kept.filename}: {preview.created} created, {preview.updated} updated, "
        f"{preview.unchanged} unchanged."
    )


def export_job(job: Job, tracker: Tracker) -> Outcome:
    """A large export, made by the same view as the download link, as its user."""
    from django.test import RequestFactory
    from django.urls import Resolver404, resolve

    path, query = job.payload.get("path", ""), job.payload.get("query", "")
    try:
        match = resolve(path)
    except Resolver404:
        raise JobFailed(f"{path} is not an export of coopmatrix.") from None
    if match.view_name not in registry.exports:
        raise JobFailed(f"{path} is not an export that can be prepared in the background.")
    tracker.step("Preparing the file")
    request = RequestFactory().get(path, data=None, QUERY_STRING=query)
    if job.user is None:
        raise JobFailed("An export is made for a user: this job has none.")
    request.user = job.user
    response = match.func(request, *match.args, **match.kwargs)
    if response.status_code != 200:
        raise JobFailed(f"The export was refused (HTTP {response.status_code}): check its filters.")
    if "attachment" not in response.get("Content-Disposition", ""):
        raise JobFailed("These filters give a page, not a file: choose a format (PDF, XLSX or CSV).")
    content = (
        b"".join(response.streaming_content) if getattr(response, "streaming", False) else response.content
    )
    disposition = response.get("Content-Disposition", "")
    filename = disposition.split("filename=")[-1].strip('"') if "filename=" in disposition else "export"
    return Outcome(f"{filename} is ready.", content, filename)


CORE_JOBS = {
    "import": "coopmatrix.core.jobs:import_job",
    "export": "coopmatrix.core.jobs:export_job",
    "saved_view_digests": "coopmatrix.core.saved_views:digests_job",
    "prune_task_results": "coopmatrix.core.jobs:prune_job",
}


def prune_job(job: Job, tracker: Tracker) -> Outcome:
    """The engine's own rows of finished tasks, kept 14 days (the Job rows, which users read,
    are kept)."""
    import io

    from django.core.management import call_command

    said = io.StringIO()
    call_command("prune_db_task_results", min_age_days=14, stdout=said)
    return Outcome(said.getvalue().strip() or "Finished tasks older than 14 days removed.")
