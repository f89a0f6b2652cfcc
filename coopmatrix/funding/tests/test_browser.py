"""Table 1 in a real browser (headless Debian Chromium)."""

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


@pytest.fixture
def site(live_server, reference):
    return live_server.url


def test_table1_reproduces_the_published_figures_and_leads_to_the_records(page, site):
    page.goto(site + "/")
    page.get_by_role("link", name="Funding", exact=True).first.click()
    table = page.get_by_test_id("table1")
    austria = table.locator('[data-donor="Austria"]')
    expect(austria.locator('[data-col="value"]')).to_have_text("1,025,674.00")
    expect(austria.locator('[data-col="published"]')).to_have_text("1,025,674.00")
    expect(austria.locator('[data-col="difference"]')).to_have_text("0.00")
    total = table.locator('[data-donor="total"]')
    expect(total.locator('[data-col="value"]')).to_have_text("2,212,098.00")
    expect(total.locator('[data-col="difference"]')).to_have_text("0.00")
    # Donors in the order of their value, as the report lists them.
    expect(table.locator("tbody tr th")).to_have_count(8)
    expect(table.locator("tbody tr").last).to_have_attribute("data-donor", "Netherlands (Kingdom of the)")

    # A day before the report nothing is certainly made yet: the difference is the whole table.
    page.get_by_label("As at").fill("2004-03-16")
    page.get_by_role("button", name="Apply").click()
    expect(total.locator('[data-col="value"]')).to_have_text("0.00")
    expect(total.locator('[data-col="difference"]')).to_have_text("-2,212,098.00")

    page.goto(site + "/funding/table1/")
    page.get_by_test_id("chart-donors").locator('[data-bar="Italy"]').click()
    expect(page.get_by_test_id("count")).to_have_text("1")
    page.get_by_role("link", name="2004-03-17 (reporting period)").click()
    expect(page.get_by_test_id("amount")).to_have_text("469366.00 USD")


def test_a_wrong_recipient_is_named_on_the_form(page, site):
    page.goto(site + "/funding/table1/")
    page.get_by_label("Given to").fill("fund:nowhere")
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_role("alert")).to_contain_text("No fund 'nowhere'")
