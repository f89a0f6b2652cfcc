"""Recording activities and requests on pages: the same checks as the API, errors on their fields."""

from coopmatrix.core.testing import login
from coopmatrix.matrix.forms import ActivityForm
from coopmatrix.matrix.models import Activity, Referral, Request


def _form(**changes):
    data = {
        "title": "Seminar on the Nuclear Terrorism Convention",
        "implementing": ["test-org-a"],
        "funding": ["test-org-b"],
        "recipient_states": ["XXA", "BEN"],
        "thematic_areas": ["ratification-legislation"],
        "modality": "workshop",
        "status": "planned",
        "planned_start": "2006-05",
        "planned_end": "2006",
        "confidentiality": "public",
        "source": "made for tests",
    }
    data.update(changes)
    return data


def _as_post(initial):
    return {k: v for k, v in initial.items() if v not in (None, "", [])}


def test_an_editor_records_an_activity_on_a_page(client, cast, reference):
    login(client, cast.user("editor_a"))
    matrix = client.get("/matrix/").content.decode()
    assert 'href="/activities/new/"' in matrix
    assert client.get("/activities/new/").status_code == 200
    # Naming organization B as funder is a claim about B's work: the secretariat's to make.
    refused = client.post("/activities/new/", _form())
    assert refused.status_code == 422
    assert "only the secretariat attributes work to another organization" in refused.content.decode()
    assert not Activity.objects.filter(title="Seminar on the Nuclear Terrorism Convention").exists()
    response = client.post("/activities/new/", _form(funding=["test-org-a"]))
    assert response.status_code == 302, response.content.decode()[:2000]
    activity = Activity.objects.get(title="Seminar on the Nuclear Terrorism Convention")
    assert response["Location"] == activity.get_absolute_url()
    assert activity.owner == cast.org_a
    assert (activity.date_text("planned_start"), activity.date_text("planned_end")) == ("2006-05", "2006")
    assert set(activity.provider_roles.values_list("organization__code", "role")) == {
        ("test-org-a", "implementing"),
        ("test-org-a", "funding"),
    }
    page = client.get(activity.get_absolute_url()).content.decode()
    assert "Testland X (made for tests)" in page and "Benin" in page
    assert activity.history.first().history_user == cast.user("editor_a")


def test_a_wrong_entry_is_shown_on_its_field_and_nothing_is_saved(client, cast, reference):
    login(client, cast.user("editor_a"))
    response = client.post(
        "/activities/new/",
        _form(planned_start="2006-05-10", planned_end="2006-04", currency="EURO", budget="5"),
    )
    assert response.status_code == 422
    page = response.content.decode()
    assert 'data-error-for="planned_end"' in page and "before it starts" in page
    assert 'data-error-for="currency"' in page and "ISO 4217" in page
    # What was typed stays in the form.
    assert 'value="2006-05-10"' in page
    assert not Activity.objects.filter(title="Seminar on the Nuclear Terrorism Convention").exists()


def test_editing_keeps_the_precision_of_every_date(client, cast, reference):
    workshop = Activity.objects.get(title__contains="Lithuania")
    assert workshop.actual_end_precision == "period"
    secretariat = cast.user("secretariat")
    login(client, secretariat)
    initial = ActivityForm.initial_for(workshop, secretariat)
    assert initial["actual_end"] == "period:2004-03-09"
    response = client.post(f"/activities/{workshop.pk}/edit/", _as_post({**initial, "people_trained": "31"}))
    assert response.status_code == 302, response.content.decode()[:2000]
    workshop.refresh_from_db()
    assert (workshop.actual_end_precision, workshop.people_trained) == ("period", 31)
    assert workshop.date_text("actual_start") == initial["actual_start"]
    assert sorted(s.code for s in workshop.recipient_states.all()) == sorted(initial["recipient_states"])


def test_only_those_who_may_edit_get_the_forms(client, cast, reference):
    mine = Activity.objects.create(
        title="A's confidential mission",
        modality="advisory_mission",
        status="planned",
        confidentiality="confidential",
        owner=cast.org_a,
    )
    shared = Activity.objects.create(
        title="A's public mission", modality="advisory_mission", status="planned", owner=cast.org_a
    )
    anonymous = client.get("/activities/new/")
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]
    login(client, cast.user("reader"))
    assert client.get("/activities/new/").status_code == 403
    assert 'href="/activities/new/"' not in client.get("/matrix/").content.decode()
    login(client, cast.user("editor_b"))
    assert client.get(f"/activities/{mine.pk}/edit/").status_code == 404  # not even seen
    assert client.get(f"/activities/{shared.pk}/edit/").status_code == 403
    assert client.post(f"/activities/{shared.pk}/delete/").status_code == 403
    assert "/edit/" not in client.get(shared.get_absolute_url()).content.decode()
    login(client, cast.user("editor_a"))
    assert f"/activities/{shared.pk}/edit/" in client.get(shared.get_absolute_url()).content.decode()
    assert client.post(f"/activities/{shared.pk}/delete/").status_code == 302
    assert not Activity.objects.filter(pk=shared.pk).exists()
    assert Activity.history.filter(id=shared.pk, history_type="-").exists()


def test_a_request_goes_from_received_to_accepted_on_its_page(client, cast, reference):
    login(client, cast.user("focal_point"))
    form = client.get("/requests/new/").content.decode()
    # A focal point records requests of its own State only: no other State is offered.
    assert "Testland X (made for tests)" in form and "Benin" not in form
    response = client.post(
        "/requests/new/",
        {
            "state": "XXA",
            "title": "Drafting a counter-terrorism law",
            "received": "2004-02",
            "channel": "committee",
            "priority": "high",
            "confidentiality": "restricted",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    record = Request.objects.get(title="Drafting a counter-terrorism law")
    assert record.received_text == "2004-02"
    login(client, cast.user("secretariat"))
    page = client.get(record.get_absolute_url()).content.decode()
    assert "Refer to providers" in page
    client.post(f"/requests/{record.pk}/refer/", {"providers": ["test-org-a"], "on": "2004-03-01"})
    record.refresh_from_db()
    assert record.status == "referred"
    referral = Referral.objects.get(request=record)
    login(client, cast.user("editor_b"))
    assert client.post(f"/referrals/{referral.pk}/answer/", {"response": "accepted"}).status_code == 403
    login(client, cast.user("editor_a"))
    assert 'action="/referrals/' in client.get(record.get_absolute_url()).content.decode()
    client.post(f"/referrals/{referral.pk}/answer/", {"response": "accepted", "on": "2004-03-05"})
    record.refresh_from_db()
    assert (record.status, str(record.status_changed)) == ("accepted", "2004-03-05")
    login(client, cast.user("focal_point"))
    wrong = client.post(f"/requests/{record.pk}/status/", {"status": "completed"}, follow=True)
    assert "not one of the available choices" in wrong.content.decode()
    client.post(f"/requests/{record.pk}/status/", {"status": "in_progress", "on": "2004-04-01"})
    record.refresh_from_db()
    assert record.status == "in_progress"
    steps = [h.status for h in record.history.order_by("history_date")]
    assert steps == ["received", "referred", "accepted", "in_progress"]


def test_a_request_is_deleted_on_its_page_only_by_those_who_may_edit_it(client, cast, reference):
    record = Request.objects.create(
        state=cast.state_x,
        title="Recorded twice by mistake",
        received="2004-02-01",
        channel="direct",
        owner=cast.agency_x,
    )
    login(client, cast.user("reader"))
    assert client.post(f"/requests/{record.pk}/delete/").status_code == 403
    login(client, cast.user("focal_point"))
    confirm = client.get(f"/requests/{record.pk}/delete/").content.decode()
    assert "Recorded twice by mistake" in confirm and "its history keeps what it was" in confirm
    response = client.post(f"/requests/{record.pk}/delete/")
    assert response.status_code == 302 and response["Location"] == "/requests/"
    assert not Request.objects.filter(pk=record.pk).exists()
    assert Request.history.filter(id=record.pk, history_type="-").exists()


def test_the_form_chooses_nothing_for_the_user_and_names_things(client, cast, reference):
    """Issue 15: no silent default for a required choice; organizations by name with their
    acronym; region options without codes that read like counts."""
    from lxml import html

    from coopmatrix.core.testing import login

    login(client, cast.user("editor_a"))
    page = html.fromstring(client.get("/activities/new/").content)
    for name in ("modality", "status", "confidentiality"):
        first = page.xpath(f'//select[@name="{name}"]/option')[0]
        assert first.get("value") == "" and first.text == "— choose —", name
        assert not page.xpath(f'//select[@name="{name}"]/option[@selected][@value!=""]'), name
    regions = page.xpath('//select[@name="recipient_regions"]/option/text()')
    assert "Africa" in regions and not any("(" in r for r in regions)
    organizations = page.xpath('//select[@name="implementing"]/option/text()')
    assert "United Nations Office on Drugs and Crime (UNODC)" in organizations
    response = client.post("/activities/new/", {"title": "Nothing chosen"})
    errors = html.fromstring(response.content).xpath('//*[@data-testid="error-summary"]//a/@data-field')
    assert {"modality", "status", "confidentiality"} <= set(errors)
