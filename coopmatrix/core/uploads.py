"""Uploads bounded as they arrive.

Django writes an upload larger than 2.5 MB to a temporary file, so memory is not at stake while
it arrives, but the disk and the time to read it back are. This handler, first in
FILE_UPLOAD_HANDLERS, drops a file as soon as it passes COOPMATRIX_UPLOAD_BYTES and marks the
request, so the page says the file is too large instead of "choose a file". A reverse proxy in
front (client_max_body_size) should refuse such bodies before they reach Django at all.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, SkipFile
from django.http import HttpRequest


def upload_limit() -> int:
    return int(getattr(settings, "COOPMATRIX_UPLOAD_BYTES", 10 * 1024 * 1024))


class SizeLimitedUploadHandler(FileUploadHandler):
    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        if start + len(raw_data) > upload_limit():
            if self.request is not None:
                self.request.upload_too_large = True  # type: ignore[attr-defined]
            raise SkipFile
        return raw_data

    def file_complete(self, file_size: int) -> Any:
        return None  # the next handler keeps the file


def too_large(request: HttpRequest) -> bool:
    """Whether a file of this request was dropped for its size (read request.FILES first)."""
    return bool(getattr(request, "upload_too_large", False))
