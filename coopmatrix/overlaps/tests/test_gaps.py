"""Gaps: requests waiting and overdue, the gap grid, States not party without legislative assistance."""

import csv
import datetime as dt
import io

import pytest
from django.utils import timezone

from coopmatrix.matrix.models import Activity, ActivityProvider, Referral, Request
from coopmatrix.treaties.models import Instrument, TreatyAction
from coopmatrix.vocabulary.models import ThematicArea


def _request(cast, title, days_ago, level="public", owner=None, state=None, area="criminal-justice", **extra):
    record = Request.objects.create(
        state=state or cast.state_y,
        title=title,
        received=timezone.localdate() - dt.timedelta(days=days_ago),
        channel="direct",
        confidentiality=level,
        owner=owner or cast.org_a,
        **extra,
    )
    record.thematic_areas.add(ThematicArea.objects.get(code=area))
    return record


def _activity(cast, title, state, area, level="public", start=dt.date(2004, 3, 1), **extra):
    activity = Activity.objects.create(
        title=title,
        modality=extra.pop("modality", "workshop"),
        status="completed",
        planned_start=start,
        planned_end=start + dt.timedelta(days=30),
        confidentiality=level,
        owner=cast.org_a,
        **extra,
    )
    ActivityProvider.objects.create(activity=activity, organization=cast.org_a, role="implementing")
    activity.recipient_states.add(state)
    activity.thematic_areas.add(ThematicArea.objects.get(code=area))
    return activity


@pytest.fixture
def needs(cast, reference):
    waiting = _request(cast, "GAP waiting for a referral", 45)
    referred = _request(cast, "GAP referred", 20, status="referred")
    Referral.objects.create(request=referred, provider=cast.org_a, referred_on=timezone.localdate())
    answered = _request(cast, "GAP answered", 200, status="in_progress")
    answer = _activity(cast, "GAP answering workshop", cast.state_y, "criminal-justice")
    answer.requests.add(answered)
    hidden = _request(cast, "GAP hidden request", 400, level="confidential", owner=cast.org_b)
    unasked = _activity(cast, "GAP given unasked", cast.state_x, "border-control")
    return {
        "waiting": waiting,
        "referred": referred,
        "answered": answered,
        "hidden": hidden,
        "unasked": unasked,
    }


def test_requests_wait_at_their_stage_with_their_clock_and_the_overdue_are_listed(client, cast, needs):
    client.force_login(cast.user("secretariat"))
    rows = {r["title"]: r for r in client.get("/api/v1/gaps/requests?state=XXB").json()}
    assert rows["GAP waiting for a referral"]["stage"] == "waiting_referral"
    assert rows["GAP waiting for a referral"]["days_waiting"] == 45
    assert rows["GAP waiting for a referral"]["overdue"] is True  # over 30 days without a referral
    assert (rows["GAP referred"]["stage"], rows["GAP referred"]["overdue"]) == ("referred_unanswered", False)
    assert rows["GAP answered"]["stage"] == "answered"
    assert rows["GAP answered"]["answered_by"] == [needs["answered"].answered_by.get().pk]
    assert rows["GAP hidden request"]["overdue"] is True
    overdue = {r["title"] for r in client.get("/api/v1/gaps/requests?state=XXB&overdue=true").json()}
    assert overdue == {"GAP waiting for a referral", "GAP hidden request"}
    page = client.get("/matrix/gaps/requests/?state=XXB&overdue=on").content.decode()
    assert "GAP waiting for a referral" in page and "GAP referred" not in page


def test_a_hidden_request_is_not_waiting_for_those_who_may_not_see_it(client, cast, needs):
    client.force_login(cast.user("reader"))
    titles = {r["title"] for r in client.get("/api/v1/gaps/requests?state=XXB").json()}
    assert "GAP hidden request" not in titles and "GAP waiting for a referral" in titles
    for fmt in ("csv", "xlsx", "pdf"):
        response = client.get(f"/matrix/gaps/requests/?state=XXB&format={fmt}")
        assert response.status_code == 200
    body = client.get("/matrix/gaps/requests/?state=XXB&format=csv").content.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(body)))
    assert {r["title"] for r in rows} == titles


def test_the_gap_grid_marks_each_cell_and_links_to_what_it_counts(client, cast, needs):
    client.force_login(cast.user("secretariat"))
    cells = {(c["row"], c["thematic_area"]): c for c in client.get("/api/v1/gaps/grid").json()["cells"]}
    need = cells[("XXB", "criminal-justice")]
    # Four needs recorded (one hidden to others), one answered: the cell is not answered.
    assert (need["kind"], need["needs_recorded"], need["not_answered"]) == ("unanswered", 4, 3)
    assert cells[("XXA", "border-control")]["kind"] == "unasked"
    page = client.get("/matrix/gaps/").content.decode()
    assert 'data-cell="XXB/criminal-justice" data-kind="unanswered"' in page
    assert 'data-cell="XXA/border-control" data-kind="unasked"' in page
    assert "/requests/?state=XXB&amp;thematic_area=criminal-justice" in page
    assert "/matrix/?state=XXA&amp;thematic_area=border-control" in page
    # Followed, the link lists the needs it counted.
    listed = client.get("/requests/?state=XXB&thematic_area=criminal-justice").content.decode()
    assert all(title in listed for title in ("GAP waiting for a referral", "GAP referred", "GAP answered"))


def test_the_gap_grid_counts_only_what_the_reader_may_see(client, cast, needs):
    client.force_login(cast.user("reader"))
    cells = {(c["row"], c["thematic_area"]): c for c in client.get("/api/v1/gaps/grid").json()["cells"]}
    assert cells[("XXB", "criminal-justice")]["needs_recorded"] == 3


def test_a_period_narrows_the_grid_and_a_wrong_date_is_refused_naming_it(client, cast, needs):
    client.force_login(cast.user("secretariat"))
    later = client.get("/api/v1/gaps/grid?period_from=2010-01-01").json()["cells"]
    assert ("XXA", "border-control") not in {(c["row"], c["thematic_area"]) for c in later}
    bad = client.get("/api/v1/gaps/grid?period_from=2004-13-01")
    assert bad.status_code == 422 and "period_from" in bad.content.decode()
    page = client.get("/matrix/gaps/?period_from=2004-03-01&period_to=2003-01-01")
    assert page.status_code == 400 and "before its start" in page.content.decode()


def test_states_not_party_without_legislative_assistance(client, cast, reference):
    instrument = Instrument.objects.get(code="terrorist-financing-1999")
    TreatyAction.objects.create(
        state=cast.state_x, instrument=instrument, action="ratification", deposited=dt.date(2002, 5, 1)
    )
    advice = _activity(
        cast,
        "GAP legislative advice",
        cast.state_y,
        "ratification-legislation",
        modality="legislative_advice",
        start=dt.date(2003, 6, 1),
    )
    advice.instruments.add(instrument)
    client.force_login(cast.user("secretariat"))
    query = "as_at=2004-03-17&period_from=2001-01-01&instrument=terrorist-financing-1999"
    (gap,) = client.get(f"/api/v1/gaps/treaties?{query}").json()
    assert "XXA" not in gap["not_party_unassisted"] + gap["not_party_assisted"]  # party
    assert "XXB" in gap["not_party_assisted"]
    assert "XXB" not in gap["not_party_unassisted"]
    assert gap["treaty_actions_recorded"] == 1
    # Before the ratification, X was not party either, and received nothing.
    (before,) = client.get(
        "/api/v1/gaps/treaties?as_at=2002-01-01&period_from=2001-01-01&instrument=terrorist-financing-1999"
    ).json()
    assert "XXA" in before["not_party_unassisted"]
    page = client.get(f"/matrix/gaps/treaties/?{query}").content.decode()
    assert 'data-testid="assisted-terrorist-financing-1999"' in page
    for fmt in ("csv", "xlsx"):
        assert client.get(f"/matrix/gaps/treaties/?{query}&format={fmt}").status_code == 200
    # The printed form: one line per instrument and standing, its States named in it.
    from pypdf import PdfReader

    pdf = client.get(f"/matrix/gaps/treaties/?{query}&format=pdf")
    text = "".join("".join(p.extract_text().split()) for p in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "assisted,notpartyyet" in text and "(XXB)" in text
    assert "(XXA)" not in text  # party as at the date


def test_an_instrument_without_any_treaty_action_says_so(client, cast, reference):
    page = client.get("/matrix/gaps/treaties/?instrument=tokyo-1963").content.decode()
    assert 'data-testid="none-recorded-tokyo-1963"' in page


def test_a_hidden_instrument_reads_as_an_unknown_one(client, cast, reference):
    answer = client.get("/api/v1/gaps/treaties?instrument=no-such-instrument")
    assert answer.status_code == 422 and "instrument" in answer.content.decode()


@pytest.mark.parametrize("url", ["/matrix/gaps/", "/matrix/gaps/treaties/"])
def test_a_region_past_64_bits_is_an_unknown_region_not_a_server_error(client, db, url):
    huge = "267801119879369818112"
    assert client.get(f"{url}?region={huge}").status_code == 400
    api = url.replace("/matrix/gaps/", "/api/v1/gaps/").rstrip("/") or "/api/v1/gaps"
    api = {"/api/v1/gaps": "/api/v1/gaps/grid"}.get(api, api)
    answer = client.get(f"{api}?region={huge}")
    assert answer.status_code == 422 and "region" in answer.content.decode()
