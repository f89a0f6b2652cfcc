"""The matrix's rows of the roles × endpoints visibility matrix (tests/test_visibility_matrix.py)."""

from django.urls import reverse

from coopmatrix.core.testing import CONFIDENTIAL, SEEN_BY, Endpoints, levels, seen_with
from coopmatrix.matrix.models import Activity, ActivityProvider, Programme, Request


def programmes(cast):
    def make(key, level, owner):
        return Programme.objects.create(
            code=f"mx-{key}",
            title=f"MX programme {key}",
            organization=cast.org_a,
            confidentiality=level,
            owner=owner,
        )

    return levels(cast, make)


def activities(cast):
    def make(key, level, owner):
        activity = Activity.objects.create(
            title=f"MX activity {key}",
            modality="workshop",
            status="planned",
            confidentiality=level,
            owner=owner,
        )
        ActivityProvider.objects.create(activity=activity, organization=cast.org_a, role="implementing")
        activity.recipient_states.add(cast.state_y)
        return activity

    return levels(cast, make)


def requests(cast):
    def make(key, level, owner):
        return Request.objects.create(
            state=cast.state_y,
            title=f"MX request {key}",
            received="2004-01-05",
            channel="direct",
            confidentiality=level,
            owner=owner,
        )

    records = levels(cast, make)
    # A request of State X is that State's own record: its focal point sees it whoever keeps it.
    records["x_request"] = Request.objects.create(
        state=cast.state_x,
        title="MX request x-request",
        received="2004-01-06",
        channel="committee",
        confidentiality=CONFIDENTIAL,
        owner=cast.org_b,
    )
    return records


ENDPOINTS = [
    Endpoints(
        name="programmes",
        model="matrix.Programme",
        records=programmes,
        expected=SEEN_BY,
        label=lambda p: p.title,
        list_url=reverse("matrix:programme_list") + "?q=MX",
        detail_url=lambda p: p.get_absolute_url(),
        api_list_url="/api/v1/programmes?q=MX",
        api_detail_url=lambda p: f"/api/v1/programmes/{p.code}",
        export_url=reverse("matrix:programme_export") + "?q=MX",
        api_key=lambda item: item["title"],
        export_key=lambda row: row["title"],
    ),
    Endpoints(
        name="activities",
        model="matrix.Activity",
        records=activities,
        expected=SEEN_BY,
        label=lambda a: a.title,
        list_url=reverse("matrix:activity_list") + "?q=MX",
        detail_url=lambda a: a.get_absolute_url(),
        api_list_url="/api/v1/activities?q=MX",
        api_detail_url=lambda a: f"/api/v1/activities/{a.pk}",
        export_url=reverse("matrix:activity_export") + "?q=MX",
        api_key=lambda item: item["title"],
        export_key=lambda row: row["title"],
    ),
    Endpoints(
        name="requests",
        model="matrix.Request",
        records=requests,
        expected=seen_with(
            {role: {"x_request"} for role in ("editor_b", "focal_point", "secretariat", "administrator")}
        ),
        label=lambda r: r.title,
        list_url=reverse("matrix:request_list") + "?q=MX",
        detail_url=lambda r: r.get_absolute_url(),
        api_list_url="/api/v1/requests?q=MX",
        api_detail_url=lambda r: f"/api/v1/requests/{r.pk}",
        export_url=reverse("matrix:request_export") + "?q=MX",
        api_key=lambda item: item["title"],
        export_key=lambda row: row["title"],
    ),
]
