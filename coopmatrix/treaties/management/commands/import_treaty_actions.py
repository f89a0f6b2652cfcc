from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from coopmatrix.core.console import Progress, acting_as, import_source
from coopmatrix.treaties import importers
from coopmatrix.treaties.models import Instrument


class Command(BaseCommand):
    help = (
        "Import treaty actions from the CSV/XLSX template, or from a depositary's status table for one "
        "treaty (saved HTML or pasted text); all rows or none, the same action twice is one record."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--format", choices=importers.FORMATS, default="template")
        parser.add_argument(
            "--instrument", default="", help="Instrument code (required with --format depositary)."
        )
        parser.add_argument(
            "--status-date",
            default="",
            help="The date the depositary's table gives its status as at (recorded in each action's source).",
        )
        parser.add_argument("--user", required=True, help="Whose rights the import uses (the secretariat).")
        parser.add_argument("--dry-run", action="store_true", help="Check and report; write nothing.")

    def handle(self, *args, **options):
        path = options["file"]
        user, content = import_source(path, options["user"])
        if (
            options["format"] == "depositary"
            and not Instrument.objects.visible_to(user).filter(code=options["instrument"]).exists()
        ):
            raise CommandError(
                f"--instrument: no instrument with code {options['instrument']!r} (see /instruments/)"
            )
        progress = Progress(max(content.count(b"\n"), 1))
        with transaction.atomic(), acting_as(user):
            preview = importers.check(
                user,
                content,
                path.name,
                options["format"],
                options["instrument"],
                progress=progress,
                status_date=options["status_date"],
            )
            self.stderr.write("")
            if preview.errors:
                lines = "\n".join(str(e) for e in preview.errors)
                raise CommandError(f"{len(preview.errors)} error(s); nothing was imported:\n{lines}")
            if not options["dry_run"]:
                importers.write(user, preview)
        verb = "Would import" if options["dry_run"] else "Imported"
        self.stdout.write(
            f"{verb}: {preview.created} created, {preview.updated} updated, {preview.unchanged} unchanged."
        )
