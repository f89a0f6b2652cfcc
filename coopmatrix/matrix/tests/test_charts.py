"""Issue 15: the matrix's charts, drawn offline from the same query as the page, each bar a
link to a list of as many activities, the numbers beside the bars."""

import re

import pytest
from lxml import html

from coopmatrix.core.testing import login


def _bars(content: bytes) -> list[tuple[str, str, int]]:
    tree = html.fromstring(content)
    found = []
    for link in tree.xpath("//svg//a[@data-bar]"):
        n = int(link.get("aria-label").rsplit(": ", 1)[1])
        found.append((link.get("data-bar"), link.get("href"), n))
    return found


@pytest.mark.parametrize("role", ["anonymous", "editor_a"])
@pytest.mark.parametrize(
    "query",
    ["", "status=completed", "region=142", "thematic_area=criminal-justice", "provider=unodc", "state=KGZ"],
)
def test_every_bar_links_to_a_list_of_as_many_activities(walked_world, client, role, query):
    login(client, walked_world.user(role))
    response = client.get("/matrix/charts/?" + query)
    assert response.status_code == 200
    bars = _bars(response.content)
    assert bars, "no bar drawn"
    for name, url, n in bars:
        listed = client.get(url).content.decode()
        if url.startswith("/matrix/map/"):  # States reached in a region: the map of that region
            assert f'<span data-testid="reached">{n}</span>' in listed, (name, url, n)
        else:
            assert f'<span data-testid="count">{n}</span>' in listed, (name, url, n)


def test_each_chart_writes_its_numbers_beside_its_bars(walked_world, client):
    response = client.get("/matrix/charts/")
    tree = html.fromstring(response.content)
    for slug in ("year", "provider", "area", "region"):
        (chart,) = tree.xpath(f'//*[@data-testid="chart-{slug}"]')
        numbers = chart.xpath(".//svg//text[@class='bar-number']/text()")
        table = chart.xpath(".//table//tbody/tr/td[last()]/text()")
        assert numbers and numbers == table, slug
    # The chart by year splits each year by status, with a legend naming each colour.
    legend = tree.xpath('//*[@data-testid="chart-year"]//p[@class="chart-legend"]')[0].text_content()
    assert "Completed" in legend


def test_a_hidden_activity_is_in_no_bar(walked_world, client):
    from coopmatrix.matrix.models import Activity

    hidden = Activity.objects.create(
        title="Confidential chart test", status="planned", confidentiality="confidential"
    )
    hidden.thematic_areas.set([])
    before = {name: n for name, _url, n in _bars(client.get("/matrix/charts/").content)}
    login(client, walked_world.user("secretariat"))
    # Without a date it is in no year; the secretariat's page says how many lack one.
    page = client.get("/matrix/charts/").content.decode()
    assert re.search(r"\d+ activit(y has|ies have) no date", page)
    client.logout()
    after = {name: n for name, _url, n in _bars(client.get("/matrix/charts/").content)}
    assert before == after


def test_a_wrong_year_is_refused_naming_the_filter(walked_world, client):
    response = client.get("/matrix/?start_year=twenty")
    assert response.status_code in (200, 400)
    assert "Starting in year" in response.content.decode()


def test_the_readers_xlsx_names_things_and_is_laid_out_for_reading(walked_world, client):
    """Issue 15: beside the round-trip XLSX, one for a reader: names not codes, widths, a
    frozen header with an autofilter, and the cover sheet."""
    import io

    from openpyxl import load_workbook

    response = client.get("/matrix/export.xlsx?layout=reader&state=KGZ")
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    assert book.sheetnames == ["Cover", "Data"]
    sheet = book["Data"]
    header = [c.value for c in sheet[1]]
    assert header[:5] == ["Activity", "Providers", "Recipient States", "Recipient regions", "Thematic areas"]
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == f"A1:R{sheet.max_row}"
    assert sheet.column_dimensions["A"].width == 50
    assert sheet[1][0].font.bold
    rows = [dict(zip(header, (c.value for c in row), strict=True)) for row in sheet.iter_rows(min_row=2)]
    assert rows and all("Kyrgyzstan" in r["Recipient States"] for r in rows)
    assert not any("KGZ" in (r["Recipient States"] or "") for r in rows)
    assert any("Terrorism Prevention Branch" in (r["Providers"] or "") for r in rows)
    assert {r["Status"] for r in rows} <= {
        "Planned",
        "Ongoing",
        "Completed",
        "Pipeline",
        "Cancelled",
        "Suspended",
    }
    cover = {row[0].value: row[1].value for row in book["Cover"].iter_rows()}
    assert cover["Records"] == str(len(rows))


def test_the_matrix_pdf_shows_thematic_area_and_modality(walked_world, client):
    import io

    from pypdf import PdfReader

    response = client.get("/matrix/export.pdf?state=KGZ")
    assert response.status_code == 200
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    assert "Thematic area" in text and "Modality" in text
    assert "Legislative" in text or "legislative" in text
