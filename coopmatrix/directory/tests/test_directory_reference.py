"""The organizations of the seeds: memberships as at a date, former names, meetings, functions;
and "who to contact" for a State and a thematic area."""

import datetime as dt

import pytest

from coopmatrix.core.testing import login
from coopmatrix.directory.models import Contact, ContactRole, Membership, Organization
from coopmatrix.matrix.models import Activity, ActivityProvider
from coopmatrix.vocabulary.models import ThematicArea

pytestmark = pytest.mark.django_db


def members(code, day):
    return set(
        Membership.objects.filter(organization__code=code, kind="member")
        .as_at(day)
        .values_list("state__code", flat=True)
    )


def test_memberships_as_the_sources_give_them():
    assert members("sco", dt.date(2002, 11, 23)) == {"CHN", "KAZ", "KGZ", "RUS", "TJK", "UZB"}
    assert len(members("eu", dt.date(2004, 3, 9))) == 15 and len(members("eu", dt.date(2004, 5, 1))) == 25
    assert members("igad", dt.date(2004, 3, 9)) == {"DJI", "ETH", "KEN", "SOM", "SDN", "UGA", "ERI"}
    assert len(members("oas", dt.date(2004, 3, 9))) == 35
    assert "NIC" not in members("oas", dt.date(2024, 1, 1))
    assert len(members("asean", dt.date(2004, 3, 9))) == 10
    # Every loaded membership carries its source.
    assert not Membership.objects.filter(source="").exists()


def test_the_organization_page_lists_members_as_at_a_date(client):
    page = client.get("/organizations/igad/?as_at=2004-03-09").content.decode()
    assert "7 members as at 2004-03-09" in page and "/states/ERI/" in page and "/states/SSD/" not in page
    bad = client.get("/organizations/igad/?as_at=March").content.decode()
    assert "must be YYYY-MM-DD" in bad


def test_a_former_name_is_kept_with_its_dates_and_found_by_search(client):
    oic = Organization.objects.get(code="oic")
    former = oic.former_names.get()
    assert former.name == "Organization of the Islamic Conference"
    assert former.used_until == dt.date(2011, 6, 28) and former.used_from_display == "1969"
    assert (
        "Organisation of Islamic Cooperation" in client.get("/search/?q=Islamic+Conference").content.decode()
    )
    assert 'data-testid="former-names"' in client.get("/organizations/oic/").content.decode()


def test_meetings_record_only_what_a_source_says():
    invited = set(
        Organization.objects.filter(
            meetings__meeting="ctc-special-2003", meetings__role="invited"
        ).values_list("code", flat=True)
    )
    assert invited == {"asean", "las", "eu", "oas", "oic", "nato", "interpol"}
    hosts = set(
        Organization.objects.filter(meetings__meeting="vienna-2004", meetings__role="host").values_list(
            "code", flat=True
        )
    )
    assert hosts == {"osce", "unodc"}


def test_loaded_contacts_are_functions_not_people():
    loaded = Contact.objects.all()
    assert loaded.exists()
    assert not loaded.exclude(person_name="").exists()
    assert not loaded.exclude(email="").exists() and not loaded.filter(source="").exists()


def test_who_to_contact_gives_the_states_authorities_then_the_active_providers(cast, client):
    state = cast.state_y
    mla = ContactRole.objects.get(code="central-authority-mla")
    mission = Contact.objects.create(
        function="Other office (made for tests)", state=state, confidentiality="public"
    )
    authority = Contact.objects.create(
        function="Central authority (made for tests)", state=state, confidentiality="public"
    )
    authority.roles.set([mla])
    area = ThematicArea.objects.get(code="aviation-security")
    other_area = ThematicArea.objects.exclude(pk=area.pk).first()

    def activity(provider, status, areas, level="public"):
        record = Activity.objects.create(
            title="Who (made for tests)",
            modality="workshop",
            status=status,
            confidentiality=level,
            owner=provider,
        )
        ActivityProvider.objects.create(activity=record, organization=provider, role="implementing")
        record.recipient_states.add(state)
        record.thematic_areas.set(areas)
        return record

    activity(cast.org_a, "ongoing", [area])
    activity(cast.org_b, "completed", [area])  # not active any more
    activity(cast.org_b, "planned", [other_area])  # another area
    Contact.objects.create(
        function="Provider desk (made for tests)", organization=cast.org_a, confidentiality="public"
    )
    page = client.get(f"/contacts/who/?state={state.code}&thematic_area={area.code}")
    result = page.context["result"]
    assert result.national == [authority, mission]
    assert [p.organization for p in result.providers] == [cast.org_a]
    assert [c.function for c in result.providers[0].contacts] == ["Provider desk (made for tests)"]
    api = client.get(f"/api/v1/who-to-contact?state={state.code}&thematic_area={area.code}").json()
    assert [p["organization"] for p in api["providers"]] == ["test-org-a"]
    assert api["national"][0]["roles"] == ["central-authority-mla"]
    # Without an area, B's planned activity counts; a confidential activity stays hidden from a reader.
    assert {
        p.organization for p in client.get(f"/contacts/who/?state={state.code}").context["result"].providers
    } == {cast.org_a, cast.org_b}
    for hidden in Activity.objects.filter(owner=cast.org_b):
        hidden.confidentiality = "confidential"
        hidden.save()
    login(client, cast.user("reader"))
    assert [
        p.organization for p in client.get(f"/contacts/who/?state={state.code}").context["result"].providers
    ] == [cast.org_a]
    assert client.get("/contacts/who/?state=ZZZ").status_code == 400
    assert client.get("/api/v1/who-to-contact?state=XXB&thematic_area=nope").status_code == 422


def test_who_to_contact_leaves_out_entries_no_longer_in_use(cast, client):
    from django.utils import timezone

    today = timezone.localdate()
    current = Contact.objects.create(
        function="Current (made for tests)", state=cast.state_y, confidentiality="public"
    )
    Contact.objects.create(
        function="Former (made for tests)",
        state=cast.state_y,
        confidentiality="public",
        valid_to=today - dt.timedelta(days=1),
    )
    result = client.get(f"/contacts/who/?state={cast.state_y.code}").context["result"]
    assert result.national == [current]
    listed = client.get(f"/api/v1/contacts?state={cast.state_y.code}&valid_on={today.isoformat()}").json()
    assert [c["function"] for c in listed["items"]] == ["Current (made for tests)"]
    former = Contact.objects.get(function="Former (made for tests)")
    assert 'data-testid="not-in-use"' in client.get(former.get_absolute_url()).content.decode()
