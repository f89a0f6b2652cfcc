"""Who a user is for the visibility rule: a role, an organization, and that organization's State.

The role lives on the user's profile (accounts app); this module only reads it, so that the
rule in `querysets.py` does not depend on how accounts are stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    ADMINISTRATOR = "administrator", _("Administrator")
    SECRETARIAT = "secretariat", _("Secretariat analyst")
    ORGANIZATION_EDITOR = "organization_editor", _("Organization editor")
    FOCAL_POINT = "focal_point", _("National focal point")
    READER = "reader", _("Reader")


#: Roles that read and edit every record, whatever its confidentiality.
ALL_SEEING_ROLES = frozenset({Role.ADMINISTRATOR, Role.SECRETARIAT})
#: Roles that must sign in with a second factor.
TWO_FACTOR_ROLES = frozenset({Role.ADMINISTRATOR, Role.SECRETARIAT})


@dataclass(frozen=True)
class Principal:
    """What the visibility rule needs to know of a user."""

    authenticated: bool
    role: str | None = None
    organization_id: int | None = None
    state_id: int | None = None
    superuser: bool = False

    @property
    def sees_everything(self) -> bool:
        return self.superuser or self.role in ALL_SEEING_ROLES

    @property
    def may_edit_own(self) -> bool:
        return self.role in (Role.ORGANIZATION_EDITOR, Role.FOCAL_POINT)


ANONYMOUS = Principal(authenticated=False)


def is_secretariat(user: Any) -> bool:
    """Whether the user sees and reviews everything (the secretariat, administrators)."""
    return principal_for(user).sees_everything


def may_record(user: Any) -> bool:
    """Whether the user records entries (their own, or any for the secretariat)."""
    principal = principal_for(user)
    return principal.sees_everything or principal.may_edit_own


def principal_for(user: Any) -> Principal:
    """The Principal of a Django user (anonymous or None gives the public's)."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return ANONYMOUS
    cached = getattr(user, "_coopmatrix_principal", None)
    if cached is not None:
        return cached
    profile = _profile(user)
    organization = profile.organization if profile and profile.organization_id else None
    principal = Principal(
        authenticated=True,
        role=profile.role if profile else Role.READER,
        organization_id=organization.pk if organization else None,
        state_id=organization.state_id if organization else None,
        superuser=user.is_superuser,
    )
    user._coopmatrix_principal = principal
    return principal


def _profile(user: Any) -> Any:
    """The user's profile with its organization, in one query, kept on the user for the page
    (the header names the role too)."""
    # user.__class__, not type(user): request.user is a lazy object that passes __class__ through.
    descriptor = getattr(user.__class__, "profile", None)
    related = getattr(descriptor, "related", None)
    if related is None:
        return None
    if related.is_cached(user):
        return related.get_cached_value(user)
    profile = related.related_model._default_manager.select_related("organization").filter(user=user).first()
    related.set_cached_value(user, profile)
    return profile
