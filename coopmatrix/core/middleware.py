"""Requests refused before any view reads them."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote_plus

from django.http import HttpRequest, HttpResponse, JsonResponse

WRITES = ("POST", "PUT", "PATCH")
REQUEST_LOG = logging.getLogger("coopmatrix.requests")


class ApiJsonOnlyMiddleware:
    """A write to the API with a body must say it is JSON. A body sent as text/plain would
    otherwise be parsed all the same, and text/plain is what a cross-site form can send."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith("/api/") and request.method in WRITES and request.body:
            kind = request.content_type or ""
            if kind != "application/json" and not kind.endswith("+json"):
                return JsonResponse(
                    {"detail": f"send the body as application/json, not {kind or 'no content type'}"},
                    status=415,
                )
        return self.get_response(request)


class PrivateResponsesMiddleware:
    """What a signed-in user or an API token sees may hold restricted or confidential records:
    no shared cache (a proxy, a browser's back button on a shared computer) may keep it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        user = getattr(request, "user", None)
        signed_in = bool(user is not None and user.is_authenticated)
        if signed_in or "Authorization" in request.headers:
            from django.utils.cache import patch_cache_control

            patch_cache_control(response, private=True, no_store=True)
        return response


class RefuseNulMiddleware:
    """A NUL character is no text anyone types, and PostgreSQL refuses it in any query parameter
    (DataError: a 500, wherever a code or a name is looked up). Django's form fields refuse it
    already; this refuses it in the path, the query string, form fields and API bodies, naming
    where it is, before any lookup. Uploaded files are not read here (a workbook holds NULs)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        where = self._where(request)
        if where is not None:
            message = f"{where} contains a NUL character (\\x00), which is not allowed"
            if request.path.startswith("/api/"):
                return JsonResponse({"detail": [{"loc": where.split("."), "msg": message}]}, status=422)
            return HttpResponse(message, status=400, content_type="text/plain; charset=utf-8")
        return self.get_response(request)

    def _where(self, request: HttpRequest) -> str | None:
        if "\x00" in request.path:
            return "path"
        query = request.META.get("QUERY_STRING", "")
        if "%00" in query or "\x00" in unquote_plus(query):
            return "query"
        if request.method in WRITES:
            kind = request.content_type or ""
            if kind == "application/json" or kind.endswith("+json"):
                if b"\\u0000" in request.body or b"\x00" in request.body:
                    return _nul_in_json(request.body)
            elif kind in ("application/x-www-form-urlencoded", "multipart/form-data"):
                for name, values in request.POST.lists():
                    if any("\x00" in value for value in values):
                        return f"form.{name}"
        return None


def _nul_in_json(body: bytes) -> str:
    """The path to the first string holding a NUL (body.providers.0.organization)."""
    try:
        data = json.loads(body)
    except ValueError:
        return "body"

    def find(value: Any, path: list[str]) -> list[str] | None:
        if isinstance(value, str):
            return path if "\x00" in value else None
        items = (
            value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
        )
        for key, item in items:
            if isinstance(key, str) and "\x00" in key:
                return [*path, key.replace("\x00", "")]
            found = find(item, [*path, str(key)])
            if found is not None:
                return found
        return None

    return ".".join(find(data, ["body"]) or ["body"])


class RequestLogMiddleware:
    """One log line per request (logger coopmatrix.requests): method, route, status, duration,
    the user's id. Never the query string (what was searched), names or addresses; the route
    pattern, not the path, so that a record's key is not spread over the logs either."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        user = getattr(request, "user", None)
        match = getattr(request, "resolver_match", None)
        REQUEST_LOG.info(
            "request",
            extra={
                "method": request.method,
                "route": _route(request, match),
                "status": response.status_code,
                "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                "user_id": user.pk if user is not None and user.is_authenticated else None,
            },
        )
        return response


def _route(request: HttpRequest, match: Any) -> str:
    if match is not None and match.route:
        return "/" + match.route
    # Answered from the public cache (core/public_cache.py), before the address was resolved.
    return getattr(request, "cached_route", "") or "(unmatched)"
