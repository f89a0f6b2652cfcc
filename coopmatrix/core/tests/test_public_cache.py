"""The public's API answers come from a shared cache, and no cached answer outlives its data.

These tests commit for real (transactional): the data generation moves after a commit, and only
committed data is cached, so a test inside a rolled-back transaction would never see the cache.
"""

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.db import connection, transaction
from django.http import HttpResponse

from coopmatrix.accounts.models import ApiToken
from coopmatrix.core import public_cache
from coopmatrix.core.models import DataGeneration
from coopmatrix.matrix import actions
from coopmatrix.matrix.models import Activity

LIST = "/api/v1/activities?page_size=50"


@pytest.fixture
def site(transactional_db, cast):
    # The database is emptied between transactional tests, the counter's row with it.
    DataGeneration.objects.get_or_create(pk=1, defaults={"value": 1})
    return cast


def _payload(title, level="public"):
    return {
        "title": title,
        "providers": [{"organization": "test-org-a", "role": "implementing"}],
        "recipient_states": ["XXA"],
        "modality": "workshop",
        "status": "planned",
        "confidentiality": level,
        "source": "made for tests",
    }


def _record(cast, title, level="public"):
    return actions.save_activity(cast.user("editor_a"), _payload(title, level))


def _titles(client, url=LIST, **headers):
    response = client.get(url, **headers)
    assert response.status_code == 200, response.content
    return sorted(item["title"] for item in response.json()["items"])


def _generation():
    return DataGeneration.objects.get(pk=1).value


def test_a_second_asking_is_answered_from_the_cache_with_the_same_answer(
    site, client, django_assert_max_num_queries
):
    _record(site, "Workshop on the 1999 Convention (made for tests)")
    first = client.get(LIST)
    with django_assert_max_num_queries(2):  # the counter, the kept answer
        second = client.get(LIST)
    assert second.status_code == 200
    assert second.content == first.content
    assert second["Content-Type"] == first["Content-Type"]
    assert second["X-Frame-Options"] == first["X-Frame-Options"]


def test_a_record_made_confidential_leaves_the_cached_answer_at_once(site, client):
    activity = _record(site, "Workshop soon confidential (made for tests)")
    assert _titles(client) == ["Workshop soon confidential (made for tests)"]
    assert client.get(f"/api/v1/activities/{activity.pk}").status_code == 200

    changed = _payload("Workshop soon confidential (made for tests)", "confidential")
    actions.save_activity(site.user("editor_a"), changed, activity)

    assert _titles(client) == []
    assert client.get(f"/api/v1/activities/{activity.pk}").status_code == 404


def test_a_bulk_update_and_raw_sql_move_the_generation_too(site, client):
    activity = _record(site, "Before (made for tests)")
    assert _titles(client) == ["Before (made for tests)"]
    # No signal, no history: the queryset's update() is seen below the ORM all the same.
    Activity.objects.filter(pk=activity.pk).update(title="After a bulk update (made for tests)")
    assert _titles(client) == ["After a bulk update (made for tests)"]
    with connection.cursor() as cursor:
        cursor.execute("UPDATE matrix_activity SET title = %s WHERE id = %s", ["After raw SQL", activity.pk])
    assert _titles(client) == ["After raw SQL"]


def test_the_generation_moves_when_a_transaction_commits_and_not_before(site):
    activity = _record(site, "Workshop (made for tests)")
    before = _generation()
    with transaction.atomic():
        Activity.objects.filter(pk=activity.pk).update(title="Changed (made for tests)")
        Activity.objects.filter(pk=activity.pk).update(description="Twice in one transaction")
        assert _generation() == before
    assert _generation() == before + 1
    with pytest.raises(RuntimeError), transaction.atomic():
        Activity.objects.filter(pk=activity.pk).update(title="Never kept")
        raise RuntimeError("rolled back")
    assert _generation() == before + 1
    assert Activity.objects.get(pk=activity.pk).title == "Changed (made for tests)"


def test_a_write_after_a_savepoint_rolled_back_moves_the_generation_once(site):
    """The first write registers the move; a savepoint's rollback drops it with that write, and
    the next write registers it again (where it stands among the transaction's callbacks)."""
    activity = _record(site, "Workshop (made for tests)")
    before = _generation()
    with transaction.atomic():
        transaction.on_commit(lambda: None)
        with pytest.raises(RuntimeError), transaction.atomic():
            Activity.objects.filter(pk=activity.pk).update(title="Never kept")
            raise RuntimeError("rolled back")
        for _ in range(3):
            transaction.on_commit(lambda: None)
            Activity.objects.filter(pk=activity.pk).update(title="Kept (made for tests)")
    assert _generation() == before + 1
    with transaction.atomic(), pytest.raises(RuntimeError), transaction.atomic():
        Activity.objects.filter(pk=activity.pk).update(title="Never kept")
        raise RuntimeError("rolled back")
    assert _generation() == before + 1


def test_writes_to_tables_no_answer_holds_leave_the_cached_answers(site):
    before = _generation()
    session = SessionStore()
    session["seen"] = True
    session.save()
    assert _generation() == before
    _record(site, "Workshop (made for tests)")
    assert _generation() > before


def test_signed_in_callers_are_never_answered_from_the_cache_nor_fill_it(site, client):
    _record(site, "Public workshop (made for tests)")
    _record(site, "Confidential workshop (made for tests)", level="confidential")
    public = ["Public workshop (made for tests)"]
    assert _titles(client) == public  # kept for the public

    _token, key = ApiToken.issue(site.user("editor_a"), "tests")
    everything = sorted(["Public workshop (made for tests)", "Confidential workshop (made for tests)"])
    assert _titles(client, HTTP_AUTHORIZATION=f"Bearer {key}") == everything
    client.force_login(site.user("editor_a"))
    assert _titles(client) == everything
    client.logout()

    assert _titles(client) == public  # what they saw was not kept for the public
    # A wrong token is refused, not answered with the public's kept answer.
    assert client.get(LIST, HTTP_AUTHORIZATION="Bearer cm_wrong").status_code == 401


def test_the_publics_matrix_page_is_kept_and_follows_the_records(site, client, django_assert_max_num_queries):
    activity = _record(site, "Workshop on the 1999 Convention (made for tests)")
    page = client.get("/matrix/")
    assert "Workshop on the 1999 Convention" in page.content.decode()
    assert not page.cookies, "the public's matrix page sets no cookie, so that it can be kept"
    with django_assert_max_num_queries(2):
        again = client.get("/matrix/")
    assert again.content == page.content
    assert again["Content-Security-Policy"] == page["Content-Security-Policy"]

    Activity.objects.filter(pk=activity.pk).update(title="Renamed workshop (made for tests)")
    assert "Renamed workshop" in client.get("/matrix/").content.decode()
    # An htmx request is answered with a part of the page: kept apart from the whole page.
    part = client.get("/matrix/", HTTP_HX_REQUEST="true")
    assert part.content != client.get("/matrix/").content


def test_a_signed_in_page_is_never_kept_nor_answered_from_the_cache(site, client):
    _record(site, "Confidential workshop (made for tests)", level="confidential")
    assert "Confidential workshop" not in client.get("/matrix/").content.decode()
    client.force_login(site.user("editor_a"))
    assert "Confidential workshop" in client.get("/matrix/").content.decode()
    client.logout()
    client.cookies.clear()
    assert "Confidential workshop" not in client.get("/matrix/").content.decode()


def _answer(**headers):
    response = HttpResponse("<p>public</p>")
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


@pytest.mark.parametrize(
    ("response", "why"),
    [
        (_answer(), None),
        (_answer(Vary="Cookie, Accept-Language"), None),
        (_answer(Cache_Control="private, no-store"), "never_cache or a signed-in answer"),
        (_answer(Content_Security_Policy="script-src 'self' 'nonce-abc'"), "a nonce is fresh each time"),
        (_answer(Content_Disposition='attachment; filename="matrix.xlsx"'), "a download's cover dates it"),
        (_answer(Vary="User-Agent"), "varies on a header the key does not hold"),
        (HttpResponse("x" * 1_000_001), "too large"),
        (HttpResponse("gone", status=404), "not found"),
    ],
)
def test_what_may_be_kept(rf, response, why):
    request = rf.get("/matrix/")
    assert public_cache.cacheable(request, response) is (why is None), why


def test_an_answer_that_sets_a_cookie_is_not_kept(rf):
    # A page that uses the CSRF token sets its cookie: a kept copy would carry one visitor's token
    # to the next.
    response = _answer()
    response.set_cookie("csrftoken", "abc")
    assert not public_cache.cacheable(rf.get("/matrix/"), response)


@pytest.mark.parametrize(
    ("cookies", "headers", "path", "public"),
    [
        ({}, {}, "/matrix/", True),
        ({"csrftoken": "x", "django_language": "fr"}, {}, "/api/v1/states", True),
        ({"sessionid": "x"}, {}, "/matrix/", False),
        ({"messages": "x"}, {}, "/matrix/", False),
        ({}, {"HTTP_AUTHORIZATION": "Bearer cm_x"}, "/api/v1/states", False),
        ({}, {}, "/accounts/login/", False),
        ({}, {}, "/healthz", False),
    ],
)
def test_who_is_the_public(rf, cookies, headers, path, public):
    request = rf.get(path, **headers)
    request.COOKIES.update(cookies)
    assert public_cache.is_public_request(request) is public


def test_errors_are_not_kept(site, client):
    assert client.get("/api/v1/activities?state=NOWHERE").status_code == 422
    _record(site, "Workshop (made for tests)")
    assert client.get("/api/v1/activities/999999").status_code == 404
    assert not [key for key in _kept_keys() if key.startswith(":1:public:")]


def _kept_keys():
    with connection.cursor() as cursor:
        cursor.execute("SELECT cache_key FROM coopmatrix_cache")
        return [row[0] for row in cursor.fetchall()]


@pytest.mark.parametrize(
    ("sql", "table"),
    [
        ('INSERT INTO "matrix_activity" ("title") VALUES (%s)', "matrix_activity"),
        ('UPDATE "matrix_activity" SET "title" = %s', "matrix_activity"),
        ('  DELETE FROM "geo_state" WHERE id = 1', "geo_state"),
        ('TRUNCATE "core_job", "matrix_activity"', "*"),
        ("INSERT OR REPLACE INTO coopmatrix_cache VALUES (1)", "coopmatrix_cache"),
        ('UPDATE ONLY public."matrix_activity" SET x = 1', "matrix_activity"),
        ('ALTER TABLE "matrix_activity" ADD COLUMN "x" integer', "*"),
        ('SELECT "title" FROM "matrix_activity" WHERE "title" = \'UPDATE x\'', None),
        ("SAVEPOINT s1", None),
        ("", None),
    ],
)
def test_the_table_a_statement_writes_to(sql, table):
    assert public_cache.written_table(sql) == table


def test_clear_public_cache_moves_the_generation(site):
    from io import StringIO

    from django.core.management import call_command

    before = _generation()
    out = StringIO()
    call_command("clear_public_cache", stdout=out)
    assert _generation() == before + 1
    assert f"{before} → {before + 1}" in out.getvalue()


def test_every_public_page_and_answer_from_the_cache_equals_the_one_made(site, client):
    """Walk the home page's links and every API list, as the public: whatever is answered from
    the cache is byte for byte what was made, headers included."""
    import html
    import re

    from django.test.utils import CaptureQueriesContext

    _record(site, "Workshop on the 1999 Convention (made for tests)")
    home = client.get("/").content.decode()
    pages = {html.unescape(link) for link in re.findall(r'href="(/[^"#]*)"', home)}
    document = client.get("/api/v1/openapi.json").json()
    answers = {"/api/v1" + path for path, operations in document["paths"].items() if "get" in operations}
    kept = 0
    for url in sorted(pages | {a for a in answers if "{" not in a}):
        if url.startswith(("/static/", "/accounts/", "/admin/", "/me/")):
            continue
        made = client.get(url)
        with CaptureQueriesContext(connection) as asked:
            again = client.get(url)
        if len(asked) > 2:
            continue  # not kept (it sets a cookie, is a download, …): made again
        kept += 1
        assert (again.status_code, again.content) == (made.status_code, made.content), url
        assert sorted(again.items()) == sorted(made.items()), url
    assert kept >= 15, f"only {kept} addresses were answered from the cache"
