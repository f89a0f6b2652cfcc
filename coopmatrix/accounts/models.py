"""A user's organization and role, and personal API tokens."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from coopmatrix.core.roles import Role

TOKEN_PREFIX = "cm_"


class Profile(models.Model):
    """Who a user works for and what they may do; read by the visibility rule."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile")
    organization = models.ForeignKey(
        "directory.Organization",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="staff",
        verbose_name=_("organization or State agency"),
    )
    role = models.CharField(_("role"), max_length=20, choices=Role.choices, default=Role.READER)

    history = HistoricalRecords()

    def __str__(self) -> str:
        return f"{self.user} ({self.get_role_display()})"

    def clean(self) -> None:
        needs_org = {Role.ORGANIZATION_EDITOR, Role.FOCAL_POINT}
        if self.role in needs_org and not self.organization_id:
            raise ValidationError({"organization": _("This role needs an organization.")})
        if self.role == Role.FOCAL_POINT and self.organization and not self.organization.state_id:
            raise ValidationError({"organization": _("A national focal point belongs to a State's agency.")})


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def binding_for(user: Any) -> str:
    """What a token is bound to: the user's role and password. A token made before a change of
    either (an editor promoted to the secretariat, a password reset) no longer works."""
    # The role read from the database, not from the principal kept on the user object for a
    # request (a token issued right after a promotion must carry the new role).
    role = Profile.objects.filter(user_id=user.pk).values_list("role", flat=True).first() or ""
    return _hash(f"{user.pk}|{'superuser' if user.is_superuser else role}|{user.password}")


def needs_two_factor_first(user: Any) -> bool:
    """A user whose role requires a second factor but who has none enrolled."""
    from coopmatrix.accounts.middleware import has_two_factor
    from coopmatrix.core.roles import TWO_FACTOR_ROLES, principal_for

    principal = principal_for(user)
    return (principal.superuser or principal.role in TWO_FACTOR_ROLES) and not has_two_factor(user)


class ApiTokenQuerySet(models.QuerySet):
    def usable(self) -> ApiTokenQuerySet:
        return self.filter(revoked__isnull=True, expires__gt=timezone.now(), user__is_active=True)

    def authenticate(self, key: str) -> ApiToken | None:
        """The usable token whose secret is `key`, marking it used; None otherwise: also when
        the user's role or password changed since it was made, or the role requires a second
        factor the user has not enrolled."""
        token = self.usable().select_related("user").filter(digest=_hash(key)).first()
        if token is None or token.binding != binding_for(token.user) or needs_two_factor_first(token.user):
            return None
        ApiToken.objects.filter(pk=token.pk).update(last_used=timezone.now())
        return token


class ApiToken(models.Model):
    """A personal token for the REST API. Only a hash is stored; the secret is shown once."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(max_length=12, help_text=_("The first characters, to tell tokens apart."))
    digest = models.CharField(max_length=64, unique=True)
    created = models.DateTimeField(auto_now_add=True)
    expires = models.DateTimeField(_("expires"))
    revoked = models.DateTimeField(_("revoked"), null=True, blank=True)
    last_used = models.DateTimeField(_("last used"), null=True, blank=True)
    #: See binding_for; empty for tokens made before tokens were bound, which no longer work.
    binding = models.CharField(max_length=64, blank=True, editable=False)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @classmethod
    def issue(cls, user: Any, name: str, days: int | None = None) -> tuple[ApiToken, str]:
        """Create a token; return it with its secret, which is not kept anywhere. A role that
        requires a second factor gets a token only once one is enrolled."""
        if needs_two_factor_first(user):
            raise ValidationError(_("Set up two-factor authentication before making an API token."))
        key = TOKEN_PREFIX + secrets.token_urlsafe(32)
        days = days or settings.API_TOKEN_DEFAULT_DAYS
        token = cls.objects.create(
            user=user,
            name=name,
            prefix=key[:10],
            digest=_hash(key),
            expires=timezone.now() + dt.timedelta(days=days),
            binding=binding_for(user),
        )
        return token, key

    @property
    def is_usable(self) -> bool:
        return self.revoked is None and self.expires > timezone.now()

    def revoke(self) -> None:
        if self.revoked is None:
            self.revoked = timezone.now()
            self.save(update_fields=["revoked"])
