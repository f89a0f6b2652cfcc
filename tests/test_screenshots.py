"""Issue 15: screenshots of the main screens on a desktop and a phone, for a reviewer to look at.

`make screenshots` runs this module with COOPMATRIX_SCREENSHOTS=var/screenshots and leaves the
PNG files there; in `make test` they go to a temporary folder, and the test still checks that
each screen shows what it is for and fits its screen.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

SCREENS = [
    ("home", "/", "figures"),
    ("matrix-filtered", "/matrix/?state=KGZ&state=TJK&status=completed", "count"),
    ("grid", "/matrix/grid/?rows=subregion", "grid"),
    ("timeline", "/matrix/timeline/", None),
    ("charts", "/matrix/charts/", "chart-year"),
    ("state", "/states/KGZ/", None),
]
SIZES = {"desktop": {"width": 1366, "height": 900}, "phone": {"width": 390, "height": 844}}


@pytest.fixture
def folder(tmp_path) -> Path:
    where = Path(os.environ.get("COOPMATRIX_SCREENSHOTS") or tmp_path)
    where.mkdir(parents=True, exist_ok=True)
    return where


@pytest.mark.parametrize("size", list(SIZES))
def test_the_main_screens_are_photographed(browser, live_server, reference, folder, size):
    context = browser.new_context(viewport=SIZES[size])
    page = context.new_page()
    for name, url, testid in SCREENS:
        page.goto(live_server.url + url)
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        if testid:
            expect(page.get_by_test_id(testid).first).to_be_visible()
        fits = page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
        assert fits, f"{url} is wider than the {size} screen"
        path = folder / f"{name}-{size}.png"
        page.screenshot(path=str(path), full_page=True)
        assert path.stat().st_size > 10_000, f"{path.name} is nearly empty"
    context.close()
