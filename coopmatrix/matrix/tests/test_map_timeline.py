import re


def test_the_map_colours_each_state_by_its_activities(client, reference):
    page = client.get("/matrix/map/?provider=oas").content.decode()
    counts = dict(re.findall(r'data-state="([A-Z]{3})" data-count="(\d+)"', page))
    assert counts["CRI"] == "2"  # the Costa Rica workshop and the joint OAS activity for Central America
    assert counts["PER"] == "2"
    assert counts["ARG"] == "1"  # only the joint activity for South America
    assert counts["FRA"] == "0"
    assert "BVT" not in {code for code, n in counts.items() if n != "0"}  # a territory, not a country


def test_small_states_appear_as_dots(client, reference):
    page = client.get("/matrix/map/?q=Mauritius").content.decode()
    assert re.search(r'data-state="MUS" data-count="1"><circle', page)


def test_the_map_links_each_state_to_its_table(client, reference):
    page = client.get("/matrix/map/?modality=legislative_advice").content.decode()
    assert "/matrix/?modality=legislative_advice&amp;state=KGZ" in page


def test_the_timeline_draws_planned_and_actual_bars(client, cast, reference):
    from coopmatrix.matrix.models import Activity

    Activity.objects.create(
        title="Mentorship planned for 2005",
        modality="mentorship",
        status="planned",
        planned_start="2005-01-01",
        planned_end="2005-06-30",
    )
    page = client.get("/matrix/timeline/?q=Mentorship planned").content.decode()
    assert '<span data-testid="count">1</span>' in page
    assert 'class="planned"' in page and 'class="actual' not in page
    seed = client.get("/matrix/timeline/?state=KGZ").content.decode()
    assert '<span data-testid="count">4</span>' in seed
    assert 'class="actual open"' in seed  # the joint OSCE activity has no end yet
