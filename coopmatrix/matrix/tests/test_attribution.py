"""Issue 14, owners' records kept theirs: an editor records its own organization's work; naming
another organization as provider or managing organization, placing a project under another's
programme, or marking another's request answered is the secretariat's (each failed on the main
before the fix: the write went through)."""

import json

from coopmatrix.accounts.models import ApiToken
from coopmatrix.matrix import actions
from coopmatrix.matrix.models import Activity, Programme, Request


def _as(cast, role):
    _token, key = ApiToken.issue(cast.user(role), "tests")
    return {"HTTP_AUTHORIZATION": f"Bearer {key}"}


def _post(client, cast, role, url, payload):
    return client.post(url, json.dumps(payload), content_type="application/json", **_as(cast, role))


def _activity(**changes):
    payload = {
        "title": "Workshop of B (made for tests)",
        "providers": [{"organization": "test-org-b", "role": "implementing"}],
        "recipient_states": ["BEN"],
        "modality": "workshop",
        "status": "planned",
    }
    payload.update(changes)
    return payload


def _message(response):
    return " ".join(e["msg"] for e in response.json()["detail"])


def test_an_editor_cannot_name_another_organization_as_provider(client, cast, reference):
    claimed = _activity(providers=[{"organization": "test-org-a", "role": "implementing"}])
    refused = _post(client, cast, "editor_b", "/api/v1/activities", claimed)
    assert refused.status_code == 422
    assert "test-org-a: only the secretariat attributes work" in _message(refused)
    assert not Activity.objects.filter(title=claimed["title"]).exists()
    # The secretariat may, for B's record; B then edits the rest and keeps what was attributed.
    made = _post(client, cast, "secretariat", "/api/v1/activities", {**claimed, "owner": "test-org-b"})
    assert made.status_code == 201, made.content
    changed = client.put(
        f"/api/v1/activities/{made.json()['id']}",
        json.dumps({**claimed, "title": "Workshop of B, renamed (made for tests)"}),
        content_type="application/json",
        **_as(cast, "editor_b"),
    )
    assert changed.status_code == 200, changed.content


def test_an_editor_cannot_make_another_organization_manage_its_programme(client, cast, reference):
    payload = {
        "code": "test-b-programme",
        "title": "B's programme (made for tests)",
        "organization": "test-org-a",
    }
    refused = _post(client, cast, "editor_b", "/api/v1/programmes", payload)
    assert refused.status_code == 422
    assert "test-org-a: only the secretariat attributes work" in _message(refused)
    assert not Programme.objects.filter(code="test-b-programme").exists()
    own = _post(client, cast, "editor_b", "/api/v1/programmes", {**payload, "organization": "test-org-b"})
    assert own.status_code == 201, own.content


def test_a_project_of_b_cannot_be_placed_under_a_programme_of_a(client, cast, reference):
    mine = {
        "code": "test-a-programme",
        "title": "A's programme (made for tests)",
        "organization": "test-org-a",
    }
    assert _post(client, cast, "editor_a", "/api/v1/programmes", mine).status_code == 201
    project = {
        "code": "test-b-project",
        "title": "B's project (made for tests)",
        "organization": "test-org-b",
        "parent": "test-a-programme",
    }
    refused = _post(client, cast, "editor_b", "/api/v1/programmes", project)
    assert refused.status_code == 422
    assert "test-a-programme is another organization's programme" in _message(refused)
    activity = _post(client, cast, "editor_b", "/api/v1/activities", _activity(programme="test-a-programme"))
    assert activity.status_code == 422
    assert "another organization's programme" in _message(activity)
    # Nothing of B's hangs under A's programme, so A may still delete it.
    deleted = client.delete("/api/v1/programmes/test-a-programme", **_as(cast, "editor_a"))
    assert deleted.status_code == 204, deleted.content


def test_b_cannot_mark_as_answered_a_request_not_referred_to_it(client, cast, reference):
    request = Request.objects.create(
        state=cast.state_x,
        title="Request kept by A (made for tests)",
        received="2004-01-05",
        channel="direct",
        confidentiality="public",
        owner=cast.org_a,
    )
    refused = _post(client, cast, "editor_b", "/api/v1/activities", _activity(requests=[request.pk]))
    assert refused.status_code == 422
    assert f"request {request.pk} was not referred to your organization" in _message(refused)
    request.refresh_from_db()
    assert not Activity.objects.filter(requests=request).exists()
    assert request.status == Request.Status.RECEIVED
    # Once the secretariat refers it to B, B's activity answers it.
    actions.refer_request(cast.user("secretariat"), request, ["test-org-b"])
    answered = _post(client, cast, "editor_b", "/api/v1/activities", _activity(requests=[request.pk]))
    assert answered.status_code == 201, answered.content


def test_a_contact_cannot_be_recorded_into_a_unit_the_editor_cannot_see(client, cast, reference):
    from coopmatrix.directory.models import Contact, Organization

    unit = Organization.objects.create(
        code="test-unit-b",
        name="Confidential unit under B (made for tests)",
        kind=cast.org_b.kind,
        parent=cast.org_b,
        confidentiality="confidential",
        owner=cast.org_a,
    )
    payload = {"function": "Liaison (made for tests)", "organization": unit.code, "confidentiality": "public"}
    refused = _post(client, cast, "editor_b", "/api/v1/contacts", payload)
    assert refused.status_code == 422
    assert "no organization with code or name 'test-unit-b'" in _message(refused)
    page = client.post("/contacts/new/", {**payload, "organization": unit.pk})
    assert page.status_code in (302, 403)  # not signed in on the page: nothing written either way
    client.force_login(cast.user("editor_b"))
    page = client.post("/contacts/new/", {**payload, "organization": unit.pk})
    assert page.status_code == 422
    assert not Contact.objects.filter(function="Liaison (made for tests)").exists()
