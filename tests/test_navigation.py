"""Issue 15: every room and its main actions are reachable from the navigation or the page they
belong to; no page a user may open is an orphan only a typed address reaches.

For each role: every page of the site without a key in its address (lists, imports, the export
log, tokens …) that the role may open is found by following links (and GET forms) from the home
page, and none the role may not open is offered.
"""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from lxml import html

from coopmatrix.core.testing import ROLES, login

#: Parameterless routes that are not pages to navigate to, each with its reason.
NOT_PAGES = {
    "api-1.0.0:openapi-json": "the API's machine description, linked from its documentation page",
    "healthz": "for the operator's load balancer, not for people",
    "job_export": "POST only, from the matrix's export form",
}
#: Address prefixes outside the walk: the admin, the API, and allauth's own flows (sign-in,
#: password reset and two-factor steps are reached through sign-in, not the navigation).
OUTSIDE = ("/admin/", "/api/", "/accounts/", "/i18n/", "/static/", "/verify/")
FILE_SUFFIXES = (".csv", ".xlsx", ".pdf", ".json", ".vcf")


def _pages() -> dict[str, str]:
    """Path → URL name of every route without parameters, outside the excluded prefixes."""
    found: dict[str, str] = {}

    def walk(resolver: URLResolver, prefix: str, namespace: str) -> None:
        for entry in resolver.url_patterns:
            pattern = str(entry.pattern)
            if isinstance(entry, URLResolver):
                space = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
                walk(entry, prefix + pattern, space)
            elif isinstance(entry, URLPattern) and entry.name:
                path = "/" + prefix + pattern
                if "<" in path or "(" in path or "^" in path or "$" in path:
                    continue
                name = namespace + entry.name
                if path.startswith(OUTSIDE) or path.endswith(FILE_SUFFIXES) or name in NOT_PAGES:
                    continue
                found[path] = name

    walk(get_resolver(), "", "")
    return found


def _targets(base: str, content: bytes) -> set[str]:
    tree = html.fromstring(content)
    targets = set()
    for href in tree.xpath("//a/@href"):
        targets.add(urljoin(base, href.strip()))
    for form in tree.xpath("//form[not(@method) or translate(@method, 'GET', 'get')='get']"):
        targets.add(urljoin(base, form.get("action") or base))
    return {urlsplit(t).path for t in targets if urlsplit(t).netloc in ("", "testserver")}


def _reachable(client, pages: dict[str, str]) -> dict[str, int]:
    """The pages reached from the home page, with the status each answered."""
    seen: dict[str, int] = {}
    frontier = ["/"]
    while frontier:
        path = frontier.pop()
        if path in seen:
            continue
        response = client.get(path)
        seen[path] = response.status_code
        if response.status_code != 200 or "text/html" not in response.get("Content-Type", ""):
            continue
        frontier.extend(t for t in _targets(path, response.content) if t in pages and t not in seen)
    return seen


@pytest.mark.parametrize("role", ROLES)
def test_every_page_a_role_may_open_is_reached_from_the_navigation(walked_world, client, role):
    login(client, walked_world.user(role))
    pages = _pages()
    assert len(pages) > 20, f"only {len(pages)} pages found: the walk lost the site's routes"
    reached = _reachable(client, pages)
    orphans = []
    offered_but_refused = []
    for path, name in sorted(pages.items()):
        status = reached[path] if path in reached else client.get(path).status_code
        if status == 200 and path not in reached:
            orphans.append(f"{path} ({name})")
        if status == 403 and path in reached:
            offered_but_refused.append(f"{path} ({name})")
    assert not orphans, f"as {role}, no link leads to: {orphans}"
    assert not offered_but_refused, f"as {role}, links lead to pages refused: {offered_but_refused}"


def _empty_box(client, url: str):
    response = client.get(url)
    assert response.status_code == 200
    found = html.fromstring(response.content).xpath('//*[@data-testid="empty"]')
    return found[0] if found else None


def test_an_empty_list_says_what_it_would_hold_and_offers_the_next_step(walked_world, client):
    login(client, walked_world.user("editor_a"))
    box = _empty_box(client, "/matrix/?q=no+activity+has+these+words")
    assert box is not None, "an empty list shows an empty table and nothing else"
    text = box.text_content()
    assert "Nothing matches these filters." in text
    assert "who gives which assistance to which State" in text
    links = {a.text_content().strip(): a.get("href") for a in box.xpath(".//a")}
    assert links["Widen the search: clear all filters"] == "/matrix/"
    assert links["Record an activity"] == "/activities/new/"
    assert links["Import them from a spreadsheet"] == "/matrix/import/"
    # A list with rows shows them, not the box.
    assert _empty_box(client, "/matrix/") is None


def test_a_reader_is_not_offered_steps_their_role_cannot_take(walked_world, client):
    login(client, walked_world.user("reader"))
    box = _empty_box(client, "/treaty-actions/?q=no+such+words")
    links = [a.text_content().strip() for a in box.xpath(".//a")]
    assert links == ["Widen the search: clear all filters"]
    assert "signatures, ratifications, accessions" in box.text_content()


def _headers(content: bytes) -> list[str]:
    tree = html.fromstring(content)
    return [th.text_content().strip() for th in tree.xpath('//table[contains(@class, "table")]/thead//th')]


def test_a_list_shows_the_columns_and_page_size_chosen_and_keeps_them(walked_world, client):
    """Issue 15: choose columns and page size; the choice stays in the URL (shared, saved)."""
    login(client, walked_world.user("secretariat"))
    every = _headers(client.get("/matrix/").content)
    assert len(every) >= 5
    response = client.get("/matrix/?columns=title&columns=status&per_page=25")
    tree = html.fromstring(response.content)
    assert _headers(response.content) == ["Activity", "Status"]
    assert len(tree.xpath('//table[contains(@class, "table")]/tbody/tr')) == 25
    # Each row holds exactly the columns shown, under their headers.
    first = tree.xpath('//table[contains(@class, "table")]/tbody/tr[1]/td')
    assert len(first) == 2
    assert first[1].text_content().split(" (")[0] in {
        "Planned",
        "Ongoing",
        "Completed",
        "Pipeline",
        "Cancelled",
        "Suspended",
    }
    assert tree.xpath('//*[@data-testid="page-sizes"]//strong[text()="25"]')
    # The filter form carries the choice along, so that filtering keeps it.
    kept = {
        i.get("name"): i.get("value") for i in tree.xpath('//form[@class="filters"]//input[@type="hidden"]')
    }
    assert kept.get("per_page") == "25" and kept.get("columns") in ("title", "status")
    # Every column's header sorts, where sorting means something.
    for column, expected in (("status", 200), ("-title", 200)):
        assert client.get(f"/matrix/?sort={column}").status_code == expected
    assert client.get("/requests/?sort=unanswered").status_code == 200
    assert client.get("/contacts/?sort=telephone").status_code == 200


@pytest.mark.parametrize(
    ("url", "name"),
    [("/states/", "subregion"), ("/matrix/", "region"), ("/matrix/", "provider"), ("/matrix/", "state")],
)
def test_filter_options_are_in_the_users_order(walked_world, client, url, name):
    """Issue 15: names alphabetical, regions by name (not by M49 code)."""
    page = html.fromstring(client.get(url).content)
    options = page.xpath(f'//form[@class="filters"]//select[@name="{name}"]/option')
    labels = [o.text_content() for o in options]
    labels = [label for label in labels if label and not label.startswith("-")]
    assert len(labels) > 3
    assert labels == sorted(labels, key=lambda text: text.casefold()), labels[:8]
