from django.db import migrations, models


def first_generation(apps, schema_editor):
    apps.get_model("core", "DataGeneration").objects.create(pk=1, value=1)


class Migration(migrations.Migration):
    dependencies = [("core", "0006_cache_table")]

    operations = [
        migrations.CreateModel(
            name="DataGeneration",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("value", models.BigIntegerField(default=0)),
            ],
        ),
        migrations.RunPython(first_generation, migrations.RunPython.noop),
    ]
