"""What every API router shares: token or session sign-in, filter errors, the visibility rule."""

from __future__ import annotations

from typing import Annotated, Any

from django.http import HttpRequest
from ninja import Field, Schema
from ninja.errors import AuthenticationError
from ninja.pagination import PageNumberPagination as NinjaPageNumberPagination
from ninja.security import HttpBearer
from ninja.utils import check_csrf

#: A whole number a database key or column holds (64 bits). Declared on every numeric path and
#: query parameter, so that a larger one answers 422 naming the parameter instead of overflowing
#: in the database (SQLite raises OverflowError: a 500).
Key = Annotated[int, Field(ge=-(2**63) + 1, le=2**63 - 1)]


class ApiAuth(HttpBearer):
    """A personal token (Authorization: Bearer cm_…), else the session, else the public.

    A token that is wrong, expired or revoked is refused outright rather than read as anonymous,
    so that a client with a broken token learns it at once instead of seeing only public records.
    """

    def __call__(self, request: HttpRequest) -> Any:
        header = request.headers.get("Authorization")
        if not header:
            # A browser's session may write only with the CSRF token, as on the pages
            # (ninja exempts its views from Django's CSRF middleware, so check here).
            unsafe = request.method not in ("GET", "HEAD", "OPTIONS")
            if unsafe and request.user.is_authenticated and check_csrf(request) is not None:
                raise AuthenticationError(403, "CSRF token missing or wrong")
            return request.user  # AnonymousUser is truthy: the public may read public records.
        scheme, _, key = header.partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            raise AuthenticationError(401, "Authorization must be 'Bearer <token>'")
        return self.authenticate(request, key.strip())

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        from .registry import registry

        lookup = registry.hooks.get("api_token")
        user = lookup(token) if lookup else None
        if user is None:
            raise AuthenticationError(
                401,
                "The API token is unknown, expired or revoked, was made before a change of the "
                "user's role or password, or its role requires two-factor authentication first",
            )
        request.user = user
        return user


class FilterError(Exception):
    """Query parameters that the filterset refused; answered as 422 naming each field."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        self.errors = errors
        super().__init__(str(errors))


def filtered(request: HttpRequest, filterset_class: Any, queryset: Any) -> Any:
    """The queryset narrowed by the query string, through the same filterset as the pages."""
    return valid_filterset(request, filterset_class, queryset).qs


def valid_filterset(request: HttpRequest, filterset_class: Any, queryset: Any) -> Any:
    filterset = filterset_class(request.GET, queryset=queryset, request=request)
    filterset.given_only = True  # validated, never drawn
    if not filterset.is_valid():
        raise FilterError({name: [str(e) for e in errs] for name, errs in filterset.errors.items()})
    return filterset


def visible(request: HttpRequest, model: Any) -> Any:
    return model.objects.visible_to(request.user)


class PageNumberPagination(NinjaPageNumberPagination):
    """ninja's page numbers, bounded: a page number beyond what a database offset holds answers
    422 naming the parameter, instead of an overflow deep in the database (a 500)."""

    class Input(Schema):
        page: int = Field(1, ge=1, le=1_000_000)
        page_size: int | None = Field(None, ge=1, le=1000)
