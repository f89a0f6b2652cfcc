"""On PostgreSQL, no planner statistics for the IATI texts kept as JSON (titles, descriptions,
organisations, documents, contacts; a transaction's description and parties).

No query filters, joins or sorts on them: they are read back with their row, for the export and
for a re-import to compare. Yet ANALYZE sorted some 30,000 sampled values of each to describe
them. Measured on 100,000 imported activities: ANALYZE of the records took 2.1-2.3 s, 0.27 s
without these columns' statistics (their history 2.4 s; the transactions 0.53 s, 0.28 s without).
An import analyses the tables it fills inside its transaction (core.planner), four times for
100,000 activities, and autovacuum does so after. The statistics of every other column are kept."""

from django.db import migrations

TEXTS = {
    "iatirecord": (
        "reporting_org",
        "titles",
        "descriptions",
        "participating",
        "countries",
        "regions",
        "sectors",
        "related",
        "documents",
        "contacts",
        "notes",
    ),
    "iatitransaction": ("description", "provider", "receiver"),
}


def _statistics(target: int):
    def set_target(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return  # SQLite keeps statistics of indexes only
        quote = schema_editor.quote_name
        for model, columns in TEXTS.items():
            for table in (f"exchange_{model}", f"exchange_historical{model}"):
                changes = ", ".join(f"ALTER COLUMN {quote(c)} SET STATISTICS {target}" for c in columns)
                schema_editor.execute(f"ALTER TABLE {quote(table)} {changes}")

    return set_target


class Migration(migrations.Migration):
    dependencies = [("exchange", "0002_history_indexes_dropped")]

    # -1: the server's default_statistics_target again.
    operations = [migrations.RunPython(_statistics(0), _statistics(-1))]
