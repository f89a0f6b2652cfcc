"""The IATI upload in a real browser (headless Debian Chromium): the preview, then the job."""

from pathlib import Path

import pytest
from playwright.sync_api import expect

from coopmatrix.core.testing import run_jobs

pytestmark = pytest.mark.browser

SAMPLES = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "iati" / "samples"


@pytest.fixture
def site(live_server, reference):
    return live_server.url


def _signed_in(page, site, user):
    """The browser holds a session of `user` (the secretariat signs in with a second factor,
    which the sign-in's own browser tests walk)."""
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": cookie.value, "url": site}])


def test_the_secretariat_previews_an_iati_file_and_imports_its_valid_activities(page, site, cast):
    from coopmatrix.exchange.models import IatiRecord

    _signed_in(page, site, cast.user("secretariat"))
    page.goto(site + "/matrix/")
    page.get_by_role("link", name="Import IATI").click()
    page.get_by_label("IATI activity file (XML)").set_input_files(str(SAMPLES / "dfid-GB-1-2016.xml"))
    page.get_by_role("button", name="Check the file").click()
    expect(page.get_by_test_id("preview-counts")).to_have_text("3 to create, 0 to update, 0 unchanged.")
    refused = page.get_by_test_id("refused")
    expect(refused.locator("tbody tr")).to_have_count(5)
    expect(refused).to_contain_text("GB-1-109616-101")
    expect(refused).to_contain_text("line 99: <capital-spend> lacks its required attribute percentage")
    expect(page.get_by_test_id("preview-notes")).to_contain_text("(GB-GOV-1) is not in the directory")
    page.get_by_role("button", name="Confirm the import").click()
    expect(page.get_by_test_id("job-status")).to_have_text("Waiting for a worker")
    assert not IatiRecord.objects.exists()
    run_jobs()  # the worker, here in the test's thread
    expect(page.get_by_test_id("job-status")).to_have_text("Done", timeout=10_000)
    expect(page.get_by_test_id("job-message")).to_contain_text("3 created")
    page.goto(site + "/matrix/?q=Mountain+Peoples")
    page.get_by_role("link", name="Mountain Peoples Rights CSCF308").first.click()
    expect(page.get_by_test_id("iati-panel")).to_contain_text("GB-1-109635")
