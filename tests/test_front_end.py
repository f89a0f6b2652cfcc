"""Issue 15: the front end as an analyst uses it, in headless Chromium: pickers, the summary of
the filters chosen, and what a list offers when it is empty."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from coopmatrix.core.testing import pick

pytestmark = pytest.mark.browser


@pytest.fixture
def site(live_server, reference):
    return live_server.url


def _picker_input(page, label: str):
    """The type-ahead box Tom Select draws for the filter labelled `label`."""
    return page.get_by_role("combobox", name=label)


def _wait_for_only_option(page, label: str, name: str) -> None:
    """What a user sees before pressing Enter: the list narrowed to the one match."""
    listbox = page.get_by_role("listbox", name=label)
    expect(listbox.get_by_role("option")).to_have_count(1)
    expect(listbox.get_by_role("option", name=name)).to_be_visible()


def _count_for(site: str, query: str) -> str:
    """The count the list gives for a link with these filters, as a user who opens it sees it."""
    from django.test import Client

    html = Client().get(f"/matrix/?{query}").content.decode()
    return re.search(r'data-testid="count">([^<]+)<', html).group(1)


def test_a_picker_finds_a_state_by_typing_and_its_chip_removes_it(page, site):
    page.goto(site + "/matrix/")
    total = page.get_by_test_id("count").inner_text()
    box = _picker_input(page, "Recipient State")
    box.click()
    box.press_sequentially("Tajik")
    listbox = page.get_by_role("listbox", name="Recipient State")
    expect(listbox.get_by_role("option", name="Tajikistan")).to_be_visible()
    expect(listbox.get_by_role("option")).to_have_count(1)
    box.press("Enter")
    expect(page).to_have_url(re.compile(r"state=TJK"))
    expect(page.get_by_test_id("count")).to_have_text(_count_for(site, "state=TJK"))
    summary = page.get_by_test_id("active-filters")
    expect(summary).to_contain_text("Recipient State: Tajikistan")
    # The chip in the picker has its own remove button; the summary's × removes the filter too.
    expect(page.locator(".ts-control .item", has_text="Tajikistan")).to_be_visible()
    summary.get_by_role("link", name="Remove the filter Recipient State: Tajikistan").click()
    expect(page.get_by_test_id("count")).to_have_text(total)
    expect(page.get_by_test_id("active-filters")).to_have_count(0)
    expect(page.locator(".ts-control .item")).to_have_count(0)


def test_a_list_closed_right_after_a_choice_stays_closed(page, site, cast):
    """A choice clicked the moment it shows, then Escape: the list stays shut, so the fields
    below it take the next clicks (Tom Select's default narrowed the list 300 ms after the last
    key, and so opened it again over them)."""
    from coopmatrix.core.testing import PASSWORD

    page.goto(site + "/accounts/login/")
    page.get_by_label("Username or e-mail").fill("editor_a")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto(site + "/activities/new/")
    box = _picker_input(page, "Implementing organizations")
    box.click()
    box.press_sequentially("Organization")
    listbox = page.get_by_role("listbox", name="Implementing organizations")
    listbox.get_by_role("option", name="Organization A (made for tests)").click()
    box.press("Escape")
    expect(listbox).to_be_hidden()
    # What a person does next, a moment later: the list must not come back in between.
    page.wait_for_timeout(600)
    expect(listbox).to_be_hidden()
    _picker_input(page, "Recipient States").click(timeout=5000)
    expect(page.get_by_role("listbox", name="Recipient States")).to_be_visible()


def test_pickers_are_used_by_keyboard_alone(page, site):
    page.goto(site + "/matrix/")
    page.get_by_label("Words in title or description").focus()
    page.keyboard.press("Tab")
    expect(_picker_input(page, "Recipient State")).to_be_focused()
    page.keyboard.type("Kyrgyz")
    _wait_for_only_option(page, "Recipient State", "Kyrgyzstan")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"state=KGZ"))
    page.keyboard.type("Tajik")
    _wait_for_only_option(page, "Recipient State", "Tajikistan")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"state=KGZ&state=TJK|state=TJK&state=KGZ"))
    expect(page.get_by_test_id("active-filters")).to_contain_text("Kyrgyzstan")
    expect(page.get_by_test_id("active-filters")).to_contain_text("Tajikistan")
    # Backspace in the empty box removes the last chip, as in any chip input.
    page.keyboard.press("Backspace")
    expect(page).not_to_have_url(re.compile(r"TJK"))
    expect(page.get_by_test_id("active-filters")).to_contain_text("Kyrgyzstan")


def test_clear_all_removes_every_filter(page, site):
    page.goto(site + "/matrix/?state=TJK&status=completed&q=training")
    summary = page.get_by_test_id("active-filters")
    expect(summary).to_contain_text("Recipient State: Tajikistan")
    expect(summary).to_contain_text("Words in title or description: training")
    summary.get_by_test_id("clear-all").click()
    expect(page).to_have_url(site + "/matrix/")
    expect(page.get_by_test_id("active-filters")).to_have_count(0)


def test_a_filtered_link_shared_draws_its_chips(page, site):
    page.goto(site + "/states/?status=observer&status=member")
    expect(page.locator(".ts-control .item")).to_have_count(2)
    expect(page.get_by_test_id("active-filters")).to_contain_text("Status: Non-member observer State")


def test_on_a_phone_the_filters_fold_behind_a_button(browser, site):
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.goto(site + "/matrix/?state=TJK")
    toggle = page.get_by_role("button", name=re.compile(r"^Filters"))
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(toggle).to_have_text(re.compile(r"Filters \(1\)"))
    expect(page.get_by_label("Words in title or description")).to_be_hidden()
    expect(page.get_by_test_id("count")).to_be_visible()
    toggle.click()
    expect(page.get_by_label("Words in title or description")).to_be_visible()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    context.close()
    # On a wide screen they are beside the results, with no button.
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(site + "/matrix/")
    expect(page.get_by_label("Words in title or description")).to_be_visible()
    expect(page.get_by_role("button", name=re.compile(r"^Filters"))).to_be_hidden()
    page.close()


def test_the_grid_and_the_map_are_used_by_keyboard(page, site):
    page.goto(site + "/matrix/grid/?state=KGZ")
    cell = page.locator('[data-cell="KGZ/ratification-legislation"]')
    for _ in range(80):
        page.keyboard.press("Tab")
        if cell.evaluate("el => el === document.activeElement"):
            break
    expect(cell).to_be_focused()
    number = cell.inner_text()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/matrix/\?.*state=KGZ"))
    expect(page.get_by_test_id("count")).to_have_text(number)
    page.goto(site + "/matrix/map/")
    state = page.locator('[data-state="KGZ"]')
    state.focus()
    expect(state).to_be_focused()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"state=KGZ"))


def test_a_form_lists_all_its_errors_at_the_top_with_links_to_the_fields(page, site, cast):
    from coopmatrix.core.testing import PASSWORD

    page.goto(site + "/accounts/login/")
    page.get_by_label("Username or e-mail").fill("editor_a")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto(site + "/activities/new/")
    expect(page.get_by_text("Fields marked * must be filled in.")).to_be_visible()
    page.get_by_label("Planned start").fill("2006-05")
    page.get_by_label("Planned end").fill("2006-04")
    page.get_by_role("button", name="Save").click()
    summary = page.get_by_test_id("error-summary")
    expect(summary).to_be_focused()
    expect(summary).to_contain_text("This record was not saved")
    links = summary.get_by_role("link")
    names = [text.split(":")[0] for text in links.all_inner_texts()]
    assert "Title" in names and "Planned end" in names, names
    # Each error is also beside its field, and its link takes the user there.
    expect(page.locator('[data-error-for="planned_end"]')).to_contain_text("before it starts")
    summary.get_by_role("link", name=re.compile(r"^Title")).click()
    expect(page.get_by_label("Title")).to_be_focused()


def test_an_analyst_saves_a_view_finds_it_again_and_subscribes(page, site, cast):
    from coopmatrix.core.testing import PASSWORD

    page.goto(site + "/accounts/login/")
    page.get_by_label("Username or e-mail").fill("editor_a")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto(site + "/matrix/")
    pick(page, "Recipient State", "Kyrgyzstan")
    expect(page).to_have_url(re.compile(r"state=KGZ"))
    count = page.get_by_test_id("count").inner_text()
    page.get_by_text("Save this view").click()
    form = page.get_by_test_id("save-view")
    form.get_by_label("Name").fill("Kyrgyzstan for the board")
    form.get_by_label(re.compile("e-mail me")).check()
    form.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Saved as “Kyrgyzstan for the board”.")).to_be_visible()
    page.get_by_role("link", name="Saved views").click()
    row = page.get_by_test_id("saved-views").get_by_role("row", name=re.compile("Kyrgyzstan for the board"))
    expect(row).to_contain_text(count)
    expect(row.get_by_test_id("subscribed")).to_be_visible()
    row.get_by_role("link", name="Kyrgyzstan for the board").click()
    expect(page).to_have_url(re.compile(r"/matrix/\?.*state=KGZ"))
    expect(page.get_by_test_id("active-filters")).to_contain_text("Recipient State: Kyrgyzstan")


def test_a_bar_of_a_chart_opens_the_activities_it_counts(page, site):
    page.goto(site + "/matrix/charts/")
    bar = page.locator('[data-testid="chart-region"] a[data-bar="Europe"]')
    number = bar.get_attribute("aria-label").rsplit(": ", 1)[1]
    bar.click()
    # States reached in Europe: the map of Europe, which counts the same States.
    expect(page).to_have_url(re.compile(r"/matrix/map/\?region=150"))
    expect(page.get_by_test_id("reached")).to_have_text(number)
    page.goto(site + "/matrix/charts/")
    area = page.locator('[data-testid="chart-area"] a[data-bar]').first
    activities = area.get_attribute("aria-label").rsplit(": ", 1)[1]
    area.click()
    expect(page).to_have_url(re.compile(r"/matrix/\?thematic_area="))
    expect(page.get_by_test_id("count")).to_have_text(activities)
    # The numbers are also in a table beside the bars, for whoever cannot see them.
    page.goto(site + "/matrix/charts/")
    chart = page.get_by_test_id("chart-region")
    chart.get_by_text("The numbers").click()
    row = chart.get_by_role("row", name=re.compile(r"^Europe"))
    expect(row.get_by_role("cell").last).to_have_text(number)
