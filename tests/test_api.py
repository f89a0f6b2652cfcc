"""The REST API: reference data, filters shared with the pages, errors that name the field."""

import pytest


def _all(client, url):
    items, page = [], 1
    while True:
        body = client.get(f"{url}{'&' if '?' in url else '?'}page={page}").json()
        items += body["items"]
        if len(items) >= body["count"]:
            return items, body["count"]
        page += 1


def test_states_lists_the_249_current_entries_and_flags_historic_ones(client, reference):
    current, count = _all(client, "/api/v1/states?historic=false")
    assert count == 250
    assert sum(1 for s in current if s["status"] == "member") == 193
    historic, _ = _all(client, "/api/v1/states?historic=true")
    assert {s["code"] for s in historic} >= {"YUCS", "CSXX"}
    assert all(s["historic"] for s in historic)


def test_a_state_carries_its_m49_regions(client, reference):
    kyrgyzstan = client.get("/api/v1/states/KGZ").json()
    assert kyrgyzstan["subregion"] == {"m49": 143, "name": "Central Asia"}
    comoros = client.get("/api/v1/states/com").json()
    assert comoros["intermediate_region"] == {"m49": 14, "name": "Eastern Africa"}
    assert comoros["name_fr"] == "Comores"


def test_the_api_filters_as_the_page_does(client, reference):
    body = client.get("/api/v1/states?subregion=143").json()
    assert sorted(s["iso3"] for s in body["items"]) == ["KAZ", "KGZ", "TJK", "TKM", "UZB"]
    page = client.get("/states/?subregion=143").content.decode()
    assert '<span data-testid="count">5</span>' in page


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/api/v1/states?region=abc", "region"),
        ("/api/v1/states?region=9999", "region"),
        ("/api/v1/states?page=0", "page"),
        ("/api/v1/memberships?as_at=2004-02-30", "as_at"),
        ("/api/v1/organizations?kind=club", "kind"),
        ("/api/v1/instruments?adopted_after=yesterday", "adopted_after"),
    ],
)
def test_bad_parameters_get_422_naming_the_field(client, reference, url, field):
    response = client.get(url)
    assert response.status_code == 422
    assert field in [error["loc"][-1] for error in response.json()["detail"]]


def test_an_unknown_record_is_404_json(client, reference):
    response = client.get("/api/v1/states/XYZ")
    assert response.status_code == 404
    assert response.json()["detail"]


def test_regions_organizations_memberships_and_instruments(client, reference):
    assert client.get("/api/v1/regions/143").json()["parent_m49"] == 142
    assert client.get("/api/v1/organizations/sco-rats").json()["headquarters"] == "KGZ"
    sco = client.get("/api/v1/memberships?organization=sco&as_at=2002-11-23").json()
    assert sorted(m["state"] for m in sco["items"]) == ["CHN", "KAZ", "KGZ", "RUS", "TJK", "UZB"]
    twelve = client.get("/api/v1/instruments?in_table2=true").json()
    assert twelve["count"] == 12
    tokyo = client.get("/api/v1/instruments/tokyo-1963").json()
    assert tokyo["treaty_series"] == "United Nations, Treaty Series, vol. 704, No. 10106"


def test_the_openapi_description_lists_every_endpoint(client, db):
    spec = client.get("/api/v1/openapi.json").json()
    for path in (
        "/api/v1/states",
        "/api/v1/states/{code}",
        "/api/v1/regions",
        "/api/v1/organizations",
        "/api/v1/memberships",
        "/api/v1/instruments/{code}",
    ):
        assert path in spec["paths"], path
    assert spec["components"]["securitySchemes"]["ApiAuth"]["scheme"] == "bearer"


def test_the_api_docs_page_loads_nothing_from_the_network(client, db):
    page = client.get("/api/v1/docs").content.decode()
    assert "swagger-ui-bundle.js" in page
    assert "http://" not in page and "https://" not in page


@pytest.mark.parametrize("role", ["anonymous", "editor_b", "secretariat"])
def test_the_activity_list_gives_each_activity_as_its_own_address_does(client, walked_world, role):
    """The list is written from rows of values, for speed; each item must be exactly what the
    activity's own address gives, links and hidden links included."""
    from coopmatrix.core.testing import login
    from coopmatrix.matrix.models import Activity

    activity = Activity.objects.filter(provider_roles__isnull=False, recipient_states__isnull=False).first()
    assert activity is not None
    login(client, walked_world.user(role))
    page = client.get("/api/v1/activities?page_size=1000").json()
    assert page["count"] == len(page["items"]) > 10
    for item in page["items"]:
        assert item == client.get(f"/api/v1/activities/{item['id']}").json()
    assert [i["id"] for i in client.get("/api/v1/activities?page=2&page_size=5").json()["items"]] == [
        i["id"] for i in page["items"][5:10]
    ]
