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


def test_the_funding_gap_shows_need_against_funded_and_moves_through_time(page, site):
    page.goto(site + "/funding/table1/")
    page.get_by_role("link", name="Funding gap").first.click()
    gpat = page.locator('[data-programme="gpat"]')
    expect(gpat.locator('[data-col="need"]')).to_have_text("5,000,000.00")
    expect(gpat.locator('[data-col="paid"]')).to_have_text("2,212,098.00")
    expect(gpat.locator('[data-col="missing"]')).to_have_text("2,787,902.00")
    expect(
        page.get_by_test_id("chart-need").locator('[data-bar="Global Programme against Terrorism/missing"]')
    ).to_have_count(1)
    # Before Table 1's payments were certainly made, the whole need is missing.
    page.get_by_label("As at").fill("2004-03-16")
    page.get_by_role("button", name="Apply").click()
    expect(gpat.locator('[data-col="missing"]')).to_have_text("5,000,000.00")
    page.get_by_label("View").select_option("donors")
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_test_id("gap")).to_contain_text("No contribution recorded by this date.")
    page.get_by_label("As at").fill("2004-12-31")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator('[data-donor="Austria"][data-year="2004"] [data-col="paid"]')).to_have_text(
        "1,025,674.00"
    )
    # A programme's paid figure opens the contributions it counts.
    page.get_by_label("View").select_option("programmes")
    page.get_by_role("button", name="Apply").click()
    gpat.locator('[data-col="paid"] a').click()
    expect(page.get_by_test_id("count")).to_have_text("8")
