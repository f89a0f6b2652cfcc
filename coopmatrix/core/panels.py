"""Sections that other apps add to a record's page, so that dependencies keep pointing down.

The State page belongs to `geo`, which must not import the matrix; the matrix registers a panel
(its activities and requests for that State) when it loads, and the page shows every panel.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest

Panel = Callable[[HttpRequest, Any], dict[str, Any]]
_PANELS: dict[str, list[Panel]] = {}


def register(page: str, panel: Panel) -> Panel:
    """Add `panel(request, record) -> {"template": …, …}` to the page named `page` ("state")."""
    _PANELS.setdefault(page, []).append(panel)
    return panel


def panels(page: str, request: HttpRequest, record: Any) -> list[dict[str, Any]]:
    return [panel(request, record) for panel in _PANELS.get(page, [])]
