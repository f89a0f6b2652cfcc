from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from coopmatrix.core.console import Progress, acting_as, import_user
from coopmatrix.exchange import importers


class Command(BaseCommand):
    help = (
        "Import IATI activity files (2.01 to 2.03): every activity is checked against the 2.03 schema "
        "and IATI's codelists; the valid ones of all the files are written together, or none; "
        "the refused ones are listed with their line and reason."
    )

    def add_arguments(self, parser):
        parser.add_argument("files", type=Path, nargs="+")
        parser.add_argument("--user", required=True, help="Whose rights the import uses (the secretariat).")
        parser.add_argument("--dry-run", action="store_true", help="Check and report; write nothing.")
        parser.add_argument(
            "--overwrite-older",
            action="store_true",
            help="Replace activities kept even where the file's last-updated-datetime is earlier.",
        )

    def handle(self, *args, **options):
        older = "overwrite" if options["overwrite_older"] else "keep"
        with transaction.atomic():
            for path in options["files"]:
                user = import_user(path, options["user"])
                # A progress bar per file, counted in activities.
                progress = Progress(max(importers.activities_in(path), 1))
                with acting_as(user):
                    # Read from the disk as it goes, once, each chunk written as soon as it is
                    # checked: memory stays the same whatever the file's size. A dry run checks
                    # only, keeping counts.
                    if options["dry_run"]:
                        preview = importers.check(
                            user, path, path.name, progress=progress, older=older, keep=False
                        )
                    else:
                        preview = importers.import_file(user, path, path.name, progress=progress, older=older)
                    self.stderr.write("")
                    if preview.errors:
                        lines = "\n".join(str(e) for e in preview.errors)
                        # Raised inside the transaction: the files written before it are undone.
                        raise CommandError(f"{path.name}: nothing was imported from any file:\n{lines}")
                self._report(path.name, preview, options["dry_run"])

    def _report(self, name: str, preview: importers.Preview, dry_run: bool) -> None:
        verb = "would import" if dry_run else "imported"
        self.stdout.write(
            f"{name}: {preview.total} activities, "
            f"{verb} {preview.created} created, {preview.updated} updated, {preview.unchanged} unchanged; "
            f"{len(preview.refused)} refused; {len(preview.new_organizations)} new organizations."
        )
        for note in preview.notes:
            self.stdout.write(f"  note: {note}")
        for refused in preview.refused:
            self.stdout.write(f"  refused: {refused}")
