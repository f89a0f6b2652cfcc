"""Requests the API refuses before any view reads them."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse

WRITES = ("POST", "PUT", "PATCH")


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
