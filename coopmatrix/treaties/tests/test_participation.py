"""Treaty actions, a State's standing as at a date, and Table 2 computed beside the published one.

Every treaty action here is made for tests (source "made for tests"): no per-State record of
treaty participation ships with coopmatrix.
"""

import datetime as dt
import io

import pytest
from django.core.management import call_command
from openpyxl import load_workbook

from coopmatrix.core.testing import login
from coopmatrix.geo.models import Region
from coopmatrix.treaties import actions, participation
from coopmatrix.treaties.models import TreatyAction

MADE = "made for tests"
AS_AT = dt.date(2004, 3, 9)
AFTER = dt.date(2001, 9, 11)


def record(user, state, instrument, action, date, **extra):
    return actions.save(
        user,
        {"state": state, "instrument": instrument, "action": action, "date": date, "source": MADE, **extra},
    )


@pytest.fixture
def history(cast, reference):
    """A few States' actions, made for tests, around the dates Table 2 turns on."""
    clerk = cast.user("secretariat")
    record(clerk, "BEN", "terrorist-financing-1999", "signature", "2000-02-10")
    record(clerk, "BEN", "terrorist-financing-1999", "ratification", "2003-09-24")
    record(clerk, "KGZ", "terrorist-bombings-1997", "accession", "2001-05-01")
    # On 11 September 2001 itself: not "after 11 September 2001".
    record(clerk, "JOR", "terrorist-bombings-1997", "ratification", "2001-09-11")
    record(clerk, "GEO", "hostages-1979", "accession", "2003-02-18")
    record(
        clerk,
        "GEO",
        "hostages-1979",
        "denunciation",
        "2003-06-01",
        effective="2004-06-01",
        effective_source=MADE,
    )
    record(clerk, "TGO", "sua-1988", "signature", "2002-01-10")
    record(clerk, "MUS", "nuclear-terrorism-2005", "ratification", "2008-04-01")
    return clerk


def _standing(state, instrument, on, basis="deposit"):
    found = participation.standings(TreatyAction.objects.all(), on, basis)
    key = next(
        (
            k
            for k in found
            if TreatyAction.objects.filter(
                state_id=k[0], state__code=state, instrument_id=k[1], instrument__code=instrument
            ).exists()
        ),
        None,
    )
    return found[key] if key else participation.Standing()


def test_a_consent_takes_effect_by_the_instruments_rule(history):
    ratification = TreatyAction.objects.get(state__code="BEN", action="ratification")
    # Article 26(2) of the 1999 Convention: the thirtieth day after deposit.
    assert ratification.effective == dt.date(2003, 10, 24)
    assert ratification.effective_source == ""


def test_standing_as_at_a_date(history):
    assert _standing("BEN", "terrorist-financing-1999", dt.date(2003, 9, 1)).status == "signatory"
    benin = _standing("BEN", "terrorist-financing-1999", AS_AT)
    assert (benin.status, benin.party_since, benin.in_force_from) == (
        "party",
        dt.date(2003, 9, 24),
        dt.date(2003, 10, 24),
    )
    assert _standing("TGO", "sua-1988", AS_AT).status == "signatory"
    assert _standing("KGZ", "sua-1988", AS_AT).status == "none"


def test_counting_by_deposit_or_by_effect(history):
    between = dt.date(2003, 10, 1)  # after Benin's deposit, before its ratification took effect
    assert _standing("BEN", "terrorist-financing-1999", between, "deposit").status == "party"
    assert _standing("BEN", "terrorist-financing-1999", between, "effect").status == "signatory"


def test_a_denunciation_ends_party_status_when_it_takes_effect(history):
    # Georgia's denunciation (made for tests) was deposited in June 2003 and takes effect a year later.
    assert _standing("GEO", "hostages-1979", AS_AT, "deposit").status == "none"
    assert _standing("GEO", "hostages-1979", AS_AT, "effect").status == "party"
    assert _standing("GEO", "hostages-1979", dt.date(2004, 6, 1), "effect").status == "none"


def test_table2_counts_parties_and_consents_strictly_after_the_date(history):
    table = participation.table2(TreatyAction.objects.all(), AS_AT, AFTER, user=None)
    rows = {row.instrument.code: row for row in table.rows}
    assert len(table.rows) == 12 and "nuclear-terrorism-2005" not in rows
    assert (rows["terrorist-financing-1999"].parties, rows["terrorist-financing-1999"].parties_after) == (
        1,
        1,
    )
    # Kyrgyzstan before, Jordan on 11 September 2001: parties both, neither "after".
    assert (rows["terrorist-bombings-1997"].parties, rows["terrorist-bombings-1997"].parties_after) == (2, 0)
    assert rows["hostages-1979"].parties == 0  # denounced
    assert table.sources == [(MADE, 3)]


def test_table2_stands_beside_the_published_figures(history):
    table = participation.table2(TreatyAction.objects.all(), AS_AT, AFTER, user=None)
    rows = {r.instrument.code: r for r in table.rows}
    financing = rows["terrorist-financing-1999"]
    # E/CN.15/2004, Table 2: 112 parties, 108 after 11 September 2001.
    assert (financing.published.parties, financing.published_after) == (112, 108)
    assert (financing.parties_difference, financing.after_difference) == (1 - 112, 1 - 108)
    # Counting after another date, the published "after" figure does not apply.
    other = participation.table2(TreatyAction.objects.all(), AS_AT, dt.date(2002, 1, 1), user=None).rows
    assert all(r.published_after is None for r in other)
    # Any other date still shows the report's figure, with the report's date beside it.
    later = participation.table2(TreatyAction.objects.all(), dt.date(2010, 1, 1), AFTER, user=None).rows
    assert {r.published.as_at for r in later} == {dt.date(2004, 3, 17)}


def test_all_19_instruments_and_one_region(history):
    everything = participation.table2(
        TreatyAction.objects.all(), dt.date(2010, 1, 1), AFTER, "all", user=None
    )
    assert len(everything.rows) == 19
    assert {r.instrument.code: r.parties for r in everything.rows}["nuclear-terrorism-2005"] == 1
    africa = Region.objects.get(m49=2)
    table = participation.table2(TreatyAction.objects.all(), AS_AT, AFTER, area=africa, user=None)
    rows = {r.instrument.code: r for r in table.rows}
    assert rows["terrorist-financing-1999"].parties == 1  # Benin
    assert rows["terrorist-bombings-1997"].parties == 0  # Kyrgyzstan and Jordan are in Asia
    assert all(r.published is None for r in table.rows)  # published figures are the world's


def test_the_table2_page_api_and_downloads(client, history):
    page = client.get("/parties/?as_at=2004-03-09&after=2001-09-11").content.decode()
    assert 'data-instrument="terrorist-financing-1999"' in page
    assert '<td data-col="published">112</td>' in page and '<td data-col="difference">-111</td>' in page
    body = client.get("/api/v1/table2?as_at=2004-03-09&instruments=all").json()
    assert len(body["rows"]) == 19 and body["after"] == "2001-09-11"
    financing = next(r for r in body["rows"] if r["instrument"] == "terrorist-financing-1999")
    assert (financing["parties"], financing["published_parties"], financing["after_difference"]) == (
        1,
        112,
        -107,
    )
    assert client.get("/api/v1/table2?as_at=2001-01-01&after=2001-09-11").status_code == 422
    csv_text = client.get("/parties/?as_at=2004-03-09&format=csv").content.decode()
    assert "terrorist-financing-1999,1,112,-111,1,108,-107" in csv_text
    workbook = load_workbook(io.BytesIO(client.get("/parties/?as_at=2004-03-09&format=xlsx").content))
    assert workbook["Cover"]["B2"].value == "2004-03-09"
    assert workbook["Sources"]["A2"].value == MADE
    assert client.get("/parties/?as_at=2004-03-09&format=pdf").content.startswith(b"%PDF")


def test_the_table2_command(history, tmp_path, capsys):
    call_command("table2", "--as-at", "2004-03-09", "--after", "2001-09-11", "--instruments", "2004")
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("row,instrument,code,parties")
    assert len(lines) == 13
    target = tmp_path / "table2.xlsx"
    call_command("table2", "--as-at", "2004-03-09", "--format", "xlsx", "-o", str(target))
    assert load_workbook(target)["Table 2"].max_row == 13
    with pytest.raises(Exception, match="--after must be before --as-at"):
        call_command("table2", "--as-at", "2001-01-01")


def test_a_confidential_action_counts_only_for_those_who_see_it(cast, client, history):
    hidden = record(
        history,
        "TGO",
        "terrorist-financing-1999",
        "ratification",
        "2003-07-01",
        confidentiality="confidential",
    )
    hidden.owner = cast.org_a
    hidden.save()

    def financing(role):
        login(client, cast.user(role))
        rows = client.get("/api/v1/table2?as_at=2004-03-09").json()["rows"]
        client.logout()
        return next(r["parties"] for r in rows if r["instrument"] == "terrorist-financing-1999")

    assert financing("anonymous") == 1
    assert financing("editor_a") == 2
    assert financing("editor_b") == 1


def test_the_state_page_shows_its_standing(client, history):
    page = client.get("/states/BEN/?as_at=2004-03-09").content.decode()
    assert "since 2003-09-24" in page and "in force for it from 2003-10-24" in page
    earlier = client.get("/states/BEN/?as_at=2003-01-01").content.decode()
    signed = earlier.split('data-testid="signed"')[1].split("</ul>")[0]
    assert "Terrorist Financing" in signed
    standing = client.get("/api/v1/states/BEN/treaties?as_at=2004-03-09").json()
    financing = next(s for s in standing if s["instrument"] == "terrorist-financing-1999")
    assert (financing["status"], financing["party_since"]) == ("party", "2003-09-24")
    assert sum(1 for s in standing if s["status"] == "none") == 18


def test_the_map_colours_states_by_instruments(client, history):
    page = client.get("/parties/map/?as_at=2004-03-09&instruments=all").content.decode()
    assert '<span data-testid="with-any">3</span>' in page  # Benin, Kyrgyzstan, Jordan
    assert 'data-state="BEN" data-count="1"' in page
    assert 'data-state="GEO" data-count="0"' in page


def test_who_may_record(cast, client, reference):
    from coopmatrix.core.errors import Invalid

    payload = {"state": "XXA", "instrument": "hostages-1979", "action": "signature", "date": "2003-01-05"}
    login(client, cast.user("focal_point"))  # focal point of Testland X
    assert client.post("/api/v1/treaty-actions", payload, content_type="application/json").status_code == 201
    other = {**payload, "state": "XXB"}
    assert client.post("/api/v1/treaty-actions", other, content_type="application/json").status_code == 403
    login(client, cast.user("editor_a"))
    assert client.post("/api/v1/treaty-actions", payload, content_type="application/json").status_code == 403
    with pytest.raises(Invalid) as refused:
        actions.save(cast.user("secretariat"), {**payload, "date": "2003", "instrument": "nope"})
    assert set(refused.value.errors) == {"date", "instrument"}


def test_recording_on_a_page_with_errors_on_their_fields(cast, client, reference):
    login(client, cast.user("secretariat"))
    form = {
        "state": "BEN",
        "instrument": "terrorist-financing-1999",
        "action": "ratification",
        "date": "2003-09",
        "confidentiality": "public",
        "source": MADE,
    }
    refused = client.post("/treaty-actions/new/", form)
    assert refused.status_code == 422
    assert 'data-error-for="date"' in refused.content.decode()
    assert not TreatyAction.objects.exists()
    saved = client.post("/treaty-actions/new/", {**form, "date": "2003-09-24"})
    record = TreatyAction.objects.get()
    assert saved.status_code == 302 and saved["Location"] == record.get_absolute_url()
    assert record.effective == dt.date(2003, 10, 24)
    changed = client.post(f"/treaty-actions/{record.pk}/change/", {**form, "date": "2003-09-25"})
    assert changed.status_code == 302
    record.refresh_from_db()
    assert record.deposited == dt.date(2003, 9, 25)
    assert client.post(f"/treaty-actions/{record.pk}/delete/").status_code == 302
    assert not TreatyAction.objects.exists()
    assert TreatyAction.history.filter(history_type="-").count() == 1  # the deletion is kept


def test_who_sees_the_recording_pages(cast, client, history):
    record = TreatyAction.objects.filter(state__code="BEN").first()
    login(client, cast.user("editor_a"))
    assert client.get("/treaty-actions/new/").status_code == 403
    assert 'data-testid="create"' not in client.get("/treaty-actions/").content.decode()
    assert client.get(f"/treaty-actions/{record.pk}/change/").status_code == 403
    assert client.post(f"/treaty-actions/{record.pk}/delete/").status_code == 403
    login(client, cast.user("focal_point"))
    assert client.get("/treaty-actions/new/").status_code == 200
    assert 'data-testid="create"' in client.get("/treaty-actions/").content.decode()
