"""The programme view's sums are also kept per year and per month (`sums.periods`), so that its
figures as at a past date take off the periods after it whole: made here from what each
contribution was last counted as (`CountedContribution.counted_as`), as `sums.facts` now adds
them. The rules are written out here, as they stand at this migration."""

from decimal import Decimal

from django.db import migrations

OPEN = ("public", "restricted")
ROLLED = ("signed-in", 0, "signed-in", 0)
ZERO = Decimal("0.00")
BATCH = 5000


def _periods(day):
    return f"programme y{day[:4]}", f"programme m{day[:7]}"


def _facts(described, found):
    audience = (described["conf"], described["owner"], described["chain"], described["chain_owner"])
    heard_by = [audience]
    if audience[0] in OPEN and audience[2] in OPEN:
        heard_by.append(ROLLED)
    converted = described["converted"]
    amount = Decimal(described["amount"])
    value = (amount, Decimal(converted) if converted is not None else ZERO, 1, int(converted is None))
    target, fund = described["target"], described["fund"]
    facts = [
        (by, target, 0 if target else fund, described["kind"], value) for by in _periods(described["made_by"])
    ]
    if described["settles_target"]:
        facts += [
            (by, described["settles_target"], 0, "settled", (amount, ZERO, 1, 0))
            for by in _periods(described["settles_from"])
        ]
    for by, d1, d2, kind, adds in facts:
        for each in heard_by:
            key = (by, d1, d2, 0, kind, described["currency"], "", *each)
            had = found.get(key, (ZERO, ZERO, 0, 0))
            found[key] = tuple(a + b for a, b in zip(had, adds, strict=True))


def add(apps, schema_editor):
    counted = apps.get_model("funding", "CountedContribution")
    funding_sum = apps.get_model("funding", "FundingSum")
    found = {}
    for described in counted.objects.filter(kept=True).values_list("counted_as", flat=True).iterator(10_000):
        _facts(described, found)
    fields = ("by", "d1", "d2", "d3", "kind", "currency", "label")
    fields += ("confidentiality", "owner_id", "chain", "chain_owner_id")
    keys = sorted(found)
    # A batch at a time (memory: a million sums on a large database).
    for start in range(0, len(keys), BATCH):
        funding_sum.objects.bulk_create(
            [
                funding_sum(
                    **dict(zip(fields, key, strict=True)),
                    **dict(zip(("amount", "converted", "n", "unconverted"), found[key], strict=True)),
                )
                for key in keys[start : start + BATCH]
            ]
        )


def remove(apps, schema_editor):
    funding_sum = apps.get_model("funding", "FundingSum")
    funding_sum.objects.filter(by__startswith="programme y").delete()
    funding_sum.objects.filter(by__startswith="programme m").delete()


class Migration(migrations.Migration):
    dependencies = [("funding", "0005_contribution_donor_confidential_indexes")]

    operations = [migrations.RunPython(add, remove)]
