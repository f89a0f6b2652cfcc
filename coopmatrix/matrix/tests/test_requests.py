"""Requests for assistance: "a request with no answering activity after N days is shown as unanswered"."""

import csv
import datetime as dt
import io

from django.test import override_settings
from django.utils import timezone

from coopmatrix.core.testing import login
from coopmatrix.matrix.models import Activity, ActivityProvider, Request


def _request(cast, title, days_ago, status="received"):
    return Request.objects.create(
        state=cast.state_x,
        title=title,
        received=timezone.localdate() - dt.timedelta(days=days_ago),
        channel="committee",
        status=status,
        confidentiality="restricted",
        owner=cast.org_a,
    )


def _answer(cast, request, confidentiality, owner):
    activity = Activity.objects.create(
        title=f"Answer to {request.title}",
        modality="advisory_mission",
        status="planned",
        confidentiality=confidentiality,
        owner=owner,
    )
    ActivityProvider.objects.create(activity=activity, organization=owner, role="implementing")
    activity.requests.add(request)
    return activity


def _requests(cast):
    waiting = _request(cast, "Waiting for help", 120)
    answered = _request(cast, "Answered openly", 120)
    _answer(cast, answered, "public", cast.org_a)
    recent = _request(cast, "Received last week", 7)
    withdrawn = _request(cast, "Withdrawn by the State", 120, status="withdrawn")
    secret = _request(cast, "Answered in confidence", 120)
    _answer(cast, secret, "confidential", cast.org_b)
    return waiting, answered, recent, withdrawn, secret


@override_settings(REQUEST_UNANSWERED_DAYS=90)
def test_unanswered_requests_are_flagged_in_the_list_the_api_and_the_export(client, cast, reference):
    waiting, answered, recent, withdrawn, secret = _requests(cast)
    login(client, cast.user("editor_a"))
    page = client.get("/requests/?unanswered=true").content.decode()
    # Organization A cannot see the confidential answer of Organization B: to it, that request
    # waits like any other (the flag does not disclose the hidden activity).
    for shown in (waiting, secret):
        assert shown.title in page
    for hidden in (answered, recent, withdrawn):
        assert hidden.title not in page
    assert "Unanswered" in page
    login(client, cast.user("editor_b"))
    api = client.get("/api/v1/requests?unanswered=true").json()
    assert {r["title"] for r in api["items"]} == {waiting.title}
    flags = {r["title"]: r["unanswered"] for r in client.get("/api/v1/requests").json()["items"]}
    assert flags[recent.title] is False and flags[secret.title] is False
    response = client.get("/requests/export.csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    flagged = {row["title"]: row["unanswered"] for row in rows}
    assert flagged[waiting.title] == "yes" and flagged[answered.title] == "no"


def test_the_number_of_days_is_a_setting(client, cast, reference):
    _waiting, _answered, recent, _withdrawn, _secret = _requests(cast)
    login(client, cast.user("secretariat"))
    with override_settings(REQUEST_UNANSWERED_DAYS=90):
        page = client.get(f"/requests/{recent.pk}/").content.decode()
        assert 'data-testid="unanswered"' not in page
    with override_settings(REQUEST_UNANSWERED_DAYS=5):
        page = client.get(f"/requests/{recent.pk}/").content.decode()
        assert 'data-testid="unanswered"' in page
        assert "Still open 5 days or more" in page
        state_page = client.get(f"/matrix/states/{cast.state_x.code}/").content.decode()
        assert "Received last week" in state_page and "badge-warn" in state_page
