"""Issue 14: the Content-Security-Policy allows no inline script or style, and no page breaks it.

Headless Chromium opens every page of the navigation and every kind of page they link to (as a
visitor, a secretariat analyst and an administrator, the admin included), uses a filter the way
HTMX sends it, and records every `securitypolicyviolation` the browser reports.
"""

from __future__ import annotations

import pytest
from django.test import Client
from playwright.sync_api import Error as PlaywrightError

from tests.test_crawl import _kind

pytestmark = pytest.mark.browser

RECORDER = """
window.__violations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  const where = `${e.sourceFile}:${e.lineNumber}`;
  window.__violations.push(`${e.violatedDirective} blocked ${e.blockedURI || 'inline'} at ${where}`);
});
"""
#: Links not opened: files, sign-out, language switch by POST.
SKIPPED = ("/static/", "/i18n/", "/accounts/logout/", "/admin/logout/")
#: Pages of one kind (one route, one set of query parameter names) opened at most this often.
PER_KIND = 2


def _signed_in(context, site: str, user) -> None:
    if user is None:
        return
    client = Client()
    client.force_login(user)
    context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": site}])


def _same_origin_links(page, site: str) -> list[str]:
    # getAttribute, not .href: an SVG link's href is an object, not a string.
    hrefs = page.eval_on_selector_all(
        "a[href]", "links => links.map(a => new URL(a.getAttribute('href'), document.baseURI).href)"
    )
    found = []
    for href in hrefs:
        if not href.startswith(site):
            continue
        path = href[len(site) :].split("#")[0] or "/"
        if (
            not path.startswith(SKIPPED)
            and "format=" not in path
            and not path.endswith((".csv", ".xlsx", ".pdf"))
        ):
            found.append(path)
    return found


def _visit(page, site: str, start: list[str]) -> tuple[list[str], dict[str, list[str]]]:
    opened, violations = [], {}
    per_kind: dict[tuple, int] = {}
    frontier = list(start)
    depth_of = {url: 0 for url in start}
    while frontier:
        url = frontier.pop(0)
        kind = _kind(url)
        if url in opened or per_kind.get(kind, 0) >= PER_KIND:
            continue
        per_kind[kind] = per_kind.get(kind, 0) + 1
        try:
            response = page.goto(site + url)
        except PlaywrightError as exc:
            if "Download is starting" in str(exc):  # an export: a file, not a page
                continue
            raise
        if response is None or "text/html" not in (response.headers.get("content-type") or ""):
            continue
        opened.append(url)
        page.wait_for_load_state("load")
        found = page.evaluate("window.__violations")
        if found:
            violations[url] = found
        if depth_of[url] < 1:
            for link in _same_origin_links(page, site):
                if link not in depth_of:
                    depth_of[link] = depth_of[url] + 1
                    frontier.append(link)
    return opened, violations


@pytest.mark.parametrize("role", ["anonymous", "secretariat", "administrator"])
def test_no_page_breaks_the_content_security_policy(browser, live_server, reference, cast, role):
    site = live_server.url
    context = browser.new_context()
    _signed_in(context, site, cast.user(role))
    context.add_init_script(RECORDER)
    page = context.new_page()
    page.goto(site + "/")
    navigation = [
        "/",
        *page.eval_on_selector_all("nav a[href]", "links => links.map(a => a.getAttribute('href'))"),
    ]
    extra = ["/accounts/login/", "/api/v1/docs"]
    if role != "anonymous":
        extra += ["/matrix/import/", "/contacts/import/", "/treaty-actions/import/", "/activities/new/"]
    if role == "administrator":
        extra += ["/admin/", "/admin/matrix/activity/", "/admin/matrix/activity/add/", "/accounts/2fa/"]
    opened, violations = _visit(page, site, navigation + extra)
    assert len(opened) > 40, f"only {len(opened)} pages were opened: the walk lost its links"
    # A filter used the way a person uses it: HTMX swaps the results in.
    page.goto(site + "/states/")
    page.get_by_role("group", name="Filter").get_by_label("Sub-region").select_option(label="Central Asia")
    page.get_by_role("link", name="Kyrgyzstan").wait_for()
    swapped = page.evaluate("window.__violations")
    if swapped:
        violations["/states/ (filtered by HTMX)"] = swapped
    context.close()
    assert not violations, f"{len(violations)} pages break the policy: {sorted(violations.items())[:5]}"


def test_the_policy_forbids_inline_script_and_style(client, db):
    policy = client.get("/").headers["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
    assert "'unsafe-inline'" not in policy and "'unsafe-eval'" not in policy
    assert directives["script-src"].startswith("'self'") and directives["style-src"].startswith("'self'")
    assert directives["object-src"] == "'none'" and directives["frame-ancestors"] == "'none'"
