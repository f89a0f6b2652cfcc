"""Issue 15: the home page answers "who does what, where" at a glance, each figure a link to the
filtered list that gives it, the user's own figures first, and the latest changes they may see."""

from __future__ import annotations

import re

import pytest
from lxml import html

from coopmatrix.core.testing import login


def _figures(content: bytes, testid: str) -> list[tuple[str, int, str]]:
    tree = html.fromstring(content)
    found = []
    for link in tree.xpath(f'//*[@data-testid="{testid}"]//li/a'):
        number = int(link.xpath("./strong")[0].text_content().replace(",", ""))
        label = link.text_content().split(None, 1)[1].strip()
        found.append((label, number, link.get("href")))
    return found


def _count_on(client, url: str) -> int | None:
    content = client.get(url).content.decode()
    match = re.search(r'data-testid="count">([^<]+)<', content)
    return int(match.group(1).replace(",", "")) if match else None


@pytest.mark.parametrize("role", ["anonymous", "editor_a", "focal_point", "secretariat"])
def test_every_figure_is_the_count_its_link_lists(walked_world, client, role):
    login(client, walked_world.user(role))
    response = client.get("/")
    figures = _figures(response.content, "figures") + _figures(response.content, "own-figures")
    labels = [label for label, _, _ in figures]
    for expected in (
        "activities ongoing",
        "activities planned",
        "States reached",
        "providers active",
        "open requests",
        "requests overdue, unanswered",
    ):
        assert expected in labels, f"the home page lacks {expected!r}"
    checked = 0
    for label, number, url in figures:
        listed = _count_on(client, url)
        if listed is None or label == "providers active":
            continue  # a map, or a figure of providers whose link lists their activities
        assert listed == number, f"as {role}, {label!r} says {number} but {url} lists {listed}"
        checked += 1
    assert checked >= 6


@pytest.mark.parametrize("role", ["anonymous", "editor_a", "focal_point", "secretariat"])
def test_states_reached_is_the_number_the_map_shows(walked_world, client, role):
    """Counted from the kept counts (and what the user reads through a share), as the map counts
    the records."""
    login(client, walked_world.user(role))
    response = client.get("/")
    (reached,) = [
        (n, url) for label, n, url in _figures(response.content, "figures") if label == "States reached"
    ]
    page = client.get(reached[1]).content.decode()
    assert re.search(rf'data-testid="reached">{reached[0]}<', page)


def test_an_editor_sees_their_organizations_figures_first(walked_world, client):
    from coopmatrix.matrix.models import Activity, ActivityProvider

    cast = walked_world
    login(client, cast.user("editor_a"))
    activity = Activity.objects.create(
        title="Workshop of organization A", status="ongoing", confidentiality="public"
    )
    ActivityProvider.objects.create(activity=activity, organization=cast.org_a, role="implementing")
    content = client.get("/").content
    tree = html.fromstring(content)
    sections = [s.get("data-testid") for s in tree.xpath("//main//section[@data-testid]")]
    assert sections[0] == "own-figures"
    heading = tree.xpath('//*[@data-testid="own-figures"]//h2')[0].text_content()
    assert "Organization A (made for tests)" in heading
    own = {label: (n, url) for label, n, url in _figures(content, "own-figures")}
    number, url = own["activities your organization provides, ongoing or planned"]
    assert number >= 1 and "provider=test-org-a" in url
    assert _count_on(client, url) == number
    # A visitor has no organization: no such section.
    client.logout()
    assert b'data-testid="own-figures"' not in client.get("/").content


def test_latest_changes_list_only_what_the_user_may_see(walked_world, client):
    from coopmatrix.matrix.models import Activity

    hidden = Activity.objects.create(
        title="Confidential change for the home page", confidentiality="confidential"
    )
    Activity.objects.create(title="Public change for the home page", confidentiality="public")
    login(client, walked_world.user("reader"))
    changes = html.fromstring(client.get("/").content).xpath('//*[@data-testid="latest-changes"]')[0]
    text = changes.text_content()
    assert "Public change for the home page" in text
    assert hidden.title not in text
    login(client, walked_world.user("secretariat"))
    changes = html.fromstring(client.get("/").content).xpath('//*[@data-testid="latest-changes"]')[0]
    assert hidden.title in changes.text_content()
    link = changes.xpath(f'.//a[text()="{hidden.title}"]')[0]
    assert link.get("href") == hidden.get_absolute_url()


def test_a_states_page_leads_with_what_matters_and_keeps_its_names_below(walked_world, client):
    """Issue 15: assistance received, treaty standing, contacts first; names in six languages,
    codes and memberships below."""
    page = client.get("/states/KGZ/").content.decode()
    order = [
        page.index('data-testid="state-summary"'),
        page.index('data-testid="state-matrix"'),
        page.index('data-testid="state-treaties"'),
        page.index('data-testid="state-contacts"'),
        page.index("Names in the six UN languages"),
        page.index("Кыргызстан"),
    ]
    assert order == sorted(order), order


def test_a_state_reached_only_through_a_shared_activity_counts_for_whom_it_is_shared(walked_world, client):
    from coopmatrix.core.testing import share
    from coopmatrix.geo.models import State
    from coopmatrix.matrix.models import Activity

    cast = walked_world

    def reached(role):
        login(client, cast.user(role))
        figures = _figures(client.get("/").content, "figures")
        return next(n for label, n, _url in figures if label == "States reached")

    before = {role: reached(role) for role in ("editor_a", "reader")}
    tuvalu = State.objects.get(code="TUV")
    assert not Activity.objects.filter(recipient_states=tuvalu).exists()
    activity = Activity.objects.create(
        title="Confidential workshop for Tuvalu", confidentiality="confidential", owner=cast.org_b
    )
    activity.recipient_states.add(tuvalu)
    share(activity, organization=cast.org_a)
    assert reached("editor_a") == before["editor_a"] + 1
    assert reached("reader") == before["reader"]
