"""The kept counts gain a column "all" (col_id 0): activities per area whatever their terms.

Counted here in the database, area by area, rather than activity by activity: a large matrix
takes seconds this way.
"""

from django.db import migrations
from django.db.models import Case, Count, F, IntegerField, Value, When

PATHS = {
    "state": "reach__state_id",
    "subregion": "reach__state__subregion_id",
    "region": "reach__state__region_id",
}


def add_totals(apps, schema_editor):
    Activity = apps.get_model("matrix", "Activity")
    GridCount = apps.get_model("matrix", "GridCount")
    GridCount.objects.filter(cols_by="all").delete()
    owner = Case(
        When(confidentiality="confidential", owner_id__isnull=False, then=F("owner_id")),
        default=Value(0),
        output_field=IntegerField(),
    )
    for rows_by, path in PATHS.items():
        groups = (
            Activity.objects.annotate(row=F(path), owner0=owner)
            .filter(row__isnull=False)
            .values("row", "status", "modality", "confidentiality", "owner0")
            .annotate(n=Count("pk", distinct=True))
            .order_by()
        )
        GridCount.objects.bulk_create(
            (
                GridCount(
                    rows_by=rows_by,
                    row_id=g["row"],
                    cols_by="all",
                    col_id=0,
                    status=g["status"],
                    modality=g["modality"],
                    confidentiality=g["confidentiality"],
                    owner_id=g["owner0"],
                    n=g["n"],
                )
                for g in groups.iterator(chunk_size=5000)
            ),
            batch_size=5000,
        )


class Migration(migrations.Migration):
    dependencies = [("matrix", "0006_grid_count_order")]

    operations = [migrations.RunPython(add_totals, migrations.RunPython.noop)]
