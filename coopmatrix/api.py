"""The REST API under /api/v1/, with its OpenAPI description at /api/v1/openapi.json."""

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, JsonResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, ValidationError

from coopmatrix.core.api import ApiAuth, FilterError
from coopmatrix.core.errors import InUse, Invalid, Stale
from coopmatrix.core.registry import load, registry

api = NinjaAPI(
    title="coopmatrix API",
    version="1.0.0",
    description=(
        "Records on cooperation against terrorism. Public records need no sign-in; send "
        "`Authorization: Bearer <token>` with a personal token to see what your role may see."
    ),
    auth=[ApiAuth()],
    docs_url="/docs",
)
# Each installed domain app's router, in the order the apps are installed.
for target in registry.api_routers:
    api.add_router("", load(target))


@api.exception_handler(FilterError)
def filter_error(request: HttpRequest, exc: FilterError) -> JsonResponse:
    detail = [
        {"loc": ["query", field], "msg": message, "type": "value_error"}
        for field, messages in exc.errors.items()
        for message in messages
    ]
    return JsonResponse({"detail": detail}, status=422)


@api.exception_handler(AuthenticationError)
def authentication_error(request: HttpRequest, exc: AuthenticationError) -> JsonResponse:
    status = exc.status_code if getattr(exc, "status_code", 401) in (401, 403) else 401
    message = str(exc.message) if getattr(exc, "message", None) else "Unauthorized"
    return JsonResponse({"detail": message}, status=status)


@api.exception_handler(ValidationError)
def validation_error(request: HttpRequest, exc: ValidationError) -> JsonResponse:
    return JsonResponse({"detail": exc.errors}, status=422)


@api.exception_handler(Invalid)
def invalid_input(request: HttpRequest, exc: Invalid) -> JsonResponse:
    detail = [
        {"loc": ["body", field], "msg": message, "type": "value_error"}
        for field, message in exc.errors.items()
    ]
    return JsonResponse({"detail": detail}, status=422)


@api.exception_handler(PermissionDenied)
def forbidden(request: HttpRequest, exc: PermissionDenied) -> JsonResponse:
    return JsonResponse({"detail": str(exc) or "Forbidden"}, status=403)


@api.exception_handler(Stale)
def stale(request: HttpRequest, exc: Stale) -> JsonResponse:
    return JsonResponse({"detail": str(exc)}, status=409)


@api.exception_handler(InUse)
def in_use(request: HttpRequest, exc: InUse) -> JsonResponse:
    return JsonResponse({"detail": str(exc)}, status=409)
