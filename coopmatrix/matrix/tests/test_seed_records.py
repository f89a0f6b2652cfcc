"""The seed report's activities, loaded by default, held against the report through the matrix filters."""

import re
from pathlib import Path

from coopmatrix.geo.resolver import StateResolver

SEEDS = Path(__file__).resolve().parents[3].parent / "shared" / "seeds"


def _footnote(mark: str) -> str:
    (report,) = [
        p for p in SEEDS.glob("*.txt") if "Terrorism Prevention Branch" in p.read_text(encoding="utf-8")
    ]
    match = re.search(rf"^{mark} (.+?)\.$", report.read_text(encoding="utf-8"), re.MULTILINE)
    assert match
    return match.group(1)


def _states_of(client, url: str) -> set[str]:
    states, page = set(), 1
    while True:
        body = client.get(f"{url}&page={page}").json()
        for item in body["items"]:
            states.update(item["recipient_states"])
        if page * 100 >= body["count"]:
            return states
        page += 1


def test_unodc_legislative_assistance_as_at_9_march_2004_covers_footnote_2(client, reference):
    url = (
        "/api/v1/activities?provider=unodc&modality=legislative_advice"
        "&period_from=2004-03-09&period_to=2004-03-09"
    )
    reached = _states_of(client, url)
    expected = {s.code for s in StateResolver().resolve_many(_footnote("²"))}
    assert len(expected) == 35
    assert reached == expected


def test_the_workshops_reach_the_states_their_footnotes_name(client, reference):
    costa_rica = client.get("/api/v1/activities?q=Costa Rica&modality=workshop").json()["items"]
    assert len(costa_rica) == 1
    expected = {s.code for s in StateResolver().resolve_many(_footnote("³"))}
    assert set(costa_rica[0]["recipient_states"]) == expected
    mali = client.get("/api/v1/activities?q=in Mali").json()["items"][0]
    assert len(mali["recipient_states"]) == 21


def test_groupings_resolve_through_regions_memberships_and_named_groups(client, reference):
    sudan = client.get("/api/v1/activities?q=members of IGAD&modality=workshop").json()["items"][0]
    # IGAD's members on 9 March 2004, from the memberships: Eritrea a member, South Sudan not yet.
    assert set(sudan["recipient_states"]) == {"DJI", "ERI", "ETH", "KEN", "SOM", "SDN", "UGA"}
    lithuania = client.get("/api/v1/activities?q=Lithuania").json()["items"][0]
    assert set(lithuania["recipient_states"]) == {"EST", "LVA", "LTU", "BLR", "RUS", "UKR"}
    turkey = client.get("/api/v1/activities?q=in Turkey").json()["items"][0]
    assert set(turkey["recipient_states"]) == {"KAZ", "KGZ", "TJK", "TKM", "UZB", "ARM", "AZE", "GEO"}


def test_dates_keep_the_precision_the_report_gives(client, reference):
    siracusa = client.get("/api/v1/activities?q=Siracusa&modality=training").json()["items"][0]
    assert (siracusa["actual_start"], siracusa["actual_end"]) == ("2003-12-02", "2003-12-06")
    workshop = client.get("/api/v1/activities?q=Lithuania").json()["items"][0]
    # "During the period under review": the report's date, marked as a bound, not the day it happened.
    assert workshop["actual_end"] == "period:2004-03-09"
    page = client.get(f"/activities/{workshop['id']}/").content.decode()
    assert "2004-03-09 (reporting period)" in page


def test_every_seed_activity_names_its_paragraph(client, reference):
    from coopmatrix.matrix.models import Activity

    assert Activity.objects.count() == 54
    assert not Activity.objects.exclude(source__contains="paragraph").exists()


def test_distinct_states_the_loaded_records_reach(client, reference):
    from coopmatrix.geo.models import State

    reached = State.objects.filter(activities__isnull=False).distinct()
    # The report says 73 countries were assisted (paragraph 8). The records it describes reach 73
    # States and territories too, though not necessarily the same 73: they count Portugal and
    # Brazil (study tour participants) and Macao, which the sources name; the members of IGAD
    # are those of 2002, so South Sudan (a member since 2011) is not among them.
    assert reached.count() == 73
    codes = set(reached.values_list("code", flat=True))
    assert {"PRT", "BRA", "MAC"} <= codes and "SSD" not in codes


def test_a_state_page_shows_its_activities(client, reference):
    assert "/matrix/states/KGZ/" in client.get("/states/KGZ/").content.decode()
    page = client.get("/matrix/states/KGZ/").content.decode()
    assert "Direct legal advisory services on the universal instruments: Kyrgyzstan" in page
