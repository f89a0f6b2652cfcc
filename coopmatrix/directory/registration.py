"""What the directory adds to search and the home page (declared in apps.py)."""

from __future__ import annotations

from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from coopmatrix.core.registry import Figure, SearchIndex


def search_indexes() -> list[SearchIndex]:
    return [
        SearchIndex(
            _("Organizations"),
            "directory.Organization",
            lambda text: (
                Q(name__icontains=text)
                | Q(acronym__icontains=text)
                | Q(code__iexact=text)
                | Q(former_names__name__icontains=text)
                | Q(former_names__acronym__iexact=text)
            ),
            order_by=("name",),
            order=20,
        ),
        SearchIndex(
            _("Contacts"),
            "directory.Contact",
            lambda text: Q(person_name__icontains=text) | Q(function__icontains=text) | Q(email__iexact=text),
            order_by=("function", "person_name"),
            related=("organization",),
            order=60,
            detail=lambda c: c.person_name,
        ),
    ]


def figures() -> list[Figure]:
    from .models import Organization

    def organizations(request):
        count = Organization.objects.visible_to(request.user).count()
        return count, reverse("directory:organization_list")

    return [Figure(_("organizations"), organizations, order=20)]
