"""The programme, donor and State views' sums are also kept per year and per month
(`sums.periods`), so that their figures as at a past date take off the periods after it whole: made here from what each
contribution was last counted as (`CountedContribution.counted_as`), as `sums.facts` now adds
them. The rules are written out here, as they stand at this migration."""

from decimal import Decimal

from django.db import migrations

OPEN = ("public", "restricted")
ROLLED = ("signed-in", 0, "signed-in", 0)
ZERO = Decimal("0.00")
BATCH = 5000


def _periods(view, day):
    return f"{view} y{day[:4]}", f"{view} m{day[:7]}"


def _facts(described, found):
    audience = (described["conf"], described["owner"], described["chain"], described["chain_owner"])
    heard_by = [audience]
    if audience[0] in OPEN and audience[2] in OPEN:
        heard_by.append(ROLLED)
    converted = described["converted"]
    amount = Decimal(described["amount"])
    value = (amount, Decimal(converted) if converted is not None else ZERO, 1, int(converted is None))
    target, fund, kind, currency = described["target"], described["fund"], described["kind"], described["currency"]
    made_by = described["made_by"]
    facts = [(by, target, 0 if target else fund, 0, kind, currency, value) for by in _periods("programme", made_by)]
    facts += [
        (by, described["ds"], described["do"], described["fiscal"], kind, "", value)
        for by in _periods("donor", made_by)
    ]
    for by in _periods("state", made_by):
        facts += [(by, state, 0, 0, kind, "", value) for state in described["states"]]
        if not described["to_activity"]:
            facts.append((by, 0, 0, 0, kind, "", value))
    if described["settles_target"]:
        facts += [
            (by, described["settles_target"], 0, 0, "settled", currency, (amount, ZERO, 1, 0))
            for by in _periods("programme", described["settles_from"])
        ]
    for by, d1, d2, d3, kind, currency, adds in facts:
        for each in heard_by:
            key = (by, d1, d2, d3, kind, currency, "", *each)
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
    for view in ("programme", "donor", "state"):
        funding_sum.objects.filter(by__startswith=f"{view} y").delete()
        funding_sum.objects.filter(by__startswith=f"{view} m").delete()


class Migration(migrations.Migration):
    dependencies = [("funding", "0005_contribution_donor_confidential_indexes")]

    operations = [migrations.RunPython(add, remove)]
