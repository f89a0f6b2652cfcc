"""What the treaties app adds to search and the home page (declared in apps.py)."""

from __future__ import annotations

from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from coopmatrix.core.registry import Figure, SearchIndex


def search_indexes() -> list[SearchIndex]:
    return [
        SearchIndex(
            _("Instruments"),
            "treaties.Instrument",
            lambda text: (
                Q(title__icontains=text)
                | Q(short_title__icontains=text)
                | Q(code__iexact=text)
                | Q(adopted_place__icontains=text)
            ),
            order_by=("adopted",),
            order=30,
            detail=lambda i: str(i.adopted.year) if i.adopted else "",
        )
    ]


def figures() -> list[Figure]:
    from .models import Instrument

    def instruments(request):
        return Instrument.objects.visible_to(request.user).count(), reverse("treaties:instrument_list")

    return [Figure(_("universal instruments"), instruments, order=30)]


def changes(request, limit: int) -> list:
    """The latest changes to this app's records the user may see (the home page)."""
    from coopmatrix.core.history import latest_changes

    from .models import TreatyAction

    return latest_changes(request, TreatyAction, str(_("Treaty action")), limit)
