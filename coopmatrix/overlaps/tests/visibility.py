"""Possible overlaps in the roles × endpoints visibility matrix (tests/test_visibility_matrix.py).

A pair is seen only by whom may see both of its activities: one public activity of organization
B is paired with each activity of the pattern (organization A's, at every level), so each pair is
seen exactly as its second activity is.
"""

import datetime as dt

from django.urls import reverse

from coopmatrix.core.testing import SEEN_BY, Endpoints, levels
from coopmatrix.matrix.models import Activity, ActivityProvider
from coopmatrix.overlaps import engine
from coopmatrix.overlaps.models import Overlap
from coopmatrix.vocabulary.models import ThematicArea


def activity(cast, title, level, owner, provider):
    area, _ = ThematicArea.objects.get_or_create(
        code="ov-legal-advice", defaults={"name": "OV legal advice", "dac_code": "15210"}
    )
    record = Activity.objects.create(
        title=title,
        description="Legislative drafting workshop on the universal instruments against terrorism",
        modality="workshop",
        status="planned",
        planned_start=dt.date(2004, 3, 1),
        planned_end=dt.date(2004, 3, 31),
        confidentiality=level,
        owner=owner,
    )
    ActivityProvider.objects.create(activity=record, organization=provider, role="implementing")
    record.recipient_states.add(cast.state_y)
    record.thematic_areas.add(area)
    return record


def pairs(cast):
    anchor = activity(cast, "MX overlap workshop of B", "public", cast.org_b, cast.org_b)
    mine = levels(
        cast, lambda key, level, owner: activity(cast, f"MX overlap workshop {key}", level, owner, cast.org_a)
    )
    engine.refresh([anchor.pk])
    found = {o.other(anchor.pk): o for o in Overlap.objects.filter(first_id=anchor.pk)}
    return {key: found[record.pk] for key, record in mine.items()}


#: The reference data's own pairs are in the test database too.
ONLY_THESE = "?thematic_area=ov-legal-advice&state=XXB"


def _title(overlap):
    return overlap.second.title


ENDPOINTS = [
    Endpoints(
        name="overlaps",
        model="overlaps.Overlap",
        records=pairs,
        expected=SEEN_BY,
        label=_title,
        list_url=reverse("overlaps:queue") + ONLY_THESE,
        detail_url=lambda o: o.get_absolute_url(),
        api_list_url="/api/v1/overlaps" + ONLY_THESE,
        api_detail_url=lambda o: f"/api/v1/overlaps/{o.pk}",
        export_url=reverse("overlaps:export") + ONLY_THESE,
        api_key=lambda item: item["second"]["title"],
        export_key=lambda row: row["second_title"],
    ),
]
