"""The kept sums gain, per line, the sum of the four open audiences (public or restricted, by the
contribution's own level and by the records it hangs on) that every signed-in user reads whole
(`sums.SIGNED_IN`): made here from the sums already kept, as `sums.facts` now adds to it."""

from django.db import migrations

KEYS = "by, d1, d2, d3, kind, currency, label"
VALUES = ("amount", "converted", "n", "unconverted")


def add(apps, schema_editor):
    schema_editor.execute(
        f"INSERT INTO funding_fundingsum ({KEYS}, confidentiality, owner_id, chain, chain_owner_id, "
        f"{', '.join(VALUES)}) "
        f"SELECT {KEYS}, 'signed-in', 0, 'signed-in', 0, {', '.join(f'SUM({v})' for v in VALUES)} "
        "FROM funding_fundingsum WHERE confidentiality IN ('public', 'restricted') "
        f"AND chain IN ('public', 'restricted') GROUP BY {KEYS}"
    )


def remove(apps, schema_editor):
    schema_editor.execute("DELETE FROM funding_fundingsum WHERE confidentiality = 'signed-in'")


class Migration(migrations.Migration):
    dependencies = [("funding", "0003_sums_index_covers_the_figure")]

    operations = [migrations.RunPython(add, remove)]
