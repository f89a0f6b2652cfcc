"""Funding's rows of the roles × endpoints visibility matrix (tests/test_visibility_matrix.py)."""

from django.urls import reverse

from coopmatrix.core.testing import CONFIDENTIAL, SEEN_BY, Endpoints, levels, seen_with
from coopmatrix.funding.models import Contribution, Fund, FundingNeed
from coopmatrix.matrix.models import Programme


def funds(cast):
    def make(key, level, owner):
        return Fund.objects.create(
            code=f"mx-{key}", name=f"MX fund {key}", managed_by=cast.org_a, confidentiality=level, owner=owner
        )

    return levels(cast, make)


def contributions(cast):
    fund = Fund.objects.create(code="mx-channel", name="MX channel", managed_by=cast.org_a)

    def make(key, level, owner, state=None, organization=None):
        return Contribution.objects.create(
            donor_state=None if organization else (state or cast.state_y),
            donor_organization=organization,
            fund=fund,
            kind="payment",
            earmarking="general",
            amount="1000.00",
            currency="USD",
            date="2004-01-15",
            source=f"MX contribution {key}",
            confidentiality=level,
            owner=owner,
        )

    records = levels(cast, make)
    # State X's own gift: its focal point sees it whoever keeps it.
    records["x_donor"] = make("x-donor", CONFIDENTIAL, cast.org_b, state=cast.state_x)
    # Organization B's own gift, kept by A: B's editors see it.
    records["b_donor"] = make("b-donor", CONFIDENTIAL, cast.org_a, organization=cast.org_b)
    return records


def needs(cast):
    programme = Programme.objects.create(code="mx-needing", title="MX needing", organization=cast.org_a)

    def make(key, level, owner):
        return FundingNeed.objects.create(
            programme=programme,
            amount="2500000",
            currency="USD",
            source=f"MX need {key}",
            confidentiality=level,
            owner=owner,
        )

    return levels(cast, make)


ENDPOINTS = [
    Endpoints(
        name="funds",
        model="funding.Fund",
        records=funds,
        expected=SEEN_BY,
        label=lambda f: f.name,
        list_url=reverse("funding:fund_list") + "?q=MX+fund",
        detail_url=lambda f: f.get_absolute_url(),
        api_list_url="/api/v1/funds?q=MX+fund",
        api_detail_url=lambda f: f"/api/v1/funds/{f.code}",
        export_url=reverse("funding:fund_export") + "?q=MX+fund",
        api_key=lambda item: item["name"],
        export_key=lambda row: row["name"],
    ),
    Endpoints(
        name="contributions",
        model="funding.Contribution",
        records=contributions,
        expected=seen_with(
            {
                "editor_a": {"b_donor"},
                "editor_b": {"x_donor", "b_donor"},
                "focal_point": {"x_donor"},
                "secretariat": {"x_donor", "b_donor"},
                "administrator": {"x_donor", "b_donor"},
            }
        ),
        label=lambda c: c.source,
        list_url=reverse("funding:contribution_list") + "?q=MX+contribution",
        detail_url=lambda c: c.get_absolute_url(),
        api_list_url="/api/v1/contributions?q=MX+contribution",
        api_detail_url=lambda c: f"/api/v1/contributions/{c.pk}",
        export_url=reverse("funding:contribution_export") + "?q=MX+contribution",
        api_key=lambda item: item["source"],
        export_key=lambda row: row["source"],
    ),
    Endpoints(
        name="funding needs",
        model="funding.FundingNeed",
        records=needs,
        expected=SEEN_BY,
        label=lambda n: n.source,
        list_url=reverse("funding:need_list") + "?q=MX+need",
        detail_url=lambda n: n.get_absolute_url(),
        api_list_url="/api/v1/funding-needs?q=MX+need",
        api_detail_url=lambda n: f"/api/v1/funding-needs/{n.pk}",
        export_url=reverse("funding:need_export") + "?q=MX+need",
        api_key=lambda item: item["source"],
        export_key=lambda row: row["source"],
    ),
]
