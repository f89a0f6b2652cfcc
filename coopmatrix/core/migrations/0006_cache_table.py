from django.core.management import call_command
from django.db import migrations


def create_cache_table(apps, schema_editor):
    # The shared cache (settings.CACHES) is a table: created with the schema, so that an operator
    # who runs `migrate` has everything the web servers share.
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


class Migration(migrations.Migration):
    dependencies = [("core", "0005_jobs")]

    operations = [migrations.RunPython(create_cache_table, migrations.RunPython.noop)]
