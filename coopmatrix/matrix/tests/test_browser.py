"""The matrix in a real browser (headless Debian Chromium)."""

import re

import pytest
from playwright.sync_api import expect

from coopmatrix.core.testing import pick

pytestmark = pytest.mark.browser


@pytest.fixture
def site(live_server, reference):
    return live_server.url


def test_a_visitor_filters_the_matrix_and_follows_a_count_to_its_table(page, site):
    page.goto(site + "/matrix/grid/")
    pick(page, "Recipient State", "Kyrgyzstan")
    page.get_by_role("button", name="Apply").click()
    cell = page.locator('[data-cell="KGZ/ratification-legislation"]')
    expect(cell).to_have_text("4")
    cell.click()
    expect(page).to_have_url(re.compile(r"/matrix/\?.*state=KGZ"))
    expect(page.get_by_test_id("count")).to_have_text("4")
    page.get_by_role("link", name=re.compile("universal instruments: Kyrgyzstan")).click()
    expect(page.get_by_test_id("recipients")).to_have_text("Kyrgyzstan")


def test_the_map_draws_every_state_offline(page, site):
    requests = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(site + "/matrix/map/?modality=legislative_advice")
    expect(page.get_by_test_id("reached")).to_have_text("35")
    expect(page.locator('[data-state="MUS"] circle')).to_be_visible()
    assert all(url.startswith(site) or url.startswith("data:") for url in requests)


def test_the_table_filters_update_without_reloading(page, site):
    page.goto(site + "/matrix/")
    pick(page, "Modality", "Study tour")
    expect(page.get_by_test_id("count")).to_have_text("1")
    expect(page).to_have_url(re.compile(r"modality=study_tour"))


def test_an_editor_records_an_activity_and_sees_its_errors_on_the_fields(page, site, cast):
    from coopmatrix.core.testing import PASSWORD

    page.goto(site + "/accounts/login/")
    page.get_by_label("Username or e-mail").fill("editor_a")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto(site + "/matrix/")
    page.get_by_test_id("create").click()
    page.get_by_label("Title").fill("Seminar made for a browser test")
    pick(page, "Implementing organizations", "Organization A (made for tests)")
    pick(page, "Recipient States", "Kyrgyzstan", "Tajikistan")
    page.get_by_label("Criminal justice", exact=False).first.check()
    page.get_by_label("Modality").select_option(label="Workshop or seminar")
    page.get_by_label(re.compile(r"^Status")).select_option(label="Planned")
    page.get_by_label(re.compile(r"^Confidentiality")).select_option(label="Public")
    page.get_by_label("Planned start").fill("2006-05")
    page.get_by_label("Planned end").fill("2006-04")
    page.get_by_role("button", name="Save").click()
    error = page.locator('[data-error-for="planned_end"]')
    expect(error).to_contain_text("before it starts")
    expect(page.get_by_label("Title")).to_have_value("Seminar made for a browser test")
    page.get_by_label("Planned end").fill("2006")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Seminar made for a browser test")
    expect(page.get_by_test_id("recipients")).to_have_text("Kyrgyzstan, Tajikistan")


def test_a_states_page_loads_its_activities_on_its_own(page, site):
    page.goto(site + "/states/KGZ/")
    expect(page.get_by_test_id("state-activities")).to_contain_text(
        "Direct legal advisory services on the universal instruments: Kyrgyzstan"
    )
