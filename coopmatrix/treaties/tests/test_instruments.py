import datetime as dt

from coopmatrix.treaties.models import Instrument


def test_entry_into_force_for_a_state_follows_the_instruments_rule(reference):
    hostages = Instrument.objects.get(code="hostages-1979")
    assert hostages.in_force_for_state(dt.date(2003, 3, 10)) == dt.date(2003, 4, 9)
    tokyo = Instrument.objects.get(code="tokyo-1963")
    assert tokyo.in_force_for_state(dt.date(2002, 1, 1)) == dt.date(2002, 4, 1)
    beijing = Instrument.objects.get(code="beijing-convention-2010")
    assert beijing.in_force_for_state(dt.date(2019, 11, 30)) == dt.date(2020, 1, 1)
    amendment = Instrument.objects.get(code="nuclear-material-amendment-2005")
    assert amendment.in_force_for_state(dt.date(2017, 5, 5)) == dt.date(2017, 5, 5)


def test_a_state_bound_before_entry_into_force_is_bound_from_it(reference):
    financing = Instrument.objects.get(code="terrorist-financing-1999")
    assert financing.in_force_for_state(dt.date(2001, 9, 1)) == dt.date(2002, 4, 10)


def test_amendments_and_supplements_point_to_their_instrument(reference):
    assert Instrument.objects.get(code="montreal-protocol-2014").related_to.code == "tokyo-1963"
    assert Instrument.objects.get(code="airports-1988").relation == "supplements"


def test_the_instrument_list_and_page(client, reference):
    page = client.get("/instruments/?in_table2=true").content.decode()
    assert '<span data-testid="count">12</span>' in page
    detail = client.get("/instruments/sua-1988/").content.decode()
    assert "90 days after deposit" in detail and "Secretary-General of the International Maritime" in detail
    assert "Fixed Platforms Protocol 1988" in detail
