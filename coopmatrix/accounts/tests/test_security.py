"""Issue 14, sign-in: the second factor cannot be skipped, codes cannot be guessed without end,
lockouts count the account whatever the login names it, and API tokens follow the user's role,
password and second factor. Each test was written to fail on the main before it."""

import re

from django.core import mail
from django.test import override_settings

from coopmatrix.accounts.models import ApiToken
from coopmatrix.core.testing import PASSWORD, TOTP_SECRET


def _sign_in(client, login, password):
    return client.post("/accounts/login/", {"login": login, "password": password})


def test_the_admin_sign_in_form_cannot_skip_the_second_factor(cast, client):
    response = client.post("/admin/login/?next=/admin/", {"username": "administrator", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert client.get("/admin/").status_code == 302  # still signed out
    assert client.get("/").context["user"].is_anonymous


def test_second_factor_codes_cannot_be_guessed_without_end(cast, client):
    from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value, yield_hotp_counters_from_time

    step = _sign_in(client, "secretariat", PASSWORD)
    url = step["Location"]
    assert "/2fa/authenticate" in url
    for guess in range(12):
        client.post(url, {"code": f"{guess:06d}"})
    counter = next(iter(yield_hotp_counters_from_time()))
    right = client.post(url, {"code": format_hotp_value(hotp_value(TOTP_SECRET, counter))})
    assert right.status_code != 302 or "/2fa/" in right.get("Location", "")
    assert client.get("/").context["user"].is_anonymous


@override_settings(AXES_FAILURE_LIMIT=3)
def test_failures_by_user_name_lock_the_account_for_its_e_mail_too(cast, client):
    for _ in range(3):
        _sign_in(client, "reader", "wrong password")
    assert _sign_in(client, "reader@example.org", PASSWORD).status_code == 429
    assert client.get("/").context["user"].is_anonymous


@override_settings(AXES_FAILURE_LIMIT=3)
def test_a_locked_user_recovers_by_e_mail(cast, client):
    for _ in range(3):
        _sign_in(client, "reader", "wrong password")
    locked = _sign_in(client, "reader", PASSWORD)
    assert locked.status_code == 429 and 'data-testid="reset-password"' in locked.content.decode()
    client.post("/accounts/password/reset/", {"email": "reader@example.org"})
    link = re.search(r"http://\S+/accounts/password/reset/key/\S+/", mail.outbox[-1].body).group(0)
    form = client.get(link.replace("http://testserver", ""), follow=True)
    new_password = "a new and long passphrase 77"
    client.post(form.request["PATH_INFO"], {"password1": new_password, "password2": new_password})
    assert _sign_in(client, "reader", new_password).status_code == 302


def _api(client, key):
    return client.get("/api/v1/states?q=Benin", HTTP_AUTHORIZATION=f"Bearer {key}")


def test_a_role_that_requires_two_factor_gets_no_token_without_it(cast, client):
    import pytest
    from allauth.mfa.models import Authenticator
    from django.core.exceptions import ValidationError

    analyst = cast.user("secretariat")
    _token, key = ApiToken.issue(analyst, "script")
    assert _api(client, key).status_code == 200
    Authenticator.objects.filter(user=analyst).delete()
    assert _api(client, key).status_code == 401  # used without a second factor enrolled
    with pytest.raises(ValidationError):
        ApiToken.issue(analyst, "another")


def test_a_token_stops_working_when_its_user_is_promoted_or_changes_password(cast, client):
    from allauth.mfa.totp.internal.auth import TOTP

    from coopmatrix.core.roles import Role

    editor = cast.user("editor_a")
    _token, key = ApiToken.issue(editor, "script")
    assert _api(client, key).status_code == 200
    TOTP.activate(editor, TOTP_SECRET)
    editor.profile.role = Role.SECRETARIAT
    editor.profile.save()
    assert _api(client, key).status_code == 401  # made for an editor: the secretariat needs a new one
    _token, key = ApiToken.issue(editor, "as secretariat")
    assert _api(client, key).status_code == 200
    editor.set_password("another long passphrase 88")
    editor.save()
    assert _api(client, key).status_code == 401


def test_only_the_owner_or_the_secretariat_changes_who_may_see_a_record(cast, client):
    """Editor B may edit A's confidential contact about B (it belongs to B) but not make it public;
    the secretariat may."""
    import json

    from coopmatrix.directory.models import Contact

    entry = Contact.objects.create(
        function="B's liaison at A (made for tests)",
        organization=cast.org_b,
        confidentiality="confidential",
        owner=cast.org_a,
    )
    client.force_login(cast.user("editor_b"))
    payload = {"function": entry.function, "organization": cast.org_b.code, "confidentiality": "public"}
    response = client.put(
        f"/api/v1/contacts/{entry.pk}", json.dumps(payload), content_type="application/json"
    )
    assert response.status_code == 422
    assert "changes who may see it" in response.content.decode()
    entry.refresh_from_db()
    assert entry.confidentiality == "confidential"
    payload["confidentiality"] = "confidential"
    payload["function"] = "B's liaison at A, renamed (made for tests)"
    response = client.put(
        f"/api/v1/contacts/{entry.pk}", json.dumps(payload), content_type="application/json"
    )
    assert response.status_code == 200  # the rest it may still change
    client.force_login(cast.user("secretariat"))
    payload["confidentiality"] = "public"
    response = client.put(
        f"/api/v1/contacts/{entry.pk}", json.dumps(payload), content_type="application/json"
    )
    assert response.status_code == 200


def test_an_address_trying_many_accounts_is_stopped(cast, client):
    """Lockout counts per account; an address guessing across accounts meets allauth's limit per
    address (10 failures a minute), and then even a right password does not get in from it."""
    for n in range(10):
        _sign_in(client, f"someone-{n}@example.org", "wrong password")
    refused = _sign_in(client, "reader", PASSWORD)
    assert refused.status_code in (200, 429)
    assert "Too many failed login attempts" in refused.content.decode()
    assert client.get("/").context["user"].is_anonymous
