"""Issue 14, headers: nothing a signed-in user or a token sees is kept by a shared cache; a
history names editors to signed-in users only; check --deploy flags the local secret key."""

from io import StringIO

from django.core.management import call_command
from django.test import override_settings

from coopmatrix.accounts.models import ApiToken


def _no_store(response) -> bool:
    value = response.get("Cache-Control", "")
    return "no-store" in value and "private" in value


def test_pages_exports_and_the_api_of_a_signed_in_user_are_not_cached(cast, client):
    client.force_login(cast.user("reader"))
    for url in ("/states/", "/matrix/export.csv", "/contacts/export/?format=xlsx", "/api/v1/activities"):
        assert _no_store(client.get(url)), url


def test_an_api_token_answer_is_not_cached(cast, client):
    _token, key = ApiToken.issue(cast.user("reader"), "script")
    assert _no_store(client.get("/api/v1/states", HTTP_AUTHORIZATION=f"Bearer {key}"))


def test_public_pages_of_anonymous_visitors_may_be_cached(client, db):
    assert not _no_store(client.get("/states/"))


def test_a_history_names_editors_to_signed_in_users_only(cast, client, reference):
    from coopmatrix.geo.models import State

    state = State.objects.get(code="BEN")
    state.note = "Changed (made for tests)"
    state._history_user = cast.user("secretariat")
    state.save()
    anonymous = client.get("/states/BEN/").content.decode().split('id="history-h"')[1]
    assert "secretariat" not in anonymous and "a user" in anonymous
    client.force_login(cast.user("reader"))
    signed_in = client.get("/states/BEN/").content.decode().split('id="history-h"')[1]
    assert "secretariat" in signed_in


def test_check_deploy_flags_the_generated_local_key():
    out = StringIO()
    with override_settings(SECRET_KEY="local-" + "x" * 60):
        call_command("check", "--deploy", stdout=out, stderr=out, fail_level="CRITICAL")
    assert "coopmatrix.W001" in out.getvalue()
    out = StringIO()
    with override_settings(SECRET_KEY="a-real-and-long-secret-key-" + "k7" * 30):
        call_command("check", "--deploy", stdout=out, stderr=out, fail_level="CRITICAL")
    assert "coopmatrix.W001" not in out.getvalue()
