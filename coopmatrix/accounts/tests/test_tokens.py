"""Personal API tokens: hashed at rest, revocable, expiring."""

import datetime as dt

from django.utils import timezone

from coopmatrix.accounts.models import ApiToken
from coopmatrix.core.models import Confidentiality
from coopmatrix.directory.models import Organization


def _restricted():
    return Organization.objects.create(
        code="tok-r", name="Token restricted", kind="institute", confidentiality=Confidentiality.RESTRICTED
    )


def _get(client, key):
    return client.get("/api/v1/organizations?q=Token", HTTP_AUTHORIZATION=f"Bearer {key}")


def test_a_token_lets_its_user_see_restricted_records(cast, client):
    _restricted()
    _token, key = ApiToken.issue(cast.user("reader"), "script")
    response = _get(client, key)
    assert response.status_code == 200
    assert [item["code"] for item in response.json()["items"]] == ["tok-r"]
    assert client.get("/api/v1/organizations?q=Token").json()["count"] == 0


def test_only_a_hash_of_the_token_is_stored(cast):
    token, key = ApiToken.issue(cast.user("reader"), "script")
    assert key not in (token.digest, token.prefix)
    assert not ApiToken.objects.filter(digest=key).exists()
    assert key.startswith(token.prefix)


def test_a_revoked_token_is_refused(cast, client):
    token, key = ApiToken.issue(cast.user("reader"), "script")
    token.revoke()
    response = _get(client, key)
    assert response.status_code == 401
    assert "revoked" in response.json()["detail"]


def test_an_expired_token_is_refused(cast, client):
    token, key = ApiToken.issue(cast.user("reader"), "script")
    ApiToken.objects.filter(pk=token.pk).update(expires=timezone.now() - dt.timedelta(seconds=1))
    assert _get(client, key).status_code == 401


def test_a_malformed_authorization_header_is_refused(client, db):
    response = client.get("/api/v1/states", HTTP_AUTHORIZATION="Token abc")
    assert response.status_code == 401
    assert "Bearer" in response.json()["detail"]


def test_the_token_page_shows_a_new_secret_once_and_revokes(cast, client):
    client.force_login(cast.user("reader"))
    page = client.post("/me/tokens/", {"name": "my script", "days": 30}).content.decode()
    token = ApiToken.objects.get(name="my script")
    assert token.prefix in page and 'data-testid="secret"' in page
    assert (token.expires - timezone.now()).days in (29, 30)
    again = client.get("/me/tokens/").content.decode()
    assert 'data-testid="secret"' not in again
    client.post(f"/me/tokens/{token.pk}/revoke/")
    token.refresh_from_db()
    assert token.revoked is not None


def test_a_user_cannot_revoke_someone_elses_token(cast, client):
    token, _key = ApiToken.issue(cast.user("editor_a"), "theirs")
    client.force_login(cast.user("reader"))
    assert client.post(f"/me/tokens/{token.pk}/revoke/").status_code == 404
    token.refresh_from_db()
    assert token.revoked is None


def test_token_days_out_of_range_are_refused(cast, client):
    client.force_login(cast.user("reader"))
    page = client.post("/me/tokens/", {"name": "too long", "days": 5000}).content.decode()
    assert "Ensure this value is less than or equal to 366" in page
    assert not ApiToken.objects.filter(name="too long").exists()
