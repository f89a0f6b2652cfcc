"""Follow the app's own links and filters as a user would: nothing a page offers answers 5xx.

Two walks, as anonymous visitors and as a secretariat analyst (who sees everything):
- every same-origin link from every page of the navigation, to depth 2 (bounded: every link of a
  page in the navigation and of the pages they link to, then at most a few links of each kind
  below that);
- every option of every filter of every list page, each submitted on its own, the way the
  page's HTMX filter form sends it (a filter another view of the same records shares is sent
  there with a spread sample of its options: SAMPLE_ELSEWHERE).
"""

from __future__ import annotations

from collections import defaultdict
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit

import pytest
from django.urls import Resolver404, resolve
from lxml import html

from coopmatrix.core.testing import login

#: Links the walk does not follow, each with its reason.
NOT_FOLLOWED = (
    "/static/",  # files, not pages
    "/i18n/",  # sets the language by POST
    "/accounts/logout/",  # signs the walker out
    "/admin/logout/",
    "/api/v1/docs",  # the browsable API document; /api/v1/openapi.json is fetched instead
)
#: Below the pages linked from the navigation, at most this many links of one kind (one route and
#: one set of query parameters) are followed: the 280 State pages are alike.
PER_KIND_BELOW = 2
CRAWL_LIMIT = 2500
#: Exports (files, not pages: CSV, XLSX, PDF, IATI XML) are linked from every view with its
#: filters; one of each kind (one route, one set of parameters, one format) is fetched, at any
#: depth. Each format is walked with every filter by its own tests and in the roles × endpoints
#: matrix; a PDF takes seconds to draw.
FILES_OF_A_KIND = 1
FILE_ENDINGS = (".csv", ".xlsx", ".pdf", ".xml")


def _file_format(url: str) -> str:
    """The format of an export (`/matrix/export.pdf`, `/matrix/gaps/?format=xlsx`); "" for a page."""
    parts = urlsplit(url)
    if parts.path.endswith(FILE_ENDINGS):
        return parts.path.rsplit(".", 1)[1]
    chosen = dict(parse_qsl(parts.query)).get("format", "")
    return chosen if f".{chosen}" in FILE_ENDINGS else ""


def _is_file(url: str) -> bool:
    return bool(_file_format(url))


def _kind(url: str) -> tuple[str, tuple[str, ...]]:
    parts = urlsplit(url)
    try:
        name = resolve(parts.path).view_name
    except Resolver404:
        name = parts.path
    return name, tuple(sorted({k for k, _ in parse_qsl(parts.query)}))


def _links(base: str, response) -> list[str]:
    kind = response.get("Content-Type", "")
    if "text/html" not in kind or not response.content:
        return []
    tree = html.fromstring(response.content)
    found = []
    for href in tree.xpath("//a/@href | //*/@hx-get"):
        url = urljoin(base, href.strip())
        parts = urlsplit(url)
        if parts.scheme not in ("", "http") or parts.netloc not in ("", "testserver"):
            continue
        if parts.path.startswith(NOT_FOLLOWED):
            continue
        found.append(parts.path + (f"?{parts.query}" if parts.query else ""))
    return found


def _navigation(client) -> list[str]:
    page = html.fromstring(client.get("/").content)
    return ["/", *page.xpath("//nav//a/@href")]


def _crawl(client) -> tuple[dict[str, int], int]:
    """Status of every page visited (url → status) and how many pages were visited."""
    seen: dict[str, int] = {}
    per_kind: dict[tuple, int] = defaultdict(int)
    frontier = [(url, 0) for url in _navigation(client)]
    while frontier and len(seen) < CRAWL_LIMIT:
        url, depth = frontier.pop(0)
        if url in seen:
            continue
        if depth == 2 or _is_file(url):
            kind = (*_kind(url), _file_format(url))
            if per_kind[kind] >= (FILES_OF_A_KIND if _is_file(url) else PER_KIND_BELOW):
                continue
            per_kind[kind] += 1
        response = client.get(url)
        seen[url] = response.status_code
        if depth < 2 and response.status_code == 200:
            frontier.extend((link, depth + 1) for link in _links(url, response) if link not in seen)
    return seen, len(seen)


@pytest.mark.parametrize("role", ["anonymous", "secretariat"])
def test_every_link_from_the_navigation_answers_without_a_server_error(walked_world, client, role):
    login(client, walked_world.user(role))
    statuses, visited = _crawl(client)
    assert visited > 200, f"the walk reached only {visited} pages: the navigation lost its links"
    broken = {url: status for url, status in statuses.items() if status >= 500}
    assert not broken, f"{len(broken)} pages answer a server error: {sorted(broken.items())[:10]}"
    # A page links only to what its reader may open: a link to a 404 is a dead link, or a record
    # the reader may not see named on a page they may.
    dead = sorted(url for url, status in statuses.items() if status == 404)
    assert not dead, f"{len(dead)} links lead nowhere: {dead[:10]}"


def _filter_forms(url: str, response) -> list[tuple[str, dict[str, list[str]]]]:
    """Each GET form of the page: its action, and every value each of its fields offers."""
    tree = html.fromstring(response.content)
    forms = []
    for form in tree.xpath("//main//form"):
        if (form.get("method") or "get").lower() != "get":
            continue
        fields: dict[str, list[str]] = {}
        for select in form.xpath(".//select[@name]"):
            fields[select.get("name")] = [o.get("value", o.text or "") for o in select.xpath(".//option")]
        for field in form.xpath(".//input[@name]"):
            kind = (field.get("type") or "text").lower()
            samples = {
                "date": ["2004-03-09", "1899-12-31"],
                "number": ["0", "12"],
                "month": ["2004-03"],
                "checkbox": [field.get("value") or "on"],
                "radio": [field.get("value") or "on"],
                "hidden": [],
            }.get(kind, ["extradition", "Siracusa", "Côte d'Ivoire", "%' OR 1=1 --"])
            fields.setdefault(field.get("name"), []).extend(samples)
        if fields:
            forms.append((urljoin(url, form.get("action") or url), fields))
    return forms


def _list_pages(client) -> list[str]:
    """The navigation's pages and the lists and views they link to that carry a filter form."""
    pages = []
    for url in _navigation(client):
        pages.append(url)
        response = client.get(url)
        pages.extend(link for link in _links(url, response) if urlsplit(link).query == "")
    unique = list(dict.fromkeys(pages))
    return [u for u in unique if not urlsplit(u).path.startswith(("/api/", "/admin/", "/accounts/"))]


#: A list of options sent whole to one view (the 280 States, whichever field offers them) is sent
#: to the other views that offer it (the matrix's table, grid, timeline, map and charts share one
#: filter; the directory, the requests waiting and "who to contact" offer the States too) with
#: this many of its options, spread from first to last: every option reaches a view, and each
#: view still meets every kind of value.
SAMPLE_ELSEWHERE = 6


def _bounded(name: str, values: list[str], walked: set[tuple[str, ...]]) -> list[str]:
    key = tuple(v for v in values if v)  # with or without the list's empty choice
    if key not in walked:
        walked.add(key)
        return values
    if len(values) <= SAMPLE_ELSEWHERE:
        return values
    step = (len(values) - 1) / (SAMPLE_ELSEWHERE - 1)
    return [values[round(i * step)] for i in range(SAMPLE_ELSEWHERE)]


@pytest.mark.parametrize("role", ["anonymous", "secretariat"])
def test_every_option_of_every_filter_answers_without_a_server_error(walked_world, client, role):
    login(client, walked_world.user(role))
    broken: list[tuple[str, int]] = []
    submitted = 0
    forms_seen: set[tuple[str, tuple[str, ...]]] = set()
    options_walked: set[tuple[str, ...]] = set()
    for page in _list_pages(client):
        response = client.get(page)
        if response.status_code != 200 or "text/html" not in response.get("Content-Type", ""):
            continue
        for action, fields in _filter_forms(page, response):
            signature = (urlsplit(action).path, tuple(sorted(fields)))
            if signature in forms_seen:
                continue
            forms_seen.add(signature)
            for name, values in fields.items():
                for value in _bounded(name, list(dict.fromkeys(values)), options_walked):
                    url = f"{action.split('?')[0]}?{urlencode({name: value})}"
                    answer = client.get(url, headers={"HX-Request": "true"})
                    submitted += 1
                    if answer.status_code >= 500:
                        broken.append((url, answer.status_code))
    assert submitted > 1000, f"only {submitted} filter values were submitted: the forms lost their options"
    assert not broken, f"{len(broken)} filter values answer a server error: {broken[:10]}"
