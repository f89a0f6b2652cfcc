"""How Axes names the account that is failing to sign in, and how a locked user gets back in.

Failures are counted per account, whatever the sign-in form names it by (user name or e-mail):
five failures by user name and then the right password by e-mail must not get in. The address
an attack comes from is limited by allauth's rate limits (settings.ACCOUNT_RATE_LIMITS).
"""

from __future__ import annotations

from typing import Any


def login_name(request: Any, credentials: dict[str, Any] | None = None) -> str:
    """The account's user name for the login typed, or the login itself if no account has it
    (so that guessing names is counted too, and says nothing about which exist)."""
    from django.contrib.auth import get_user_model
    from django.db.models import Q

    credentials = credentials or {}
    # allauth passes the account's e-mail or username to authenticate(); the form field is "login".
    typed = credentials.get("email") or credentials.get("username")
    if not typed and request is not None:
        typed = getattr(request, "POST", {}).get("login", "")
    typed = (typed or "").strip()
    if not typed:
        return ""
    User = get_user_model()
    accounts = list(User.objects.filter(Q(username__iexact=typed) | Q(email__iexact=typed))[:2])
    if len(accounts) == 1:
        return accounts[0].get_username().lower()
    return typed.lower()


def unlock_after_password_reset(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    """A locked user who sets a new password through the e-mailed link may sign in again."""
    from axes.utils import reset

    reset(username=user.get_username().lower())
