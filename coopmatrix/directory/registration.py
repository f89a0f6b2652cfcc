"""What the directory adds to search and the home page (declared in apps.py)."""

from __future__ import annotations

from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from coopmatrix.core.registry import Figure, SearchIndex


def _organization_matches(text: str) -> Q:
    from .models import OrganizationName

    # A subquery, not a join: see geo.filtersets.state_text_matches.
    former = OrganizationName.objects.filter(Q(name__icontains=text) | Q(acronym__iexact=text))
    return (
        Q(name__icontains=text)
        | Q(acronym__icontains=text)
        | Q(code__iexact=text)
        | Q(pk__in=former.values("organization_id"))
    )


def search_indexes() -> list[SearchIndex]:
    return [
        SearchIndex(
            _("Organizations"),
            "directory.Organization",
            _organization_matches,
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


def changes(request, limit: int) -> list:
    """The latest changes to this app's records the user may see (the home page)."""
    from coopmatrix.core.history import latest_changes

    from .models import Contact, Organization

    return [
        *latest_changes(request, Organization, str(_("Organization")), limit),
        *latest_changes(request, Contact, str(_("Contact")), limit),
    ]
