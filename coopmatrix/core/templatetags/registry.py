"""What other apps add to a page they do not know (core.registry)."""

from __future__ import annotations

from typing import Any

from django import template
from django.urls import reverse

from coopmatrix.core.registry import load, registry

register = template.Library()


@register.simple_tag(takes_context=True)
def list_exports(context: Any, name: str) -> list[tuple[str, str]]:
    """(label, address) of each format other apps export the list `name` in, for this user."""
    user = getattr(context.get("request"), "user", None)
    return [
        (str(link.label), reverse(link.url_name))
        for link in registry.list_exports.get(name, [])
        if not link.allowed or load(link.allowed)(user)
    ]
