"""Possible overlaps in a real browser (headless Debian Chromium): the warning before saving, the
review queue and a verdict."""

import re

import pytest
from playwright.sync_api import expect

from coopmatrix.core.testing import PASSWORD, pick

pytestmark = pytest.mark.browser


@pytest.fixture
def site(live_server, reference):
    return live_server.url


def test_an_editor_is_warned_before_saving_then_reviews_the_pair_as_joint(page, site, cast):
    page.goto(site + "/accounts/login/")
    page.get_by_label("Username or e-mail").fill("editor_a")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto(site + "/activities/new/")
    # The partner's own record of ¶13's workshop in the United Kingdom, as it would type it.
    page.get_by_label("Title").fill("Workshop in the United Kingdom for the Central Asian States")
    pick(page, "Implementing organizations", "Organization A (made for tests)")
    pick(page, "Recipient States", "Kyrgyzstan", "Tajikistan")
    page.get_by_label("Ratification and legislative drafting", exact=False).first.check()
    page.get_by_label("Modality").select_option(label="Workshop or seminar")
    page.get_by_label(re.compile(r"^Status")).select_option(label="Completed")
    page.get_by_label(re.compile(r"^Confidentiality")).select_option(label="Public")
    page.get_by_label("Planned start").fill("2003-06")
    page.get_by_label("Planned end").fill("2003-06")
    page.get_by_role("button", name="Save", exact=True).click()
    warning = page.get_by_test_id("overlap-warning")
    expect(warning).to_be_visible()
    expect(warning).to_contain_text("Workshop in the United Kingdom, with OSCE/ODIHR")
    expect(warning).to_contain_text("States in common")
    page.get_by_test_id("save-anyway").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Workshop in the United Kingdom for the Central Asian States"
    )
    count = page.get_by_test_id("overlap-count")
    expect(count).to_contain_text("Possible overlaps:")
    count.click()
    expect(page).to_have_url(re.compile(r"/matrix/overlaps/\?activity=\d+"))
    page.get_by_test_id("overlaps").get_by_role("link", name=re.compile(r"^0\.\d\d$")).first.click()
    expect(page.get_by_test_id("reasons")).to_contain_text("States in common")
    page.get_by_label("Joint: the same work recorded by each partner").check()
    page.get_by_label("Comment").fill("The partner's record of the workshop of ¶13")
    page.get_by_role("button", name="Give the verdict").click()
    expect(page.get_by_test_id("verdict")).to_contain_text("Joint")
    page.get_by_role("link", name="Workshop in the United Kingdom for the Central Asian States").first.click()
    expect(page.get_by_test_id("joint")).to_contain_text("Workshop in the United Kingdom, with OSCE/ODIHR")


def test_a_visitor_reads_the_gap_grid_and_follows_a_mark_to_the_records(page, site):
    page.goto(site + "/matrix/gaps/")
    grid = page.get_by_test_id("gap-grid")
    expect(grid).to_be_visible()
    # The seed's direct legal advice to Kyrgyzstan: assistance given with no request recorded.
    cell = page.locator('[data-cell="KGZ/ratification-legislation"]')
    expect(cell).to_have_attribute("data-kind", "unasked")
    expect(cell.get_by_role("img", name="Activity without a recorded need")).to_be_visible()
    cell.get_by_role("link", name=re.compile(r"given")).click()
    expect(page).to_have_url(re.compile(r"/matrix/\?.*state=KGZ.*thematic_area=ratification-legislation"))
    expect(page.get_by_test_id("count")).not_to_have_text("0")
    # The same grid by sub-region, chosen on the page.
    page.goto(site + "/matrix/gaps/")
    page.get_by_label("Rows").select_option(label="Sub-regions (M49)")
    page.get_by_role("button", name="Show").click()
    expect(page.locator('[data-cell^="143/"]').first).to_be_visible()  # Central Asia
