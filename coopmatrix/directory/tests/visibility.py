"""The directory's rows of the roles × endpoints visibility matrix (tests/test_visibility_matrix.py)."""

from django.urls import reverse

from coopmatrix.core.testing import CONFIDENTIAL, PUBLIC, Endpoints, levels, seen_with
from coopmatrix.directory.models import Contact, Membership, Organization


def organizations(cast):
    def make(key, level, owner):
        return Organization.objects.create(
            code=f"mx-{key}",
            name=f"MX organization {key}",
            kind="institute",
            confidentiality=level,
            owner=owner,
        )

    records = levels(cast, make)
    # An agency of State X kept by organization B: X's own record, so X's focal point sees it.
    records["x_agency"] = Organization.objects.create(
        code="mx-x-agency",
        name="MX organization x-agency",
        kind="national_agency",
        state=cast.state_x,
        confidentiality=CONFIDENTIAL,
        owner=cast.org_b,
    )
    return records


def memberships(cast):
    host = Organization.objects.create(code="mx-host", name="MX host", kind="regional")
    hidden_host = Organization.objects.create(
        code="mx-hidden",
        name="MX hidden host",
        kind="regional",
        confidentiality=CONFIDENTIAL,
        owner=cast.org_b,
    )

    days = iter(range(1, 28))

    def make(key, level, owner):
        return Membership.objects.create(
            organization=host,
            state=cast.state_y,
            kind="member",
            note=f"MX {key}",
            joined=f"2001-01-{next(days):02d}",
            confidentiality=level,
            owner=owner,
            source=f"MX {key}",
        )

    records = levels(cast, make)
    # A public membership of a confidential organization is seen only by those who see the organization.
    records["hidden_host"] = Membership.objects.create(
        organization=hidden_host, state=cast.state_y, joined="2002-02-02", confidentiality=PUBLIC
    )
    return records


def contacts(cast):
    def make(key, level, owner):
        return Contact.objects.create(
            function=f"MX contact {key}", organization=owner, confidentiality=level, owner=owner
        )

    records = levels(cast, make)
    # Organization A's own entry kept by B: A's users see it, as B's do, whoever keeps it.
    records["a_kept_by_b"] = Contact.objects.create(
        function="MX contact a-kept-by-b",
        organization=cast.org_a,
        confidentiality=CONFIDENTIAL,
        owner=cast.org_b,
    )
    # State X's own contact (its ministry's), kept by B: X's focal point sees it whoever keeps it.
    records["x_contact"] = Contact.objects.create(
        function="MX contact x-contact", state=cast.state_x, confidentiality=CONFIDENTIAL, owner=cast.org_b
    )
    # A public entry of a confidential organization is seen only by those who see the organization.
    hidden = Organization.objects.create(
        code="mx-contact-hidden",
        name="MX hidden",
        kind="regional",
        confidentiality=CONFIDENTIAL,
        owner=cast.org_b,
    )
    records["hidden_org"] = Contact.objects.create(
        function="MX contact hidden-org", organization=hidden, confidentiality=PUBLIC
    )
    return records


ENDPOINTS = [
    Endpoints(
        name="organizations",
        model="directory.Organization",
        records=organizations,
        expected=seen_with(
            {role: {"x_agency"} for role in ("editor_b", "focal_point", "secretariat", "administrator")}
        ),
        label=lambda o: o.name,
        list_url=reverse("directory:organization_list") + "?q=MX",
        detail_url=lambda o: o.get_absolute_url(),
        api_list_url="/api/v1/organizations?q=MX",
        api_detail_url=lambda o: f"/api/v1/organizations/{o.code}",
        export_url=reverse("directory:organization_export") + "?q=MX",
        api_key=lambda item: item["name"],
        export_key=lambda row: row["name"],
        search_url="/search/?q=MX organization",
    ),
    Endpoints(
        name="memberships",
        model="directory.Membership",
        records=memberships,
        expected=seen_with(
            {"editor_b": {"hidden_host"}, "secretariat": {"hidden_host"}, "administrator": {"hidden_host"}}
        ),
        label=lambda m: str(m.joined),
        list_url=reverse("directory:membership_list") + "?state=XXB",
        detail_url=lambda m: m.get_absolute_url(),
        api_list_url="/api/v1/memberships?state=XXB",
        api_detail_url=lambda m: f"/api/v1/memberships/{m.pk}",
        export_url=reverse("directory:membership_export") + "?state=XXB",
        api_key=lambda item: item["joined"],
        export_key=lambda row: row["joined"],
    ),
    Endpoints(
        name="contacts",
        model="directory.Contact",
        records=contacts,
        expected=seen_with(
            {
                "editor_a": {"a_kept_by_b"},
                "editor_b": {"x_contact", "hidden_org", "a_kept_by_b"},
                "focal_point": {"x_contact"},
                "secretariat": {"x_contact", "hidden_org", "a_kept_by_b"},
                "administrator": {"x_contact", "hidden_org", "a_kept_by_b"},
            }
        ),
        label=lambda c: c.function,
        list_url=reverse("directory:contact_list") + "?q=MX+contact",
        detail_url=lambda c: c.get_absolute_url(),
        api_list_url="/api/v1/contacts?q=MX+contact",
        api_detail_url=lambda c: f"/api/v1/contacts/{c.pk}",
        export_url=reverse("directory:contact_export") + "?q=MX+contact",
        api_key=lambda item: item["function"],
        export_key=lambda row: row["function"],
        search_url="/search/?q=MX contact",
    ),
]
