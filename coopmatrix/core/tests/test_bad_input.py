"""Issue 14, sizes: what does not fit a field is refused before anything is written, on every
door, and nonsense parameters answer 4xx, never 500. On SQLite an amount beyond what a double
holds was stored and then broke every list that read it."""

import json

import pytest

from coopmatrix.matrix.models import Activity, Programme

PROVIDERS = [{"organization": "test-org-a", "role": "implementing"}]


def _activity(**values):
    return {
        "title": "Size test (made for tests)",
        "providers": PROVIDERS,
        "modality": "workshop",
        "status": "planned",
        **values,
    }


@pytest.fixture
def secretariat(cast, client):
    client.force_login(cast.user("secretariat"))
    return client


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"budget": "99999999999999.99", "currency": "USD"}, "budget"),
        ({"budget": "1e20", "currency": "USD"}, "budget"),
        ({"budget": "12.345", "currency": "USD"}, "budget"),
        ({"title": "x" * 1_000_000}, "title"),
        ({"title": "Nul\x00 (made for tests)"}, "title"),
        ({"source": "a\x00b"}, "source"),
    ],
)
def test_a_value_that_does_not_fit_is_refused_and_nothing_is_stored(secretariat, values, field):
    before = Activity.objects.count()
    response = secretariat.post(
        "/api/v1/activities", json.dumps(_activity(**values)), content_type="application/json"
    )
    assert response.status_code == 422, response.content[:300]
    assert any(item["loc"][-1] == field for item in response.json()["detail"])
    assert Activity.objects.count() == before
    # And the lists still answer for everyone.
    assert secretariat.get("/api/v1/activities").status_code == 200


def test_a_programme_funding_beyond_what_can_be_kept_is_refused(secretariat):
    payload = {
        "code": "size-test",
        "title": "Size test",
        "organization": "test-org-a",
        "funding_need": "1e20",
        "currency": "USD",
    }
    response = secretariat.post("/api/v1/programmes", json.dumps(payload), content_type="application/json")
    assert response.status_code == 422
    assert not Programme.objects.filter(code="size-test").exists()


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/activities?page=99999999999999999999",
        "/api/v1/activities?per_page=-5",
        "/api/v1/activities?limit=-5&offset=-1",
        "/api/v1/activities/99999999999999999999999",
        "/api/v1/requests/-1",
        "/matrix/?page=99999999999999999999",
        "/matrix/?page=-3",
        "/matrix/?per_page=-5",
        "/activities/99999999999999999999999/",
        "/states/?page=abc",
        # Found by the API fuzz (tests/test_api_fuzz.py): numbers past 64 bits in filters.
        "/api/v1/treaty-actions?region=-1645116572388687309963264",
        "/treaty-actions/?region=-1645116572388687309963264",
        "/api/v1/states?region=99999999999999999999999",
        "/states/?subregion=99999999999999999999999",
        "/api/v1/regions?parent=99999999999999999999999",
        "/api/v1/regions/99999999999999999999999",
        "/matrix/?region=99999999999999999999999",
        "/api/v1/contacts/99999999999999999999999",
        # NUL characters, which PostgreSQL refuses in any query parameter (a 500 there).
        "/api/v1/programmes/a%00b",
        "/api/v1/states?q=a%00b",
        "/states/?q=%00",
        "/activities/new/?programme=%00",
    ],
)
def test_nonsense_parameters_answer_4xx_or_a_page_never_500(secretariat, url):
    assert secretariat.get(url).status_code < 500


def test_json_sent_as_text_plain_is_refused_not_crashed(secretariat):
    response = secretariat.post("/api/v1/activities", json.dumps(_activity()), content_type="text/plain")
    assert 400 <= response.status_code < 500


def test_a_nul_character_is_refused_naming_where_it_is(secretariat):
    body = _activity(providers=[{"organization": "test-org-a\x00", "role": "implementing"}], owner="x\x00")
    response = secretariat.post("/api/v1/activities", json.dumps(body), content_type="application/json")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "providers", "0", "organization"]
    page = secretariat.post("/activities/new/", {"title": "a", "implementing": ["test-org-a\x00"]})
    assert page.status_code == 400 and "form.implementing contains a NUL character" in page.content.decode()
    assert not Activity.objects.filter(title__in=["a", "Size test (made for tests)"]).exists()
