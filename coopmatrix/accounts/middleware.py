"""Administrators and secretariat analysts must have two-factor authentication set up."""

from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import reverse

from coopmatrix.core.roles import TWO_FACTOR_ROLES, principal_for

#: The page a user asked for before being sent to set up two-factor sign-in.
NEXT_KEY = "coopmatrix_next"


def has_two_factor(user) -> bool:
    from allauth.mfa.models import Authenticator

    return Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()


class RequireTwoFactorMiddleware:
    """Send a signed-in administrator or analyst without TOTP to set it up before anything else."""

    ALLOWED_PREFIXES = ("/accounts/", "/static/")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and self._needs_setup(request, user):
            if request.path.startswith("/api/"):
                return JsonResponse(
                    {"detail": "Set up two-factor authentication before using the API."}, status=403
                )
            # Kept in the session, not the address: allauth's steps (activation, then the recovery
            # codes) do not pass it on; the last of them offers the way back (accounts:continue).
            request.session[NEXT_KEY] = request.get_full_path()
            return redirect(reverse("mfa_activate_totp"))
        return self.get_response(request)

    def _needs_setup(self, request, user) -> bool:
        if request.path.startswith(self.ALLOWED_PREFIXES):
            return False
        principal = principal_for(user)
        if not (principal.superuser or principal.role in TWO_FACTOR_ROLES):
            return False
        return not has_two_factor(user)
