"""What a person sees in a real browser: headless Debian Chromium driven by Playwright."""

import re

import pytest
from playwright.sync_api import expect

from coopmatrix.core.testing import PASSWORD, pick

pytestmark = pytest.mark.browser


@pytest.fixture
def site(live_server, reference):
    return live_server.url


def test_a_visitor_filters_states_by_subregion_and_opens_one(page, site):
    page.goto(site + "/states/")
    expect(page.get_by_test_id("count")).to_have_text("250")
    page.get_by_role("group", name="Filter").get_by_label("Sub-region").select_option(label="Central Asia")
    expect(page.get_by_test_id("count")).to_have_text("5")
    expect(page).to_have_url(re.compile(r"subregion=143"))
    page.get_by_role("link", name="Kyrgyzstan").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Kyrgyzstan")
    expect(page.get_by_test_id("subregion")).to_have_text("Central Asia")
    expect(page.get_by_role("cell", name="Кыргызстан")).to_be_visible()
    expect(page.get_by_test_id("memberships")).to_contain_text("Shanghai Cooperation Organization")


def test_a_shared_filtered_link_opens_the_same_view(page, site):
    page.goto(site + "/states/?intermediate_region=14")
    expect(page.get_by_role("link", name="Comoros")).to_be_visible()
    expect(page.get_by_role("group", name="Filter").get_by_label("Intermediate region")).to_have_value("14")


def test_the_keyboard_reaches_content_first(page, site):
    page.goto(site + "/")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()


def test_search_answers_as_you_type(page, site):
    page.goto(site + "/search/")
    page.get_by_label("Name, code or acronym").fill("Regional Antiterrorist")
    expect(page.get_by_role("link", name=re.compile("Regional Antiterrorist Structure"))).to_be_visible()


def test_a_reader_signs_in_and_is_locked_out_after_failures(page, site, cast, settings):
    settings.AXES_FAILURE_LIMIT = 2
    page.goto(site + "/accounts/login/")
    page.get_by_label("Username or e-mail").fill("editor_a")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator(".who")).to_contain_text("editor_a")
    page.get_by_role("button", name="Sign out").click()
    page.goto(site + "/accounts/login/")
    for _ in range(2):
        page.get_by_label("Username or e-mail").fill("reader")
        page.get_by_label("Password").fill("not the password")
        page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_test_id("locked-out")).to_have_text("Sign-in locked")
    expect(page.get_by_role("alert")).to_contain_text("failed to sign in 2 times")


def test_pages_render_arabic_and_chinese_names(page, site, tmp_path):
    page.goto(site + "/states/COM/")
    expect(page.get_by_role("cell", name="جزر القمر")).to_be_visible()
    expect(page.get_by_role("cell", name="科摩罗")).to_be_visible()
    page.screenshot(path=str(tmp_path / "comoros.png"), full_page=True)


def test_a_filter_the_server_fails_to_answer_says_so_in_the_page(page, site):
    """HTMX keeps the old results when a request fails: the page must say they are not current."""
    page.goto(site + "/treaty-actions/")
    expect(page.get_by_test_id("request-error")).to_be_hidden()
    page.route(
        re.compile(r".*/treaty-actions/\?.*action=signature.*"),
        lambda route: route.fulfill(status=500, body="Server Error (500)"),
    )
    pick(page, "Action", "signature")
    error = page.get_by_test_id("request-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("the server answered 500")
    page.unroute(re.compile(r".*/treaty-actions/\?.*action=signature.*"))
    pick(page, "Action", "accession")
    expect(error).to_be_hidden()


def test_a_list_says_it_is_loading_while_a_filter_is_fetched(page, site):
    """Issue 15: a visible indicator while HTMX fetches, gone when the results are in."""
    page.goto(site + "/treaty-actions/")
    loading = page.get_by_test_id("loading")
    expect(loading).to_be_hidden()
    held = []
    pattern = re.compile(r".*/treaty-actions/\?.*action=signature.*")
    page.route(pattern, lambda route: held.append(route))  # the request waits for the test
    pick(page, "Action", "signature")
    expect(loading).to_be_visible()
    expect(loading).to_have_text("Loading results…")
    assert held, "the filter's request was not sent"
    held[0].continue_()
    expect(loading).to_be_hidden()
    page.unroute(pattern)


def test_an_import_runs_in_the_background_and_its_page_follows_it(page, site, cast, tmp_path):
    """The confirmed import is a job: its page says it waits, then, as the worker runs it, shows
    it done without being reloaded (htmx asks each second), and links the records."""
    from coopmatrix.core.testing import run_jobs
    from coopmatrix.matrix.models import Activity

    upload = tmp_path / "browser.csv"
    upload.write_text(
        "external_id,title,providers,recipient_states,modality,status\n"
        "XB-1,Workshop in Cotonou (made for tests),test-org-a:implementing,Benin,workshop,planned\n"
    )
    page.goto(site + "/accounts/login/")
    page.get_by_label("Username or e-mail").fill("editor_a")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto(site + "/matrix/import/")
    page.get_by_label("CSV or XLSX file").set_input_files(str(upload))
    page.get_by_role("button", name="Check the file").click()
    page.get_by_role("button", name="Confirm the import").click()
    expect(page.get_by_test_id("job-status")).to_have_text("Waiting for a worker")
    address = page.url
    assert not Activity.objects.filter(external_id="XB-1").exists()
    (job,) = run_jobs()  # the worker, here in the test's thread
    expect(page.get_by_test_id("job-status")).to_have_text("Done", timeout=10_000)
    assert page.url == address  # the page was not reloaded: it asked for its progress
    expect(page.get_by_test_id("job-message")).to_contain_text("1 created")
    page.get_by_role("link", name="See the records").click()
    expect(page.get_by_test_id("count")).to_be_visible()
    page.get_by_role("link", name="My jobs").first.click()
    expect(page.get_by_test_id("jobs")).to_contain_text("Import of browser.csv")
