"""My jobs: what a user started, its progress (polled by htmx), its file or its errors; and
/healthz for the operator's load balancer."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.files.storage import default_storage
from django.db import connection
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from . import jobs
from .models import Job
from .registry import registry


@login_required
def job_list(request: HttpRequest) -> HttpResponse:
    rows = jobs.visible_jobs(request.user)[:100]
    polling = any(not job.ended for job in rows)
    return render(request, "core/jobs.html", {"rows": rows, "polling": polling, "title": _("My jobs")})


@login_required
def job_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A job's page; with htmx, only its progress (the page asks again each second until the end)."""
    job = get_object_or_404(jobs.visible_jobs(request.user), pk=pk)
    template = "core/partials/job_progress.html" if getattr(request, "htmx", False) else "core/job.html"
    return render(request, template, {"job": job, "title": job.label})


@login_required
def job_result(request: HttpRequest, pk: int) -> FileResponse:
    job = get_object_or_404(jobs.visible_jobs(request.user), pk=pk, status=Job.Status.SUCCEEDED)
    if not job.result:
        raise Http404("this job made no file")
    return FileResponse(
        default_storage.open(job.result.name, "rb"), as_attachment=True, filename=job.result_name
    )


@login_required
def job_errors(request: HttpRequest, pk: int) -> HttpResponse:
    """The error report as a text file, one error per line, to keep beside the file to correct."""
    job = get_object_or_404(jobs.visible_jobs(request.user), pk=pk, status=Job.Status.FAILED)
    report = f"{job.label}\n{job.message}\n\n" + "\n".join(job.error_lines) + "\n"
    response = HttpResponse(report, content_type="text/plain; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="job-{job.pk}-errors.txt"'
    return response


@login_required
@require_POST
def job_export(request: HttpRequest) -> HttpResponse:
    """Start a large export (one the apps declare) of the list as filtered, as a job."""
    name = request.POST.get("export", "")
    if name not in registry.exports:
        return HttpResponse(_("This export cannot be prepared in the background."), status=400)
    try:
        path = reverse(name)
    except NoReverseMatch:
        return HttpResponse(_("This export cannot be prepared in the background."), status=400)
    query = request.POST.get("query", "")[:4000]
    job = jobs.start(
        request.user, "export", _("Export %(path)s") % {"path": path}, {"path": path, "query": query}
    )
    messages.info(request, _("The export is being prepared; you may leave this page and come back."))
    return redirect("job", job.pk)


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """For a load balancer: the database and the job queue answer. No count, no name, no
    version: nothing an anonymous caller could learn from."""
    checks = {"database": _reachable(lambda: connection.cursor().execute("SELECT 1"))}
    checks["queue"] = _reachable(_queue_answers)
    healthy = all(value == "ok" for value in checks.values())
    return JsonResponse({"status": "ok" if healthy else "failing", **checks}, status=200 if healthy else 503)


def _queue_answers() -> None:
    from django_tasks_db.models import DBTaskResult

    DBTaskResult.objects.filter(status="READY").exists()


def _reachable(probe) -> str:  # type: ignore[no-untyped-def]
    try:
        probe()
    except Exception:
        return "failing"
    return "ok"
