"""The treaties' rows of the roles × endpoints visibility matrix (tests/test_visibility_matrix.py)."""

from django.urls import reverse

from coopmatrix.core.testing import CONFIDENTIAL, SEEN_BY, Endpoints, levels, seen_with
from coopmatrix.treaties.models import Instrument, TreatyAction


def instruments(cast):
    def make(key, level, owner):
        return Instrument.objects.create(
            code=f"mx-{key}",
            short_title=f"MX instrument {key}",
            title=key,
            adopted="2001-01-01",
            adopted_place="Testville",
            depositary="test",
            in_force_rule="on_deposit",
            confidentiality=level,
            owner=owner,
        )

    return levels(cast, make)


def treaty_actions(cast):
    instrument = Instrument.objects.get(code="terrorist-financing-1999")
    days = iter(range(1, 28))

    def make(key, level, owner, state=None):
        return TreatyAction.objects.create(
            state=state or cast.state_y,
            instrument=instrument,
            action="signature",
            deposited=f"2001-03-{next(days):02d}",
            confidentiality=level,
            owner=owner,
            source=f"MX treaty {key}",
        )

    records = levels(cast, make)
    # State X's own action: its focal point sees it whoever keeps it.
    records["x_action"] = make("x-action", CONFIDENTIAL, cast.org_b, state=cast.state_x)
    return records


ENDPOINTS = [
    Endpoints(
        name="instruments",
        model="treaties.Instrument",
        records=instruments,
        expected=SEEN_BY,
        label=lambda i: i.short_title,
        list_url=reverse("treaties:instrument_list") + "?q=MX",
        detail_url=lambda i: i.get_absolute_url(),
        api_list_url="/api/v1/instruments?q=MX",
        api_detail_url=lambda i: f"/api/v1/instruments/{i.code}",
        export_url=reverse("treaties:instrument_export") + "?q=MX",
        api_key=lambda item: item["short_title"],
        export_key=lambda row: row["short_title"],
    ),
    Endpoints(
        name="treaty actions",
        model="treaties.TreatyAction",
        records=treaty_actions,
        expected=seen_with(
            {role: {"x_action"} for role in ("editor_b", "focal_point", "secretariat", "administrator")}
        ),
        label=lambda a: a.source,
        list_url=reverse("treaties:action_list") + "?q=MX+treaty",
        detail_url=lambda a: a.get_absolute_url(),
        api_list_url="/api/v1/treaty-actions?q=MX+treaty",
        api_detail_url=lambda a: f"/api/v1/treaty-actions/{a.pk}",
        export_url=reverse("treaties:action_export") + "?q=MX+treaty",
        api_key=lambda item: item["source"],
        export_key=lambda row: row["source"],
    ),
]
