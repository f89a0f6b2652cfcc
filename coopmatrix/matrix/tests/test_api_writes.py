"""Recording activities and requests through the API: the edit rule and errors that name the field."""

import pytest

from coopmatrix.accounts.models import ApiToken
from coopmatrix.matrix.models import Activity, Request


def _as(cast, role):
    _token, key = ApiToken.issue(cast.user(role), "tests")
    return {"HTTP_AUTHORIZATION": f"Bearer {key}"}


def _activity(**changes):
    payload = {
        "title": "Workshop on the Terrorist Financing Convention",
        "providers": [{"organization": "test-org-a", "role": "implementing"}],
        "recipient_states": ["Benin", "TGO"],
        "thematic_areas": ["terrorist-financing"],
        "instruments": ["terrorist-financing-1999"],
        "modality": "workshop",
        "status": "planned",
        "planned_start": "2005-03",
        "planned_end": "2005-04-15",
        "budget": "12000",
        "currency": "EUR",
        "source": "made for tests",
    }
    payload.update(changes)
    return payload


def _post(client, cast, role, payload, url="/api/v1/activities"):
    return client.post(url, payload, content_type="application/json", **_as(cast, role))


def test_an_editor_records_an_activity_owned_by_its_organization(client, cast, reference):
    response = _post(client, cast, "editor_a", _activity())
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["recipient_states"] == ["BEN", "TGO"]
    assert body["planned_start"] == "2005-03"
    activity = Activity.objects.get(pk=body["id"])
    assert activity.owner == cast.org_a
    assert activity.history.first().history_user == cast.user("editor_a")
    # The filters find it by its period, computed from the month it was given.
    found = client.get("/api/v1/activities?state=TGO&period_from=2005-03-31&period_to=2005-03-31").json()
    assert [a["id"] for a in found["items"]] == [activity.pk]


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"planned_end": "2005-02-01"}, "planned_end", "before it starts"),
        ({"recipient_states": ["Atlantis"]}, "recipient_states", "unknown State 'Atlantis'"),
        ({"recipient_states": ["Kyrgystan"]}, "recipient_states", "Kyrgyzstan"),
        ({"currency": "EURO"}, "currency", "ISO 4217"),
        ({"budget": "-5"}, "budget", "negative"),
        ({"planned_start": "2005-02-30"}, "planned_start", "not a real date"),
        ({"modality": "picnic"}, "modality", "must be one of"),
        ({"providers": [{"organization": "nobody", "role": "implementing"}]}, "providers", "nobody"),
        ({"thematic_areas": ["cooking"]}, "thematic_areas", "cooking"),
    ],
)
def test_bad_input_is_refused_naming_the_field_and_nothing_is_written(
    client, cast, reference, changes, field, words
):
    before = Activity.objects.count()
    response = _post(client, cast, "editor_a", _activity(**changes))
    assert response.status_code == 422
    errors = {e["loc"][-1]: e["msg"] for e in response.json()["detail"]}
    assert words in errors[field]
    assert Activity.objects.count() == before


def test_readers_and_the_public_cannot_record(client, cast, reference):
    assert _post(client, cast, "reader", _activity()).status_code == 403
    anonymous = client.post("/api/v1/activities", _activity(), content_type="application/json")
    assert anonymous.status_code == 403


def test_an_editor_may_not_change_another_organizations_activity(client, cast, reference):
    created = _post(client, cast, "editor_a", _activity()).json()
    url = f"/api/v1/activities/{created['id']}"
    changed = client.put(
        url, _activity(title="Hijacked"), content_type="application/json", **_as(cast, "editor_b")
    )
    assert changed.status_code == 403
    assert client.delete(url, **_as(cast, "editor_b")).status_code == 403
    assert Activity.objects.get(pk=created["id"]).title.startswith("Workshop")
    assert client.delete(url, **_as(cast, "editor_a")).status_code == 204
    assert not Activity.objects.filter(pk=created["id"]).exists()


def test_an_editor_may_not_give_a_record_to_another_organization(client, cast, reference):
    response = _post(client, cast, "editor_a", _activity(owner="test-org-b"))
    assert response.status_code == 422
    assert "your own organization" in response.json()["detail"][0]["msg"]


def test_a_session_write_needs_the_csrf_token(cast, reference):
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    browser.force_login(cast.user("editor_a"))
    response = browser.post("/api/v1/activities", _activity(), content_type="application/json")
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]


def _request(**changes):
    payload = {
        "state": "XXA",
        "title": "Help with the Bombings Convention",
        "received": "2004-02-10",
        "channel": "committee",
        "thematic_areas": ["ratification-legislation"],
    }
    payload.update(changes)
    return payload


def test_a_focal_point_records_its_own_states_requests_only(client, cast, reference):
    mine = _post(client, cast, "focal_point", _request(), url="/api/v1/requests")
    assert mine.status_code == 201, mine.content
    assert mine.json()["status"] == "received"
    other = _post(client, cast, "focal_point", _request(state="XXB"), url="/api/v1/requests")
    assert other.status_code == 422
    assert "its own State" in other.json()["detail"][0]["msg"]


def test_a_request_is_referred_accepted_and_answered(client, cast, reference):
    from coopmatrix.matrix.models import Referral

    created = _post(client, cast, "focal_point", _request(), url="/api/v1/requests").json()
    url = f"/api/v1/requests/{created['id']}"
    refused = client.post(
        f"{url}/referrals",
        {"providers": ["test-org-a"]},
        content_type="application/json",
        **_as(cast, "editor_a"),
    )
    assert refused.status_code == 403
    referred = client.post(
        f"{url}/referrals",
        {"providers": ["test-org-a", "test-org-b"], "on": "2004-02-12"},
        content_type="application/json",
        **_as(cast, "secretariat"),
    )
    assert referred.status_code == 201, referred.content
    assert client.get(url, **_as(cast, "secretariat")).json()["status"] == "referred"
    referral = Referral.objects.get(request_id=created["id"], provider=cast.org_a)
    wrong = client.post(
        f"/api/v1/referrals/{referral.pk}/answer",
        {"response": "accepted"},
        content_type="application/json",
        **_as(cast, "editor_b"),
    )
    assert wrong.status_code == 403
    accepted = client.post(
        f"/api/v1/referrals/{referral.pk}/answer",
        {"response": "accepted", "on": "2004-02-20"},
        content_type="application/json",
        **_as(cast, "editor_a"),
    )
    assert accepted.status_code == 200
    request = Request.objects.get(pk=created["id"])
    assert (request.status, str(request.status_changed)) == ("accepted", "2004-02-20")
    activity = _post(client, cast, "editor_a", _activity()).json()
    Activity.objects.get(pk=activity["id"]).requests.add(request)
    answered = client.get(url, **_as(cast, "secretariat")).json()
    assert answered["answered_by"] == [activity["id"]]
    page = client.get(f"/requests/{request.pk}/")
    assert page.status_code == 404  # the public does not see a restricted request
    client.force_login(cast.user("focal_point"))
    page = client.get(f"/requests/{request.pk}/").content.decode()
    assert "Workshop on the Terrorist Financing Convention" in page and "Organization A" in page


def test_a_closed_request_stays_closed(client, cast, reference):
    created = _post(client, cast, "focal_point", _request(), url="/api/v1/requests").json()
    url = f"/api/v1/requests/{created['id']}/status"
    withdrawn = client.post(
        url,
        {"status": "withdrawn", "on": "2004-03-01"},
        content_type="application/json",
        **_as(cast, "focal_point"),
    )
    assert withdrawn.json()["status"] == "withdrawn"
    again = client.post(
        url, {"status": "referred"}, content_type="application/json", **_as(cast, "focal_point")
    )
    assert again.status_code == 422
    assert "closed" in again.json()["detail"][0]["msg"]


def test_an_activity_names_the_requests_it_answers(client, cast, reference):
    created = _post(client, cast, "focal_point", _request(), url="/api/v1/requests").json()
    # Organization A answers a request only once it is referred to A (issue 14: B's activity
    # marked A's request answered).
    unreferred = _post(client, cast, "editor_a", _activity(requests=[created["id"]]))
    assert unreferred.status_code == 422
    assert "was not referred to your organization" in unreferred.json()["detail"][0]["msg"]
    referred = client.post(
        f"/api/v1/requests/{created['id']}/referrals",
        {"providers": ["test-org-a"]},
        content_type="application/json",
        **_as(cast, "secretariat"),
    )
    assert referred.status_code == 201, referred.content
    answer = _post(client, cast, "editor_a", _activity(requests=[created["id"]]))
    assert answer.status_code == 201, answer.content
    assert answer.json()["requests"] == [created["id"]]
    assert answer.json()["instruments"] == ["terrorist-financing-1999"]
    request = client.get(f"/api/v1/requests/{created['id']}", **_as(cast, "focal_point")).json()
    assert request["answered_by"] == [answer.json()["id"]]
    # A request the editor may not see is refused with the same words as one that does not exist.
    hidden = Request.objects.create(
        state=cast.state_x,
        title="Confidential request",
        received="2004-01-05",
        channel="direct",
        confidentiality="confidential",
        owner=cast.org_b,
    )
    refused = _post(client, cast, "editor_a", _activity(requests=[hidden.pk]))
    assert refused.status_code == 422
    assert f"no request numbered {hidden.pk}" in refused.json()["detail"][0]["msg"]
    assert not Activity.objects.filter(requests=hidden).exists()


def _put(client, cast, role, url, payload):
    return client.put(url, payload, content_type="application/json", **_as(cast, role))


def _delete(client, cast, role, url):
    return client.delete(url, **_as(cast, role))


def test_the_secretariat_keeps_the_thematic_areas(client, cast, reference):
    term = {"code": "cyber", "name": "Use of the Internet for terrorist purposes", "dac_code": "15210"}
    assert _post(client, cast, "editor_a", term, url="/api/v1/thematic-areas").status_code == 403
    bad = _post(client, cast, "secretariat", {**term, "dac_code": "152"}, url="/api/v1/thematic-areas")
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"] == ["body", "dac_code"]
    created = _post(client, cast, "secretariat", term, url="/api/v1/thematic-areas")
    assert created.status_code == 201, created.content
    renamed = _put(client, cast, "secretariat", "/api/v1/thematic-areas/cyber", {**term, "name": "Cyber"})
    assert renamed.json()["name"] == "Cyber"
    assert client.get("/api/v1/thematic-areas/cyber").json()["name"] == "Cyber"
    # A term still in use is kept: removing it would silently strip it from activities.
    used = _delete(client, cast, "secretariat", "/api/v1/thematic-areas/terrorist-financing")
    assert used.status_code == 409
    assert "still used by" in used.json()["detail"]
    assert _delete(client, cast, "secretariat", "/api/v1/thematic-areas/cyber").status_code == 204
    assert client.get("/api/v1/thematic-areas/cyber").status_code == 404


def test_programmes_are_recorded_changed_and_deleted_under_the_edit_rule(client, cast, reference):
    programme = {
        "code": "test-programme",
        "title": "Programme made for tests",
        "organization": "test-org-a",
        "start": "2003-01",
        "funding_need": "2500000",
        "currency": "USD",
    }
    created = _post(client, cast, "editor_a", programme, url="/api/v1/programmes")
    assert created.status_code == 201, created.content
    assert created.json()["start"] == "2003-01"
    url = "/api/v1/programmes/test-programme"
    assert _put(client, cast, "editor_b", url, {**programme, "title": "Taken"}).status_code == 403
    project = _post(
        client,
        cast,
        "editor_a",
        {**programme, "code": "test-project", "title": "Project", "parent": "test-programme"},
        url="/api/v1/programmes",
    )
    assert project.json()["parent"] == "test-programme"
    loop = _put(client, cast, "editor_a", url, {**programme, "parent": "test-project"})
    assert loop.status_code == 422
    assert "part of itself" in loop.json()["detail"][0]["msg"]
    late = _put(client, cast, "editor_a", url, {**programme, "end": "2002-12-31"})
    assert late.json()["detail"][0]["loc"] == ["body", "end"]
    held = _delete(client, cast, "editor_a", url)
    assert held.status_code == 409 and "still used by 1" in held.json()["detail"]
    assert _delete(client, cast, "editor_a", "/api/v1/programmes/test-project").status_code == 204
    assert _delete(client, cast, "editor_a", url).status_code == 204


def test_a_referral_made_in_error_is_withdrawn_before_it_is_answered(client, cast, reference):
    created = _post(client, cast, "focal_point", _request(), url="/api/v1/requests").json()
    client.post(
        f"/api/v1/requests/{created['id']}/referrals",
        {"providers": ["test-org-a", "test-org-b"]},
        content_type="application/json",
        **_as(cast, "secretariat"),
    )
    referrals = client.get(f"/api/v1/requests/{created['id']}/referrals", **_as(cast, "secretariat")).json()
    by_provider = {r["provider"]: r["id"] for r in referrals}
    assert (
        client.get(f"/api/v1/referrals/{by_provider['test-org-b']}", **_as(cast, "reader")).status_code == 200
    )
    assert (
        _delete(client, cast, "editor_b", f"/api/v1/referrals/{by_provider['test-org-b']}").status_code == 403
    )
    client.post(
        f"/api/v1/referrals/{by_provider['test-org-a']}/answer",
        {"response": "declined"},
        content_type="application/json",
        **_as(cast, "editor_a"),
    )
    kept = _delete(client, cast, "secretariat", f"/api/v1/referrals/{by_provider['test-org-a']}")
    assert kept.status_code == 422 and "declined" in kept.json()["detail"][0]["msg"]
    assert (
        _delete(client, cast, "secretariat", f"/api/v1/referrals/{by_provider['test-org-b']}").status_code
        == 204
    )
    assert (
        client.get(f"/api/v1/referrals/{by_provider['test-org-b']}", **_as(cast, "secretariat")).status_code
        == 404
    )
