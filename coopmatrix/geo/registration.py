"""What the geo app adds to search and the home page (declared in apps.py)."""

from __future__ import annotations

from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from coopmatrix.core.registry import Figure, SearchIndex


def _state_matches(text: str) -> Q:
    from .filtersets import state_text_matches

    return state_text_matches(text)


def search_indexes() -> list[SearchIndex]:
    return [
        SearchIndex(
            _("States and territories"),
            "geo.State",
            _state_matches,
            order_by=("status", "name_en"),
            order=10,
            detail=lambda s: f"{s.code} · {s.get_status_display()}",
        )
    ]


def figures() -> list[Figure]:
    from .models import State

    def states(request):
        return State.objects.visible_to(request.user).current().count(), reverse("geo:state_list")

    def members(request):
        count = State.objects.visible_to(request.user).filter(status=State.Status.MEMBER).count()
        return count, reverse("geo:state_list") + "?status=member"

    return [
        Figure(_("States and territories"), states, order=10),
        Figure(_("UN Member States"), members, order=11),
    ]
