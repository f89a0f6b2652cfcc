"""The directory in a real browser (headless Debian Chromium)."""

import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from coopmatrix.core.testing import pick
from coopmatrix.directory import verification
from coopmatrix.directory.models import Contact, Correction

pytestmark = pytest.mark.browser


def test_a_verification_link_opens_without_sign_in_and_a_correction_waits(page, live_server, reference, cast):
    contact = Contact.objects.create(
        person_name="Pia Browser",
        function="Focal point (made for tests)",
        organization=cast.org_a,
        telephone="+43 1 26060",
    )
    verification.send(cast.user("secretariat"), live_server.url, "pia@example.org", contact=contact)
    link = re.search(r"http://\S+/verify/\S+/", mail.outbox[-1].body).group(0)
    page.goto(link)
    entry = page.get_by_test_id(f"entry-{contact.pk}")
    expect(entry).to_contain_text("Pia Browser")
    entry.get_by_label("Telephone").fill("+43 1 26061")
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_test_id("done")).to_contain_text("1 corrections sent")
    assert Correction.objects.get().proposed == {"telephone": "+43 1 26061"}
    page.goto(link)  # the link works once
    expect(page.get_by_test_id("refused")).to_contain_text("already used")


def test_the_list_filters_by_role_and_flags_stale_entries(page, live_server, reference, cast):
    from coopmatrix.directory.models import ContactRole

    authority = Contact.objects.create(
        function="Central authority (made for tests)", state=cast.state_y, confidentiality="public"
    )
    authority.roles.set([ContactRole.objects.get(code="central-authority-extradition")])
    Contact.objects.create(
        function="Press office (made for tests)", state=cast.state_y, confidentiality="public"
    )
    page.goto(live_server.url + "/contacts/?q=made+for+tests")
    expect(page.get_by_test_id("count")).to_have_text("2")
    pick(page, "Role", "Central authority for extradition")
    expect(page.get_by_test_id("count")).to_have_text("1")
    expect(page).to_have_url(re.compile(r"role=central-authority-extradition"))
    expect(page.locator("#results")).to_contain_text("Central authority (made for tests)")
    expect(page.locator("#results").get_by_test_id("stale")).to_have_count(1)
