"""Generic pages: every list, detail and export starts from `visible_to(request.user)`.

A domain view is a declaration (model, filterset, table, export columns), as in NetBox;
the narrowing by the visibility rule happens here, once, before any handler code runs.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.views import View
from django.views.decorators.http import require_POST
from django_tables2 import RequestConfig

from .exports import Column, csv_response
from .filters import active_filters
from .history import changes
from .paginators import CappedPaginator, is_capped


class VisibleMixin:
    model: ClassVar[type[Model]]
    #: Foreign keys every row shows, fetched in the same query.
    related: ClassVar[tuple[str, ...]] = ()

    def visible(self, request: HttpRequest) -> QuerySet:
        records = self.model.objects.visible_to(request.user)  # type: ignore[attr-defined]
        return records.select_related(*self.related) if self.related else records


class RecordListView(VisibleMixin, View):
    """A filtered, sorted, paginated table; with HTMX only the results are sent back."""

    filterset_class: ClassVar[Any]
    table_class: ClassVar[Any]
    title: ClassVar[str]
    export_url_name: ClassVar[str | None] = None
    #: A page to record a new one, offered to the roles that may (editors, focal points, secretariat).
    create_url_name: ClassVar[str | None] = None
    create_label: ClassVar[str] = ""
    #: What the list holds, said when it is empty, so that an empty page is never a dead end.
    empty_text: ClassVar[str] = ""
    #: The page that imports such records from a file, and who may use it ("module:function").
    import_url_name: ClassVar[str | None] = None
    import_allowed: ClassVar[str | None] = None
    template_name = "core/list.html"
    per_page = 50

    def get_table(self, request: HttpRequest, records: QuerySet) -> Any:
        return self.table_class(records)

    def extra_context(self, request: HttpRequest) -> dict[str, Any]:
        """What a list's own template adds (links for some roles …)."""
        return {}

    def known_count(self, request: HttpRequest, filterset: Any) -> int | None:
        """The exact number of records, when the view knows it without counting (override)."""
        return None

    def get(self, request: HttpRequest) -> HttpResponse:
        request.GET = _bounded_paging(request.GET)  # type: ignore[assignment]
        filterset = self.filterset_class(request.GET, queryset=self.visible(request), request=request)
        valid = filterset.is_valid()
        records = filterset.qs if valid else filterset.queryset.none()
        table = self.get_table(request, records)
        paginate = {"per_page": self.per_page, "paginator_class": CappedPaginator}
        if valid:
            paginate["known_count"] = self.known_count(request, filterset)
        RequestConfig(request, paginate=paginate).configure(table)
        columns = self._choose_columns(request, table)
        context = {
            "title": self.title,
            "filter": filterset,
            "table": table,
            "count": table.paginator.count,
            "count_capped": is_capped(table.paginator),
            "export_url_name": self.export_url_name,
            "query": request.GET.urlencode(),
            "active_filters": active_filters(filterset, request.GET) if valid else [],
            "columns": columns,
            "page_sizes": _page_sizes(request, table.paginator.per_page),
            "create_url": self._create_url(request),
            "create_label": self.create_label,
            "empty_text": self.empty_text,
            "import_url": self._import_url(request),
            **self.extra_context(request),
        }
        template = "core/partials/results.html" if getattr(request, "htmx", False) else self.template_name
        return render(request, template, context)

    def _create_url(self, request: HttpRequest) -> str | None:
        from .roles import principal_for

        principal = principal_for(request.user)
        if self.create_url_name and (principal.sees_everything or principal.may_edit_own):
            return reverse(self.create_url_name)
        return None

    @staticmethod
    def _choose_columns(request: HttpRequest, table: Any) -> list[dict[str, Any]]:
        """Hide the columns the user unticked (`columns=`: the ones to show, in the URL so that a
        shared or saved view keeps them); the choices for the "Columns" form."""
        chosen = request.GET.getlist("columns")
        choices = []
        for column in table.columns:
            shown = not chosen or column.name in chosen
            if not shown:
                table.columns.hide(column.name)
            if column.header:
                choices.append({"name": column.name, "header": str(column.header), "shown": shown})
        return choices

    def _import_url(self, request: HttpRequest) -> str | None:
        from .registry import load

        allowed = self.import_allowed is None or load(self.import_allowed)(request.user)
        return reverse(self.import_url_name) if self.import_url_name and allowed else None


#: The page sizes a list offers.
PAGE_SIZES = (25, 50, 100, 200)


def _page_sizes(request: HttpRequest, current: int) -> list[tuple[int, str, bool]]:
    """(size, query for it, whether it is the current one), back on the first page."""
    sizes = []
    for size in PAGE_SIZES:
        query = request.GET.copy()
        query.pop("page", None)
        query["per_page"] = str(size)
        sizes.append((size, query.urlencode(), size == current))
    return sizes


def _bounded_paging(query: Any) -> Any:
    """The query without a page size or page number out of range (per_page=-5, page=10**20):
    the list then shows its first page, as for any other page it cannot show."""
    bad = []
    for name, low, high in (("per_page", 1, 500), ("page", 1, 1_000_000)):
        if name in query:
            try:
                ok = low <= int(query[name]) <= high
            except ValueError:
                ok = False
            if not ok:
                bad.append(name)
    if not bad:
        return query
    query = query.copy()
    for name in bad:
        query.pop(name)
    return query


class RecordDetailView(VisibleMixin, View):
    """One record the user may see, with its change history; 404 for anything else."""

    template_name: ClassVar[str]
    lookup_field: ClassVar[str] = "pk"

    def get_object(self, request: HttpRequest, key: Any) -> Model:
        try:
            return self.visible(request).get(**{self.lookup_field: key})
        except self.model.DoesNotExist as exc:  # type: ignore[attr-defined]
            # The same answer for "does not exist" and "not yours": existence is not disclosed.
            raise Http404 from exc

    def get_context(self, request: HttpRequest, obj: Model) -> dict[str, Any]:
        return {}

    def get(self, request: HttpRequest, key: Any) -> HttpResponse:
        obj = self.get_object(request, key)
        context = {"object": obj, "history": changes(obj, request.user) if hasattr(obj, "history") else []}
        context.update(self.get_context(request, obj))
        return render(request, self.template_name, context)


def record_to_change(request: HttpRequest, model: type[Model], key: Any, what: str) -> Any:
    """The record to change on a page: 404 if the user may not see it, 403 if not change it."""
    records = model.objects  # type: ignore[attr-defined]
    record = get_object_or_404(records.visible_to(request.user), pk=key)
    if not records.editable_by(request.user).filter(pk=record.pk).exists():
        raise PermissionDenied(f"you may not change this {what}")
    return record


class RecordExportView(VisibleMixin, View):
    """CSV of the filtered list the user sees; the same filterset as the page and the API."""

    filterset_class: ClassVar[Any]
    columns: ClassVar[list[Column]]
    filename: ClassVar[str]

    def get_columns(self, request: HttpRequest) -> list[Column]:
        return self.columns

    def rows(self, request: HttpRequest, records: QuerySet) -> Any:
        """What the columns read, one by one; a view may give plain dicts for speed."""
        return records.iterator(chunk_size=2000)

    def get(self, request: HttpRequest) -> HttpResponseBase:
        filterset = self.filterset_class(request.GET, queryset=self.visible(request), request=request)
        if not filterset.is_valid():
            return render(request, "core/filter_errors.html", {"filter": filterset}, status=400)
        stamp = timezone.now().strftime("%Y-%m-%d")
        return csv_response(
            self.rows(request, filterset.qs), self.get_columns(request), f"{self.filename}-{stamp}.csv"
        )


def home(request: HttpRequest) -> HttpResponse:
    """The figures each installed app gives, each a link to what it counts."""
    from .registry import load, registry

    own: list[dict[str, Any]] = []
    everyone: list[dict[str, Any]] = []
    for figure in sorted(registry.figures, key=lambda f: f.order):
        result = figure.compute(request)
        if result is None:
            continue
        number, url = result
        (own if figure.own else everyone).append({"label": figure.label, "number": number, "url": url})
    changes = [change for target in registry.changes for change in load(target)(request, HOME_CHANGES)]
    changes.sort(key=lambda change: change.when, reverse=True)
    context = {
        "own_figures": own,
        "figures": everyone,
        "changes": changes[:HOME_CHANGES],
        "whose": _whose(request),
    }
    return render(request, "core/home.html", context)


#: How many of the latest changes the home page lists.
HOME_CHANGES = 10


def _whose(request: HttpRequest) -> str:
    """The organization whose figures come first for this user (a State's focal point belongs
    to an organization of that State)."""
    from .roles import _profile, principal_for

    if not principal_for(request.user).organization_id:
        return ""
    return str(_profile(request.user).organization)


def search(request: HttpRequest) -> HttpResponse:
    """Every registered kind of record matching the words typed, through the visibility rule."""
    from .registry import search as search_all

    text = request.GET.get("q", "").strip()
    results = search_all(request, text) if text else []
    context = {"q": text, "results": results}
    template = "core/partials/search_results.html" if getattr(request, "htmx", False) else "core/search.html"
    return render(request, template, context)


@login_required
def saved_views(request: HttpRequest) -> HttpResponse:
    """The user's saved views, each with what it lists today; save one (POST from a list)."""
    from django.contrib import messages
    from django.shortcuts import redirect
    from django.utils.translation import gettext as _

    from .models import SavedView
    from .saved_views import list_view_of, request_path_and_query, results

    if request.method == "POST":
        path, query = request_path_and_query(request)
        name = request.POST.get("name", "").strip()[:100]
        if list_view_of(path) is None:
            messages.error(
                request, _("Only a list can be saved as a view: %(path)s is not one.") % {"path": path}
            )
            return redirect("saved_views")
        if not name:
            messages.error(request, _("Give the view a name to find it again."))
            return redirect(path + (f"?{query}" if query else ""))
        view, created = SavedView.objects.update_or_create(
            user=request.user,
            name=name,
            defaults={"path": path, "query": query, "subscribed": request.POST.get("subscribed") == "on"},
        )
        found = results(request.user, path, query)
        if found is not None:
            view.last_count, view.fingerprint = found
            view.save(update_fields=["last_count", "fingerprint"])
        messages.success(
            request, (_("Saved as “%(name)s”.") if created else _("“%(name)s” updated.")) % {"name": name}
        )
        return redirect(view.url)
    rows = []
    owner: Any = request.user  # signed in (login_required)
    for view in SavedView.objects.filter(user=owner):
        found = results(request.user, view.path, view.query)
        rows.append({"view": view, "count": found[0] if found else None})
    return render(request, "core/saved_views.html", {"rows": rows, "title": _("Saved views")})


@login_required
@require_POST
def saved_view_change(request: HttpRequest, pk: int) -> HttpResponse:
    """Subscribe, unsubscribe or delete one of the user's own saved views (another's: 404)."""
    from django.shortcuts import redirect

    from .models import SavedView

    view = get_object_or_404(SavedView, pk=pk, user=request.user)
    action = request.POST.get("action")
    if action == "delete":
        view.delete()
    elif action in ("subscribe", "unsubscribe"):
        view.subscribed = action == "subscribe"
        view.save(update_fields=["subscribed"])
    else:
        return HttpResponse("Unknown action: give subscribe, unsubscribe or delete.", status=400)
    return redirect("saved_views")
