"""With no treaty action recorded, the pages say so instead of counting zeros as facts."""

import datetime as dt

import pytest

from coopmatrix.treaties.models import TreatyAction

pytestmark = pytest.mark.django_db


def test_pages_say_no_treaty_action_is_recorded_and_where_to_import_them(client, reference):
    assert not TreatyAction.objects.exists()  # none ships: see SOURCES.md
    for url in ("/parties/", "/parties/map/", "/states/BEN/", "/matrix/impact/?months=24"):
        page = client.get(url).content.decode()
        assert 'data-testid="no-treaty-actions"' in page, url
        assert "/treaty-actions/import/" in page, url
    state = client.get("/states/BEN/").content.decode()
    assert "Outstanding" not in state and "Party to" not in state
    table = client.get("/parties/").content.decode()
    assert '<td data-col="parties">—</td>' in table and '<td data-col="parties">0</td>' not in table
    assert client.get("/api/v1/table2").json()["treaty_actions_recorded"] is False


def test_table2_counts_by_default_on_the_day_of_the_published_figures(client, reference):
    body = client.get("/api/v1/table2").json()
    assert body["as_at"] == "2004-03-17"
    page = client.get("/parties/").content.decode()
    assert 'value="2004-03-17"' in page or "2004-03-17" in page


def test_with_a_treaty_action_the_counts_are_shown(client, reference):
    from coopmatrix.geo.models import State
    from coopmatrix.treaties.models import Instrument

    TreatyAction.objects.create(
        state=State.objects.get(code="BEN"),
        instrument=Instrument.objects.get(code="terrorist-financing-1999"),
        action="ratification",
        deposited=dt.date(2003, 7, 31),
        source="made for tests",
    )
    page = client.get("/parties/").content.decode()
    assert 'data-testid="no-treaty-actions"' not in page
    assert '<td data-col="parties">1</td>' in page
    assert "Party to" in client.get("/states/BEN/").content.decode()
