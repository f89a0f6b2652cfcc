"""Issue 14: every operation of the REST API, fuzzed from its own OpenAPI document (schemathesis),
as a visitor, an organization's editor and the secretariat: whatever arrives, the answer is never
a server error.

Each operation gets a bounded number of generated requests, valid by the schema and invalid
(wrong types, missing fields, strings where numbers go, huge numbers, NUL characters), with a
fixed seed, so that a run is repeatable and `make test` stays within its time. Writes happen in
the test's transaction and are rolled back.
"""

from __future__ import annotations

from collections import Counter

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode

from coopmatrix.accounts.models import ApiToken

#: Requests generated per operation and mode, each sent as every role: about 4,500 requests in all.
EXAMPLES = 9
ROLES = ("anonymous", "editor_a", "secretariat")


@pytest.fixture
def schema(db):
    # Requests go through the WSGI application, not Django's test client: like the client, keep
    # Django from closing the test's database connection at the end of each request (PostgreSQL
    # would lose the test's transaction).
    from django.core import signals
    from django.db import close_old_connections

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application())
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


def _headers(cast, role: str) -> dict[str, str]:
    if role == "anonymous":
        return {}
    _token, key = ApiToken.issue(cast.user(role), "fuzz")
    return {"Authorization": f"Bearer {key}"}


def _server_errors(
    operation,
    mode: GenerationMode,
    headers: dict[str, dict[str, str]],
    statuses: dict[str, Counter[int]],
) -> dict[str, list[str]]:
    """Each generated request sent as each role in turn (role → its requests answered 5xx).
    Drawing a request costs twice what answering it does, and the draws do not depend on the
    answers: each is drawn once for all roles."""
    found: dict[str, list[str]] = {}

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case) -> None:
        for role, role_headers in headers.items():
            response = case.call(headers=role_headers)
            statuses[role][response.status_code] += 1
            if response.status_code >= 500:
                found.setdefault(role, []).append(
                    f"{case.method} {case.formatted_path} {case.query or ''} {case.body!r:.200}"
                )

    run()
    return found


def test_no_generated_request_makes_the_api_answer_a_server_error(schema, cast, reference):
    headers = {role: _headers(cast, role) for role in ROLES}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 30, "the API document lost its operations"
    methods = {operation.method.upper() for operation in operations}
    assert {"GET", "POST", "PUT", "DELETE"} <= methods
    errors: dict[str, dict[str, list[str]]] = {role: {} for role in ROLES}
    statuses: dict[str, Counter[int]] = {role: Counter() for role in ROLES}
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            for role, found in _server_errors(operation, mode, headers, statuses).items():
                errors[role][operation.label] = found
    for role in ROLES:
        print(role, sorted(statuses[role].items()))
        # The fuzz reached the operations: some requests were answered, others refused as invalid.
        assert sum(n for status, n in statuses[role].items() if status < 300) > 20, role
        assert statuses[role][422] + statuses[role][400] > 50, role
    failed = {role: cases for role, cases in errors.items() if cases}
    assert not failed, "; ".join(
        f"{len(cases)} operations answered 5xx as {role}: "
        + "; ".join(f"{label}: {found[0]}" for label, found in sorted(cases.items())[:8])
        for role, cases in failed.items()
    )


# --- Hostile values in otherwise valid writes --------------------------------------------------
# Generated bodies rarely pass validation as a whole (codes must exist), so they seldom reach the
# database. Here every field of a valid body is given, one at a time, each value an attacker or a
# broken client sends; the answer is 2xx or 4xx, and a refused write leaves nothing behind.

HOSTILE = [
    "",
    "\x00",
    "x" * 100_000,
    "𝕏" * 300,
    "9" * 40,
    "99999999999999.99",  # within max_digits, beyond what SQLite's double keeps to the cent
    1e20,
    2**70,
    -(2**70),
    1e308,
    -1,
    0.5,
    True,
    None,
    [],
    {},
    ["\x00"],
    "2004-02-30",
    "0000-01-01",
    "9999-12-31",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    '=HYPERLINK("http://x")',
]

WRITES = {
    "/api/v1/activities": {
        "title": "Fuzzed workshop (made for tests)",
        "providers": [{"organization": "test-org-a", "role": "implementing"}],
        "recipient_states": ["BEN"],
        "recipient_regions": [11],
        "thematic_areas": ["terrorist-financing"],
        "instruments": ["terrorist-financing-1999"],
        "modality": "workshop",
        "status": "planned",
        "planned_start": "2005-03",
        "planned_end": "2005-04-15",
        "budget": "12000.50",
        "currency": "EUR",
        "people_trained": 12,
        "external_id": "fuzz-1",
        "confidentiality": "restricted",
        "owner": "test-org-a",
        "source": "made for tests",
    },
    "/api/v1/programmes": {
        "code": "fuzz-programme",
        "title": "Fuzzed programme (made for tests)",
        "organization": "test-org-a",
        "start": "2004",
        "end": "2006-12",
        "funding_need": "2500000",
        "currency": "USD",
        "owner": "test-org-a",
    },
    "/api/v1/requests": {
        "state": "XXA",
        "title": "Fuzzed request (made for tests)",
        "received": "2004-02-10",
        "channel": "committee",
        "priority": "high",
        "thematic_areas": ["ratification-legislation"],
        "owner": "test-org-a",
    },
    "/api/v1/contacts": {
        "person_name": "Fuzzed Person (made for tests)",
        "function": "Focal point",
        "organization": "test-org-a",
        "roles": [],
        "email": "fuzz@example.org",
        "telephone": "+41 22 917 12 34",
        "languages": "en, fr",
        "valid_from": "2004-01-01",
        "confidentiality": "restricted",
        "another_person": True,
    },
    "/api/v1/treaty-actions": {
        "state": "XXA",
        "instrument": "terrorist-financing-1999",
        "action": "signature",
        "date": "2004-01-05",
        "source": "made for tests",
    },
}


def _models():
    from coopmatrix.directory.models import Contact
    from coopmatrix.matrix.models import Activity, Programme, Request
    from coopmatrix.treaties.models import TreatyAction

    return [Activity, Programme, Request, Contact, TreatyAction]


def _counts() -> list[int]:
    return [model.objects.count() for model in _models()]


@pytest.mark.parametrize("url", sorted(WRITES))
def test_hostile_values_in_a_valid_write_answer_4xx_and_leave_nothing(cast, reference, client, url):
    import json

    headers = {"HTTP_AUTHORIZATION": _headers(cast, "secretariat")["Authorization"]}
    base = WRITES[url]
    made = client.post(url, json.dumps(base), content_type="application/json", **headers)
    assert made.status_code == 201, made.content  # the body the values are put into is valid
    server_errors, half_written = [], []
    for field in base:
        for value in HOSTILE:
            body = {**base, field: value}
            for key in ("code", "external_id"):  # a fresh identifier, so a success is not a clash
                if key in body and field != key:
                    body[key] = (
                        f"fuzz-{len(server_errors) + len(half_written)}-{field[:10]}-{HOSTILE.index(value)}"
                    )
            before = _counts()
            response = client.post(url, json.dumps(body), content_type="application/json", **headers)
            if response.status_code >= 500:
                server_errors.append(f"{field}={value!r:.40}")
            elif response.status_code >= 400 and _counts() != before:
                half_written.append(f"{field}={value!r:.40}")
    assert not server_errors, f"{url} answered 5xx for {server_errors[:10]}"
    assert not half_written, f"{url} refused but wrote for {half_written[:10]}"
    # What was accepted did not poison the table: its list still reads, for everyone.
    for reader in ({}, headers):
        listed = client.get(url + "?page_size=1000", **reader)
        assert listed.status_code in (200, 401), (url, listed.status_code)
