"""Jobs as their users see them: My jobs, progress, the result file, the error report in words,
the e-mail at the end; the sweeper and the scheduler as a worker runs them (here in-process; the
worker's own processes, killed or not, are in tests/test_deployment.py)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from coopmatrix.core import jobs
from coopmatrix.core.models import Job, PendingImport, ScheduledRun
from coopmatrix.core.testing import run_jobs
from coopmatrix.matrix.models import Activity

CSV = (
    "external_id,title,providers,recipient_states,modality,status\n"
    "XJ-1,Workshop in Cotonou (made for tests),test-org-a:implementing,Benin,workshop,planned\n"
    "XJ-2,Mentorship in Lomé (made for tests),test-org-a:implementing,Togo,mentorship,planned\n"
)


def _confirm(client, content: bytes | None = None):
    content = content or CSV.encode()
    preview = client.post("/matrix/import/", {"file": SimpleUploadedFile("jobs.csv", content)})
    assert preview.status_code == 200, preview.content.decode()[:500]
    done = client.post("/matrix/import/", {"confirm": PendingImport.objects.get().pk})
    assert done.status_code == 302
    return Job.objects.get(pk=int(done["Location"].rstrip("/").rsplit("/", 1)[1]))


def test_a_confirmed_import_is_followed_on_its_page_until_done(cast, client):
    client.force_login(cast.user("editor_a"))
    job = _confirm(client)
    page = client.get(f"/me/jobs/{job.pk}/").content.decode()
    assert "Waiting for a worker" in page and 'hx-trigger="every 1s"' in page
    assert job.label == "Import of jobs.csv"
    run_jobs()
    # The page asks for its progress with htmx; once done it stops asking and links the records.
    partial = client.get(f"/me/jobs/{job.pk}/", headers={"HX-Request": "true"}).content.decode()
    assert "Done" in partial and "2 created" in partial and "hx-trigger" not in partial
    assert "<html" not in partial and "/matrix/" in partial
    assert Activity.objects.filter(external_id__startswith="XJ-").count() == 2
    listing = client.get("/me/jobs/").content.decode()
    assert "Import of jobs.csv" in listing and "Done" in listing
    assert not PendingImport.objects.exists()


def test_another_user_reads_a_job_as_missing(cast, client):
    client.force_login(cast.user("editor_a"))
    job = _confirm(client)
    run_jobs()
    for role in ("editor_b", "reader"):
        client.force_login(cast.user(role))
        for url in (f"/me/jobs/{job.pk}/", f"/me/jobs/{job.pk}/result/", f"/me/jobs/{job.pk}/errors.txt"):
            assert client.get(url).status_code == 404
        assert "jobs.csv" not in client.get("/me/jobs/").content.decode()
    client.logout()
    assert client.get(f"/me/jobs/{job.pk}/").status_code == 302  # to the sign-in


def test_an_import_that_fails_when_run_says_why_and_changes_nothing(cast, client):
    client.force_login(cast.user("editor_a"))
    job = _confirm(client)
    # Between the preview and the worker, the editor's organization lost the right to the rows:
    # they are now another organization's activities.
    cast.user("editor_a").profile.organization = cast.org_b
    cast.user("editor_a").profile.save()
    (job,) = run_jobs()
    assert job.status == "failed"
    assert job.message.startswith("Nothing was imported: 2 error(s)")
    assert not Activity.objects.filter(external_id__startswith="XJ-").exists()
    page = client.get(f"/me/jobs/{job.pk}/").content.decode()
    assert "What must be corrected" in page and "jobs.csv, line 2" in page
    report = client.get(f"/me/jobs/{job.pk}/errors.txt")
    assert report["Content-Disposition"].endswith('errors.txt"')
    assert "jobs.csv, line 3" in report.content.decode()
    # The file is still kept: corrected, it can be imported again.
    assert PendingImport.objects.count() == 1


def test_an_export_prepared_in_the_background_gives_its_file(cast, client):
    client.force_login(cast.user("editor_a"))
    response = client.post("/me/jobs/export/", {"export": "matrix:activity_export", "query": "q=Cotonou"})
    assert response.status_code == 302
    (job,) = run_jobs()
    assert job.status == "succeeded" and job.result_name.endswith(".csv")
    download = client.get(f"/me/jobs/{job.pk}/result/")
    body = b"".join(download.streaming_content).decode("utf-8-sig")
    assert body.startswith("external_id,")
    direct = client.get("/matrix/export.csv?q=Cotonou").getvalue().decode("utf-8-sig")
    assert body == direct
    refused = client.post("/me/jobs/export/", {"export": "admin:index"})
    assert refused.status_code == 400
    assert Job.objects.count() == 1


def test_a_long_job_e_mails_its_user_when_it_ends(cast, client, settings):
    settings.JOB_EMAIL_AFTER_SECONDS = 0
    client.force_login(cast.user("editor_a"))
    job = _confirm(client)
    run_jobs()
    (message,) = mail.outbox
    assert message.to == ["editor_a@example.org"]
    assert message.subject == "coopmatrix: Import of jobs.csv is done"
    assert f"/me/jobs/{job.pk}/" in message.body


def test_a_short_job_sends_no_e_mail(cast, client, settings):
    settings.JOB_EMAIL_AFTER_SECONDS = 3600
    client.force_login(cast.user("editor_a"))
    _confirm(client)
    run_jobs()
    assert not mail.outbox


def _running(job: Job, minutes_ago: int, attempts: int) -> Job:
    Job.objects.filter(pk=job.pk).update(
        status=Job.Status.RUNNING,
        attempts=attempts,
        worker="a-dead-worker",
        heartbeat=timezone.now() - dt.timedelta(minutes=minutes_ago),
    )
    job.refresh_from_db()
    return job


def test_the_sweeper_retries_a_job_whose_worker_died_then_fails_it(cast, client, settings):
    settings.JOB_STALE_SECONDS = 300
    settings.JOB_ATTEMPTS = 2
    settings.JOB_EMAIL_AFTER_SECONDS = 0
    client.force_login(cast.user("editor_a"))
    job = _running(_confirm(client), minutes_ago=10, attempts=1)
    fresh = jobs.start(cast.user("editor_b"), "export", "Fresh", {"path": "/matrix/export.csv"})
    _running(fresh, minutes_ago=1, attempts=1)
    (swept,) = jobs.sweep()
    assert swept.pk == job.pk and swept.status == "queued" and "started again" in swept.message
    assert Job.objects.get(pk=fresh.pk).status == "running"  # its heartbeat is recent
    _running(job, minutes_ago=10, attempts=2)
    (failed,) = jobs.sweep()
    assert failed.status == "failed" and failed.finished is not None
    assert "Nothing it was writing was kept" in failed.message
    assert "failed" in mail.outbox[-1].subject
    # A failed job is left alone afterwards.
    assert jobs.sweep() == []


@pytest.mark.parametrize(
    ("when", "now", "period"),
    [
        ("monthly 1 06:00", "2026-11-30 23:00", "2026-11"),
        ("monthly 1 06:00", "2026-12-01 05:59", None),
        ("monthly 1 06:00", "2026-12-01 06:00", "2026-12"),
        ("daily 06:30", "2026-12-01 06:29", None),
        ("daily 06:30", "2026-12-01 07:00", "2026-12-01"),
        ("weekly mon 06:00", "2026-11-30 06:00", "2026-W49"),
        ("weekly fri 06:00", "2026-11-30 06:00", None),
    ],
)
def test_a_schedule_names_the_period_it_is_due_in(when, now, period):
    moment = timezone.make_aware(dt.datetime.fromisoformat(now))
    assert jobs.period(when, moment) == period


def test_scheduled_jobs_start_once_per_period_and_send_the_mailing(cast, settings, reference):
    from coopmatrix.matrix.models import MonthlyMatrixSubscription

    settings.COOPMATRIX_SCHEDULE = [("monthly_matrix_mailing", "monthly 1 06:00")]
    MonthlyMatrixSubscription.objects.create(user=cast.user("reader"), by="country", format="xlsx")
    first_of_month = timezone.make_aware(dt.datetime(2026, 12, 1, 7, 0))
    (job,) = jobs.start_scheduled(first_of_month)
    assert jobs.start_scheduled(first_of_month + dt.timedelta(hours=3)) == []
    assert ScheduledRun.objects.get().period == "2026-12"
    assert job.user is None and job.label == "Monthly matrix mailing (2026-12)"
    (done,) = run_jobs()
    assert done.status == "succeeded", done.message
    (message,) = mail.outbox
    assert message.to == ["reader@example.org"] and message.attachments[0][0].endswith(".xlsx")


def test_the_queue_s_finished_rows_are_pruned_by_a_scheduled_job(cast, settings):
    from django_tasks_db.models import DBTaskResult

    settings.COOPMATRIX_SCHEDULE = [("prune_task_results", "daily 03:00")]
    job = jobs.start(cast.user("editor_a"), "export", "Old", {"path": "/matrix/export.csv"})
    DBTaskResult.objects.filter(id=job.task_id).update(
        status="SUCCESSFUL", finished_at=timezone.now() - dt.timedelta(days=20)
    )
    recent = jobs.start(cast.user("editor_a"), "export", "Recent", {"path": "/matrix/export.csv"})
    DBTaskResult.objects.filter(id=recent.task_id).update(status="SUCCESSFUL", finished_at=timezone.now())
    Job.objects.filter(pk__in=[job.pk, recent.pk]).update(status=Job.Status.SUCCEEDED)
    (prune,) = jobs.start_scheduled(timezone.make_aware(dt.datetime(2026, 12, 1, 4, 0)))
    (done,) = run_jobs()
    assert done.pk == prune.pk and done.status == "succeeded", done.message
    remaining = set(DBTaskResult.objects.values_list("id", flat=True))
    assert str(job.task_id) not in {str(r) for r in remaining}
    assert str(recent.task_id) in {str(r) for r in remaining}
    assert Job.objects.filter(pk=job.pk).exists()  # the user's record of the job stays


def test_healthz_answers_without_telling_anything(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "queue": "ok"}
    assert response["Cache-Control"].startswith("max-age=0")


def test_the_monthly_matrix_is_prepared_in_the_background(cast, client, reference):
    client.force_login(cast.user("secretariat"))
    page = client.get("/matrix/monthly/?month=2004-01&by=country").content.decode()
    assert 'value="matrix:monthly"' in page
    client.post(
        "/me/jobs/export/", {"export": "matrix:monthly", "query": "month=2004-01&by=country&format=pdf"}
    )
    client.post("/me/jobs/export/", {"export": "matrix:monthly", "query": "month=2004-01&by=country"})
    pdf, page_only = run_jobs()
    assert pdf.status == "succeeded" and pdf.result_name.endswith(".pdf")
    assert b"".join(client.get(f"/me/jobs/{pdf.pk}/result/").streaming_content).startswith(b"%PDF")
    assert page_only.status == "failed" and "a page, not a file" in page_only.message
