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
    """Who does what, where. Each figure is counted by the list its link opens, through the
    same filters, so that following it shows exactly the records counted."""
    from .models import ActivityProvider, ActivityReach, Request

    current = ["pipeline", "planned", "ongoing"]
    open_ = list(Request.OPEN_STATUSES)

    def activities(request, **query):
        return _listed(request, "activity", **query)

    def requests(request, **query):
        return _listed(request, "request", **query)

    def states_reached(request):
        from coopmatrix.core.roles import principal_for

        from . import grid

        filterset, _url = _filterset(request, "activity")
        known = None if filterset is None else grid.states_reached(filterset, principal_for(request.user))
        if known is None:
            records, _url = _filtered(request, "activity")
            reach = (
                ActivityReach.objects.filter(activity__in=records.values("pk")).values("state_id").distinct()
            )
            known = reach.count()
        return known, reverse("matrix:map")

    def providers_active(request):
        records, url = _filtered(request, "activity", status=current)
        providers = ActivityProvider.objects.filter(activity__in=records.values("pk"))
        return providers.values("organization_id").distinct().count(), url

    def own_provided(request):
        code = _own_organization_code(request)
        return None if code is None else activities(request, provider=code, status=current)

    def own_referred(request):
        code = _own_organization_code(request)
        return None if code is None else requests(request, provider=code, status=open_)

    def own_state_received(request):
        code = _own_state_code(request)
        return None if code is None else activities(request, state=code, status=current)

    def own_state_requests(request):
        code = _own_state_code(request)
        return None if code is None else requests(request, state=code, status=open_)

    return [
        Figure(_("activities your organization provides, ongoing or planned"), own_provided, 1, own=True),
        Figure(_("open requests referred to your organization"), own_referred, 2, own=True),
        Figure(_("activities your State receives, ongoing or planned"), own_state_received, 3, own=True),
        Figure(_("open requests of your State"), own_state_requests, 4, own=True),
        Figure(_("activities ongoing"), lambda r: activities(r, status="ongoing"), order=1),
        Figure(_("activities planned"), lambda r: activities(r, status=["pipeline", "planned"]), order=2),
        Figure(_("States reached"), states_reached, order=3),
        Figure(_("providers active"), providers_active, order=4),
        Figure(_("open requests"), lambda r: requests(r, status=open_), order=5),
        Figure(_("requests overdue, unanswered"), lambda r: requests(r, unanswered="true"), order=6),
        Figure(_("activities in the matrix"), activities, order=40),
        Figure(_("requests for assistance"), requests, order=45),
    ]


def _filtered(request, kind: str, **query):
    """The records the list of `kind` shows for `query` (its own filterset, through the
    visibility rule), and the list's address with that query."""
    filterset, url = _filterset(request, kind, **query)
    return (filterset.qs if filterset is not None else _model(kind).objects.none()), url


def _model(kind: str):
    from .models import Activity, Request

    return Activity if kind == "activity" else Request


def _filterset(request, kind: str, **query):
    """The list's filterset for `query` (None when a code is no longer offered) and its address."""
    from urllib.parse import urlencode

    from django.http import QueryDict

    from .filtersets import ActivityFilterSet, RequestFilterSet
    from .models import Activity, Request

    if kind == "activity":
        filterset_class, records, name = ActivityFilterSet, Activity.objects, "matrix:activity_list"
    else:
        filterset_class, records, name = RequestFilterSet, Request.objects, "matrix:request_list"
    text = urlencode(query, doseq=True)
    filterset = filterset_class(QueryDict(text), queryset=records.visible_to(request.user), request=request)
    if not filterset.is_valid():  # a code no longer offered: nothing to count, nothing to link
        return None, reverse(name)
    return filterset, reverse(name) + (f"?{text}" if text else "")


def _listed(request, kind: str, **query) -> tuple[int, str]:
    """The count the list shows: for activities from the kept counts where they answer (as the
    list counts them), else from the records."""
    from coopmatrix.core.roles import principal_for

    from . import grid

    filterset, url = _filterset(request, kind, **query)
    if filterset is None:
        return 0, url
    known = grid.total(filterset, principal_for(request.user)) if kind == "activity" else None
    return (known if known is not None else filterset.qs.count()), url


def _own_organization_code(request) -> str | None:
    from coopmatrix.core.roles import _profile, principal_for

    if not principal_for(request.user).organization_id:
        return None
    return _profile(request.user).organization.code


def _own_state_code(request) -> str | None:
    from coopmatrix.core.roles import _profile, principal_for

    if not principal_for(request.user).state_id:
        return None
    return _profile(request.user).organization.state.code


def changes(request, limit: int) -> list:
    """The latest changes to this app's records the user may see (the home page)."""
    from coopmatrix.core.history import latest_changes

    from .models import Activity, Programme, Request

    return [
        *latest_changes(request, Activity, str(_("Activity")), limit),
        *latest_changes(request, Request, str(_("Request")), limit),
        *latest_changes(request, Programme, str(_("Programme")), limit),
    ]
