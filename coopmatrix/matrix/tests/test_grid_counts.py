"""The grid's kept counts give the same answer as counting the records, for every role and filter."""

import re

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import RequestFactory

from coopmatrix.core.roles import principal_for
from coopmatrix.core.testing import ROLES, at_once, login, share
from coopmatrix.matrix import actions, counts, grid
from coopmatrix.matrix.filtersets import ActivityFilterSet
from coopmatrix.matrix.models import Activity, CountedActivity, GridCount

GRIDS = [
    ("", "state", "thematic_area"),
    ("status=ongoing&status=planned", "subregion", "thematic_area"),
    ("region=142&status=completed", "subregion", "thematic_area"),
    ("region=142", "region", "provider"),
    ("state=KGZ&modality=legislative_advice", "state", "provider"),
    ("thematic_area=ratification-legislation", "region", "thematic_area"),
    ("provider=unodc", "subregion", "provider"),
    ("provider=unodc&status=completed", "region", "thematic_area"),  # not a column filter here
    ("region=143", "region", "thematic_area"),  # a row around the filter
    ("q=workshop", "subregion", "thematic_area"),
]


@pytest.fixture
def confidential(cast, reference):
    """Confidential work of A, B's shared with A and with State X, and restricted work of B."""
    editor_a, editor_b = cast.user("editor_a"), cast.user("editor_b")
    base = {
        "modality": "legislative_advice",
        "status": "completed",
        "thematic_areas": ["ratification-legislation"],
    }
    of_a = actions.save_activity(
        editor_a,
        {
            **base,
            "title": "Confidential drafting help in Central Asia (made for tests)",
            "recipient_states": ["KGZ", "KAZ"],
            "providers": [{"organization": "test-org-a", "role": "implementing"}],
            "confidentiality": "confidential",
        },
    )
    # B's record naming another organization as provider: the secretariat attributes it.
    of_b = actions.save_activity(
        cast.user("secretariat"),
        {
            **base,
            "title": "Confidential mentoring in Kyrgyzstan, shared (made for tests)",
            "recipient_states": ["KGZ"],
            "providers": [{"organization": "unodc-tpb", "role": "partner"}],
            "confidentiality": "confidential",
            "owner": "test-org-b",
        },
    )
    share(of_b, organization=cast.org_a)
    share(of_b, state=cast.state_x)
    actions.save_activity(
        editor_b,
        {
            **base,
            "title": "Restricted seminar for South-eastern Asia (made for tests)",
            "recipient_regions": [35],
            "providers": [{"organization": "test-org-b", "role": "implementing"}],
            "confidentiality": "restricted",
        },
    )
    return of_a, of_b


def _count(user, query: str, rows_by: str, cols_by: str, summary: bool) -> grid.Counts:
    request = RequestFactory().get("/matrix/grid/?" + query)
    request.user = user
    visible = Activity.objects.visible_to(user)
    filterset = ActivityFilterSet(request.GET, queryset=visible, request=request)
    assert filterset.is_valid(), filterset.errors
    return grid.count(filterset, rows_by, cols_by, principal_for(user), summary=summary)


@pytest.mark.parametrize("role", ROLES)
def test_kept_counts_equal_counts_from_the_records_for_every_role(cast, confidential, role):
    from django.contrib.auth.models import AnonymousUser

    user = cast.user(role) or AnonymousUser()
    for query, rows_by, cols_by in GRIDS:
        kept = _count(user, query, rows_by, cols_by, summary=True)
        recounted = _count(user, query, rows_by, cols_by, summary=False)
        assert kept.cells == recounted.cells, (role, query, rows_by, cols_by)
        assert kept.cells, (role, query)


def test_which_views_the_kept_counts_answer(cast, confidential):
    user = cast.user("editor_a")
    answered = {(q, r, c): _count(user, q, r, c, summary=True).from_summary for q, r, c in GRIDS}
    assert answered[("region=142&status=completed", "subregion", "thematic_area")]
    assert answered[("provider=unodc", "subregion", "provider")]
    # Words in the text, a row around the filter, or a provider filter on area columns: recounted.
    assert not answered[("q=workshop", "subregion", "thematic_area")]
    assert not answered[("region=143", "region", "thematic_area")]
    assert not answered[("provider=unodc&status=completed", "region", "thematic_area")]


def test_confidential_work_counts_only_for_those_who_may_read_it(cast, confidential):
    query, rows_by, cols_by = "state=KGZ&thematic_area=ratification-legislation", "state", "thematic_area"

    def kyrgyzstan(role):
        from django.contrib.auth.models import AnonymousUser

        cells = _count(cast.user(role) or AnonymousUser(), query, rows_by, cols_by, summary=True).cells
        return next(iter(cells.values()))

    public = kyrgyzstan("anonymous")
    assert kyrgyzstan("reader") == public
    assert kyrgyzstan("editor_a") == public + 2  # its own, and B's shared with A
    assert kyrgyzstan("editor_b") == public + 1  # its own
    assert kyrgyzstan("focal_point") == public + 1  # B's, shared with State X
    assert kyrgyzstan("secretariat") == public + 2


@pytest.mark.parametrize("role", ["anonymous", "editor_a"])
@pytest.mark.parametrize(
    "query",
    [
        "rows=subregion&region=142&status=completed",
        "rows=region&cols=provider&region=142",
        "rows=region&region=143",
        "cols=provider&state=KGZ",
    ],
)
def test_every_cell_links_to_a_table_of_as_many_activities(client, cast, confidential, role, query):
    login(client, cast.user(role))
    page = client.get("/matrix/grid/?" + query).content.decode()
    cells = re.findall(r'<a href="/matrix/\?([^"]+)" data-cell="[^"]+">(\d+)</a>', page)
    assert cells
    for link, n in cells:
        table = client.get("/matrix/?" + link.replace("&amp;", "&")).content.decode()
        assert f'<span data-testid="count">{n}</span>' in table, (link, n)


def test_a_region_filter_keeps_the_rows_inside_it(client, reference):
    page = client.get("/matrix/grid/?rows=subregion&region=142").content.decode()
    assert 'data-cell="143/' in page  # Central Asia
    assert 'data-cell="154/' not in page  # Northern Europe: Central Asian workshops reached it too


def test_counts_follow_every_door_and_a_rebuild_repairs_what_bypassed_them(cast, confidential):
    of_a, of_b = confidential
    # Changes through the model layer (a console session, the admin) are followed by signals.
    of_a.status = "ongoing"
    of_a.save()
    of_a.thematic_areas.clear()
    of_b.provider_roles.all().delete()
    of_b.delete()
    assert counts.drift() == {}
    # A bulk UPDATE in SQL bypasses them: the check names the cells, the rebuild repairs them.
    Activity.objects.filter(pk=of_a.pk).update(status="cancelled")
    assert counts.drift()
    with pytest.raises(CommandError, match="grid cells differ from the records"):
        call_command("rebuild_counts", "--check")
    call_command("rebuild_counts")
    assert counts.drift() == {}
    assert GridCount.objects.filter(status="cancelled", owner_id=cast.org_a.pk).exclude(n=0).exists()


@pytest.mark.parametrize("role", ROLES)
def test_the_tables_count_from_the_kept_counts_equals_counting_the_records(cast, confidential, role):
    from django.contrib.auth.models import AnonymousUser

    user = cast.user(role) or AnonymousUser()
    answered = 0
    queries = [
        "state=KGZ",
        "region=142&status=completed",
        "region=143",
        "region=2&modality=workshop",
        "",
        "status=ongoing&modality=workshop",
        "status=completed",
        "state=KGZ&region=143",  # two places: counted from the records
    ]
    for query in queries:
        request = RequestFactory().get("/matrix/?" + query)
        request.user = user
        filterset = ActivityFilterSet(
            request.GET, queryset=Activity.objects.visible_to(user), request=request
        )
        assert filterset.is_valid()
        known = grid.total(filterset, principal_for(user))
        if known is not None:
            answered += 1
            assert known == filterset.qs.count(), (role, query)
    assert answered == 7  # the world too (a row of its own: its regions' counts overlap)


def test_the_table_shows_the_exact_count_it_knows(client, cast, confidential):
    login(client, cast.user("editor_a"))
    page = client.get("/matrix/?state=KGZ&status=completed").content.decode()
    request = RequestFactory().get("/?state=KGZ&status=completed")
    request.user = cast.user("editor_a")
    expected = ActivityFilterSet(
        request.GET, queryset=Activity.objects.visible_to(request.user), request=request
    ).qs.count()
    assert f'<span data-testid="count">{expected}</span>' in page
    # Words in the text are not in the kept counts: counted from the records, the same way.
    assert client.get("/matrix/?q=workshop").status_code == 200


@pytest.mark.parametrize("role", ["anonymous", "editor_a"])
@pytest.mark.parametrize(
    "query",
    [
        "",
        "rows=region&cols=provider&region=142",
        "cols=provider&state=KGZ",
        "thematic_area=ratification-legislation&thematic_area=criminal-justice",
    ],
)
def test_every_total_links_to_a_table_of_as_many_activities(client, cast, confidential, role, query):
    """Issue 15: totals per row and column, each the number its list holds."""
    login(client, cast.user(role))
    page = client.get("/matrix/grid/?" + query).content.decode()
    totals = re.findall(
        r'<a href="/matrix/\??([^"]*)" data-(?:row-total|col-total|testid="grid-total)[^>]*>(\d+)</a>', page
    )
    assert len(totals) >= 3, "a grid without totals per row, per column and in all"
    for link, n in totals:
        # The list's results as its filters fetch them (the page around them is the same for all).
        url = "/matrix/?" + link.replace("&amp;", "&")
        table = client.get(url, headers={"HX-Request": "true"}).content.decode()
        assert f'<span data-testid="count">{n}</span>' in table, (link, n)


def test_a_total_counts_each_activity_once(client, cast, reference):
    """An activity in two thematic areas and two States is one activity in its row, its column
    and the grid: totals are not the sums of their cells."""
    actions.save_activity(
        cast.user("secretariat"),
        {
            "title": "Two areas, two States (made for tests)",
            "recipient_states": ["KGZ", "TJK"],
            "thematic_areas": ["ratification-legislation", "criminal-justice"],
            "providers": [{"organization": "test-org-a", "role": "implementing"}],
            "modality": "workshop",
            "status": "planned",
            "confidentiality": "public",
        },
    )
    page = client.get("/matrix/grid/?q=Two+areas%2C+two+States").content.decode()
    cells = [int(n) for n in re.findall(r'data-cell="[^"]+">(\d+)</a>', page)]
    assert cells == [1, 1, 1, 1]
    assert re.search(r'data-row-total="KGZ">1<', page)
    assert re.search(r'data-row-total="TJK">1<', page)
    assert re.search(r'data-col-total="criminal-justice">1<', page)
    assert re.search(r'data-testid="grid-total">1<', page)


def test_the_heat_scale_shades_cells_by_their_count_with_a_legend():
    assert [grid.heat_level(n, 12) for n in (0, 1, 3, 6, 12)] == [0, 1, 1, 3, 6]
    assert grid.heat_level(1, 1) == grid.HEAT_LEVELS
    legend = grid.heat_legend(12)
    assert legend[0][1] == 1 and legend[-1] == (6, 12, 12)
    # Every count from 1 to the highest is in exactly one step of the legend.
    covered = [n for _, low, high in legend for n in range(low, high + 1)]
    assert covered == list(range(1, 13))


@pytest.mark.django_db(transaction=True)
def test_two_saves_of_an_activity_at_once_keep_its_counts(reference):
    """Two users save one activity at the same moment: the second's count waits on the first's
    lock on what the activity was counted as, then reads what the first wrote there (a row
    deleted and made again was gone for it: it counted the activity twice, and its own row
    collided with the first's)."""
    activity = Activity.objects.exclude(status="ongoing").order_by("pk").first()

    def first():
        Activity.objects.filter(pk=activity.pk).update(status="ongoing")
        counts.refresh([activity.pk])

    at_once(first, lambda: counts.refresh([activity.pk]))
    assert counts.drift() == {}
    assert CountedActivity.objects.get(activity_id=activity.pk).counted_as["status"] == "ongoing"
