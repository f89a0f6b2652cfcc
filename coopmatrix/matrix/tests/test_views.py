"""The matrix page, its counts grid and its exports."""

import io

from openpyxl import load_workbook

from coopmatrix.core.models import Confidentiality
from coopmatrix.matrix.models import Activity, ActivityProvider


def test_the_grid_counts_activities_per_state_and_thematic_area(client, reference):
    page = client.get("/matrix/grid/?state=KGZ").content.decode()
    # Kyrgyzstan: direct legal advice, the workshops in the United Kingdom and Turkey, and the joint
    # OSCE activity in Central Asia all concern ratification and legislative drafting.
    assert 'data-cell="KGZ/ratification-legislation">4</a>' in page
    assert "state=KGZ&amp;thematic_area=ratification-legislation" in page


def test_a_grid_cell_links_to_the_table_it_counts(client, reference):
    table = client.get("/matrix/?state=KGZ&thematic_area=ratification-legislation").content.decode()
    assert '<span data-testid="count">4</span>' in table


def test_the_grid_by_subregion_and_provider(client, reference):
    page = client.get("/matrix/grid/?rows=subregion&cols=provider&provider=oas").content.decode()
    # The Costa Rica workshop (OAS/CICTE) and the joint OAS activity for Central and South America
    # (paragraph 61, which names regions, not States) both fall in Latin America and the Caribbean.
    # OAS's column holds its Committee's workshop too, as the provider filter does.
    assert 'data-cell="419/oas-cicte">1</a>' in page
    assert 'data-cell="419/oas">2</a>' in page
    assert 'data-cell="143/' not in page
    table = client.get("/matrix/?region=419&provider=oas").content.decode()
    assert '<span data-testid="count">2</span>' in table


def test_an_activity_for_a_region_reaches_its_states(client, reference):
    body = client.get("/api/v1/activities?state=CRI&provider=oas").json()
    titles = {a["title"] for a in body["items"]}
    assert "Joint assistance with OAS for countries in Central and South America" in titles


def test_a_provider_filter_includes_its_units(client, reference):
    unodc = client.get("/api/v1/activities?provider=unodc").json()["count"]
    branch = client.get("/api/v1/activities?provider=unodc-tpb").json()["count"]
    # Everything its Terrorism Prevention Branch did, and the Vienna meeting UNODC co-hosted itself.
    assert branch == 53
    assert unodc == branch + 1


def test_the_xlsx_export_has_a_cover_with_filters_author_and_highest_level(client, cast, reference):
    hidden = Activity.objects.create(
        title="Confidential mentoring in Benin",
        modality="mentorship",
        status="ongoing",
        confidentiality=Confidentiality.CONFIDENTIAL,
        owner=cast.org_a,
        source="made for tests",
    )
    hidden.recipient_states.add(
        *__import__("coopmatrix.geo.models", fromlist=["State"]).State.objects.filter(code="BEN")
    )
    ActivityProvider.objects.create(activity=hidden, organization=cast.org_a, role="implementing")
    client.force_login(cast.user("editor_a"))
    response = client.get("/matrix/export.xlsx?state=BEN")
    workbook = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    cover = {row[0]: row[1] for row in workbook["Cover"].iter_rows(values_only=True)}
    assert cover["Exported by"] == "editor_a"
    assert cover["Highest confidentiality inside"] == "Confidential"
    assert cover["Recipient State"] == "Benin"
    data = list(workbook["Data"].iter_rows(values_only=True))
    assert data[0][:2] == ("external_id", "title")
    assert "Confidential mentoring in Benin" in {row[1] for row in data[1:]}
    assert int(cover["Records"]) == len(data) - 1


def test_the_public_export_leaves_confidential_records_out(client, cast, reference):
    Activity.objects.create(
        title="Confidential mentoring",
        modality="mentorship",
        status="ongoing",
        confidentiality=Confidentiality.CONFIDENTIAL,
        owner=cast.org_a,
    )
    response = client.get("/matrix/export.xlsx")
    workbook = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    cover = {row[0]: row[1] for row in workbook["Cover"].iter_rows(values_only=True)}
    assert cover["Exported by"] == "public (not signed in)"
    assert cover["Highest confidentiality inside"] == "Public"
    assert "Confidential mentoring" not in {row[1] for row in workbook["Data"].iter_rows(values_only=True)}


def test_a_paste_from_a_pdf_exports_in_every_format(client, cast, reference):
    """A form feed between a PDF's pages and a vertical tab, kept in a title: a worksheet and an
    XML file cannot hold them, and each goes out as a space; the CSV keeps them as typed."""
    Activity.objects.create(
        title="Page one\x0cpage two\x0bend",
        modality="workshop",
        status="ongoing",
        confidentiality=Confidentiality.PUBLIC,
        owner=cast.org_a,
    )
    response = client.get("/matrix/export.xlsx?q=Page+one")
    assert response.status_code == 200
    workbook = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    titles = {row[1] for row in workbook["Data"].iter_rows(values_only=True)}
    assert "Page one page two end" in titles
    response = client.get("/matrix/export.csv?q=Page+one")
    assert "Page one\x0cpage two\x0bend" in b"".join(response.streaming_content).decode()
    response = client.get("/matrix/export.pdf?q=Page+one")
    assert response.status_code == 200
    assert b"".join(response.streaming_content if response.streaming else [response.content])[:5] == b"%PDF-"


def test_a_bad_filter_on_the_matrix_is_named(client, reference):
    page = client.get("/matrix/?period_from=2004-02-30").content.decode()
    assert "Enter a valid date" in page
    assert client.get("/matrix/export.xlsx?state=ATLANTIS").status_code == 400


def test_thematic_area_counts_leave_hidden_activities_out(client, cast, reference):
    from coopmatrix.vocabulary.models import ThematicArea

    hidden = Activity.objects.create(
        title="Hidden",
        modality="tool",
        status="planned",
        confidentiality=Confidentiality.CONFIDENTIAL,
        owner=cast.org_a,
    )
    hidden.thematic_areas.add(ThematicArea.objects.get(code="human-rights"))
    public = client.get("/thematic-areas/human-rights/").content.decode()
    client.force_login(cast.user("editor_a"))
    mine = client.get("/thematic-areas/human-rights/").content.decode()
    assert '?thematic_area=human-rights">0</a>' in public
    assert '?thematic_area=human-rights">1</a>' in mine


def test_the_table_escapes_what_users_typed(client, cast, reference):
    Activity.objects.create(
        title='Workshop <script>alert("x")</script>', modality="workshop", status="planned", owner=cast.org_a
    )
    page = client.get("/matrix/?q=alert").content.decode()
    assert '<span data-testid="count">1</span>' in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert '<script>alert("x")' not in page


def test_a_long_list_says_more_than_the_cap_instead_of_counting_everything(client, reference, monkeypatch):
    from coopmatrix.core.paginators import CappedPaginator

    monkeypatch.setattr(CappedPaginator, "cap", 10)
    # 35 States of footnote 2 and more: beyond the cap the page does not claim an exact number,
    # unless the kept counts know it (a modality alone: they do).
    page = client.get("/matrix/?modality=legislative_advice&period_from=1990-01-01").content.decode()
    assert 'more than <span data-testid="count">10</span>' in page
    known = client.get("/matrix/?modality=legislative_advice").content.decode()
    exact = Activity.objects.visible_to(None).filter(modality="legislative_advice").count()
    assert exact > 10
    assert f'<p class="count"><span data-testid="count">{exact}</span>' in known
    few = client.get("/matrix/?modality=study_tour&period_from=1990-01-01").content.decode()
    assert '<p class="count"><span data-testid="count">1</span>' in few


def test_the_world_region_holds_every_activity_that_reaches_a_state(client, reference):
    # M49 code 001 is the world: no State names it as its region, its sub-regions do.
    world = client.get("/api/v1/activities?region=1").json()["count"]
    africa = client.get("/api/v1/activities?region=2").json()["count"]
    eastern_africa = client.get("/api/v1/activities?region=14").json()["count"]
    reaching = Activity.objects.filter(reach__isnull=False).distinct().count()
    assert world == reaching > africa >= eastern_africa > 0
