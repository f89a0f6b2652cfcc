"""Roles × endpoints: every role sees exactly the records it may, on every kind of endpoint.

Each app declares its rows (records, who sees what, where they are listed) in a module named by
its AppConfig's `visibility_rows` (e.g. coopmatrix/matrix/tests/visibility.py); the tests below
check page list, page detail, API list, API detail, CSV export, counts and search for each row.
"""

from __future__ import annotations

import pytest

from coopmatrix.core.models import Confidentiality
from coopmatrix.core.testing import ROLES, SEEN_BY, labels_in_export, login, visibility_rows
from coopmatrix.directory.models import Organization

CONFIDENTIAL = Confidentiality.CONFIDENTIAL
ENDPOINTS = visibility_rows()
ROWS = {row.name: row for row in ENDPOINTS}


CASES = [(role, ep) for ep in ENDPOINTS for role in ROLES]
IDS = [f"{ep.name}-{role}" for role, ep in CASES]


@pytest.fixture
def world(cast, client, request):
    role, endpoints = request.param
    records = endpoints.records(cast)
    login(client, cast.user(role))
    expected = endpoints.expected[role]
    assert expected <= set(records), "the matrix names a record the fixture does not make"
    return client, endpoints, records, expected


def _labels(endpoints, records, keys):
    return {endpoints.label(records[k]) for k in keys}


@pytest.mark.parametrize("world", CASES, ids=IDS, indirect=True)
def test_list_page_shows_exactly_what_the_role_may_see(world):
    client, ep, records, expected = world
    response = client.get(ep.list_url)
    assert response.status_code == 200
    page = response.content.decode()
    shown = {key for key, record in records.items() if ep.label(record) in page}
    assert shown == expected
    assert f'<span data-testid="count">{len(expected)}</span>' in page


@pytest.mark.parametrize("world", CASES, ids=IDS, indirect=True)
def test_detail_pages_open_only_for_visible_records(world):
    client, ep, records, expected = world
    opened = {key for key, record in records.items() if client.get(ep.detail_url(record)).status_code == 200}
    refused = {key for key, record in records.items() if client.get(ep.detail_url(record)).status_code == 404}
    assert opened == expected
    assert refused == set(records) - expected


@pytest.mark.parametrize("world", CASES, ids=IDS, indirect=True)
def test_api_list_and_count_match_the_rule(world):
    client, ep, records, expected = world
    body = client.get(ep.api_list_url).json()
    assert {ep.api_key(item) for item in body["items"]} == _labels(ep, records, expected)
    assert body["count"] == len(expected)


@pytest.mark.parametrize("world", CASES, ids=IDS, indirect=True)
def test_api_detail_answers_only_for_visible_records(world):
    client, ep, records, expected = world
    statuses = {key: client.get(ep.api_detail_url(record)).status_code for key, record in records.items()}
    assert {k for k, s in statuses.items() if s == 200} == expected
    assert {k for k, s in statuses.items() if s == 404} == set(records) - expected


@pytest.mark.parametrize("world", CASES, ids=IDS, indirect=True)
def test_export_holds_exactly_the_visible_records(world):
    client, ep, records, expected = world
    response = client.get(ep.export_url)
    assert response.status_code == 200
    assert labels_in_export(response, ep.export_key) == _labels(ep, records, expected)


@pytest.mark.parametrize(
    "world",
    [c for c in CASES if c[1].search_url],
    ids=[i for c, i in zip(CASES, IDS, strict=True) if c[1].search_url],
    indirect=True,
)
def test_search_finds_only_visible_records(world):
    client, ep, records, expected = world
    page = client.get(ep.search_url).content.decode()
    assert {key for key, record in records.items() if ep.label(record) in page} == expected


def test_every_listed_model_is_in_the_matrix():
    # A new confidential model must join its app's rows; this fails until it does. The rows are
    # found through the registry, from the installed apps, not from a list kept here.
    from django.apps import apps

    from coopmatrix.core.models import ConfidentialRecord

    confidential = {m._meta.label for m in apps.get_models() if issubclass(m, ConfidentialRecord)}
    listed = {row.model for row in ENDPOINTS}
    assert confidential <= listed
    # A row may also list records with no level of their own (possible overlaps), seen only with
    # the records they hang on.
    for label in listed - confidential:
        assert getattr(apps.get_model(label), "visibility_requires", ()), label


REQUESTS = ROWS["requests"]


@pytest.mark.parametrize("role", ROLES)
def test_referrals_follow_their_request_and_their_provider(cast, client, role):
    from coopmatrix.matrix.models import Referral

    records = ROWS["requests"].records(cast)
    hidden_provider = Organization.objects.create(
        code="mx-hidden-provider",
        name="MX hidden provider",
        kind="institute",
        confidentiality=CONFIDENTIAL,
        owner=cast.org_b,
    )
    referrals = {
        key: Referral.objects.create(request=r, provider=cast.org_a, referred_on="2004-01-10")
        for key, r in records.items()
    }
    behind_hidden = Referral.objects.create(
        request=records["public"], provider=hidden_provider, referred_on="2004-01-11"
    )
    login(client, cast.user(role))
    expected = REQUESTS.expected[role]
    opened = {
        key for key, ref in referrals.items() if client.get(f"/api/v1/referrals/{ref.pk}").status_code == 200
    }
    assert opened == expected
    listed = {
        key
        for key, r in records.items()
        if client.get(f"/api/v1/requests/{r.pk}/referrals").status_code == 200
    }
    assert listed == expected
    sees_provider = role in ("editor_b", "secretariat", "administrator")
    assert (client.get(f"/api/v1/referrals/{behind_hidden.pk}").status_code == 200) is sees_provider
    providers = {
        r["provider"] for r in client.get(f"/api/v1/requests/{records['public'].pk}/referrals").json()
    }
    assert ("mx-hidden-provider" in providers) is sees_provider


@pytest.mark.parametrize("role", ROLES)
def test_a_states_activities_and_requests_follow_the_rule(cast, client, role):
    """The section of a State's page that lists its activities and requests (loaded on its own)."""
    shown_activities, shown_requests = ROWS["activities"].records(cast), ROWS["requests"].records(cast)
    login(client, cast.user(role))
    page = client.get(f"/matrix/states/{cast.state_y.code}/").content.decode()
    assert {k for k, a in shown_activities.items() if a.title in page} == SEEN_BY[role]
    expected_requests = REQUESTS.expected[role] - {"x_request"}  # State X's request is not State Y's
    assert {k for k, r in shown_requests.items() if r.title in page} == expected_requests


CONTACTS = ROWS["contacts"]


@pytest.mark.parametrize("role", ROLES)
def test_contacts_follow_the_rule_in_every_format_and_on_every_page(cast, client, role):
    """vCard (one and many), XLSX, the organization's page, the State's page and who to contact."""
    import io

    from openpyxl import load_workbook

    records = ROWS["contacts"].records(cast)
    login(client, cast.user(role))
    expected = CONTACTS.expected[role]
    functions = {key: record.function for key, record in records.items()}

    def shown(text):
        return {key for key, function in functions.items() if function in text}

    opened = {k for k, c in records.items() if client.get(f"/contacts/{c.pk}/vcard/").status_code == 200}
    assert opened == expected
    assert shown(client.get("/contacts/export/?format=vcf&q=MX+contact").content.decode()) == expected
    book = load_workbook(
        io.BytesIO(b"".join(client.get("/contacts/export/?format=xlsx&q=MX+contact").streaming_content))
    )
    cells = " ".join(str(v) for row in book["Data"].iter_rows(values_only=True) for v in row)
    assert shown(cells) == expected
    org_page = client.get(cast.org_a.get_absolute_url())
    of_a = expected & {"public", "restricted", "a_conf", "a_shared_b", "a_shared_x", "a_kept_by_b"}
    assert shown(org_page.content.decode()) == of_a
    state_page = client.get(cast.state_x.get_absolute_url()).content.decode()
    assert shown(state_page) == expected & {"x_contact"}
    who = client.get(f"/api/v1/who-to-contact?state={cast.state_x.code}").json()
    assert {c["function"] for c in who["national"]} == {functions[k] for k in expected & {"x_contact"}}


@pytest.mark.parametrize("role", ROLES)
def test_filter_options_name_only_the_instruments_the_role_may_see(cast, client, role):
    """Options are records too: the matrix's and the treaty actions' filters, and the forms."""
    records = ROWS["instruments"].records(cast)
    login(client, cast.user(role))
    for url in ("/matrix/", "/treaty-actions/"):
        page = client.get(url).content.decode()
        assert {k for k, i in records.items() if f">{i.short_title}<" in page} == SEEN_BY[role], url
    if role in ("editor_a", "editor_b"):
        form = client.get("/activities/new/").content.decode()
        assert {k for k, i in records.items() if i.short_title in form} == SEEN_BY[role]


#: Models that point at confidential records but are not seen through them, each with its reason.
NOT_CHILDREN = {
    "core.Share": "the rule's own table of sharing; never listed to users",
    "accounts.Profile": "a user's own profile; edited in the admin by administrators only",
}


def test_every_record_hanging_on_a_confidential_one_is_seen_only_with_it():
    """A referral, a provider's role, a former name … has no level of its own: it declares the
    records it hangs on (`visibility_requires`) and `visible_to` narrows by them, so that a
    child's list cannot name a hidden parent. A new such model fails here until it declares them."""
    from django.apps import apps

    from coopmatrix.core.models import ConfidentialRecord

    undeclared = {}
    for model in apps.get_models():
        label = model._meta.label
        if not label.startswith(
            ("core.", "geo.", "vocabulary.", "directory.", "treaties.", "matrix.", "overlaps.", "accounts.")
        ):
            continue
        if (
            issubclass(model, ConfidentialRecord)
            or model.__name__.startswith("Historical")
            or label in NOT_CHILDREN
        ):
            continue
        parents = {
            f.name
            for f in model._meta.get_fields()
            if f.is_relation
            and not f.auto_created
            and isinstance(f.related_model, type)
            and issubclass(f.related_model, ConfidentialRecord)
        }
        missing = parents - set(getattr(model, "visibility_requires", ()))
        if missing or (parents and not hasattr(model.objects, "visible_to")):
            undeclared[label] = sorted(missing)
    assert undeclared == {}


@pytest.mark.parametrize("role", ROLES)
def test_referrals_and_provider_roles_are_seen_with_their_records(cast, role):
    from coopmatrix.matrix.models import ActivityProvider, Referral

    requests = ROWS["requests"].records(cast)
    activities = ROWS["activities"].records(cast)
    for request in requests.values():
        Referral.objects.create(request=request, provider=cast.org_a, referred_on="2004-01-10")
    user = cast.user(role)
    seen_requests = {r.request.title for r in Referral.objects.visible_to(user).select_related("request")}
    assert seen_requests == {requests[k].title for k in ROWS["requests"].expected[role]}
    seen_activities = {
        p.activity.title
        for p in ActivityProvider.objects.visible_to(user).filter(activity__title__startswith="MX")
    }
    assert seen_activities == {activities[k].title for k in ROWS["activities"].expected[role]}
