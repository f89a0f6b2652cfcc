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


def test_the_timeline_groups_labels_and_draws_open_ends_as_open(client, cast, reference):
    """Issue 15: grouped as chosen, labels that tell activities apart, an open end drawn as
    open (not stretched to today), a window from the period filters, a legend for every mark."""
    import re

    from lxml import html

    page = client.get("/matrix/timeline/?state=KGZ&group=provider").content.decode()
    tree = html.fromstring(page)
    groups = tree.xpath("//svg//text[@class='group-label']/@data-group")
    assert groups == sorted(groups) and len(groups) >= 2
    labels = tree.xpath("//svg//text[@class='bar-label']/text()")
    assert all(" — " in label for label in labels), labels  # title — provider · recipients
    # The joint OSCE activity has no end: its bar is short and ends with an arrow; the window
    # ends with the last year a date names, not today.
    (open_mark,) = tree.xpath("//svg//text[@class='open-mark' and @data-open]")[:1]
    assert open_mark is not None
    years = [int(y) for y in tree.xpath("//svg//text[@class='tick-label']/text()")]
    assert max(years) < 2026, years
    legend = tree.xpath('//*[@data-testid="timeline-legend"]')[0].text_content()
    for mark in ("planned period", "actual period", "no end recorded", "1 January", "group"):
        assert mark in legend
    # A window from the filters: the axis runs from its first year.
    windowed = client.get("/matrix/timeline/?period_from=2003-01-01&period_to=2003-12-31").content.decode()
    ticks = re.findall(r'class="tick-label">(\d{4})<', windowed)
    assert ticks == ["2003"], ticks


def test_a_map_filtered_by_a_region_colours_only_that_regions_states(client, reference):
    import re

    from coopmatrix.geo.models import State

    page = client.get("/matrix/map/?region=142").content.decode()
    coloured = {code for code, n in re.findall(r'data-state="([A-Z]{3})" data-count="(\d+)"', page) if int(n)}
    assert coloured, "nothing reached in Asia"
    asian = set(State.objects.filter(region__m49=142).values_list("code", flat=True))
    assert coloured <= asian, coloured - asian
    reached = re.search(r'data-testid="reached">(\d+)<', page).group(1)
    assert int(reached) == len(coloured)
