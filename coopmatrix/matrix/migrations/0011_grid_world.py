"""The kept counts gain a row "world" (row_id 0): every activity once, so that a list filtered on
status or modality alone is counted from them (the regions' rows overlap). Counted here in the
database, as 0007 counted the totals."""

from django.db import migrations
from django.db.models import Case, Count, F, IntegerField, Value, When


def add_world(apps, schema_editor):
    Activity = apps.get_model("matrix", "Activity")
    GridCount = apps.get_model("matrix", "GridCount")
    GridCount.objects.filter(rows_by="world").delete()
    owner = Case(
        When(confidentiality="confidential", owner_id__isnull=False, then=F("owner_id")),
        default=Value(0),
        output_field=IntegerField(),
    )
    groups = (
        Activity.objects.annotate(owner0=owner)
        .values("status", "modality", "confidentiality", "owner0")
        .annotate(n=Count("pk"))
        .order_by()
    )
    GridCount.objects.bulk_create(
        GridCount(
            rows_by="world",
            row_id=0,
            cols_by="all",
            col_id=0,
            status=g["status"],
            modality=g["modality"],
            confidentiality=g["confidentiality"],
            owner_id=g["owner0"],
            n=g["n"],
        )
        for g in groups
    )


def remove_world(apps, schema_editor):
    apps.get_model("matrix", "GridCount").objects.filter(rows_by="world").delete()


class Migration(migrations.Migration):
    dependencies = [("matrix", "0010_links_in_history")]

    operations = [migrations.RunPython(add_world, remove_world)]
