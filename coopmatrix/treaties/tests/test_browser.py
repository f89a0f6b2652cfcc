"""Treaty participation in a real browser (headless Debian Chromium)."""

import pytest
from playwright.sync_api import expect

from coopmatrix.treaties import actions

pytestmark = pytest.mark.browser


@pytest.fixture
def site(live_server, reference, cast):
    clerk = cast.user("secretariat")
    for state, date in (("BEN", "2003-09-24"), ("MUS", "2004-02-18")):
        actions.save(
            clerk,
            {
                "state": state,
                "instrument": "terrorist-financing-1999",
                "action": "ratification",
                "date": date,
                "source": "made for tests",
            },
        )
    return live_server.url


def test_the_map_moves_through_time_and_leads_to_a_states_standing(page, site):
    page.goto(site + "/parties/map/")
    expect(page.get_by_test_id("with-any")).to_have_text("2")
    page.get_by_label("Parties as at").fill("2004-01-01")
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_test_id("with-any")).to_have_text("1")  # Mauritius deposited in February
    expect(page.locator('[data-state="MUS"]')).to_have_count(0)  # a small State is drawn only when counted
    page.locator('[data-state="BEN"]').click()
    expect(page.get_by_test_id("party")).to_contain_text("since 2003-09-24")


def test_table2_beside_the_published_figures(page, site):
    page.goto(site + "/parties/?as_at=2004-03-09")
    row = page.locator('[data-instrument="terrorist-financing-1999"]')
    expect(row.locator('[data-col="parties"]')).to_have_text("2")
    expect(row.locator('[data-col="published"]')).to_have_text("112")
    expect(row.locator('[data-col="difference"]')).to_have_text("-110")
