"""Sections that other apps add to a record's page, so that dependencies keep pointing down.

The State page belongs to `geo`, which must not import the matrix; the matrix declares a panel
(its activities and requests for that State) in its AppConfig, and the page shows every panel.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from .registry import registry


def panels(page: str, request: HttpRequest, record: Any) -> list[dict[str, Any]]:
    """Each registered panel's context for `page` ("state"), in the order each panel asks for
    ("order", what matters most first), then the order the apps are installed."""
    drawn = [panel(request, record) for panel in registry.panels.get(page, [])]
    return sorted(drawn, key=lambda context: context.get("order", 100))
