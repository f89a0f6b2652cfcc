"""Named people for every role, and the roles × endpoints visibility matrix, for all apps' tests.

The cast (healthchecks' hc/test.py does the same):
- anonymous: the public; sees public records only.
- reader: signed in, belongs to no organization; sees public and restricted records.
- editor_a: edits for organization A; also sees A's confidential records.
- editor_b: edits for organization B; sees B's confidential records and what A shares with B.
- focal_point: national focal point of State X (works in X's agency); sees what is shared with X.
- secretariat: analyst, reads and edits everything; has two-factor set up.
- administrator: superuser, reads and edits everything; has two-factor set up.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db import models

from .models import Share
from .roles import Role

ROLES = ("anonymous", "reader", "editor_a", "editor_b", "focal_point", "secretariat", "administrator")
PASSWORD = "correct horse battery staple 42"
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


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

    from coopmatrix.accounts.models import Profile
    from coopmatrix.directory.models import Organization
    from coopmatrix.geo.models import State

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


def share(record: models.Model, *, organization: Any = None, state: Any = None) -> Share:
    return Share.objects.create(
        content_type=ContentType.objects.get_for_model(record),
        object_id=record.pk,
        organization=organization,
        state=state,
    )


@dataclass
class Endpoints:
    """Where one model's records are listed, shown, exported, counted and searched.

    `records(cast)` builds the records and returns {key: record}; `expected[role]` names the keys
    that role must see, and nothing else. `label(record)` is what identifies a record on a page,
    in an API item (`api_key`) and in an export row (`export_key`).
    """

    name: str
    records: Callable[[Cast], dict[str, Any]]
    expected: dict[str, set[str]]
    label: Callable[[Any], str]
    list_url: str
    detail_url: Callable[[Any], str]
    api_list_url: str
    api_detail_url: Callable[[Any], str]
    export_url: str
    api_key: Callable[[dict], str]
    export_key: Callable[[dict], str]
    search_url: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def login(client: Any, user: Any) -> None:
    if user is not None:
        client.force_login(user)


def labels_in_export(response: Any, key: Callable[[dict], str]) -> set[str]:
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    return {key(row) for row in csv.DictReader(io.StringIO(body))}
