"""Sign-in: lockout after repeated failures, two-factor for administrators and analysts."""

from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value, yield_hotp_counters_from_time
from django.test import override_settings

from coopmatrix.core.testing import PASSWORD, TOTP_SECRET


def _sign_in(client, login, password):
    return client.post("/accounts/login/", {"login": login, "password": password})


def test_a_reader_signs_in_with_a_password(cast, client):
    response = _sign_in(client, "reader", PASSWORD)
    assert response.status_code == 302
    assert client.get("/").context["user"].username == "reader"


@override_settings(AXES_FAILURE_LIMIT=3)
def test_repeated_failures_lock_the_account_with_a_clear_message(cast, client):
    for _ in range(2):
        assert _sign_in(client, "reader", "wrong password").status_code == 200
    locked = _sign_in(client, "reader", "wrong password")
    assert locked.status_code == 429
    assert "Sign-in locked" in locked.content.decode()
    # Even the right password is refused while the lock lasts.
    again = _sign_in(client, "reader", PASSWORD)
    assert again.status_code == 429
    assert client.get("/").context["user"].is_anonymous


@override_settings(AXES_FAILURE_LIMIT=3)
def test_a_lockout_is_per_account(cast, client):
    for _ in range(3):
        _sign_in(client, "reader", "wrong password")
    assert _sign_in(client, "editor_a", PASSWORD).status_code == 302


def test_sign_up_is_closed(client, db):
    response = client.get("/accounts/signup/")
    assert "Sign Up Closed" in response.content.decode() or response.status_code in (403, 404)


def test_an_analyst_without_two_factor_must_set_it_up_first(cast, client):
    from allauth.mfa.models import Authenticator

    analyst = cast.user("secretariat")
    Authenticator.objects.filter(user=analyst).delete()
    client.force_login(analyst)
    response = client.get("/states/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/2fa/totp/activate/")
    assert client.get("/api/v1/states").status_code == 403


def test_a_reader_needs_no_second_factor(cast, client):
    client.force_login(cast.user("reader"))
    assert client.get("/states/").status_code == 200


def test_an_analyst_with_two_factor_is_asked_for_the_code(cast, client):
    response = _sign_in(client, "secretariat", PASSWORD)
    assert response.status_code == 302 and "/2fa/authenticate" in response["Location"]
    assert client.get("/").context["user"].is_anonymous
    counter = next(iter(yield_hotp_counters_from_time()))
    code = format_hotp_value(hotp_value(TOTP_SECRET, counter))
    done = client.post(response["Location"], {"code": code})
    assert done.status_code == 302
    assert client.get("/").context["user"].username == "secretariat"


def test_enrolment_says_why_shows_the_whole_secret_and_returns_to_the_page_asked_for(cast, client):
    """Issue 15: the enrolment page says why the role needs it, shows all of the secret, and
    after the recovery codes the user goes on to the page they first asked for."""
    import re

    from allauth.mfa.models import Authenticator

    analyst = cast.user("secretariat")
    Authenticator.objects.filter(user=analyst).delete()
    _sign_in(client, "secretariat", PASSWORD)
    asked = "/matrix/grid/?rows=region&status=completed"
    assert client.get(asked)["Location"] == "/accounts/2fa/totp/activate/"
    start = client.get("/accounts/2fa/totp/activate/")
    if start.status_code == 302:  # allauth asks for the password again before changing factors
        client.post(start["Location"], {"password": PASSWORD})
    page = client.get("/accounts/2fa/totp/activate/").content.decode()
    assert "Your role, Secretariat analyst, reads confidential records" in page
    secret = re.search(r'data-testid="totp-secret">([A-Z2-7]+)<', page).group(1)
    assert len(secret) >= 32, "the secret is shown whole"
    counter = next(iter(yield_hotp_counters_from_time()))
    code = format_hotp_value(hotp_value(secret, counter))
    done = client.post("/accounts/2fa/totp/activate/", {"code": code})
    assert done.status_code == 302
    codes = client.get(done["Location"]).content.decode()
    link = re.search(r'data-testid="continue"><a href="([^"]+)"', codes).group(1)
    assert client.get(link)["Location"] == asked
    assert client.get(asked).status_code == 200


def test_the_way_on_goes_only_to_a_page_of_this_site(cast, client):
    client.force_login(cast.user("reader"))
    session = client.session
    session["coopmatrix_next"] = "https://elsewhere.example/"
    session.save()
    assert client.get("/me/continue/")["Location"] == "/"
