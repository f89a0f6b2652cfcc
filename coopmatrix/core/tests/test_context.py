"""The navigation every page carries: its addresses follow where the site is served."""

from django.contrib.auth.models import AnonymousUser
from django.test import RequestFactory
from django.urls import clear_script_prefix, set_script_prefix

from coopmatrix.core.context_processors import navigation


def _addresses(path: str) -> list[str]:
    request = RequestFactory().get(path)
    request.user = AnonymousUser()
    return [url for _label, url, _current in navigation(request)["rooms"]]


def test_the_navigation_follows_the_prefix_the_site_is_served_under():
    """Served at the root, then under /coopmatrix/ (a reverse proxy's SCRIPT_NAME), then at the
    root again: each page's navigation names the addresses of where it is served, not where an
    earlier page was."""
    plain = _addresses("/matrix/")
    assert "/matrix/" in plain
    try:
        set_script_prefix("/coopmatrix/")
        prefixed = _addresses("/matrix/")
    finally:
        clear_script_prefix()
    assert prefixed == [f"/coopmatrix{url}" for url in plain]
    assert _addresses("/matrix/") == plain
