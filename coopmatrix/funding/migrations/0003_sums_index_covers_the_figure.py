"""On PostgreSQL, the kept sums' unique index also carries the converted figure (INCLUDE), so that
a view's thousands of lines are read from the index alone, without a visit to each row.

Written by hand for PostgreSQL only: Django leaves out a unique constraint with INCLUDE on a
database that cannot make one (SQLite), and the sums' upsert needs the constraint there too."""

from django.db import migrations

COLUMNS = "by, owner_id, chain_owner_id, confidentiality, chain, d1, d2, d3, kind, currency, label"


def _remake(include: str):
    def remake(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        schema_editor.execute(
            "ALTER TABLE funding_fundingsum DROP CONSTRAINT unique_funding_sum, "
            f"ADD CONSTRAINT unique_funding_sum UNIQUE ({COLUMNS}){include}"
        )

    return remake


class Migration(migrations.Migration):
    dependencies = [("funding", "0002_kept_sums")]

    operations = [migrations.RunPython(_remake(" INCLUDE (converted)"), _remake(""))]
