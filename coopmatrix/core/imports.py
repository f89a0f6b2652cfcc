"""The one upload → preview → confirm flow of every import page.

The file is checked as soon as it is uploaded; the preview shows what would be created, updated
and left unchanged, and every error with its row and column; only a file without errors is kept
(as a PendingImport of its user) until the user confirms. The confirmed file is then checked
again and written, all or nothing, in one transaction, by a background job (core/jobs.py) whose
page the user is taken to: a large file no longer holds a web request open.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _

from . import jobs
from .models import PendingImport
from .uploads import too_large, upload_limit


def import_page(
    request: HttpRequest,
    *,
    kind: str,
    template: str,
    context: dict[str, Any],
    check: Callable[..., Any],
    done: str,
    allowed: Callable[[Any], bool],
    options: Callable[[HttpRequest], dict[str, Any]] | None = None,
) -> HttpResponse:
    """`check(user, content, filename, **options)` previews; the app's importer for `kind`
    (`DomainApp.importers`) writes, in a job; `done` is the list a finished import links to;
    `options(request)` reads the upload form's other fields; `allowed(user)` says whether the user
    may import at all, asked before the upload is read."""
    if not allowed(request.user):
        raise PermissionDenied(_("Your role may not import these records."))
    if request.method == "POST" and "confirm" in request.POST:
        kept = get_object_or_404(
            PendingImport, pk=_key(request.POST["confirm"]), user=request.user, kind=kind
        )
        job = jobs.start(
            request.user,
            "import",
            _("Import of %(name)s") % {"name": kept.filename},
            {"kind": kind, "pending": kept.pk, "done": done},
        )
        messages.info(request, _("The import has started; you may leave this page and come back."))
        return redirect("job", job.pk)
    if request.method != "POST":
        return render(request, template, context)
    upload = request.FILES.get("file")
    pasted = request.POST.get("pasted", "").strip()
    if too_large(request) or (upload is not None and (upload.size or 0) > upload_limit()):
        error = _("The file is larger than %(size)s: split it.") % {"size": filesizeformat(upload_limit())}
        return render(request, template, {**context, "error": error}, status=413)
    if upload is None and not pasted:
        return render(request, template, {**context, "error": _("Choose a file to import.")}, status=400)
    content = upload.read() if upload is not None else pasted.encode("utf-8")
    filename = (upload.name or "upload") if upload is not None else "pasted text"
    try:
        chosen = options(request) if options else {}
    except ValueError as exc:
        return render(request, template, {**context, "error": str(exc)}, status=400)
    preview = check(request.user, content, filename, **chosen)
    pending: PendingImport | None = None
    if preview.ok:
        pending = PendingImport.keep(request.user, filename, content, kind, json.dumps(chosen))
    context = {**context, "preview": preview, "pending": pending, "filename": filename}
    return render(request, template, context, status=200 if preview.ok else 422)


def _key(value: str) -> int:
    from django.http import Http404

    try:
        return int(value)
    except ValueError:
        raise Http404("no such import") from None


def decimal_mark(request: HttpRequest) -> dict[str, str]:
    """The upload form's decimal mark for amounts ("auto": told from the file), as an option of
    `import_page` for importers that read amounts."""
    from .spreadsheets import DECIMAL_MARKS

    mark = request.POST.get("decimal_mark") or "auto"
    if mark not in DECIMAL_MARKS:
        raise ValueError(_("Unknown decimal mark."))
    return {"decimal_mark": mark}


def template_download(content: bytes | str, kind: str, name: str) -> HttpResponse:
    """An import template as a download (XLSX or CSV)."""
    types = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
    response = HttpResponse(content, content_type=types.get(kind, "text/csv; charset=utf-8"))
    response["Content-Disposition"] = f'attachment; filename="coopmatrix-{name}-template.{kind}"'
    return response
