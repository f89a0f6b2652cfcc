"""IATI transactions become contributions when a file is imported: the real samples of
../shared/data/iati (read by tests only), and a file made for tests."""

from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest
from lxml import etree

from coopmatrix.exchange import importers
from coopmatrix.exchange.models import IatiTransaction
from coopmatrix.funding import iati
from coopmatrix.funding.models import Contribution

SAMPLES = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "iati" / "samples"


@pytest.mark.parametrize("name", ["iati-example-203.xml", "datastore-2020-un-multilateral-ngo-50.xml"])
def test_each_commitment_and_disbursement_of_a_real_file_is_a_contribution(cast, reference, name):
    content = (SAMPLES / name).read_bytes()
    preview = importers.import_file(cast.user("secretariat"), content, name)
    assert preview.ok and preview.created
    transactions = IatiTransaction.objects.select_related("record")
    made = Contribution.objects.exclude(iati_transaction=None).select_related("iati_transaction")
    assert made.exists()
    # Every contribution says the same as its transaction.
    for gift in made:
        t = gift.iati_transaction
        assert (gift.amount, gift.currency, gift.date) == (
            Decimal(t.value).quantize(Decimal("0.01")),
            t.currency,
            t.date,
        )
        assert gift.kind == iati.KINDS[t.type] and gift.activity_id == t.record.activity_id
        assert t.record.identifier in gift.source
    # Each written with its history, as one saved alone: made by the importing user, and why.
    first = Contribution.history.filter(history_type="+", id__in=made.values("pk"))
    assert first.count() == made.count()
    assert set(first.values_list("history_user__username", "history_change_reason")) == {
        (cast.user("secretariat").username, "from an IATI transaction")
    }
    assert all(h.made_by == h.date for h in first)  # a transaction's day is the day it was made
    # Every transaction is a contribution or is counted as left out, with its reason.
    left_out = iati.sync(list(transactions.values_list("record", flat=True).distinct()))
    assert left_out["unchanged"] == made.count()
    assert (
        sum(n for reason, n in left_out.items() if reason != "unchanged")
        == transactions.count() - made.count()
    )
    types = Counter(etree.parse(str(SAMPLES / name)).xpath("//transaction/transaction-type/@code"))
    assert made.count() <= sum(types[t] for t in iati.KINDS)
    # Importing the file again changes nothing.
    before = Contribution.history.count()
    importers.import_file(cast.user("secretariat"), content, name)
    assert Contribution.history.count() == before


FILE = """<iati-activities version="2.03" generated-datetime="2024-01-01T00:00:00">
<iati-activity last-updated-datetime="2024-01-01T00:00:00" xml:lang="en" default-currency="USD">
<iati-identifier>XM-TEST-FUNDING-1</iati-identifier>
<reporting-org ref="XM-TEST-1" type="40"><narrative>Org A</narrative></reporting-org>
<title><narrative>Legal advice made for tests</narrative></title>
<description><narrative>Made for tests.</narrative></description>
<participating-org role="4" ref="XM-TEST-1" type="40"><narrative>Org A</narrative></participating-org>
<activity-status code="2"/>
<activity-date type="2" iso-date="2005-03-01"/>
<recipient-country code="BJ"/>
<sector vocabulary="1" code="15130"/>
{transactions}
</iati-activity></iati-activities>"""


def _transaction(kind, value, date="2005-04-01", provider=""):
    return (
        f'<transaction><transaction-type code="{kind}"/><transaction-date iso-date="{date}"/>'
        f'<value value-date="{date}">{value}</value>{provider}</transaction>'
    )


def test_a_commitment_and_its_disbursement_from_the_reporter(cast, reference):
    from coopmatrix.directory.models import Organization

    Organization.objects.filter(pk=cast.org_a.pk).update(iati_identifier="XM-TEST-1")
    donor = '<provider-org ref="XM-TEST-1"><narrative>A</narrative></provider-org>'
    content = FILE.format(
        transactions=_transaction("2", "5000", "2005-03-01")
        + _transaction("3", "2000", provider=donor)
        + _transaction("4", "1500")
        + _transaction("3", "-100", provider=donor)
    )
    importers.import_file(cast.user("secretariat"), content.encode(), "made-for-tests.xml")
    gifts = Contribution.objects.exclude(iati_transaction=None).order_by("date")
    assert [(g.kind, g.amount, g.donor_organization_id) for g in gifts] == [
        ("pledge", Decimal("5000.00"), cast.org_a.pk),
        ("payment", Decimal("2000.00"), cast.org_a.pk),
    ]
    # The publisher corrects the file: the disbursement goes, its contribution with it.
    content = FILE.format(transactions=_transaction("2", "5000", "2005-03-01"))
    importers.import_file(cast.user("secretariat"), content.encode(), "made-for-tests.xml")
    assert list(Contribution.objects.exclude(iati_transaction=None).values_list("kind", flat=True)) == [
        "pledge"
    ]
    assert not Contribution.objects.filter(external_id="iati:XM-TEST-FUNDING-1#2").exists()
