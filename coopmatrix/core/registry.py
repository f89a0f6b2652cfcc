"""What each domain app adds to coopmatrix, declared in its AppConfig: core knows no domain app.

A domain app's config subclasses `DomainApp` and names its parts; `ready()` registers them here,
and the project's navigation, URLs, API, search, reference loading, home page, record pages'
panels and the roles × endpoints test matrix read them back. Adding an app to INSTALLED_APPS is
all it takes for its rooms to appear everywhere (NetBox's plugin registry works the same way).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.apps import AppConfig
from django.db.models import Model, Q
from django.http import HttpRequest


@dataclass(frozen=True)
class Link:
    """A page of a room, offered in the room's own navigation bar. `allowed`: "module:function"
    taking the user, for pages only some roles may open (imports, the export log); the link is
    then offered only to them."""

    label: str
    url_name: str
    allowed: str | None = None


@dataclass(frozen=True)
class Room:
    """A link in the navigation: a label and the URL name it opens, in the order given, with
    the room's own pages (`links`), shown in a second bar while one of them is open."""

    label: str
    url_name: str
    order: int = 100
    links: tuple[Link, ...] = ()


@dataclass(frozen=True)
class SearchIndex:
    """A model the site-wide search looks in, always through the visibility rule."""

    label: str
    model: str  # "app_label.ModelName"
    #: The condition a record meets for the words typed (text as typed, key normalized).
    matches: Callable[[str], Q]
    order_by: tuple[str, ...] = ()
    related: tuple[str, ...] = ()
    order: int = 100
    limit: int = 50
    #: A few words beside each record's name (a code, a status, an acronym).
    detail: Callable[[Any], str] | None = None


@dataclass(frozen=True)
class ReferenceLoader:
    """One app's reference data: `read(data_dir, errors, plans)` checks every row and returns a
    plan; `write(plan, stats)` writes it. Loaders run in the order their `after` names require,
    all in one transaction."""

    name: str
    read: Callable[[Path | None, list[Any], dict[str, Any]], Any]
    write: Callable[[Any, Any], None]
    files: tuple[str, ...]
    after: tuple[str, ...] = ()
    #: Whether `read` looks up records the loaders before it wrote (the matrix's activities name
    #: States and organizations): such a loader is read only if every loader before it was clean.
    needs_written: bool = False


@dataclass(frozen=True)
class Figure:
    """A figure on the home page: `compute(request)` gives (number, link to the filtered view
    that lists what it counts), or None where it does not apply to the user. `own`: a figure of
    the user's own organization or State, shown first; its label may name it ({name})."""

    label: str
    compute: Callable[[HttpRequest], tuple[int, str] | None]
    order: int = 100
    own: bool = False


@dataclass(frozen=True)
class Change:
    """One line of the home page's latest changes: a record the user may see, changed when."""

    when: Any
    kind: str
    label: str
    url: str
    action: str


@dataclass
class Registry:
    rooms: list[Room] = field(default_factory=list)
    #: Pages an app adds to another app's room, by the room's URL name.
    room_links: dict[str, list[Link]] = field(default_factory=dict)
    #: Formats an app adds to another app's exports, by the name of the list ("matrix").
    list_exports: dict[str, list[Link]] = field(default_factory=dict)
    #: (prefix, URL module) of each app, included in the site's URLs.
    urlconfs: list[tuple[str, str]] = field(default_factory=list)
    api_routers: list[str] = field(default_factory=list)
    search: list[SearchIndex] = field(default_factory=list)
    reference: dict[str, ReferenceLoader] = field(default_factory=dict)
    figures: list[Figure] = field(default_factory=list)
    #: "module:function"(request, limit) giving an app's latest changes (list of Change).
    changes: list[str] = field(default_factory=list)
    panels: dict[str, list[Callable[[HttpRequest, Any], dict[str, Any]]]] = field(default_factory=dict)
    #: Modules holding `ENDPOINTS`, the app's rows of the roles × endpoints visibility test.
    visibility_rows: list[str] = field(default_factory=list)
    #: Hooks one app provides for all: "api_token" → a function(token) -> user or None.
    hooks: dict[str, Callable[..., Any]] = field(default_factory=dict)
    #: Kinds of background job: kind → "module:function"(job, tracker) -> Outcome (core/jobs.py).
    jobs: dict[str, str] = field(default_factory=dict)
    #: What an import page's file holds → "module:function" writing it (the import job calls it).
    importers: dict[str, str] = field(default_factory=dict)
    #: URL names of the exports a user may have prepared in the background.
    exports: set[str] = field(default_factory=set)

    def loaders(self) -> list[ReferenceLoader]:
        """The reference loaders, each after those it names (a cycle is a programming error)."""
        ordered: list[ReferenceLoader] = []
        placed: set[str] = set()

        def place(loader: ReferenceLoader, path: tuple[str, ...] = ()) -> None:
            if loader.name in placed:
                return
            if loader.name in path:
                raise RuntimeError(f"reference loaders depend on each other: {' → '.join(path)}")
            for name in loader.after:
                if name not in self.reference:
                    raise RuntimeError(f"reference loader {loader.name!r} needs {name!r}, which no app has")
                place(self.reference[name], (*path, loader.name))
            ordered.append(loader)
            placed.add(loader.name)

        for loader in self.reference.values():
            place(loader)
        return ordered


registry = Registry()


class DomainApp(AppConfig):
    """A coopmatrix domain app. Set what it brings; `ready()` registers it.

    - `urls`: its URL module, included at `url_prefix` (the site's root by default);
    - `api`: "module:router", added to the REST API;
    - `rooms`: navigation links;
    - `room_links`: {room's URL name: (Link, …)} pages it adds to another app's room;
    - `list_exports`: {list's name: (Link, …)} formats it adds to another app's exports, offered
      with the list's filters ("matrix": the matrix's views);
    - `search`: SearchIndex rows;
    - `reference`: a ReferenceLoader;
    - `figures`: home-page figures, as "module:function" returning a list of Figure;
    - `changes`: "module:function"(request, limit) giving its latest changes (list of Change);
    - `panels`: {page: ("module:function", …)} sections for other apps' record pages ("state");
    - `visibility_rows`: module with the app's rows of the roles × endpoints test matrix;
    - `jobs`: {kind: "module:function"} background jobs (core/jobs.py), scheduled or started;
    - `importers`: {kind: "module:import_file"} what its import pages' confirmed files go to;
    - `exports`: URL names ("matrix:activity_export_xlsx") of exports that may run as jobs.
    """

    default = False
    urls: str | None = None
    url_prefix: str = ""
    api: str | None = None
    rooms: tuple[Room, ...] = ()
    room_links: dict[str, tuple[Link, ...]] = {}
    list_exports: dict[str, tuple[Link, ...]] = {}
    search: str | None = None  # "module:function" returning a list of SearchIndex
    reference: str | None = None  # "module:LOADER"
    figures: str | None = None
    changes: str | None = None
    panels: dict[str, tuple[str, ...]] = {}
    visibility_rows: str | None = None
    jobs: dict[str, str] = {}
    importers: dict[str, str] = {}
    exports: tuple[str, ...] = ()

    def ready(self) -> None:
        if self.urls and (self.url_prefix, self.urls) not in registry.urlconfs:
            registry.urlconfs.append((self.url_prefix, self.urls))
        if self.api and self.api not in registry.api_routers:
            registry.api_routers.append(self.api)
        registry.rooms.extend(r for r in self.rooms if r not in registry.rooms)
        for room, links in self.room_links.items():
            added = registry.room_links.setdefault(room, [])
            added.extend(link for link in links if link not in added)
        for name, links in self.list_exports.items():
            added = registry.list_exports.setdefault(name, [])
            added.extend(link for link in links if link not in added)
        if self.search:
            registry.search.extend(i for i in load(self.search)() if i not in registry.search)
        if self.reference:
            loader = load(self.reference)
            registry.reference[loader.name] = loader
        if self.figures:
            registry.figures.extend(f for f in load(self.figures)() if f not in registry.figures)
        if self.changes and self.changes not in registry.changes:
            registry.changes.append(self.changes)
        for page, targets in self.panels.items():
            for target in targets:
                panel = load(target)
                if panel not in registry.panels.setdefault(page, []):
                    registry.panels[page].append(panel)
        if self.visibility_rows and self.visibility_rows not in registry.visibility_rows:
            registry.visibility_rows.append(self.visibility_rows)
        registry.jobs.update(self.jobs)
        registry.importers.update(self.importers)
        registry.exports.update(self.exports)


def load(target: str) -> Any:
    from importlib import import_module

    module, _, name = target.partition(":")
    return getattr(import_module(module), name)


def search(request: HttpRequest, text: str) -> list[tuple[SearchIndex, list[tuple[Model, str]]]]:
    """For each registered index, the records the user may see that match `text`, with their
    details."""
    from django.apps import apps

    results = []
    for index in sorted(registry.search, key=lambda i: i.order):
        model = apps.get_model(index.model)
        records = model._default_manager.visible_to(request.user)  # type: ignore[attr-defined]
        ids = records.filter(index.matches(text)).values("pk")
        found = records.filter(pk__in=ids).order_by(*index.order_by)
        if index.related:
            found = found.select_related(*index.related)
        rows = [(record, index.detail(record) if index.detail else "") for record in found[: index.limit]]
        results.append((index, rows))
    return results
