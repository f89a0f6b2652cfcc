"""Saved views: a list's address kept under a name, and the digest of its results that tells
a subscriber when they change. Results are always found again through the list's own view,
its filterset and the visibility rule of the day for the view's owner."""

from __future__ import annotations

import hashlib
from typing import Any

from django.db.models import Max
from django.http import HttpRequest, QueryDict
from django.urls import Resolver404, resolve

from .views import RecordListView

#: Query parameters that change how a list is shown, not what it lists.
NOT_FILTERS = ("page", "per_page", "sort", "columns")


def list_view_of(path: str) -> type[RecordListView] | None:
    """The list view at `path`, or None when `path` is not a list of records."""
    try:
        match = resolve(path)
    except Resolver404:
        return None
    view_class = getattr(match.func, "view_class", None)
    if view_class is None or not issubclass(view_class, RecordListView):
        return None
    return view_class


def results(user: Any, path: str, query: str) -> tuple[int, str] | None:
    """How many records the view lists for `user` today, and a digest that changes when any of
    them is added, removed or changed; None when the address is no longer a list or its
    filters are no longer valid (a code since removed)."""
    view_class = list_view_of(path)
    if view_class is None:
        return None
    data = QueryDict(query, mutable=True)
    for name in NOT_FILTERS:
        data.pop(name, None)
    request = HttpRequest()
    request.user = user
    request.GET = data
    view = view_class()
    filterset = view.filterset_class(data, queryset=view.visible(request), request=request)
    if not filterset.is_valid():
        return None
    keys = sorted(filterset.qs.order_by().values_list("pk", flat=True))
    digest = hashlib.sha256(",".join(map(str, keys)).encode())
    model = view.model
    if keys and hasattr(model, "history"):
        changed = model.history.filter(id__in=keys).aggregate(latest=Max("history_date"))["latest"]
        digest.update(str(changed).encode())
    return len(keys), digest.hexdigest()


def request_path_and_query(request: HttpRequest) -> tuple[str, str]:
    """The list address a "save this view" form sends: a path of this site and its filters."""
    path = request.POST.get("path", "")
    query = QueryDict(request.POST.get("query", ""), mutable=True)
    for name in ("page",):
        query.pop(name, None)
    return path, query.urlencode()


def send_digests() -> int:
    """E-mail each subscriber whose saved view lists something new or changed since it last
    looked, at most once a day per view; the number of e-mails sent."""
    import datetime as dt

    from django.conf import settings
    from django.core.mail import send_mail
    from django.utils import timezone

    from .models import SavedView

    now = timezone.now()
    sent = 0
    views = SavedView.objects.select_related("user").filter(subscribed=True, user__is_active=True)
    for view in views:
        if view.last_sent and now - view.last_sent < dt.timedelta(hours=23):
            continue
        found = results(view.user, view.path, view.query)
        if found is None:
            continue
        count, fingerprint = found
        if not view.fingerprint:
            # The first look: what is listed now is what the subscriber saw when saving.
            view.fingerprint, view.last_count = fingerprint, count
            view.save(update_fields=["fingerprint", "last_count"])
            continue
        if fingerprint == view.fingerprint or not view.user.email:
            continue
        before = view.last_count if view.last_count is not None else "?"
        send_mail(
            f"coopmatrix: your saved view “{view.name}” has changed",
            (
                f"Your saved view “{view.name}” now lists {count} records ({before} when you were "
                f"last told), and some of them were added, removed or changed.\n\n"
                f"Open it: {settings.SITE_URL}{view.url}\n\n"
                f"To stop these e-mails, untick “e-mail me” on {settings.SITE_URL}/me/views/."
            ),
            settings.DEFAULT_FROM_EMAIL,
            [view.user.email],
        )
        view.fingerprint, view.last_count, view.last_sent = fingerprint, count, now
        view.save(update_fields=["fingerprint", "last_count", "last_sent"])
        sent += 1
    return sent


def digests_job(job: Any, tracker: Any) -> Any:
    """The scheduled job (daily): the digests of every subscribed saved view."""
    from .jobs import Outcome

    return Outcome(f"Saved views' e-mails sent: {send_digests()}.")
