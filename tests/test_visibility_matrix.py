"""Roles × endpoints: every role sees exactly the records it may, on every kind of endpoint.

An app adds its endpoints to ENDPOINTS (records, who sees what, where they are listed) and the
tests below check page list, page detail, API list, API detail, CSV export, counts and search.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from coopmatrix.core.models import Confidentiality
from coopmatrix.core.testing import ROLES, Endpoints, labels_in_export, login, share
from coopmatrix.directory.models import Contact, Membership, Organization
from coopmatrix.matrix.models import Activity, ActivityProvider, Programme, Request
from coopmatrix.treaties.models import Instrument, TreatyAction

PUBLIC, RESTRICTED, CONFIDENTIAL = (
    Confidentiality.PUBLIC,
    Confidentiality.RESTRICTED,
    Confidentiality.CONFIDENTIAL,
)
EVERYTHING = {"public", "restricted", "a_conf", "a_shared_b", "a_shared_x", "b_conf"}
SEEN_BY = {
    "anonymous": {"public"},
    "reader": {"public", "restricted"},
    "editor_a": {"public", "restricted", "a_conf", "a_shared_b", "a_shared_x"},
    "editor_b": {"public", "restricted", "a_shared_b", "b_conf"},
    "focal_point": {"public", "restricted", "a_shared_x"},
    "secretariat": EVERYTHING,
    "administrator": EVERYTHING,
}


def _levels(cast, make):
    """The six records of the pattern: public, restricted, A's confidential, shared with B / with X, B's."""
    records = {
        "public": make("public", PUBLIC, cast.org_a),
        "restricted": make("restricted", RESTRICTED, cast.org_a),
        "a_conf": make("a-conf", CONFIDENTIAL, cast.org_a),
        "a_shared_b": make("a-shared-b", CONFIDENTIAL, cast.org_a),
        "a_shared_x": make("a-shared-x", CONFIDENTIAL, cast.org_a),
        "b_conf": make("b-conf", CONFIDENTIAL, cast.org_b),
    }
    share(records["a_shared_b"], organization=cast.org_b)
    share(records["a_shared_x"], state=cast.state_x)
    return records


def organizations(cast):
    def make(key, level, owner):
        return Organization.objects.create(
            code=f"mx-{key}",
            name=f"MX organization {key}",
            kind="institute",
            confidentiality=level,
            owner=owner,
        )

    records = _levels(cast, make)
    # An agency of State X kept by organization B: X's own record, so X's focal point sees it.
    records["x_agency"] = Organization.objects.create(
        code="mx-x-agency",
        name="MX organization x-agency",
        kind="national_agency",
        state=cast.state_x,
        confidentiality=CONFIDENTIAL,
        owner=cast.org_b,
    )
    return records


def memberships(cast):
    host = Organization.objects.create(code="mx-host", name="MX host", kind="regional")
    hidden_host = Organization.objects.create(
        code="mx-hidden",
        name="MX hidden host",
        kind="regional",
        confidentiality=CONFIDENTIAL,
        owner=cast.org_b,
    )

    days = iter(range(1, 28))

    def make(key, level, owner):
        return Membership.objects.create(
            organization=host,
            state=cast.state_y,
            kind="member",
            note=f"MX {key}",
            joined=f"2001-01-{next(days):02d}",
            confidentiality=level,
            owner=owner,
            source=f"MX {key}",
        )

    records = _levels(cast, make)
    # A public membership of a confidential organization is seen only by those who see the organization.
    records["hidden_host"] = Membership.objects.create(
        organization=hidden_host, state=cast.state_y, joined="2002-02-02", confidentiality=PUBLIC
    )
    return records


def instruments(cast):
    def make(key, level, owner):
        return Instrument.objects.create(
            code=f"mx-{key}",
            short_title=f"MX instrument {key}",
            title=key,
            adopted="2001-01-01",
            adopted_place="Testville",
            depositary="test",
            in_force_rule="on_deposit",
            confidentiality=level,
            owner=owner,
        )

    return _levels(cast, make)


def programmes(cast):
    def make(key, level, owner):
        return Programme.objects.create(
            code=f"mx-{key}",
            title=f"MX programme {key}",
            organization=cast.org_a,
            confidentiality=level,
            owner=owner,
        )

    return _levels(cast, make)


def activities(cast):
    def make(key, level, owner):
        activity = Activity.objects.create(
            title=f"MX activity {key}",
            modality="workshop",
            status="planned",
            confidentiality=level,
            owner=owner,
        )
        ActivityProvider.objects.create(activity=activity, organization=cast.org_a, role="implementing")
        activity.recipient_states.add(cast.state_y)
        return activity

    return _levels(cast, make)


def requests(cast):
    def make(key, level, owner):
        return Request.objects.create(
            state=cast.state_y,
            title=f"MX request {key}",
            received="2004-01-05",
            channel="direct",
            confidentiality=level,
            owner=owner,
        )

    records = _levels(cast, make)
    # A request of State X is that State's own record: its focal point sees it whoever keeps it.
    records["x_request"] = Request.objects.create(
        state=cast.state_x,
        title="MX request x-request",
        received="2004-01-06",
        channel="committee",
        confidentiality=CONFIDENTIAL,
        owner=cast.org_b,
    )
    return records


def treaty_actions(cast):
    instrument = Instrument.objects.get(code="terrorist-financing-1999")
    days = iter(range(1, 28))

    def make(key, level, owner, state=None):
        return TreatyAction.objects.create(
            state=state or cast.state_y,
            instrument=instrument,
            action="signature",
            deposited=f"2001-03-{next(days):02d}",
            confidentiality=level,
            owner=owner,
            source=f"MX treaty {key}",
        )

    records = _levels(cast, make)
    # State X's own action: its focal point sees it whoever keeps it.
    records["x_action"] = make("x-action", CONFIDENTIAL, cast.org_b, state=cast.state_x)
    return records


def contacts(cast):
    def make(key, level, owner):
        return Contact.objects.create(
            function=f"MX contact {key}", organization=owner, confidentiality=level, owner=owner
        )

    records = _levels(cast, make)
    # Organization A's own entry kept by B: A's users see it, as B's do, whoever keeps it.
    records["a_kept_by_b"] = Contact.objects.create(
        function="MX contact a-kept-by-b",
        organization=cast.org_a,
        confidentiality=CONFIDENTIAL,
        owner=cast.org_b,
    )
    # State X's own contact (its ministry's), kept by B: X's focal point sees it whoever keeps it.
    records["x_contact"] = Contact.objects.create(
        function="MX contact x-contact", state=cast.state_x, confidentiality=CONFIDENTIAL, owner=cast.org_b
    )
    # A public entry of a confidential organization is seen only by those who see the organization.
    hidden = Organization.objects.create(
        code="mx-contact-hidden",
        name="MX hidden",
        kind="regional",
        confidentiality=CONFIDENTIAL,
        owner=cast.org_b,
    )
    records["hidden_org"] = Contact.objects.create(
        function="MX contact hidden-org", organization=hidden, confidentiality=PUBLIC
    )
    return records


def _with(extra):
    return {role: seen | extra.get(role, set()) for role, seen in SEEN_BY.items()}


ENDPOINTS = [
    Endpoints(
        name="organizations",
        records=organizations,
        expected=_with(
            {role: {"x_agency"} for role in ("editor_b", "focal_point", "secretariat", "administrator")}
        ),
        label=lambda o: o.name,
        list_url=reverse("directory:organization_list") + "?q=MX",
        detail_url=lambda o: o.get_absolute_url(),
        api_list_url="/api/v1/organizations?q=MX",
        api_detail_url=lambda o: f"/api/v1/organizations/{o.code}",
        export_url=reverse("directory:organization_export") + "?q=MX",
        api_key=lambda item: item["name"],
        export_key=lambda row: row["name"],
        search_url="/search/?q=MX organization",
    ),
    Endpoints(
        name="memberships",
        records=memberships,
        expected=_with(
            {"editor_b": {"hidden_host"}, "secretariat": {"hidden_host"}, "administrator": {"hidden_host"}}
        ),
        label=lambda m: str(m.joined),
        list_url=reverse("directory:membership_list") + "?state=XXB",
        detail_url=lambda m: m.get_absolute_url(),
        api_list_url="/api/v1/memberships?state=XXB",
        api_detail_url=lambda m: f"/api/v1/memberships/{m.pk}",
        export_url=reverse("directory:membership_export") + "?state=XXB",
        api_key=lambda item: item["joined"],
        export_key=lambda row: row["joined"],
    ),
    Endpoints(
        name="instruments",
        records=instruments,
        expected=SEEN_BY,
        label=lambda i: i.short_title,
        list_url=reverse("treaties:instrument_list") + "?q=MX",
        detail_url=lambda i: i.get_absolute_url(),
        api_list_url="/api/v1/instruments?q=MX",
        api_detail_url=lambda i: f"/api/v1/instruments/{i.code}",
        export_url=reverse("treaties:instrument_export") + "?q=MX",
        api_key=lambda item: item["short_title"],
        export_key=lambda row: row["short_title"],
    ),
]
ENDPOINTS += [
    Endpoints(
        name="programmes",
        records=programmes,
        expected=SEEN_BY,
        label=lambda p: p.title,
        list_url=reverse("matrix:programme_list") + "?q=MX",
        detail_url=lambda p: p.get_absolute_url(),
        api_list_url="/api/v1/programmes?q=MX",
        api_detail_url=lambda p: f"/api/v1/programmes/{p.code}",
        export_url=reverse("matrix:programme_export") + "?q=MX",
        api_key=lambda item: item["title"],
        export_key=lambda row: row["title"],
    ),
    Endpoints(
        name="activities",
        records=activities,
        expected=SEEN_BY,
        label=lambda a: a.title,
        list_url=reverse("matrix:activity_list") + "?q=MX",
        detail_url=lambda a: a.get_absolute_url(),
        api_list_url="/api/v1/activities?q=MX",
        api_detail_url=lambda a: f"/api/v1/activities/{a.pk}",
        export_url=reverse("matrix:activity_export") + "?q=MX",
        api_key=lambda item: item["title"],
        export_key=lambda row: row["title"],
    ),
    Endpoints(
        name="requests",
        records=requests,
        expected=_with(
            {role: {"x_request"} for role in ("editor_b", "focal_point", "secretariat", "administrator")}
        ),
        label=lambda r: r.title,
        list_url=reverse("matrix:request_list") + "?q=MX",
        detail_url=lambda r: r.get_absolute_url(),
        api_list_url="/api/v1/requests?q=MX",
        api_detail_url=lambda r: f"/api/v1/requests/{r.pk}",
        export_url=reverse("matrix:request_export") + "?q=MX",
        api_key=lambda item: item["title"],
        export_key=lambda row: row["title"],
    ),
]
ENDPOINTS += [
    Endpoints(
        name="treaty actions",
        records=treaty_actions,
        expected=_with(
            {role: {"x_action"} for role in ("editor_b", "focal_point", "secretariat", "administrator")}
        ),
        label=lambda a: a.source,
        list_url=reverse("treaties:action_list") + "?q=MX+treaty",
        detail_url=lambda a: a.get_absolute_url(),
        api_list_url="/api/v1/treaty-actions?q=MX+treaty",
        api_detail_url=lambda a: f"/api/v1/treaty-actions/{a.pk}",
        export_url=reverse("treaties:action_export") + "?q=MX+treaty",
        api_key=lambda item: item["source"],
        export_key=lambda row: row["source"],
    ),
]
ENDPOINTS += [
    Endpoints(
        name="contacts",
        records=contacts,
        expected=_with(
            {
                "editor_a": {"a_kept_by_b"},
                "editor_b": {"x_contact", "hidden_org", "a_kept_by_b"},
                "focal_point": {"x_contact"},
                "secretariat": {"x_contact", "hidden_org", "a_kept_by_b"},
                "administrator": {"x_contact", "hidden_org", "a_kept_by_b"},
            }
        ),
        label=lambda c: c.function,
        list_url=reverse("directory:contact_list") + "?q=MX+contact",
        detail_url=lambda c: c.get_absolute_url(),
        api_list_url="/api/v1/contacts?q=MX+contact",
        api_detail_url=lambda c: f"/api/v1/contacts/{c.pk}",
        export_url=reverse("directory:contact_export") + "?q=MX+contact",
        api_key=lambda item: item["function"],
        export_key=lambda row: row["function"],
        search_url="/search/?q=MX contact",
    ),
]
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
    # A new confidential model must join ENDPOINTS; this fails until it does.
    from django.apps import apps

    from coopmatrix.core.models import ConfidentialRecord

    confidential = {m for m in apps.get_models() if issubclass(m, ConfidentialRecord)}
    covered = {Organization, Membership, Contact, Instrument, Programme, Activity, Request, TreatyAction}
    assert confidential == covered


REQUESTS = next(ep for ep in ENDPOINTS if ep.name == "requests")


@pytest.mark.parametrize("role", ROLES)
def test_referrals_follow_their_request_and_their_provider(cast, client, role):
    from coopmatrix.matrix.models import Referral

    records = requests(cast)
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
    shown_activities, shown_requests = activities(cast), requests(cast)
    login(client, cast.user(role))
    page = client.get(f"/matrix/states/{cast.state_y.code}/").content.decode()
    assert {k for k, a in shown_activities.items() if a.title in page} == SEEN_BY[role]
    expected_requests = REQUESTS.expected[role] - {"x_request"}  # State X's request is not State Y's
    assert {k for k, r in shown_requests.items() if r.title in page} == expected_requests


CONTACTS = next(ep for ep in ENDPOINTS if ep.name == "contacts")


@pytest.mark.parametrize("role", ROLES)
def test_contacts_follow_the_rule_in_every_format_and_on_every_page(cast, client, role):
    """vCard (one and many), XLSX, the organization's page, the State's page and who to contact."""
    import io

    from openpyxl import load_workbook

    records = contacts(cast)
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
    records = instruments(cast)
    login(client, cast.user(role))
    for url in ("/matrix/", "/treaty-actions/"):
        page = client.get(url).content.decode()
        assert {k for k, i in records.items() if f">{i.short_title}<" in page} == SEEN_BY[role], url
    if role in ("editor_a", "editor_b"):
        form = client.get("/activities/new/").content.decode()
        assert {k for k, i in records.items() if i.short_title in form} == SEEN_BY[role]
