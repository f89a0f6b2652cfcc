"""A cache of the API's answers to the public, shared by every web server, that never outlives the
data it was made from.

Anonymous callers all see the same thing (public records), and most API traffic is theirs: an
answer made once is kept in the shared cache (settings.CACHES, a table of the database) under a
key holding the *data generation*, a counter in the database that goes up after every write that
commits. A change of any record, however it was made (a page, the API, an import, a bulk
`update()`, raw SQL through Django's connection), moves the counter, and no later request reads
an answer kept before it: a record made confidential leaves every cached answer at once.

Writes are seen below the ORM, by an execute wrapper on every database connection, so that new
code cannot forget to invalidate. Only tables that hold no answer's data (sessions, the cache
itself, the job queue, sign-in attempts: settings.PUBLIC_CACHE_IGNORED_TABLES) leave the counter
alone. The counter moves after the commit, not inside the transaction: a reader that took the old
counter before the commit keeps its answer under a key no later request asks for, and a
transaction that holds its write lock for minutes (an import) does not make every other writer
wait on the counter's row.

Only committed data is cached: a request read inside a transaction (the test suite's, or a view
that opens one) neither reads nor fills the cache. Entries expire after PUBLIC_CACHE_SECONDS as a
last safeguard against a change made outside Django (psql); `restore` empties the cache itself.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse
from django.utils import timezone, translation

from coopmatrix.core.committing import once_on_commit

log = logging.getLogger(__name__)

TABLE = "core_datageneration"
#: The table a statement writes to: INSERT INTO t, UPDATE t, DELETE FROM t.
WRITE = re.compile(
    r"""^\s*(?:INSERT\s+(?:OR\s+\w+\s+)?INTO|REPLACE\s+INTO|UPDATE|DELETE\s+FROM)
        \s+(?:ONLY\s+)?([\w."`]+)""",
    re.IGNORECASE | re.VERBOSE,
)
#: Statements that empty tables (several at once) or change the schema: every answer may change.
WHOLESALE = re.compile(r"^\s*(?:TRUNCATE|ALTER|CREATE|DROP)\s", re.IGNORECASE)


# -- seeing writes -------------------------------------------------------------------------------


def written_table(sql: str) -> str | None:
    """The table a statement writes to, or None for a read; "*" for many tables or the schema."""
    if not sql:
        return None
    head = sql[:200]
    match = WRITE.match(head)
    if match:
        return match.group(1).rsplit(".", 1)[-1].strip('"`').lower()
    if WHOLESALE.match(head):
        return "*"
    return None


def _ignored() -> frozenset[str]:
    return frozenset(name.lower() for name in settings.PUBLIC_CACHE_IGNORED_TABLES) | {TABLE}


def watch_writes(
    execute: Callable[..., Any], sql: str, params: Any, many: bool, context: dict[str, Any]
) -> Any:
    """An execute wrapper (on every connection): after a statement that wrote to a table whose rows
    an answer may hold, move the data generation once the transaction commits."""
    result = execute(sql, params, many, context)
    table = written_table(sql)
    if table is not None and table not in _ignored():
        changed(context["connection"])
    return result


def changed(db: Any = None) -> None:
    """Say that the data changed: the generation moves after the current transaction commits, or
    now outside one. Called by the wrapper; call it after writes made behind Django's back."""
    db = db or connection
    if not db.in_atomic_block:
        bump(db)
        return
    # Once per transaction: an import writes hundreds of thousands of rows in one (core.committing).
    once_on_commit(_bump_after_commit, db=db)


def _bump_after_commit() -> None:
    bump(connection)


def bump(db: Any = None) -> None:
    db = db or connection
    try:
        with db.cursor() as cursor:
            cursor.execute(f"UPDATE {TABLE} SET value = value + 1 WHERE id = 1")
    except DatabaseError as exc:
        if TABLE in str(exc):
            # The first `migrate` of a new database writes long before it creates the counter:
            # nothing can have been cached meanwhile.
            return
        # The database went away: the entries expire (PUBLIC_CACHE_SECONDS).
        log.warning("the data generation could not be moved: %s", exc)


def generation() -> int | None:
    try:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT value FROM {TABLE} WHERE id = 1")
            row = cursor.fetchone()
    except DatabaseError:
        return None
    return int(row[0]) if row else None


def install(sender: Any, connection: Any, **kwargs: Any) -> None:
    """On each new database connection (signal connection_created)."""
    if watch_writes not in connection.execute_wrappers:
        connection.execute_wrappers.append(watch_writes)


# -- the answers ---------------------------------------------------------------------------------

#: Response headers an answer may vary on and still be kept: the key holds the language and the
#: htmx headers, and only requests without a session are answered from the cache.
VARY_KEPT = {"cookie", "accept-language", "hx-request", "hx-target", "hx-trigger", "hx-boosted"}


def is_public_request(request: HttpRequest) -> bool:
    """Whoever sends no token and no session cookie is the public, before any middleware looks up
    who they are. Any other cookie (messages waiting, a session even anonymous) takes the
    ordinary way; the CSRF and language cookies change nothing a kept answer holds."""
    if request.method != "GET" or "Authorization" in request.headers or connection.in_atomic_block:
        return False
    if request.path.startswith(tuple(settings.PUBLIC_CACHE_SKIP)):
        return False
    harmless = {settings.CSRF_COOKIE_NAME, settings.LANGUAGE_COOKIE_NAME}
    return all(name in harmless for name in request.COOKIES)


def key(request: HttpRequest, data_generation: int) -> str:
    # The language (set by LocaleMiddleware, before this one), the day ("past its end", "as at
    # today") and an htmx request's headers (it is answered with a part of the page) are part of
    # an answer besides the data.
    parts = [
        request.scheme or "",
        request.get_host(),
        request.get_full_path(),
        *(
            f"{name}={value}"
            for name, value in sorted(request.headers.items())
            if name.lower().startswith("hx-")
        ),
    ]
    digest = hashlib.sha256("\n".join(parts).encode()).hexdigest()
    return f"public:{data_generation}:{translation.get_language()}:{timezone.localdate()}:{digest}"


def cacheable(request: HttpRequest, response: HttpResponse) -> bool:
    """Only what any member of the public would have been given: no cookie set (a page that uses
    the CSRF token sets it), no private or one-off answer (never_cache), no nonce (a fresh one each
    time), no download (its cover says when it was made), nothing large."""
    user = getattr(request, "user", None)
    vary = {name.strip().lower() for name in response.get("Vary", "").split(",") if name.strip()}
    control = response.get("Cache-Control", "")
    return (
        response.status_code == 200
        and not response.streaming
        and not response.cookies
        and not (user is not None and user.is_authenticated)
        and not any(word in control for word in ("private", "no-store", "no-cache"))
        and "nonce-" not in response.get("Content-Security-Policy", "")
        and "Content-Disposition" not in response
        and vary <= VARY_KEPT
        and len(response.content) <= settings.PUBLIC_CACHE_MAX_BYTES
        and not connection.in_atomic_block
    )


class PublicCacheMiddleware:
    """Answers the public's requests (API and pages) from the shared cache; keeps what it makes."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not settings.PUBLIC_CACHE_SECONDS or not is_public_request(request):
            return self.get_response(request)
        data_generation = generation()
        if data_generation is None:
            return self.get_response(request)
        cache_key = key(request, data_generation)
        kept = cache.get(cache_key)
        if kept is not None:
            route, headers, content, session_read = kept
            response = HttpResponse(content)
            for name, value in headers:
                response[name] = value
            request.cached_route = route  # type: ignore[attr-defined]  # for the request log
            # As when it was made (sign-in was looked up): the session middleware then says the
            # answer varies with the cookie, so that no cache downstream gives it to a signed-in user.
            request.session.accessed = session_read  # type: ignore[attr-defined]
            return response
        response = self.get_response(request)
        if cacheable(request, response):
            match = getattr(request, "resolver_match", None)
            route = "/" + match.route if match is not None and match.route else ""
            entry = (route, list(response.items()), response.content, request.session.accessed)  # type: ignore[attr-defined]
            cache.set(cache_key, entry, settings.PUBLIC_CACHE_SECONDS)
        return response
