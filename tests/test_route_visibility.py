"""Visibility proven by route: every page and API operation, as every role, names nothing hidden.

The routes come from the URL resolver and the OpenAPI document, not from a list someone keeps:
a new route fails `test_every_route_is_walked_or_allowed_with_a_reason` until it is walked here
(its path parameters filled from the fixture's records) or allowed with a reason.

The fixture is the roles × endpoints matrix's records (tests/test_visibility_matrix.py): each is
marked "MX …" with a key (public, restricted, a-conf, b-conf …), and the matrix says which role
may see which key. Records hidden from a role hang off records it sees (a public activity of a
hidden programme, owned by a hidden organization; a public request referred to a hidden
provider), as they do in real data. Each response, page, CSV, XLSX, PDF, vCard or JSON, is read
as text and must not carry the marker of a record the role may not see: not in a row, an
`<option>`, a count's link, a history line or an error message.

Writes: every API write operation and every page that writes, as every role, answers a hidden
record exactly as it answers a missing one.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from coopmatrix.core.testing import ROLES, login, visibility_rows

#: Route prefixes not walked here, each with its reason.
ALLOWED_PREFIXES = {
    "admin/": "Django's admin is for administrators, who see every record (tests/test_api.py checks "
    "that no one else gets in)",
    "accounts/": "allauth's sign-in, sign-up and two-factor pages hold no records",
    "api/v1/": "the API is walked from its OpenAPI document below",
    "i18n/": "sets the language by POST; holds no records",
}
#: Routes with path parameters that the walk does not fill, each with its reason.
ALLOWED_ROUTES = {
    "directory:verify": "a signed one-time link for its holder; coopmatrix/directory/tests/"
    "test_contacts.py checks what it shows",
    "directory:send_verification": "POST only (secretariat); walked by the writes test",
    "matrix:unsubscribe": "POST only, the user's own subscription",
    "accounts:revoke_token": "POST only, the user's own token",
    "overlaps:verdict": "POST only; a hidden pair answers 404 as a missing one, for every role: "
    "coopmatrix/overlaps/tests/test_overlaps.py and the API writes below",
    "saved_view_change": "POST only, the user's own saved view (another's answers 404: "
    "tests/test_saved_views.py)",
}
#: More query strings per route, for the formats and views a page offers besides its default.
VARIANTS: dict[str, list[str]] = {
    "directory:contact_export": ["?format=csv", "?format=xlsx", "?format=vcf", "?format=pdf"],
    "treaties:table2": ["?instruments=all", "?instruments=all&format=csv", "?instruments=all&format=xlsx"],
    "treaties:map": ["?instruments=all"],
    "matrix:activity_xlsx": ["?q=MX", "?q=MX&layout=reader"],
    "matrix:charts": ["?q=MX"],
    "matrix:timeline": ["?group=provider", "?group=state", "?group=programme"],
    "matrix:activity_pdf": ["?q=MX"],
    "matrix:monthly": ["?month=2004-01&by=country", "?month=2004-01&by=subregion&format=xlsx"],
    "matrix:impact": ["?months=600"],
    "matrix:grid": ["?rows=state"],
    # The contributions of funding's rows go through this fund: a hidden one must not be counted,
    # nor its source named, in any format.
    "funding:gap": [
        f"?view={view}&as_at=2004-12-31{fmt}"
        for view in ("programmes", "donors", "states")
        for fmt in ("", "&format=csv", "&format=xlsx")
    ],
    # IATI's file is public activities only unless asked for all the reader may see; HXL's sheet
    # names providers and States in its cells: a hidden owner or provider must not be named.
    "exchange:iati_export": ["?levels=all", "?levels=all&q=MX"],
    "exchange:hxl_export": ["?q=MX"],
    "funding:table1": [
        f"?recipient=fund:mx-channel&as_at=2004-12-31{fmt}" for fmt in ("", "&format=csv", "&format=xlsx")
    ],
}


def _routes(patterns=None, prefix: str = "", namespace: str = ""):
    """(route, name, has path parameters) of every URL pattern."""
    for pattern in patterns if patterns is not None else get_resolver().url_patterns:
        if isinstance(pattern, URLResolver):
            inner = namespace + (f"{pattern.namespace}:" if pattern.namespace else "")
            yield from _routes(pattern.url_patterns, prefix + str(pattern.pattern), inner)
        elif isinstance(pattern, URLPattern):
            yield (
                prefix + str(pattern.pattern),
                namespace + (pattern.name or ""),
                bool(pattern.pattern.converters),
            )


# --- the records ------------------------------------------------------------------------------


class World:
    """The matrix's records, who may see which, and the markers of what a role may not see."""

    def __init__(self, cast: Any) -> None:
        from coopmatrix.core.models import Confidentiality
        from coopmatrix.matrix import actions

        self.cast = cast
        self.records = {ep.name: ep.records(cast) for ep in visibility_rows()}
        self.expected = {ep.name: ep.expected for ep in visibility_rows()}
        self.labels = {ep.name: ep.label for ep in visibility_rows()}
        hidden_org = self.records["organizations"]["b_conf"]
        hidden_programme = self.records["programmes"]["b_conf"]
        # A public activity of a hidden programme, kept by a hidden organization.
        public = self.records["activities"]["public"]
        public.programme, public.owner = hidden_programme, hidden_org
        public.save()
        self.records["instruments"]["b_conf"].activities.add(public)
        # A public request referred (by the secretariat, so that its history says so) to a
        # hidden provider, and kept by that hidden organization.
        request = self.records["requests"]["public"]
        request.owner = hidden_org
        request.save()
        actions.refer_request(cast.user("secretariat"), request, [hidden_org.code])
        # A public treaty action and contact kept by the hidden organization.
        for name in ("treaty actions", "contacts"):
            record = self.records[name]["public"]
            record.owner = hidden_org
            record.save()
        assert public.confidentiality == Confidentiality.PUBLIC
        self.jobs: dict[str, Any] = {}

    def job_of(self, role: str) -> list[dict[str, Any]]:
        """The role's export of the matrix, prepared in the background: its page and its file
        must name only what the role sees, like the download it copies."""
        from coopmatrix.core import jobs
        from coopmatrix.core.testing import run_jobs

        user = self.cast.user(role)
        if user is None:
            return []
        if role not in self.jobs:
            jobs.start(user, "export", "MX export", {"path": "/matrix/export.xlsx", "query": "q=MX"})
            (self.jobs[role],) = run_jobs()
            assert self.jobs[role].status == "succeeded", self.jobs[role].message
        return [{"pk": self.jobs[role].pk}]

    def seen(self, name: str, role: str) -> dict[str, Any]:
        return {k: r for k, r in self.records[name].items() if k in self.expected[name][role]}

    def markers(self, role: str) -> list[str]:
        """What names a record hidden from `role`: its label, and its code where it has one."""
        found: set[str] = set()
        for name, records in self.records.items():
            for key, record in records.items():
                if key in self.expected[name][role]:
                    continue
                label = self.labels[name](record)
                if label.startswith("MX"):
                    found.add(label)
                code = getattr(record, "code", "")
                if isinstance(code, str) and code.startswith("mx-"):
                    found.add(code)
                if name == "memberships":
                    found.add(f"MX {key}")
        # Organizations that hold the hidden test records, seen by those of organization B only.
        if role not in ("editor_b", "secretariat", "administrator"):
            found |= {"MX hidden host", "mx-hidden", "mx-contact-hidden"}
        # A code seen by the role must not count as hidden because another model shares it.
        return sorted(found - self._seen_codes(role))

    def _seen_codes(self, role: str) -> set[str]:
        codes = set()
        for name, records in self.records.items():
            for key, record in records.items():
                if key in self.expected[name][role]:
                    codes.add(getattr(record, "code", ""))
        return codes


def _pattern(markers: list[str]) -> re.Pattern[str]:
    # A marker stands alone: "mx-hidden" is not found inside "mx-hidden-host".
    if not markers:
        return re.compile(r"(?!x)x")  # those who see everything: nothing is hidden
    alternatives = "|".join(re.escape(m) for m in sorted(markers, key=len, reverse=True))
    return re.compile(rf"(?<![\w-])(?:{alternatives})(?![\w-])")


def _text(response: Any) -> str:
    """A response as text, whatever its format."""
    body = b"".join(response.streaming_content) if response.streaming else response.content
    kind = response.get("Content-Type", "")
    if "spreadsheetml" in kind:
        from openpyxl import load_workbook

        book = load_workbook(io.BytesIO(body), read_only=True)
        return "\n".join(
            " ".join(str(v) for v in row if v is not None)
            for sheet in book.worksheets
            for row in sheet.iter_rows(values_only=True)
        )
    if "pdf" in kind:
        from pypdf import PdfReader

        return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(body)).pages)
    return body.decode("utf-8", errors="replace")


# --- pages ------------------------------------------------------------------------------------

Fill = Callable[[World, str], list[dict[str, Any]]]


def _by(name: str, attr: str, kwarg: str = "key") -> Fill:
    return lambda world, role: [{kwarg: getattr(r, attr)} for r in world.seen(name, role).values()]


def _states(world: World, role: str) -> list[dict[str, Any]]:
    return [{"key": world.cast.state_x.code}, {"key": world.cast.state_y.code}]


def _regions(world: World, role: str) -> list[dict[str, Any]]:
    from coopmatrix.geo.models import Region

    return [{"key": r.m49} for r in Region.objects.filter(m49__in=[1, 2, 142])]


def _areas(world: World, role: str) -> list[dict[str, Any]]:
    from coopmatrix.matrix.models import ThematicArea

    return [{"code": a.code} for a in ThematicArea.objects.order_by("code")[:2]]


def _referrals(world: World, role: str) -> list[dict[str, Any]]:
    from coopmatrix.matrix.models import Referral

    requests = world.seen("requests", role).values()
    return [{"key": r.pk} for r in Referral.objects.filter(request__in=[q.pk for q in requests])]


PAGE_FILLS: dict[str, Fill] = {
    "geo:state": _states,
    "geo:region": _regions,
    "directory:organization": _by("organizations", "code"),
    "directory:membership": _by("memberships", "pk"),
    "directory:contact": _by("contacts", "pk"),
    "directory:contact_vcard": _by("contacts", "pk"),
    "directory:contact_edit": _by("contacts", "pk"),
    "directory:contact_delete": _by("contacts", "pk"),
    "directory:contact_erase": _by("contacts", "pk"),
    "treaties:instrument": _by("instruments", "code"),
    "treaties:action": _by("treaty actions", "pk"),
    "treaties:action_edit": _by("treaty actions", "pk"),
    "treaties:action_delete": _by("treaty actions", "pk"),
    "matrix:state_activities": lambda world, role: [{"code": s["key"]} for s in _states(world, role)],
    "matrix:activity": _by("activities", "pk"),
    "matrix:activity_edit": _by("activities", "pk"),
    "matrix:activity_delete": _by("activities", "pk"),
    "matrix:programme": _by("programmes", "code"),
    "matrix:request": _by("requests", "pk"),
    "matrix:request_edit": _by("requests", "pk"),
    "matrix:request_delete": _by("requests", "pk"),
    "matrix:request_status": _by("requests", "pk"),
    "matrix:request_refer": _by("requests", "pk"),
    "matrix:referral_answer": _referrals,
    "matrix:thematic_area": _areas,
    "overlaps:overlap": _by("overlaps", "pk"),
    "funding:fund": _by("funds", "code"),
    "funding:contribution": _by("contributions", "pk"),
    "funding:contribution_edit": _by("contributions", "pk"),
    "funding:contribution_delete": _by("contributions", "pk"),
    "funding:need": _by("funding needs", "pk"),
    "job": lambda world, role: world.job_of(role),
    "job_result": lambda world, role: world.job_of(role),
    "job_errors": lambda world, role: [],
}


def _page_urls(world: World, role: str) -> list[str]:
    from django.urls import reverse

    urls = []
    for route, name, has_parameters in _routes():
        if route.startswith(tuple(ALLOWED_PREFIXES)) or name in ALLOWED_ROUTES:
            continue
        if has_parameters:
            base = [reverse(name, kwargs=kwargs) for kwargs in PAGE_FILLS[name](world, role)]
        else:
            base = [reverse(name)]
            base.append(base[0] + "?q=MX")
        urls.extend(base)
        urls.extend(base[0] + query for query in VARIANTS.get(name, []) if base)
    return urls


# --- the API ----------------------------------------------------------------------------------


def _api_fills(world: World, role: str) -> dict[str, list[dict[str, Any]]]:
    from coopmatrix.matrix.models import Referral

    def of(name: str, attr: str, param: str) -> list[dict[str, Any]]:
        return [{param: getattr(r, attr)} for r in world.seen(name, role).values()]

    requests = [r.pk for r in world.seen("requests", role).values()]
    return {
        "/api/v1/states/{code}": [{"code": world.cast.state_x.code}, {"code": world.cast.state_y.code}],
        "/api/v1/states/{code}/treaties": [{"code": world.cast.state_y.code}],
        "/api/v1/regions/{m49}": [{"m49": 142}],
        "/api/v1/organizations/{code}": of("organizations", "code", "code"),
        "/api/v1/memberships/{membership_id}": of("memberships", "pk", "membership_id"),
        "/api/v1/contacts/{contact_id}": of("contacts", "pk", "contact_id"),
        "/api/v1/instruments/{code}": of("instruments", "code", "code"),
        "/api/v1/treaty-actions/{action_id}": of("treaty actions", "pk", "action_id"),
        "/api/v1/thematic-areas/{code}": [{"code": "legislative"}],
        "/api/v1/activities/{activity_id}": of("activities", "pk", "activity_id"),
        "/api/v1/programmes/{code}": of("programmes", "code", "code"),
        "/api/v1/requests/{request_id}": of("requests", "pk", "request_id"),
        "/api/v1/requests/{request_id}/referrals": of("requests", "pk", "request_id"),
        "/api/v1/overlaps/{overlap_id}": of("overlaps", "pk", "overlap_id"),
        "/api/v1/funds/{code}": of("funds", "code", "code"),
        "/api/v1/contributions/{contribution_id}": of("contributions", "pk", "contribution_id"),
        "/api/v1/funding-needs/{need_id}": of("funding needs", "pk", "need_id"),
        "/api/v1/referrals/{referral_id}": [
            {"referral_id": r.pk} for r in Referral.objects.filter(request__in=requests)
        ],
    }


API_QUERIES = {
    "/api/v1/table2": ["?instruments=all"],
    "/api/v1/who-to-contact": ["?state=XXA", "?state=XXB"],
    "/api/v1/impact": ["?months=600"],
    "/api/v1/table1": ["?recipient=fund:mx-channel&as_at=2004-12-31"],
    "/api/v1/funding-gap": [f"?view={view}&as_at=2004-12-31" for view in ("programmes", "donors", "states")],
}


def _api_document(client: Any) -> dict[str, Any]:
    return client.get("/api/v1/openapi.json").json()


def _api_urls(world: World, role: str, document: dict[str, Any]) -> list[str]:
    fills = _api_fills(world, role)
    urls = []
    for path, operations in document["paths"].items():
        if "get" not in operations:
            continue
        if "{" in path:
            for values in fills[path]:
                urls.append(path.format(**values))
        else:
            urls.extend([path, path + "?q=MX", *(path + q for q in API_QUERIES.get(path, []))])
    return urls


# --- the tests --------------------------------------------------------------------------------


@pytest.fixture
def world(cast):
    return World(cast)


def test_every_route_is_walked_or_allowed_with_a_reason(client, db):
    """The guard is built from the routes: a new one must be walked or allowed with a reason."""
    unknown = [
        name
        for route, name, has_parameters in _routes()
        if has_parameters
        and not route.startswith(tuple(ALLOWED_PREFIXES))
        and name not in ALLOWED_ROUTES
        and name not in PAGE_FILLS
    ]
    assert not unknown, f"routes neither walked nor allowed: {unknown}"
    document = _api_document(client)
    templated = {p for p, ops in document["paths"].items() if "get" in ops and "{" in p}
    missing = templated - _api_paths_filled()
    assert not missing, f"API operations neither walked nor allowed: {sorted(missing)}"


def _api_paths_filled() -> set[str]:
    class Nothing:
        cast = type("C", (), {"state_x": None, "state_y": None})()

        def seen(self, name: str, role: str) -> dict[str, Any]:
            return {}

    class Anything:
        code = pk = None

    Nothing.cast.state_x = Nothing.cast.state_y = Anything()
    return set(_api_fills(Nothing(), "anonymous"))  # type: ignore[arg-type]


def _walk(client: Any, urls: list[str], hidden: re.Pattern[str], role: str) -> int:
    """GET every URL; fail on a server error or on a marker of a hidden record. Returns how many."""
    leaks, errors = [], []
    for url in urls:
        response = client.get(url)
        if response.status_code >= 500:
            errors.append((url, response.status_code))
            continue
        found = sorted(set(hidden.findall(_text(response))))
        if found:
            leaks.append((url, found))
    assert not errors, f"server errors: {errors}"
    assert not leaks, f"{role} is shown records it may not see: {leaks}"
    return len(urls)


@pytest.mark.parametrize("role", ROLES)
def test_no_page_names_a_record_the_role_may_not_see(world, client, role):
    login(client, world.cast.user(role))
    assert _walk(client, _page_urls(world, role), _pattern(world.markers(role)), role) > 100


@pytest.mark.parametrize("role", ROLES)
def test_no_api_answer_names_a_record_the_role_may_not_see(world, client, role):
    login(client, world.cast.user(role))
    urls = _api_urls(world, role, _api_document(client))
    assert _walk(client, urls, _pattern(world.markers(role)), role) > 30
    assert "MX" in json.dumps(client.get("/api/v1/activities?q=MX").json())


# --- writes -----------------------------------------------------------------------------------

MISSING = {"int": 987654, "str": "mx-no-such-record"}


def _write_targets(world: World, role: str, document: dict[str, Any]) -> list[tuple[Any, ...]]:
    """(method, path template, path with a hidden record, that path with a missing one, the key)."""
    hidden_of = {
        "/api/v1/contacts/{contact_id}": ("contacts", "pk"),
        "/api/v1/treaty-actions/{action_id}": ("treaty actions", "pk"),
        "/api/v1/activities/{activity_id}": ("activities", "pk"),
        "/api/v1/programmes/{code}": ("programmes", "code"),
        "/api/v1/requests/{request_id}": ("requests", "pk"),
        "/api/v1/requests/{request_id}/status": ("requests", "pk"),
        "/api/v1/requests/{request_id}/referrals": ("requests", "pk"),
        "/api/v1/overlaps/{overlap_id}/verdict": ("overlaps", "pk"),
    }
    targets = []
    for path, operations in document["paths"].items():
        writes = [m for m in operations if m in ("post", "put", "patch", "delete")]
        if "{" not in path or not writes or path not in hidden_of:
            continue
        name, attr = hidden_of[path]
        hidden = [r for k, r in world.records[name].items() if k not in world.expected[name][role]]
        for record in hidden[:2]:
            value = getattr(record, attr)
            missing = MISSING["int" if isinstance(value, int) else "str"]
            parameter = path[path.index("{") : path.index("}") + 1]
            for method in writes:
                with_hidden = path.replace(parameter, str(value))
                targets.append((method, path, with_hidden, path.replace(parameter, str(missing)), value))
    return targets


def _bodies() -> dict[str, dict[str, Any]]:
    """A valid body for each write, so that the answer comes from the record, not the schema."""
    return {
        "/api/v1/contacts/{contact_id}": {"function": "Write test", "organization": "test-org-a"},
        "/api/v1/treaty-actions/{action_id}": {
            "state": "XXA",
            "instrument": "terrorist-financing-1999",
            "action": "signature",
            "date": "2004-01-05",
        },
        "/api/v1/activities/{activity_id}": _activity(),
        "/api/v1/programmes/{code}": {
            "code": "mx-write",
            "title": "Write test",
            "organization": "test-org-a",
        },
        "/api/v1/requests/{request_id}": {"state": "XXA", "title": "Write test", "received": "2004-01-05"},
        "/api/v1/requests/{request_id}/status": {"status": "withdrawn"},
        "/api/v1/requests/{request_id}/referrals": {"providers": ["test-org-a"]},
        "/api/v1/overlaps/{overlap_id}/verdict": {"verdict": "duplicate", "comment": "write test"},
    }


WRITERS = ("anonymous", "reader", "editor_a", "editor_b", "focal_point")


@pytest.mark.parametrize("role", WRITERS)
def test_api_writes_answer_a_hidden_record_as_a_missing_one(world, client, role):
    login(client, world.cast.user(role))
    document = _api_document(client)
    bodies = _bodies()
    targets = _write_targets(world, role, document)
    if role != "editor_b":
        assert targets, "every role but B's editor has hidden records to write to"
    for method, template, hidden_path, missing_path, key in targets:
        body = json.dumps(bodies[template]) if method != "delete" else None
        send = getattr(client, method)
        answers = []
        for path, value in (
            (hidden_path, key),
            (missing_path, MISSING["int" if isinstance(key, int) else "str"]),
        ):
            response = send(path, data=body, content_type="application/json") if body else send(path)
            answers.append((response.status_code, response.content.decode().replace(str(value), "KEY")))
        assert answers[0] == answers[1], (method, hidden_path, answers)
        assert answers[0][0] in (401, 403, 404), (method, hidden_path, answers[0])


def _activity(**overrides: Any) -> dict[str, Any]:
    payload = {
        "title": "Write test",
        "providers": [{"organization": "test-org-a", "role": "implementing"}],
        "modality": "workshop",
        "status": "planned",
        "recipient_states": ["XXB"],
    }
    return {**payload, **overrides}


@pytest.mark.parametrize("role", ["editor_a", "focal_point"])
def test_a_hidden_code_in_a_new_record_reads_as_an_unknown_one(world, client, role):
    """Naming a hidden instrument, programme or organization in a new record gets the answer an
    unknown code gets: no 201 with the code echoed, no 403 that confirms it exists."""
    login(client, world.cast.user(role))
    hidden = "mx-b-conf"
    cases = [
        ("/api/v1/activities", lambda code: _activity(instruments=[code])),
        ("/api/v1/activities", lambda code: _activity(programme=code)),
        ("/api/v1/activities", lambda code: _activity(providers=[{"organization": code, "role": "partner"}])),
        (
            "/api/v1/requests",
            lambda code: {
                "state": "XXA",
                "title": "Write test",
                "received": "2004-01-05",
                "instruments": [code],
            },
        ),
        ("/api/v1/contacts", lambda code: {"function": "Write test", "organization": code}),
        (
            "/api/v1/programmes",
            lambda code: {"code": "mx-write", "title": "Write test", "organization": code},
        ),
        (
            "/api/v1/treaty-actions",
            lambda code: {"state": "XXA", "instrument": code, "action": "signature", "date": "2004-01-05"},
        ),
    ]
    for url, payload in cases:
        answers = []
        for code in (hidden, MISSING["str"]):
            response = client.post(url, data=json.dumps(payload(code)), content_type="application/json")
            answers.append((response.status_code, response.content.decode().replace(code, "CODE")))
        assert answers[0] == answers[1], (url, payload(hidden))
        assert answers[0][0] in (403, 422), (url, answers[0])


def test_a_record_made_public_keeps_its_confidential_past_from_those_who_could_not_see_it(cast, client):
    from coopmatrix.matrix.models import Activity, ActivityProvider

    activity = Activity.objects.create(
        title="Secret plan of B",
        modality="workshop",
        status="planned",
        confidentiality="confidential",
        owner=cast.org_b,
    )
    ActivityProvider.objects.create(activity=activity, organization=cast.org_b, role="implementing")
    activity.title, activity.confidentiality = "Workshop on extradition", "public"
    activity.save()
    page = client.get(activity.get_absolute_url()).content.decode()
    assert "Workshop on extradition" in page
    assert "Secret plan of B" not in page
    assert "earlier version(s) not shown" in page
    login(client, cast.user("editor_b"))
    page = client.get(activity.get_absolute_url()).content.decode()
    assert "Secret plan of B" in page


def test_history_names_related_records_instead_of_their_keys(cast, client):
    from coopmatrix.matrix.models import Activity

    activity = Activity.objects.create(title="Named history", modality="workshop", status="planned")
    activity.owner = cast.org_a
    activity.save()
    activity.recipient_states.add(cast.state_y)
    from coopmatrix.treaties.models import Instrument

    activity.instruments.add(Instrument.objects.get(code="terrorist-financing-1999"))
    page = client.get(activity.get_absolute_url()).content.decode()
    assert "Organization A (made for tests)" in page
    history = page.split('id="history-h"')[1]
    assert "Testland Y (made for tests)" in history
    assert "<code>instruments</code>: — → Terrorist Financing Convention 1999" in history


#: Pages that write to one record, with the form they are sent (the record's key is in the path).
PAGE_WRITES = {
    "directory:contact_edit": {"function": "Write test"},
    "directory:contact_delete": {},
    "directory:contact_erase": {"note": "write test"},
    "treaties:action_edit": {"state": "XXA", "instrument": "terrorist-financing-1999", "action": "signature"},
    "treaties:action_delete": {},
    "matrix:activity_edit": {"title": "Write test", "modality": "workshop", "status": "planned"},
    "matrix:activity_delete": {},
    "matrix:request_edit": {"title": "Write test", "state": "XXA", "received": "2004-01-05"},
    "matrix:request_delete": {},
    "matrix:request_status": {"status": "withdrawn"},
    "matrix:request_refer": {"providers": "test-org-a"},
    "funding:contribution_edit": {"donor": "state:XXA", "kind": "payment", "amount": "1", "currency": "USD"},
    "funding:contribution_delete": {},
}
_PAGE_MODELS = {
    "directory:contact": ("contacts", "pk"),
    "treaties:action": ("treaty actions", "pk"),
    "matrix:activity": ("activities", "pk"),
    "matrix:request": ("requests", "pk"),
    "funding:contribution": ("contributions", "pk"),
}


def test_every_page_that_writes_to_a_record_is_walked():
    writes = {
        name
        for name in PAGE_FILLS
        if name.rsplit("_", 1)[-1] in ("edit", "delete", "erase", "status", "refer")
    }
    assert writes <= set(PAGE_WRITES), sorted(writes - set(PAGE_WRITES))


@pytest.mark.parametrize("role", WRITERS)
def test_page_writes_answer_a_hidden_record_as_a_missing_one(world, client, role):
    from django.urls import reverse

    login(client, world.cast.user(role))
    walked = 0
    for name, form in PAGE_WRITES.items():
        records, attr = _PAGE_MODELS[name.rsplit("_", 1)[0]]
        hidden = [r for k, r in world.records[records].items() if k not in world.expected[records][role]]
        for record in hidden[:2]:
            answers = []
            for key in (getattr(record, attr), MISSING["int"]):
                response = client.post(reverse(name, kwargs={"key": key}), form)
                answers.append((response.status_code, response.content.decode().replace(str(key), "KEY")))
            assert answers[0] == answers[1], (name, role)
            assert answers[0][0] in (302, 403, 404), (name, role, answers[0][0])
            walked += 1
    assert walked or role == "editor_b"
