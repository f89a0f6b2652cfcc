"""What the matrix adds to search and the home page (declared in apps.py)."""

from __future__ import annotations

from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from coopmatrix.core.registry import Figure, SearchIndex


def _words(*fields: str):
    def matches(text: str) -> Q:
        # Every word typed must appear in one of the fields ("extradition Siracusa").
        condition = Q()
        for word in text.split():
            any_field = Q()
            for name in fields:
                any_field |= Q(**{f"{name}__icontains": word})
            condition &= any_field
        return condition

    return matches


def search_indexes() -> list[SearchIndex]:
    return [
        SearchIndex(
            _("Activities"),
            "matrix.Activity",
            _words("title", "description", "external_id"),
            order_by=("-planned_start", "title"),
            order=40,
            detail=lambda a: f"{a.get_modality_display()} · {a.get_status_display()}",
        ),
        SearchIndex(
            _("Requests for assistance"),
            "matrix.Request",
            _words("title", "description"),
            order_by=("-received", "title"),
            related=("state",),
            order=45,
            detail=lambda r: f"{r.state} · {r.get_status_display()}",
        ),
        SearchIndex(
            _("Programmes and projects"),
            "matrix.Programme",
            lambda text: Q(title__icontains=text) | Q(code__iexact=text) | Q(description__icontains=text),
            order_by=("title",),
            order=50,
        ),
    ]


def figures() -> list[Figure]:
    from .models import Activity, Request

    def activities(request):
        return Activity.objects.visible_to(request.user).count(), reverse("matrix:activity_list")

    def requests(request):
        return Request.objects.visible_to(request.user).count(), reverse("matrix:request_list")

    return [
        Figure(_("activities in the matrix"), activities, order=40),
        Figure(_("requests for assistance"), requests, order=45),
    ]
