import datetime as dt

from coopmatrix.directory.models import Membership


def test_members_as_at_a_date(reference):
    eu = Membership.objects.filter(organization__code="eu")
    assert eu.as_at(dt.date(2004, 4, 30)).count() == 15
    assert eu.as_at(dt.date(2004, 5, 1)).count() == 25
    assert eu.filter(state__iso3="GBR").as_at(dt.date(2020, 1, 31)).exists()
    assert not eu.filter(state__iso3="GBR").as_at(dt.date(2020, 2, 1)).exists()


def test_an_organization_page_lists_its_members_with_sources(client, reference):
    page = client.get("/organizations/sco/").content.decode()
    assert "Kyrgyzstan" in page and "2001-06-15" in page
    assert "Declaration on the Establishment of the Shanghai Cooperation Organisation" in page


def test_a_state_page_lists_its_organizations(client, reference):
    page = client.get("/states/KGZ/").content.decode()
    assert "Shanghai Cooperation Organization" in page
    assert "Кыргызстан" in page and "قيرغيزستان" in page


def test_the_membership_list_filters_by_date(client, reference):
    page = client.get("/memberships/?organization=asean&as_at=1996-01-01").content.decode()
    assert '<span data-testid="count">7</span>' in page


def test_a_bad_date_filter_is_named_on_the_page(client, reference):
    page = client.get("/memberships/?as_at=1996-13-01").content.decode()
    assert "Enter a valid date" in page
    assert '<span data-testid="count">0</span>' in page


def test_a_bad_export_filter_is_refused(client, reference):
    response = client.get("/memberships/export.csv?as_at=someday")
    assert response.status_code == 400
    assert "as_at" in response.content.decode()


def test_the_export_is_the_filtered_list(client, reference):
    response = client.get("/memberships/export.csv?organization=sco&as_at=2002-11-23")
    body = b"".join(response.streaming_content).decode("utf-8-sig").splitlines()
    assert body[0].startswith("organization,state,kind,joined")
    assert len(body) == 1 + 6
