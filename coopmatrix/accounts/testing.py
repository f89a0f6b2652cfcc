"""Named people for every role, for all apps' tests (healthchecks' hc/test.py does the same).

See `coopmatrix.core.testing` for what each role sees.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model

from coopmatrix.core.roles import Role
from coopmatrix.core.testing import PASSWORD, TOTP_SECRET


@dataclass
class Cast:
    users: dict[str, Any]
    org_a: Any
    org_b: Any
    agency_x: Any
    state_x: Any
    state_y: Any

    def user(self, role: str) -> Any:
        return self.users.get(role)


def make_cast() -> Cast:
    """Two organizations, a State agency, and one user per role."""
    from allauth.mfa.totp.internal.auth import TOTP

    from coopmatrix.directory.models import Organization
    from coopmatrix.geo.models import State

    from .models import Profile

    state_x = State.objects.create(
        code="XXA", iso2="XA", iso3="XXA", name_en="Testland X (made for tests)", status=State.Status.MEMBER
    )
    state_y = State.objects.create(
        code="XXB", iso2="XB", iso3="XXB", name_en="Testland Y (made for tests)", status=State.Status.MEMBER
    )
    org_a = Organization.objects.create(
        code="test-org-a", name="Organization A (made for tests)", kind=Organization.Kind.REGIONAL
    )
    org_b = Organization.objects.create(
        code="test-org-b", name="Organization B (made for tests)", kind=Organization.Kind.REGIONAL
    )
    agency_x = Organization.objects.create(
        code="test-agency-x",
        name="Ministry of Justice of Testland X",
        kind=Organization.Kind.NATIONAL_AGENCY,
        state=state_x,
    )
    User = get_user_model()
    people = {
        "reader": (Role.READER, None),
        "editor_a": (Role.ORGANIZATION_EDITOR, org_a),
        "editor_b": (Role.ORGANIZATION_EDITOR, org_b),
        "focal_point": (Role.FOCAL_POINT, agency_x),
        "secretariat": (Role.SECRETARIAT, None),
        "administrator": (Role.ADMINISTRATOR, None),
    }
    users: dict[str, Any] = {"anonymous": None}
    for name, (role, org) in people.items():
        user = User.objects.create_user(
            name,
            f"{name}@example.org",
            PASSWORD,
            is_superuser=name == "administrator",
            is_staff=name == "administrator",
        )
        Profile.objects.create(user=user, role=role, organization=org)
        if role in (Role.SECRETARIAT, Role.ADMINISTRATOR):
            TOTP.activate(user, TOTP_SECRET)
        users[name] = user
    return Cast(users, org_a, org_b, agency_x, state_x, state_y)
