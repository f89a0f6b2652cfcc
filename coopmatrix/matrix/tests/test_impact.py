"""Impact of assistance: States party to an instrument within N months after legislative advice.

The activity and the treaty actions are made for tests.
"""

import datetime as dt

import pytest

from coopmatrix.core.testing import login
from coopmatrix.matrix import actions as matrix_actions
from coopmatrix.matrix.impact import became_party_after_assistance
from coopmatrix.treaties import actions as treaty_actions

MADE = "made for tests"


@pytest.fixture
def assisted(cast, reference):
    clerk = cast.user("secretariat")
    activity = matrix_actions.save_activity(
        clerk,
        {
            "title": "Legislative drafting advice to Benin (made for tests)",
            "modality": "legislative_advice",
            "status": "completed",
            "recipient_states": ["BEN", "TGO"],
            "providers": [{"organization": "unodc-tpb", "role": "implementing"}],
            "actual_start": "2003-02",
            "actual_end": "2003-06",
            "source": MADE,
        },
    )
    for state, instrument, action, date in [
        ("BEN", "terrorist-financing-1999", "ratification", "2003-09-24"),  # three months after
        ("BEN", "hostages-1979", "accession", "2003-06-15"),  # within June, the month it ended
        ("TGO", "terrorist-bombings-1997", "accession", "2005-01-10"),  # 19 months after
        ("TGO", "sua-1988", "signature", "2003-07-01"),  # a signature is not consent
    ]:
        treaty_actions.save(
            clerk, {"state": state, "instrument": instrument, "action": action, "date": date, "source": MADE}
        )
    return activity


def _found(user, months, **options):
    return {
        (f.state.code, f.action.instrument.code, f.months_after)
        for f in became_party_after_assistance(user, months, **options)
    }


def test_consents_within_n_months_after_the_assistance_ended(cast, assisted):
    user = cast.user("reader")
    assert _found(user, 6) == {("BEN", "terrorist-financing-1999", 3)}
    assert _found(user, 24) == {
        ("BEN", "terrorist-financing-1999", 3),
        ("TGO", "terrorist-bombings-1997", 19),
    }
    assert _found(user, 2) == set()


def test_by_provider_and_period(cast, assisted):
    from coopmatrix.directory.models import Organization

    user = cast.user("reader")
    unodc = list(Organization.objects.filter(code="unodc"))  # includes its Branch
    assert _found(user, 6, providers=unodc)
    assert not _found(user, 6, providers=list(Organization.objects.filter(code="osce")))
    assert not _found(user, 6, ended_from=dt.date(2004, 1, 1))


def test_the_page(client, cast, assisted):
    page = client.get("/matrix/impact/?months=24").content.decode()
    assert '<span data-testid="impact-states">2</span>' in page
    assert 'data-state="BEN"' in page and "Legislative drafting advice to Benin" in page
    assert client.get("/matrix/impact/?months=24&provider=nope").status_code == 400


def test_hidden_assistance_finds_nothing_for_those_who_cannot_see_it(client, cast, assisted):
    assisted.confidentiality = "confidential"
    assisted.owner = cast.org_a
    assisted.save()
    assert _found(cast.user("reader"), 24) == set()
    assert _found(cast.user("editor_a"), 24)
    login(client, cast.user("editor_b"))
    assert (
        '<span data-testid="impact-states">0</span>'
        in client.get("/matrix/impact/?months=24").content.decode()
    )


def test_the_api(client, cast, assisted):
    body = client.get("/api/v1/impact?months=6").json()
    assert [(f["state"], f["instrument"], f["assistance_ended"], f["months_after"]) for f in body] == [
        ("BEN", "terrorist-financing-1999", "2003-06", 3)
    ]
    assert client.get("/api/v1/impact?months=-1").status_code == 422
    assert client.get("/api/v1/impact?provider=nope").status_code == 422
