"""Issue 15: every page works on a phone and passes axe-core.

Headless Chromium at 390 × 844 (a phone) opens every page of the navigation and of each room's
own bar, and one page of every kind they link to, as a visitor and as a secretariat analyst:
- no page is wider than the screen (a wide table scrolls inside its own box);
- axe-core (vendored in tests/vendor, injected into the page) finds no serious or critical
  violation.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Error as PlaywrightError

from tests.test_crawl import _kind
from tests.test_csp import _same_origin_links, _signed_in

pytestmark = pytest.mark.browser

AXE = Path(__file__).parent / "vendor" / "axe.min.js"
PHONE = {"width": 390, "height": 844}
#: Rules of WCAG 2.1 A and AA, and axe's best practices.
AXE_OPTIONS = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]},
    # Only violations are read: axe then skips describing every node that passes, a third of
    # its time on a long page (the same rules run, and the same violations are found).
    "resultTypes": ["violations"],
}
#: Pages axe does not judge, each with its reason.
NOT_AXED = {
    # Swagger UI, drawn by django-ninja from its own bundle: its contrast and nested controls are
    # upstream's; the API's description it reads is checked by the API tests.
    "/api/v1/docs": "third-party API explorer",
}
#: Pages of one kind (one route, one set of query parameter names) checked at most this often.
PER_KIND = 1

WIDTH = """() => {
  const doc = document.documentElement;
  const wide = [];
  if (doc.scrollWidth > doc.clientWidth) {
    for (const el of document.body.querySelectorAll('*')) {
      const box = el.getBoundingClientRect();
      if (box.right > doc.clientWidth + 1 && !el.closest('.scroll, .ts-dropdown')) {
        const name = el.tagName.toLowerCase() + (el.id ? '#' + el.id : '');
        const kind = typeof el.className === 'string' && el.className ? '.' + el.className.split(' ')[0] : '';
        wide.push(`${name}${kind} (${Math.round(box.right)} px)`);
        if (wide.length > 3) break;
      }
    }
  }
  return {scroll: doc.scrollWidth, client: doc.clientWidth, wide};
}"""


def _axe(page) -> list[str]:
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
    result = page.evaluate("options => axe.run(document, options)", AXE_OPTIONS)
    found = []
    for violation in result["violations"]:
        if violation["impact"] in ("serious", "critical"):
            targets = [", ".join(node["target"]) for node in violation["nodes"][:3]]
            found.append(f"{violation['id']} ({violation['impact']}): {violation['help']} at {targets}")
    return found


def _walk(page, site: str) -> tuple[list[str], dict[str, list[str]], dict[str, dict]]:
    page.goto(site + "/")
    start = [
        "/",
        *page.eval_on_selector_all("nav a[href]", "links => links.map(a => a.getAttribute('href'))"),
    ]
    for room in list(start):
        if room.startswith("/") and not room.startswith("/api/"):
            page.goto(site + room)
            start += page.eval_on_selector_all(
                "nav.room-nav a[href], nav.tabs a[href]", "links => links.map(a => a.getAttribute('href'))"
            )
    opened: list[str] = []
    failures: dict[str, list[str]] = {}
    too_wide: dict[str, dict] = {}
    per_kind: dict[tuple, int] = {}
    depth_of = dict.fromkeys(start, 0)
    frontier = list(dict.fromkeys(start))
    while frontier:
        url = frontier.pop(0)
        kind = _kind(url)
        if url in opened or per_kind.get(kind, 0) >= PER_KIND:
            continue
        per_kind[kind] = per_kind.get(kind, 0) + 1
        try:
            response = page.goto(site + url)
        except PlaywrightError as exc:
            if "Download is starting" in str(exc):
                continue
            raise
        if response is None or "text/html" not in (response.headers.get("content-type") or ""):
            continue
        page.wait_for_load_state("load")
        opened.append(url)
        width = page.evaluate(WIDTH)
        if width["scroll"] > width["client"]:
            too_wide[url] = width
        found = [] if url in NOT_AXED else _axe(page)
        if found:
            failures[url] = found
        if depth_of[url] < 1:
            for link in _same_origin_links(page, site):
                if link not in depth_of:
                    depth_of[link] = depth_of[url] + 1
                    frontier.append(link)
    return opened, failures, too_wide


@pytest.mark.parametrize("role", ["anonymous", "secretariat"])
def test_every_page_fits_a_phone_and_passes_axe(browser, live_server, reference, cast, role):
    site = live_server.url
    # axe is injected as a script of the page's own: the test's context lets it past the CSP.
    context = browser.new_context(viewport=PHONE, bypass_csp=True)
    _signed_in(context, site, cast.user(role))
    page = context.new_page()
    opened, failures, too_wide = _walk(page, site)
    context.close()
    assert len(opened) > 30, f"only {len(opened)} pages were opened: the walk lost its links"
    assert not too_wide, f"{len(too_wide)} pages are wider than a phone: {sorted(too_wide.items())[:6]}"
    assert not failures, f"{len(failures)} pages fail axe: " + "\n".join(
        f"{url}: {found}" for url, found in sorted(failures.items())[:8]
    )


def test_axe_as_run_here_finds_what_a_page_breaks(browser):
    """The walk's axe, with its options, reports a serious violation where a page has one: a
    walk that found nothing proves something only if this finds something."""
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    page.set_content(
        '<html lang="en"><head><title>t</title></head><body><main><h1>Heading</h1>'
        '<img src="data:," width="10" height="10">'
        '<p style="color:#ccc;background:#fff">pale text on white</p></main></body></html>'
    )
    found = _axe(page)
    context.close()
    assert any(v.startswith("image-alt (critical)") for v in found), found
    assert any(v.startswith("color-contrast (serious)") for v in found), found
